"""Reductions: sum and mean over all elements or over dims (torch's `dim`/`keepdim`)."""
from __future__ import annotations

import builtins
import math
from functools import partial

import numpy as np

from .._opdef import kernel
from .._record import apply_kernel
from ..tensor import Tensor, normalize_dim
from ._util import into

# ------------------------------------------------------------------------------------------------
# reductions
# ------------------------------------------------------------------------------------------------
SUM = kernel("sum", "adj_reduce", "SumBackward0", usage="x.sum()",
    test=("same", lambda h, x: sum))
SUM_DIM = kernel("sum_dim", "adj_reduce", "SumBackward1", usage="x.sum(dim, keepdim)",
    test=(
    "same", lambda h, x: partial(sum, dim=h.dims(x), keepdim=h.flag())))
MEAN = kernel("mean", "adj_reduce", "MeanBackward0", usage="x.mean()",
    test=("same", lambda h, x: mean))
MEAN_DIM = kernel("mean_dim", "adj_reduce", "MeanBackward1", usage="x.mean(dim, keepdim)",
    test=(
    "same", lambda h, x: partial(mean, dim=h.dims(x), keepdim=h.flag())))

_TORCH_NAMES = {"float32": "Float", "float64": "Double", "int64": "Long", "int32": "Int",
                "bool": "Bool"}


def _dims(dim, ndim: int) -> tuple:
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (list, tuple)):
        ds = tuple(normalize_dim(d, ndim) for d in dim)
        if len(set(ds)) != len(ds):
            raise RuntimeError(f"dim {ds[0]} appears multiple times in the list of dims")
        return ds if ds or ndim == 0 else tuple(range(ndim))
    return (normalize_dim(dim, ndim),)


def _reduce(full_op, dim_op, x: Tensor, dim, keepdim: bool, mean: bool, dtype) -> Tensor:
    xd = x._data
    axes = _dims(dim, xd.ndim)
    axes = tuple(a for a in axes if xd.ndim)  # a 0-d tensor reduces over nothing
    if dtype is not None:
        from .._dtype import as_dtype
        dt = as_dtype(dtype).np_dtype
    elif mean:
        if xd.dtype.kind != "f":
            raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be either "
                               f"a floating point or complex dtype. Got: "
                               f"{_TORCH_NAMES[xd.dtype.name]}")
        dt = xd.dtype
    else:
        dt = xd.dtype if xd.dtype.kind == "f" else np.dtype(np.int64)
    shape = tuple(1 if d in axes else n for d, n in enumerate(xd.shape) if keepdim or d not in axes)
    count = 1
    for a in axes:
        count *= xd.shape[a]
    fn = np.mean if mean else np.sum

    def compute(out):
        res = fn(xd, axis=axes, keepdims=keepdim, dtype=dt if dt.kind == "f" else None)
        return into(np.asarray(res, dtype=dt), out)
    mask = builtins.sum(1 << a for a in axes)
    op = full_op if dim is None else dim_op
    scale = (1.0 / count if count else math.nan) if mean else 1.0
    return apply_kernel(op, (x,), shape, dt, compute, (mask,), (scale,))


def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: A001
    """Sum over all elements, or over `dim` (int or tuple). ``x.sum(0, keepdim=True)``."""
    return _reduce(SUM, SUM_DIM, input, dim, keepdim, False, dtype)


def mean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Mean over all elements, or over `dim` (int or tuple)."""
    return _reduce(MEAN, MEAN_DIM, input, dim, keepdim, True, dtype)


__all__ = ['sum', 'mean']
METHODS = dict(sum=sum, mean=mean)
