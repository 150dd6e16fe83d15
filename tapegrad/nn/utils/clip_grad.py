"""Gradient clipping: rescale (by norm) or clamp (by value) the ``.grad`` of parameters in
place, as torch's ``torch.nn.utils.clip_grad_*``."""
from __future__ import annotations

import math
from typing import Iterable, Union

import numpy as np

from ..._grad_mode import no_grad
from ...tensor import Tensor, _wrap

_Params = Union[Tensor, Iterable[Tensor]]


def _grads(parameters: _Params) -> list:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def _norm(a: np.ndarray, p: float) -> float:
    a = np.abs(a.ravel()).astype(np.float64)
    if p == math.inf:
        return float(a.max()) if a.size else 0.0
    if p == 0:
        return float(np.count_nonzero(a))
    return float(np.sum(a ** p) ** (1.0 / p)) if p != 2 else float(np.sqrt(np.dot(a, a)))


def get_total_norm(tensors: _Params, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach=None) -> Tensor:
    """The `norm_type`-norm of all the tensors' elements together (a 0-d tensor)."""
    if isinstance(tensors, Tensor):
        tensors = [tensors]
    tensors = list(tensors)
    p = float(norm_type)
    if not tensors:
        return _wrap(np.array(0.0, np.float32))
    norms = [_norm(t._data, p) for t in tensors]
    total = max(norms) if p == math.inf else _norm(np.asarray(norms), p)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"The total norm of order {p} for gradients from `parameters` is "
                           f"non-finite, so it cannot be clipped. To disable this error and "
                           f"scale the gradients by the non-finite norm anyway, set "
                           f"`error_if_nonfinite=False`")
    return _wrap(np.array(total, tensors[0]._data.dtype))


def clip_grad_norm_(parameters: _Params, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach=None) -> Tensor:
    """Scale the gradients so that their total norm is at most `max_norm`; returns the total
    norm before clipping.

    >>> import tapegrad as tg
    >>> p = tg.zeros(2, requires_grad=True); p.grad = tg.tensor([3., 4.])
    >>> tg.nn.utils.clip_grad_norm_([p], 1.0), p.grad
    (tensor(5.), tensor([0.6000, 0.8000]))
    """
    grads = _grads(parameters)
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    if not grads:
        return total
    coef = min(float(max_norm) / (float(total) + 1e-6), 1.0)
    with no_grad():
        for g in grads:
            g.mul_(coef)
    return total


def clip_grad_value_(parameters: _Params, clip_value: float, foreach=None) -> None:
    """Clamp every gradient element to [-clip_value, clip_value] in place."""
    v = float(clip_value)
    with no_grad():
        for g in _grads(parameters):
            g.clamp_(-v, v)
