"""Sorting, selection and counting: sort, argsort, msort, topk, kthvalue, median, nanmedian,
mode, aminmax, unique, unique_consecutive, bincount, histc, searchsorted, bucketize, nonzero,
argwhere, count_nonzero.

No op is registered here: the differentiable results (the values of sort, topk, kthvalue,
median, mode) are one recorded gather of the input at positions computed in numpy (torch's
backward of these ops also sends the gradient to the selected positions), so their gradients,
higher-order gradients and `tapegrad.compile` replays come from the gather op. The global median
is a masked max, whose adjoint splits the gradient evenly among the elements equal to the
result, as torch's. Integer results (indices, counts, positions) are plain tensors without
gradient.

Which of several equal elements torch returns is decided by its algorithms; `_stl` runs the
same algorithms (libstdc++'s sort / nth_element / partial_sort, ATen's quick select), so ties get
torch's indices. While a function is traced for `tapegrad.compile`, the values that decide
positions are read (`_trace.reads`: guarded) and the positions are constants of the recording.
"""
from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from .._dtype import torch_name
from .._grad_mode import STATE
from .._trace import mark_pure, reads
from ..tensor import Tensor, _wrap, normalize_dim
from . import _stl
from .indexing import GATHER, _take
from .reductions import _return_type, return_types

# ------------------------------------------------------------------------------------------------
# torch.return_types for the ops of this module (added to the namespace `max`/`min` live in)
# ------------------------------------------------------------------------------------------------
for _name in ("sort", "topk", "kthvalue", "median", "nanmedian", "mode"):
    setattr(return_types, _name, _return_type(_name))


def _pair_type(name: str, fields: tuple):
    """A torch.return_types named tuple with other field names than (values, indices)."""
    base = namedtuple(name, fields)

    def __repr__(self) -> str:
        inner = ",\n".join(f"{f}={getattr(self, f)!r}" for f in fields)
        return f"tapegrad.return_types.{name}(\n{inner})"
    return type(name, (base,), {"__slots__": (), "__repr__": __repr__,
                                "__module__": "tapegrad.return_types", "__qualname__": name})


return_types.aminmax = _pair_type("aminmax", ("min", "max"))


# ------------------------------------------------------------------------------------------------
# rows: the reduced dim moved last, one row per position of the other dims
# ------------------------------------------------------------------------------------------------
def _rows(xd: np.ndarray, d: int):
    """(rows, flat positions, leading shape): `xd` (0-d: one element) with dim d moved last as
    a C-ordered 2-D array in the dtype `_stl` works in (float64 for floats, int64 otherwise), and
    the flat C-order position in `xd` of each of its elements."""
    x1 = xd.reshape(1) if xd.ndim == 0 else xd
    moved = np.moveaxis(x1, d, -1)
    lead, n = moved.shape[:-1], moved.shape[-1]
    work = np.float64 if xd.dtype.kind == "f" else np.int64
    nrows = math.prod(lead)  # (not -1: rows may be empty)
    rows = np.ascontiguousarray(moved, dtype=work).reshape(nrows, n)
    pos = np.moveaxis(np.arange(x1.size, dtype=np.int64).reshape(x1.shape), d, -1).reshape(
        nrows, n)
    return rows, pos, lead


def _back(a: np.ndarray, lead: tuple, d: int, ndim: int, keep: bool = True) -> np.ndarray:
    """Rows of results (nrows, k) back in the input's layout: dim d of size k (dropped when not
    `keep`); a 0-d input gives 0-d results."""
    k = a.shape[1]
    out = np.moveaxis(a.reshape(lead + (k,)), -1, d)
    if ndim == 0:
        return out.reshape(())
    return out if keep else out.reshape(out.shape[:d] + out.shape[d + 1:])


def _picked(input: Tensor, flat: np.ndarray) -> Tensor:
    """input's elements at the flat positions `flat` (any shape), recorded as one gather: the
    gradient goes to the positions picked."""
    return _take(GATHER, input, flat.shape, flat)


