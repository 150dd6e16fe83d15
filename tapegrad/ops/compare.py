"""Comparisons and boolean reductions: bool results, no gradient, no tape."""
from __future__ import annotations

import numpy as np

from .._record import broadcast_shapes
from ..tensor import Tensor, _wrap
from .reductions import _dims

# ------------------------------------------------------------------------------------------------
# comparisons and boolean reductions (no gradient)
# ------------------------------------------------------------------------------------------------
def _compare(fn):
    def cmp(input: Tensor, other) -> Tensor:
        o = other._data if isinstance(other, Tensor) else other
        if isinstance(other, Tensor) and other._data.shape != input._data.shape:
            broadcast_shapes(input._data.shape, other._data.shape)
        return _wrap(np.asarray(fn(input._data, o)))
    cmp.__name__ = fn.__name__
    cmp.__doc__ = f"Elementwise comparison ({fn.__name__}); a bool tensor, no gradient."
    return cmp


eq, ne, lt = _compare(np.equal), _compare(np.not_equal), _compare(np.less)
le, gt, ge = _compare(np.less_equal), _compare(np.greater), _compare(np.greater_equal)


def all(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """True where all elements (along `dim`) are nonzero."""
    axes = None if dim is None else _dims(dim, input.ndim)
    return _wrap(np.asarray(np.all(input._data, axis=axes, keepdims=keepdim)))


def any(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """True where any element (along `dim`) is nonzero."""
    axes = None if dim is None else _dims(dim, input.ndim)
    return _wrap(np.asarray(np.any(input._data, axis=axes, keepdims=keepdim)))


__all__ = ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'all', 'any']
QUERIES = dict(eq=eq, ne=ne, lt=lt, le=le, gt=gt, ge=ge, all=all, any=any)
METHODS = dict(__eq__=eq, __ne__=ne, __lt__=lt, __le__=le, __gt__=gt, __ge__=ge)
