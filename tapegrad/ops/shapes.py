"""Shape ops (reshape/view, permute/transpose/t, basic indexing) and casts/copies.

reshape, casts and clone are flat identities for the adjoint (`unary` kind, ``g``) but are
recorded through `apply_kernel` because their output's shape or dtype differs from the input's.
"""
from __future__ import annotations

import builtins
from functools import partial
from typing import Sequence

import numpy as np

from .._opdef import kernel, unary
from .._record import apply_kernel, apply_unary
from ..tensor import Tensor, _wrap, normalize_dim
from ._util import into

# flat identities: reshape/view, dtype casts, clone (recorded with their own output shape/dtype)
VIEW = unary("view", None, "g", "ViewBackward0",
             usage="x.reshape(...), x.view(...)",
    test=("same", lambda h, x: lambda x, s=h.reshape_target(x): x.reshape(s)))
TO = unary("to_copy", None, "g", "ToCopyBackward0", tol=dict(eps=1e-2, atol=1e-4),
           usage="x.to(dtype), x.double(), x.float()",
    test=("same", lambda h, x: lambda x: x.float()))  # float32 output: a coarser step
CLONE = unary("clone", lambda x, out: into(x.copy(), out), "g", "CloneBackward0")


# ------------------------------------------------------------------------------------------------
# shapes
# ------------------------------------------------------------------------------------------------
PERMUTE = kernel("permute", "adj_permute", "PermuteBackward0",
                 usage="x.permute(dims), x.T",
    test=("same", lambda h, x: lambda x, p=h.perm(x): x.permute(p)))
TRANSPOSE = kernel("transpose", "adj_permute", "TransposeBackward0",
                   usage="x.transpose(d0, d1)",
    test=("same", lambda h, x: partial(transpose, dim0=h.dim(x), dim1=h.dim(x))))
T_OP = kernel("t", "adj_permute", "TBackward0", usage="x.t()",
    test=("matrix", lambda h, x: t))
INDEX = kernel("select", "adj_strided", "SelectBackward0",
               usage="x[i], x[i, j]",
    test=("nonscalar", lambda h, x: lambda x, i=h.int_index(x): x[i]))
SLICE = kernel("slice", "adj_strided", "SliceBackward0",
               usage="x[1:, None, ..., ::2]",
    test=("same", lambda h, x: lambda x, i=h.basic_index(x): x[i]))


def _permuted(op, x: Tensor, perm: tuple) -> Tensor:
    xd = x._data
    shape = tuple(xd.shape[p] for p in perm)
    return apply_kernel(op, (x,), shape, xd.dtype,
                        lambda out: into(np.transpose(xd, perm).copy(), out), perm)