def _indices(a: np.ndarray) -> Tensor:
    """An int64 result made from values the trace guards (a constant of the recording)."""
    return mark_pure(_wrap(np.array(a, dtype=np.int64)))  # (a C-ordered copy, 0-d kept)


def _selected(input: Tensor, rows_idx: np.ndarray, pos: np.ndarray, lead: tuple, d: int,
              keep: bool) -> tuple:
    """(values, indices) of a value-selecting op from per-row positions (nrows, k)."""
    nd = input._data.ndim
    flat = np.take_along_axis(pos, rows_idx, 1)
    return (_picked(input, _back(flat, lead, d, nd, keep)),
            _indices(_back(rows_idx, lead, d, nd, keep)))


def _dim_of(input: Tensor, dim) -> int:
    reads(input)  # the positions depend on the values: guarded when compiled
    return normalize_dim(dim, input._data.ndim)


# ------------------------------------------------------------------------------------------------
# sort / argsort / msort / topk
# ------------------------------------------------------------------------------------------------
def _sort_positions(xd: np.ndarray, d: int, descending: bool, stable: bool):
    rows, pos, lead = _rows(xd, d)
    n = rows.shape[1]
    if n <= 1 or (xd.ndim and xd.strides[d] == 0 and xd.shape[d] > 1):
        # torch returns the identity for a dim whose elements share one memory location
        return np.broadcast_to(np.arange(n), rows.shape).copy(), pos, lead
    radix = (xd.ndim == 1 and xd.dtype.kind in "iu" and xd.size >= 32768 and not descending)
    if stable or radix:  # (torch's radix sort of long 1-D integer tensors is stable too)
        if descending:  # stable descending: the stable ascending order of the reversed rows
            idx = n - 1 - np.argsort(rows[:, ::-1], axis=1, kind="stable")[:, ::-1]
        else:
            idx = np.argsort(rows, axis=1, kind="stable")
        return idx, pos, lead
    vals = np.empty_like(rows)
    idx = np.empty(rows.shape, np.int64)
    _stl.sort_rows(rows, bool(descending), vals, idx)
    return idx, pos, lead


def sort(input: Tensor, dim: int = -1, descending: bool = False, *, stable: bool = False):
    """``(values, indices)`` sorted along `dim` (NaN counts as the largest value). With
    ``stable=True`` equal elements keep their order; otherwise ties come out in the order torch's
    (unstable) sort gives them. The gradient of `values` goes back to the sorted positions.

    >>> import tapegrad as tg
    >>> tg.sort(tg.tensor([3., 1., 2.]), descending=True)
    tapegrad.return_types.sort(
    values=tensor([3., 2., 1.]),
    indices=tensor([0, 2, 1]))
    """
    d = _dim_of(input, dim)
    idx, pos, lead = _sort_positions(input._data, d, descending, stable)
    return return_types.sort(*_selected(input, idx, pos, lead, d, True))


def argsort(input: Tensor, dim: int = -1, descending: bool = False, *,
            stable: bool = False) -> Tensor:
    """The indices that sort `input` along `dim` (``sort(...).indices``).

    >>> import tapegrad as tg
    >>> tg.tensor([3., 1., 2.]).argsort()
    tensor([1, 2, 0])
    """
    d = _dim_of(input, dim)
    idx, _, lead = _sort_positions(input._data, d, descending, stable)
    return _indices(_back(idx, lead, d, input._data.ndim))


