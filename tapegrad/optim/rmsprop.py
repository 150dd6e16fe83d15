"""`RMSprop`, as torch's (centered, momentum, weight decay, maximize)."""
from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from . import _kernels
from .adam import steps_as_tensors
from .optimizer import Optimizer, as_float, check_flags, check_lr, new_step, state_like


class RMSprop(Optimizer):
    """RMSprop, as ``torch.optim.RMSprop``: the gradient divided by the root of a running mean
    of its square (minus the square of its running mean when ``centered``).

    >>> import tapegrad as tg
    >>> w = tg.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = RMSprop([w], lr=0.01, alpha=0.75)
    >>> (w * w).sum().backward(); opt.step(); w
    tensor([ 0.9800, -1.9800], requires_grad=True)
    """

    # torch's in-place ops on each state tensor per update (mul_, addcmul_; lerp_; mul_, addcdiv_)
    _VERSIONS = {"square_avg": 2, "grad_avg": 1, "momentum_buffer": 2}

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False,
                 capturable: bool = False, foreach: Optional[bool] = None,
                 maximize: bool = False, differentiable: bool = False) -> None:
        check_lr(lr)
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)
        check_flags(differentiable, foreach, None)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            for key, value in (("momentum", 0), ("centered", False), ("foreach", None),
                               ("maximize", False), ("differentiable", False),
                               ("capturable", False)):
                group.setdefault(key, value)
            steps_as_tensors(self, group)

    def step(self, closure: Optional[Callable[[], Any]] = None):
        """One RMSprop update of every parameter with a gradient; returns ``closure()``."""
        return self._step(closure)

    def _update(self, group: dict[str, Any]) -> None:
        centered, use_mom = group["centered"], group["momentum"] > 0
        keys = ("square_avg", "grad_avg" if centered else None,
                "momentum_buffer" if use_mom else None)
        # (RMSprop counts steps but its update does not depend on them)
        plan = self._plan(group, _kernels.rmsprop_group, _kernels.rmsprop,
                          lambda _, dtype: _hyper(group, dtype))
        for p in group["params"]:
            g = p.grad
            if g is None:
                continue
            state = self.state[p]
            if len(state) == 0:
                state["step"] = new_step()
                state["square_avg"] = state_like(p)
                if use_mom:
                    state["momentum_buffer"] = state_like(p)
                if centered:
                    state["grad_avg"] = state_like(p)
            plan.add(p, g, state, keys, advance=True)  # (h's key: the count, not used)
        plan.run()


def _hyper(group: dict[str, Any], dtype: np.dtype) -> np.ndarray:
    """The kernel's h (`_kernels.RMSPROP_H`)."""
    alpha = as_float(group["alpha"])
    oma = dtype.type(1 - alpha)  # lerp's weight (centered), and its 1 - w in the tensor's dtype
    h = np.empty(_kernels.RMSPROP_H, dtype)
    h[:] = (-1.0 if group["maximize"] else 1.0, as_float(group["weight_decay"]), alpha, oma,
            dtype.type(1) - oma, abs(oma) >= 0.5, as_float(group["eps"]), group["centered"],
            as_float(group["momentum"]), -as_float(group["lr"]))
    return h
