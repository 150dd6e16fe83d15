"""`Adagrad`, as torch's (dense gradients; lr decay, weight decay, maximize)."""
from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from ..tensor import Tensor
from . import _kernels
from .adam import steps_as_tensors
from .optimizer import Optimizer, as_float, check_flags, check_lr, new_step, state_like

_KEYS = ("sum",)


class Adagrad(Optimizer):
    """Adagrad, as ``torch.optim.Adagrad``: each coordinate's step divided by the root of the
    sum of its squared gradients (whose state exists from construction, as torch's).

    >>> import tapegrad as tg
    >>> w = tg.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = Adagrad([w], lr=0.5)
    >>> (w * w).sum().backward(); opt.step(); w
    tensor([ 0.5000, -1.5000], requires_grad=True)
    """

    # torch's in-place ops on each state tensor per update (addcmul_)
    _VERSIONS = {"sum": 1}

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10,
                 foreach: Optional[bool] = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: Optional[bool] = None) -> None:
        check_lr(lr)
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(f"Invalid initial_accumulator_value value: "
                             f"{initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        check_flags(differentiable, foreach, fused)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, self.state[p], group)

    def _init_state(self, p: Tensor, state: dict, group: dict) -> None:
        # (torch fills with the optimizer's default, also for a group added later)
        state["step"] = new_step(bool(group["fused"]))
        state["sum"] = state_like(p, self.defaults["initial_accumulator_value"])

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            for key, value in (("foreach", None), ("maximize", False),
                               ("differentiable", False), ("fused", None)):
                group.setdefault(key, value)
            steps_as_tensors(self, group)

    def share_memory(self) -> None:
        """(torch's: shares the sums across processes; tapegrad's memory is not shared.)"""

    def step(self, closure: Optional[Callable[[], Any]] = None):
        """One Adagrad update of every parameter with a gradient; returns ``closure()``."""
        return self._step(closure)

    def _update(self, group: dict[str, Any]) -> None:
        plan = self._plan(group, _kernels.adagrad_group, _kernels.adagrad,
                          lambda step, dtype: _hyper(group, step, dtype))
        for p in group["params"]:
            g = p.grad
            if g is None:
                continue
            state = self.state[p]
            if len(state) == 0:
                self._init_state(p, state, group)
            plan.add(p, g, state, _KEYS, advance=True)
        plan.run()


def _hyper(group: dict[str, Any], step: float, dtype: np.dtype) -> np.ndarray:
    """The kernel's h (`_kernels.ADAGRAD_H`): clr = lr / (1 + (step - 1) * lr_decay)."""
    clr = as_float(group["lr"]) / (1 + (step - 1) * as_float(group["lr_decay"]))
    h = np.empty(_kernels.ADAGRAD_H, dtype)
    h[:] = (-1.0 if group["maximize"] else 1.0, as_float(group["weight_decay"]),
            as_float(group["eps"]), -clr)
    return h