def msort(input: Tensor) -> Tensor:
    """Sorted along the first dim (``sort(input, 0).values``).

    >>> import tapegrad as tg
    >>> tg.msort(tg.tensor([[2., 1.], [1., 3.]]))
    tensor([[1., 1.],
            [2., 3.]])
    """
    return sort(input, 0).values


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True,
         sorted: bool = True):  # noqa: A002
    """The `k` largest (``largest=False``: smallest) elements along `dim` and their indices,
    sorted unless ``sorted=False`` (NaN counts as the largest value; ties as torch picks them).

    >>> import tapegrad as tg
    >>> tg.topk(tg.tensor([1., 5., 3., 4.]), 2)
    tapegrad.return_types.topk(
    values=tensor([5., 4.]),
    indices=tensor([1, 3]))
    """
    d = _dim_of(input, dim)
    xd = input._data
    n = xd.shape[d] if xd.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError("selected index k out of range")
    rows, pos, lead = _rows(xd, d)
    vals = np.empty((rows.shape[0], k), rows.dtype)
    idx = np.empty((rows.shape[0], k), np.int64)
    if rows.shape[0] and k:
        _stl.topk_rows(rows, int(k), bool(largest), bool(sorted), vals, idx)
    return return_types.topk(*_selected(input, idx, pos, lead, d, True))


# ------------------------------------------------------------------------------------------------
# kthvalue / median / nanmedian / mode
# ------------------------------------------------------------------------------------------------
def _nonempty_dim(name: str, xd: np.ndarray, d: int) -> None:
    if xd.ndim and xd.shape[d] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False):
    """The `k`-th smallest element (1-based) along `dim` and its index (NaN counts as the
    largest value).

    >>> import tapegrad as tg
    >>> tg.tensor([3., 1., 2.]).kthvalue(2)
    tapegrad.return_types.kthvalue(
    values=tensor(2.),
    indices=tensor(2))
    """
    d = _dim_of(input, dim)
    xd = input._data
    n = xd.shape[d] if xd.ndim else 1
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
    rows, pos, lead = _rows(xd, d)
    vals = np.empty(rows.shape[0], rows.dtype)
    idx = np.empty(rows.shape[0], np.int64)
    _stl.kthvalue_rows(rows, int(k), vals, idx)
    return return_types.kthvalue(*_selected(input, idx[:, None], pos, lead, d, keepdim))


