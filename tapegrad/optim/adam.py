"""`Adam` and `AdamW` (Adam with decoupled weight decay), as torch's."""
from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from ..tensor import Tensor
from . import _kernels
from .optimizer import Optimizer, as_float, check_flags, check_lr, new_step, state_like

_KEYS = ("exp_avg", "exp_avg_sq", None)
_KEYS_AMSGRAD = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")


class Adam(Optimizer):
    """Adam, as ``torch.optim.Adam`` (``amsgrad``, ``maximize``, L2 ``weight_decay``, or
    decoupled weight decay as AdamW's with ``decoupled_weight_decay=True``).

    >>> import tapegrad as tg
    >>> w = tg.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = Adam([w], lr=0.1)
    >>> (w * w).sum().backward(); opt.step(); w
    tensor([ 0.9000, -1.9000], requires_grad=True)
    >>> sorted(opt.state[w])
    ['exp_avg', 'exp_avg_sq', 'step']
    """

    # torch's in-place ops on each state tensor per update (lerp_; mul_, addcmul_; maximum(out=))
    _VERSIONS = {"exp_avg": 1, "exp_avg_sq": 2, "max_exp_avg_sq": 1}

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach: Optional[bool] = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused: Optional[bool] = None,
                 decoupled_weight_decay: bool = False) -> None:
        check_lr(lr)
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not ((isinstance(betas[0], float) and isinstance(betas[1], float))
                or (isinstance(betas[0], Tensor) and isinstance(betas[1], Tensor))):
            raise ValueError("betas must be either both floats or both Tensors")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)
        check_flags(differentiable, foreach, fused)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            for key, value in (("amsgrad", False), ("maximize", False), ("foreach", None),
                               ("capturable", False), ("differentiable", False),
                               ("decoupled_weight_decay", False), ("fused", None)):
                group.setdefault(key, value)
            steps_as_tensors(self, group)

    def step(self, closure: Optional[Callable[[], Any]] = None):
        """One Adam update of every parameter with a gradient; returns ``closure()`` if given."""
        return self._step(closure)

    def _update(self, group: dict[str, Any]) -> None:
        keys = _KEYS_AMSGRAD if group["amsgrad"] else _KEYS
        # (torch's AdamW multiplies the parameter in place before its update)
        versions = 2 if group["decoupled_weight_decay"] and group["weight_decay"] != 0 else 1
        # (h depends on the step count: the same for all parameters, usually)
        plan = self._plan(group, _kernels.adam_group, _kernels.adam,
                          lambda step, dtype: _hyper(group, step, dtype), versions)
        for p in group["params"]:
            g = p.grad
            if g is None:
                continue
            state = self.state[p]
            if len(state) == 0:
                state["step"] = new_step(bool(group["fused"]))
                state["exp_avg"] = state_like(p)
                state["exp_avg_sq"] = state_like(p)
                if group["amsgrad"]:
                    state["max_exp_avg_sq"] = state_like(p)
            plan.add(p, g, state, keys, advance=True)
        plan.run()


def _hyper(group: dict[str, Any], step: float, dtype: np.dtype) -> np.ndarray:
    """The kernel's h (`_kernels.ADAM_H`), the scalars computed in Python floats as torch's."""
    lr, wd, eps = as_float(group["lr"]), as_float(group["weight_decay"]), as_float(group["eps"])
    beta1, beta2 = (as_float(b) for b in group["betas"])
    decoupled = group["decoupled_weight_decay"] and wd != 0
    bias_correction1 = 1 - beta1 ** step
    bias_correction2 = 1 - beta2 ** step
    h = np.empty(_kernels.ADAM_H, dtype)
    w1 = dtype.type(1 - beta1)  # lerp's weight, and its 1 - w computed in the tensor's dtype
    h[:] = (-1.0 if group["maximize"] else 1.0, 0.0 if decoupled else wd,
            1 - lr * wd if decoupled else 1.0, w1, dtype.type(1) - w1, abs(w1) >= 0.5, beta2,
            1 - beta2, group["amsgrad"], -(lr / bias_correction1), bias_correction2 ** 0.5, eps)
    return h


def steps_as_tensors(opt: Optimizer, group: dict[str, Any]) -> None:
    """A loaded state whose ``step`` is a number (old checkpoints): a tensor, as torch's."""
    for p in group["params"]:
        st = opt.state.get(p, {})
        if len(st) != 0 and "step" in st and not isinstance(st["step"], Tensor):
            t = new_step()
            t._data[...] = float(st["step"])
            st["step"] = t


class AdamW(Adam):
    """AdamW: Adam with decoupled weight decay (the parameter shrinks by lr * weight_decay
    before the update), as ``torch.optim.AdamW``; weight_decay defaults to 0.01.

    >>> import tapegrad as tg
    >>> w = tg.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = AdamW([w], lr=0.1, weight_decay=0.5)
    >>> (w * w).sum().backward(); opt.step(); w
    tensor([ 0.8500, -1.8000], requires_grad=True)
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False, foreach: Optional[bool] = None,
                 capturable: bool = False, differentiable: bool = False,
                 fused: Optional[bool] = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused, decoupled_weight_decay=True)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
