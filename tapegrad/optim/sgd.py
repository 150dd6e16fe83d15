"""`SGD`: stochastic gradient descent with momentum, dampening, Nesterov momentum, weight decay
and maximize, as torch's."""
from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from . import _kernels
from ..tensor import Tensor
from .optimizer import Optimizer, as_float, check_flags, state_like

_NO_STATE: dict = {}  # (momentum 0: torch keeps no state for the parameter; never written)
_BUF = ("momentum_buffer",)
_NONE = (None,)


class SGD(Optimizer):
    """Stochastic gradient descent (optionally with momentum), as ``torch.optim.SGD``.

    >>> import tapegrad as tg
    >>> w = tg.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = SGD([w], lr=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     opt.zero_grad(); (w * w).sum().backward(); opt.step()
    >>> w
    tensor([ 0.4600, -0.9200], requires_grad=True)
    """

    # torch's in-place ops on each state tensor per update (mul_, add_)
    _VERSIONS = {"momentum_buffer": 2}

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: Optional[bool] = None, differentiable: bool = False,
                 fused: Optional[bool] = None) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if lr < 0.0:  # (not `not 0 <= lr` as the others: torch's SGD lets nan through)
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach,
                        differentiable=differentiable, fused=fused)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)
        check_flags(differentiable, foreach, fused)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("nesterov", False)
            group.setdefault("maximize", False)
            group.setdefault("foreach", None)
            group.setdefault("differentiable", False)
            group.setdefault("fused", False)

    def step(self, closure: Optional[Callable[[], Any]] = None):
        """One SGD update of every parameter with a gradient; returns ``closure()`` if given."""
        return self._step(closure)

    def _update(self, group: dict[str, Any]) -> None:
        use_mom = group["momentum"] != 0
        plan = self._plan(group, _kernels.sgd_group, _kernels.sgd,
                          lambda first, dtype: _hyper(group, dtype, first))
        made = None  # parameters whose buffer this step created
        for p in group["params"]:
            g = p.grad
            if g is None:
                continue
            if use_mom:
                state = self.state[p]
                # (torch reads every buffer before updating: a parameter listed twice starts
                # both of its updates on the first step from the gradient, and keeps the last)
                first = state.get("momentum_buffer") is None or (made is not None and p in made)
                if first:  # (the kernel copies the gradient in, as torch's clone)
                    state["momentum_buffer"] = state_like(p)
                    made = made or set()
                    made.add(p)
                plan.add(p, g, state, _BUF, first, new_state=first)
            else:
                plan.add(p, g, _NO_STATE, _NONE, False)
        plan.run()


def _hyper(group: dict[str, Any], dtype: np.dtype, first: bool) -> np.ndarray:
    h = np.empty(_kernels.SGD_H, dtype)
    h[:] = (-1.0 if group["maximize"] else 1.0, as_float(group["weight_decay"]), group["momentum"],
            1 - group["dampening"], first, group["nesterov"], -as_float(group["lr"]))
    return h