def _median_all(input: Tensor, ignore_nan: bool) -> Tensor:
    """The lower median of all elements (median: NaN if there is one); its gradient is split
    evenly among the elements equal to it, as torch's."""
    reads(input)
    xd = input._data
    flat = xd.reshape(-1)
    nan = np.isnan(flat) if xd.dtype.kind == "f" else np.zeros(flat.shape, bool)
    if flat.size == 0 or (ignore_nan and nan.all()) or (not ignore_nan and nan.any()):
        m = math.nan
    else:
        finite = np.sort(flat[~nan])
        m = finite[(finite.size - 1) // 2]
    if not (input._rg and STATE.enabled):
        return _wrap(np.array(m, xd.dtype))
    if flat.size == 0:
        return input.sum() * math.nan
    mask = np.isnan(xd) if m != m else (xd == m)
    # the elements equal to m (the others filled so that they lose): their max (or min) is m
    # exactly, and the max's adjoint splits the gradient among them
    low = m == -math.inf
    filled = input.masked_fill(mark_pure(_wrap(~mask)), math.inf if low else -math.inf)
    return filled.min() if low else filled.max()


def median(input: Tensor, dim=None, keepdim: bool = False):
    """Without `dim`: the lower median of all elements (NaN if any is NaN). With `dim`:
    ``(values, indices)`` of the lower median along it (the first NaN if a row has one).

    >>> import tapegrad as tg
    >>> tg.tensor([4., 1., 3., 2.]).median()
    tensor(2.)
    >>> tg.tensor([[1., 5., 2.], [0., 4., 9.]]).median(1)
    tapegrad.return_types.median(
    values=tensor([2., 4.]),
    indices=tensor([2, 1]))
    """
    return _median("median", input, dim, keepdim, False)


def nanmedian(input: Tensor, dim=None, keepdim: bool = False):
    """`median` ignoring NaN (NaN only where everything is NaN).

    >>> import tapegrad as tg
    >>> tg.tensor([1., float('nan'), 3., 2.]).nanmedian()
    tensor(2.)
    """
    return _median("nanmedian", input, dim, keepdim, True)


def _median(name: str, input: Tensor, dim, keepdim: bool, ignore_nan: bool):
    if dim is None:
        return _median_all(input, ignore_nan)
    d = _dim_of(input, dim)
    xd = input._data
    _nonempty_dim("median", xd, d)  # (torch's message names median for nanmedian too)
    rows, pos, lead = _rows(xd, d)
    vals = np.empty(rows.shape[0], rows.dtype)
    idx = np.empty(rows.shape[0], np.int64)
    _stl.median_rows(rows, ignore_nan, vals, idx)
    return getattr(return_types, name)(*_selected(input, idx[:, None], pos, lead, d, keepdim))


def mode(input: Tensor, dim: int = -1, keepdim: bool = False):
    """The most frequent value along `dim` (the smallest of equally frequent ones) and the index
    of one of its occurrences (torch's: the last in the order its sort leaves them).

    >>> import tapegrad as tg
    >>> tg.tensor([1., 2., 2., 3., 1.]).mode()
    tapegrad.return_types.mode(
    values=tensor(1.),
    indices=tensor(4))
    """
    d = _dim_of(input, dim)
    xd = input._data
    _nonempty_dim("mode", xd, d)
    rows, pos, lead = _rows(xd, d)
    vals = np.empty(rows.shape[0], rows.dtype)
    idx = np.empty(rows.shape[0], np.int64)
    if rows.shape[0]:
        _stl.mode_rows(rows, vals, idx)
    return return_types.mode(*_selected(input, idx[:, None], pos, lead, d, keepdim))


def aminmax(input: Tensor, *, dim=None, keepdim: bool = False):
    """``(min, max)`` of all elements or along `dim` (gradients split evenly among ties, as
    `amin`/`amax`).

    >>> import tapegrad as tg
    >>> tg.aminmax(tg.tensor([[1., 5.], [3., 2.]]), dim=1)
    tapegrad.return_types.aminmax(
    min=tensor([1., 2.]),
    max=tensor([5., 3.]))
    """
    xd = input._data
    if dim is None:
        if xd.size == 0:
            raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the "
                               "operation has no identity.")
        if keepdim:
            shape = (1,) * xd.ndim
            return return_types.aminmax(input.amin().reshape(shape), input.amax().reshape(shape))
        return return_types.aminmax(input.amin(), input.amax())
    d = normalize_dim(dim, xd.ndim)
    if xd.ndim and xd.shape[d] == 0:
        raise IndexError(f"aminmax: Expected reduction dim {d} to have non-zero size.")
    if xd.ndim == 0:
        return return_types.aminmax(input.amin(), input.amax())
    return return_types.aminmax(input.amin(d, keepdim), input.amax(d, keepdim))


# ------------------------------------------------------------------------------------------------
# unique / unique_consecutive
# ------------------------------------------------------------------------------------------------
def _unique_result(values: np.ndarray, inverse, counts, return_inverse, return_counts):
    out = (mark_pure(_wrap(values)),)
    if return_inverse:
        out += (_indices(inverse),)
    if return_counts:
        out += (_indices(counts),)
    return out[0] if len(out) == 1 else out


def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False,  # noqa: A002
           return_counts: bool = False, dim=None):
    """The distinct values (sorted; NaNs are all distinct, as torch's), with optionally the
    index of each input element's value (`inverse`, the input's shape) and their `counts`.
    With `dim`: the distinct slices along it. No gradient.

    >>> import tapegrad as tg
    >>> tg.unique(tg.tensor([3, 1, 3, 2]), return_counts=True)
    (tensor([1, 2, 3]), tensor([1, 1, 2]))
    """
    reads(input)
    xd = input._data
    if dim is None:
        vals, inv, cnt = np.unique(xd.reshape(-1), return_inverse=True, return_counts=True,
                                   equal_nan=False)
        return _unique_result(vals, inv.reshape(xd.shape), cnt, return_inverse, return_counts)
    d = normalize_dim(dim, xd.ndim)
    if xd.ndim == 0:
        raise IndexError(f"Dimension out of range (expected to be in range of [-1, 0], but got "
                         f"{dim})")
    if xd.shape[d] == 0:
        empty = np.moveaxis(np.zeros((0,) + tuple(np.delete(np.array(xd.shape), d)), xd.dtype),
                            0, d)
        return _unique_result(empty, np.zeros(0, np.int64), np.zeros(0, np.int64),
                              return_inverse, return_counts)
    vals, inv, cnt = np.unique(xd, return_inverse=True, return_counts=True, axis=d)
    return _unique_result(vals, inv.reshape(-1), cnt, return_inverse, return_counts)