def permute(input: Tensor, *dims) -> Tensor:
    """Reorder dimensions. ``x.permute(1, 0)``."""
    if len(dims) == 1 and isinstance(dims[0], (list, tuple)):
        dims = tuple(dims[0])
    nd = input.ndim
    if len(dims) != nd:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does "
                           f"not match the length of the desired ordering of dimensions i.e. "
                           f"input.dim() = {nd} is not equal to len(dims) = {len(dims)}")
    perm = tuple(normalize_dim(d, nd) for d in dims)
    if len(set(perm)) != nd:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return _permuted(PERMUTE, input, perm)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dimensions."""
    nd = input.ndim
    d0, d1 = normalize_dim(dim0, nd), normalize_dim(dim1, nd)
    perm = list(range(nd))
    if nd:  # a 0-d tensor transposes to itself
        perm[d0], perm[d1] = perm[d1], perm[d0]
    return _permuted(TRANSPOSE, input, tuple(perm))


def t(input: Tensor) -> Tensor:
    """Transpose of a matrix (0-D and 1-D tensors are returned as they are)."""
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                           f"{input.ndim}D")
    return _permuted(T_OP, input, tuple(range(input.ndim - 1, -1, -1)))


def _infer_shape(shape: Sequence[int], size: int) -> tuple:
    shape = tuple(int(s) for s in shape)
    neg = [i for i, s in enumerate(shape) if s == -1]
    known = int(np.prod([s for s in shape if s != -1])) if shape else 1
    bad = len(neg) > 1 or builtins.any(s < -1 for s in shape)
    if neg and not bad:
        if known == 0 or size % known:
            bad = True
        else:
            shape = shape[:neg[0]] + (size // known,) + shape[neg[0] + 1:]
    if len(neg) > 1:
        raise RuntimeError("only one dimension can be inferred")
    if bad or int(np.prod(shape)) != size:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {size}")
    return shape


def reshape(input: Tensor, *shape) -> Tensor:
    """Same data, new shape (one dim may be -1). ``x.reshape(2, -1)``."""
    if len(shape) == 1 and isinstance(shape[0], (list, tuple)):
        shape = tuple(shape[0])
    xd = input._data
    new = _infer_shape(shape, xd.size)
    return apply_kernel(VIEW, (input,), new, xd.dtype, lambda out: into(xd.reshape(new), out))


def _getitem(x: Tensor, idx) -> Tensor:
    xd = x._data
    key = idx if isinstance(idx, tuple) else (idx,)
    basic = builtins.all(isinstance(k, (int, np.integer, slice)) or k is None or k is Ellipsis
                         for k in key) and not builtins.any(isinstance(k, bool) for k in key)
    if not basic:
        key = tuple(k._data if isinstance(k, Tensor) else k for k in key)
        if x._rg:
            raise NotImplementedError("indexing with tensors, lists or masks does not record "
                                      "gradients yet; use basic indexing (ints, slices, None, ...)")
        return _wrap(xd[key])
    _check_index(key, xd.shape)
    if not x._rg:
        return _wrap(xd[key])
    src = np.ascontiguousarray(xd)
    view = src[key if Ellipsis in key else key + (Ellipsis,)]  # a view even when all are ints
    item = src.itemsize
    offset = (view.__array_interface__["data"][0] - src.__array_interface__["data"][0]) // item
    strides = tuple(s // item for s in view.strides)
    op = INDEX if key and builtins.all(isinstance(k, (int, np.integer)) for k in key) else SLICE
    return apply_kernel(op, (x,), view.shape, xd.dtype, lambda out: into(view.copy(), out),
                        (offset,) + strides)


def _check_index(key: tuple, shape: tuple) -> None:
    """IndexError for an integer out of range, before anything touches memory."""
    nd_used = builtins.sum(1 for k in key if k is not None and k is not Ellipsis)
    if nd_used > len(shape):
        raise IndexError(f"too many indices for tensor of dimension {len(shape)}")
    d = 0
    for k in key:
        if k is Ellipsis:
            d += len(shape) - nd_used
        elif k is None:
            continue
        else:
            if isinstance(k, (int, np.integer)) and not -shape[d] <= k < shape[d]:
                raise IndexError(f"index {k} is out of bounds for dimension {d} with size "
                                 f"{shape[d]}")
            d += 1


# ------------------------------------------------------------------------------------------------
# casts and copies
# ------------------------------------------------------------------------------------------------
def to(input: Tensor, *args, dtype=None, copy: bool = False, **kwargs) -> Tensor:
    """Convert to a dtype (``x.to(tapegrad.float64)``); a device string 'cpu' is accepted."""
    from .._dtype import as_dtype, dtype as _dt
    for a in args:
        if isinstance(a, _dt) or isinstance(a, type) or isinstance(a, np.dtype):
            dtype = a
        elif isinstance(a, Tensor):
            dtype = a.dtype
        elif a not in ("cpu", None):
            raise RuntimeError(f"to(): unsupported device {a!r} (tapegrad runs on the CPU)")
    if dtype is None:
        return input.clone() if copy else input
    nd = as_dtype(dtype).np_dtype
    xd = input._data
    if nd == xd.dtype and not copy:
        return input
    if nd.kind != "f" or not input._rg:
        return _wrap(xd.astype(nd))
    return apply_kernel(TO, (input,), xd.shape, nd,
                        lambda out: into(xd.astype(nd), out))


def clone(input: Tensor) -> Tensor:
    """A copy with its own memory (recorded: gradients flow back to `input`)."""
    return apply_unary(CLONE, input, out_dtype=input._data.dtype)


def contiguous(input: Tensor) -> Tensor:
    return input if input._data.flags.c_contiguous else clone(input)


def _view(input: Tensor, *shape) -> Tensor:
    return reshape(input, *shape)


__all__ = ['reshape', 'permute', 'transpose', 't', 'to', 'clone', 'contiguous']
METHODS = dict(
    reshape=reshape, view=_view, permute=permute, transpose=transpose, t=t, to=to, clone=clone,
    contiguous=contiguous, __getitem__=_getitem,
    double=lambda self: to(self, np.float64), float=lambda self: to(self, np.float32),
    long=lambda self: to(self, np.int64), int=lambda self: to(self, np.int32),
    bool=lambda self: to(self, np.bool_),
)