def unique_consecutive(input: Tensor, return_inverse: bool = False, return_counts: bool = False,
                       dim=None):
    """Collapse runs of equal consecutive values (or slices along `dim`) to one.

    >>> import tapegrad as tg
    >>> tg.unique_consecutive(tg.tensor([1, 1, 2, 2, 3, 1]))
    tensor([1, 2, 3, 1])
    """
    reads(input)
    xd = input._data
    if dim is None:
        flat = xd.reshape(-1)
        new = np.ones(flat.size, bool)
        new[1:] = flat[1:] != flat[:-1]
        starts = np.flatnonzero(new)
        inv = (np.cumsum(new) - 1).reshape(xd.shape)
        cnt = np.diff(np.append(starts, flat.size))
        return _unique_result(flat[starts], inv, cnt, return_inverse, return_counts)
    d = normalize_dim(dim, xd.ndim)
    moved = np.moveaxis(xd, d, 0)
    n = moved.shape[0]
    new = np.ones(n, bool)
    if n > 1:
        new[1:] = (moved[1:] != moved[:-1]).reshape(n - 1, -1).any(axis=1)
    starts = np.flatnonzero(new)
    inv = np.cumsum(new) - 1
    cnt = np.diff(np.append(starts, n))
    return _unique_result(np.ascontiguousarray(np.moveaxis(moved[starts], 0, d)), inv, cnt,
                          return_inverse, return_counts)


# ------------------------------------------------------------------------------------------------
# bincount / histc
# ------------------------------------------------------------------------------------------------
def bincount(input: Tensor, weights=None, minlength: int = 0) -> Tensor:
    """How often each value 0, 1, ... occurs in the 1-D non-negative integer `input` (summed
    `weights` instead of counts when given); at least `minlength` bins. No gradient.

    >>> import tapegrad as tg
    >>> tg.bincount(tg.tensor([0, 1, 1, 3]))
    tensor([1, 2, 0, 1])
    """
    reads(input)
    xd = input._data
    if xd.dtype.kind not in "iu":
        raise NotImplementedError(f"\"bincount_cpu\" not implemented for '{torch_name(xd.dtype)}'")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    if xd.ndim != 1 or (xd.size and xd.min() < 0):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if weights is None:
        return _indices(np.bincount(xd, minlength=minlength))
    reads(weights)
    wd = weights._data
    if wd.ndim != 1 or wd.shape[0] != xd.shape[0]:
        raise RuntimeError("weights should be 1-d and have the same length as input")
    dt = wd.dtype if wd.dtype.kind == "f" else np.dtype(np.float64)
    res = np.bincount(xd, weights=wd.astype(np.float64), minlength=minlength).astype(dt)
    return mark_pure(_wrap(res))


def histc(input: Tensor, bins: int = 100, min=0, max=0) -> Tensor:  # noqa: A002
    """A histogram of `bins` equal bins over [min, max] (both 0, or equal: the data's range;
    elements outside are ignored, the last bin includes max). No gradient.

    >>> import tapegrad as tg
    >>> tg.histc(tg.tensor([1., 2., 1.]), bins=4, min=0, max=3)
    tensor([0., 2., 1., 0.])
    """
    reads(input)
    xd = input._data
    if xd.dtype.kind != "f":
        raise NotImplementedError(f"\"histogram_cpu\" not implemented for "
                                  f"'{torch_name(xd.dtype)}'")
    if bins <= 0:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")
    lo, hi = float(min), float(max)
    if lo == hi and xd.size:
        lo, hi = float(np.min(xd)), float(np.max(xd))
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise RuntimeError(f"torch.histc: range of [{_cfloat(lo)}, {_cfloat(hi)}] is not finite")
    if not lo < hi:
        raise RuntimeError("torch.histc: max must be larger than min")
    # torch's linear bin selection, in the input's dtype: pos = (x - lo) * bins / (hi - lo)
    t = xd.dtype.type
    flat = xd.reshape(-1)
    inside = flat[(flat >= t(lo)) & (flat <= t(hi))]
    pos = ((inside - t(lo)) * t(bins) / (t(hi) - t(lo))).astype(np.int64)
    pos[pos == bins] = bins - 1
    return mark_pure(_wrap(np.bincount(pos, minlength=bins)[:bins].astype(xd.dtype)))


def _cfloat(v: float) -> str:
    """A double as C++'s ostream prints it (6 significant digits; inf, nan)."""
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if math.isnan(v):
        return "nan"
    return f"{v:g}"


# ------------------------------------------------------------------------------------------------
# searchsorted / bucketize
# ------------------------------------------------------------------------------------------------
def _bsearch(bd: np.ndarray, vals: np.ndarray, right: bool) -> np.ndarray:
    """torch's binary search, vectorised: per row of `bd` (rows, n), the position of each of
    `vals` (rows, m); ``!(mid >= v)`` (left) / ``!(mid > v)`` (right) moves right, so NaNs
    behave as in torch."""
    rows, n = bd.shape
    start = np.zeros(vals.shape, np.int64)
    end = np.full(vals.shape, n, np.int64)
    while True:
        active = start < end
        if not active.any():
            return start
        mid = start + ((end - start) >> 1)
        mv = np.take_along_axis(bd, np.minimum(mid, n - 1), 1)
        go = ~(mv > vals) if right else ~(mv >= vals)
        start = np.where(active & go, mid + 1, start)
        end = np.where(active & ~go, mid, end)


def searchsorted(sorted_sequence: Tensor, input, *, out_int32: bool = False, right: bool = False,
                 side=None, sorter=None) -> Tensor:
    """Where each of `input` would be inserted into the innermost dim of `sorted_sequence` to
    keep it sorted (the first such place, or the last with ``right=True`` / ``side='right'``);
    `sorter` sorts an unsorted sequence. int64 (int32 with `out_int32`), no gradient.

    >>> import tapegrad as tg
    >>> tg.searchsorted(tg.tensor([1., 3., 5.]), tg.tensor([0., 3., 6.]))
    tensor([0, 1, 3])
    """
    reads(sorted_sequence, input, sorter)
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but "
                               f"got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, "
                               "got side of left while right was True")
        right = side == "right"
    bd = sorted_sequence._data
    scalar = not isinstance(input, Tensor)
    vd = np.asarray(input) if scalar else input._data
    if scalar and bd.ndim != 1:
        raise RuntimeError(f"torch.searchsorted(): input value can be a scalar only when "
                           f"boundaries tensor dimension is 1, but we got boundaries tensor "
                           f"dim({bd.ndim}) and input value's dim({vd.ndim}) numel(1)")
    if bd.ndim == 0:
        raise RuntimeError("torch.searchsorted(): boundaries tensor should have positive "
                           "dimension, but got 0 dimension")
    if bd.ndim != 1 and (bd.ndim != vd.ndim or bd.shape[:-1] != vd.shape[:-1]):
        raise RuntimeError(f"torch.searchsorted(): boundaries tensor should be 1 dimension or the "
                           f"first N-1 dimensions of boundaries tensor and input value tensor "
                           f"must match, but we got boundaries tensor {list(bd.shape)} and input "
                           f"value tensor {list(vd.shape)}")
    if sorter is not None:
        sd = sorter._data
        if sd.shape != bd.shape:
            raise RuntimeError(f"torch.searchsorted(): boundary and sorter must have the same "
                               f"size, but got boundary tensor {list(bd.shape)}and got sorter "
                               f"tensor {list(sd.shape)}")
        bd = np.take_along_axis(bd, sd.astype(np.int64), -1)
    dt = np.result_type(bd.dtype, vd.dtype)
    n = bd.shape[-1]
    if bd.ndim == 1:
        rows_b, rows_v = bd.reshape(1, n), vd.reshape(1, -1)
    else:
        rows_b, rows_v = bd.reshape(-1, n), vd.reshape(-1, vd.shape[-1] if vd.ndim else 1)
    if n == 0:
        pos = np.zeros(rows_v.shape, np.int64)
    else:
        pos = _bsearch(rows_b.astype(dt), rows_v.astype(dt), right)
    res = pos.reshape(vd.shape).astype(np.int32 if out_int32 else np.int64)
    return mark_pure(_wrap(res))


def bucketize(input, boundaries: Tensor, *, out_int32: bool = False, right: bool = False) -> Tensor:
    """The bucket of each of `input` among the 1-D sorted `boundaries`: i such that
    ``boundaries[i-1] < x <= boundaries[i]`` (``right=True``: ``boundaries[i-1] <= x <
    boundaries[i]``), as ``searchsorted(boundaries, input, right=right)``.

    >>> import tapegrad as tg
    >>> tg.bucketize(tg.tensor([0., 3., 6.]), tg.tensor([1., 3., 5.]))
    tensor([0, 1, 3])
    """
    if boundaries._data.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got "
                           f"dim({boundaries._data.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


# ------------------------------------------------------------------------------------------------
# nonzero / argwhere / count_nonzero
# ------------------------------------------------------------------------------------------------
def nonzero(input: Tensor, *, as_tuple: bool = False):
    """The indices of the nonzero elements: an (n, ndim) int64 tensor, or with ``as_tuple`` one
    1-D tensor per dim (a 0-d input counts as 1-D).

    >>> import tapegrad as tg
    >>> tg.tensor([[0, 1], [2, 0]]).nonzero()
    tensor([[0, 1],
            [1, 0]])
    """
    reads(input)
    xd = input._data
    if as_tuple:
        return tuple(_indices(i) for i in np.nonzero(np.atleast_1d(xd)))
    return _indices(np.argwhere(xd))  # (n, ndim); a 0-d input gives (n, 0)


def argwhere(input: Tensor) -> Tensor:
    """``nonzero(input)``: the (n, ndim) indices of the nonzero elements.

    >>> import tapegrad as tg
    >>> tg.argwhere(tg.tensor([0., 3., 0., 1.]))
    tensor([[1],
            [3]])
    """
    return nonzero(input)


def count_nonzero(input: Tensor, dim=None) -> Tensor:
    """How many elements are nonzero, in all or along `dim` (an int or a tuple); int64.

    >>> import tapegrad as tg
    >>> tg.count_nonzero(tg.tensor([[0, 1], [2, 3]]), dim=1)
    tensor([1, 2])
    """
    reads(input)
    xd = input._data
    if dim is None:
        axes = None
    else:
        dims = dim if isinstance(dim, (tuple, list)) else (dim,)
        axes = tuple(normalize_dim(a, xd.ndim) for a in dims)
        if len(set(axes)) != len(axes):
            raise RuntimeError(f"dim {axes[0]} appears multiple times in the list of dims")
        if xd.ndim == 0:
            axes = None
    return _indices(np.asarray(np.count_nonzero(xd, axis=axes)))


__all__ = ["sort", "argsort", "msort", "topk", "kthvalue", "median", "nanmedian", "mode",
           "aminmax", "unique", "unique_consecutive", "bincount", "histc", "searchsorted",
           "bucketize", "nonzero", "argwhere", "count_nonzero"]
METHODS = dict(sort=sort, argsort=argsort, msort=msort, topk=topk, kthvalue=kthvalue,
               median=median, nanmedian=nanmedian, mode=mode, aminmax=aminmax, unique=unique,
               unique_consecutive=unique_consecutive, bincount=bincount, histc=histc,
               nonzero=nonzero, argwhere=argwhere, count_nonzero=count_nonzero)
