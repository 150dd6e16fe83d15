"""Indexing: ``x[...]`` (basic and advanced, torch's rules), ``x[...] = v``, index_select, gather,
take_along_dim, scatter_add, masked_fill.

Basic indexing (ints, slices, None, ...) records the view as (offset, strides) into the input
(`adj_strided`, O(1) ints). Advanced indexing (integer tensors/lists, bool masks) records the flat
source position of every output element (`adj_take`, O(output) ints), computed with numpy without
touching the O(input) index space: one broadcast view of ``arange(n_d) * stride_d`` per dim,
indexed like the data.
"""
from __future__ import annotations

import operator
from functools import partial

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .._trace import mark_pure, reads
from .._dtype import torch_name
from .._grad_mode import STATE
from .._opdef import kernel, lanes_strided
from .._record import apply_kernel, broadcast_shapes
from .._version import attach_view
from ..tensor import Tensor, _wrap, normalize_dim
from ._util import SCALAR, into

_K = "tapegrad.ops._kernels_index:"
# the forwards a replayed program runs (views and puts share the shape ops' forwards)
_F = "tapegrad.ops._forward_index:"
_S = "tapegrad.ops._forward_shape:"


def _ints(h, n: int, size: int, lo: int = 0):
    """`size` indices in [lo, n) drawn by the property test (duplicates allowed)."""
    return h.draw(h.st.lists(h.st.integers(lo, n - 1), min_size=size, max_size=size))


def _adv_key(h, x):
    """A key with advanced indices (int lists of one length, or one bool mask) mixed with ints,
    slices and None."""
    st = h.st
    mask_dim = h.draw(st.integers(0, x.ndim - 1)) if h.flag() else -1
    length = h.draw(st.integers(1, 3))
    key, advanced = [], False
    for d, n in enumerate(x.shape):
        kind = h.draw(st.sampled_from(["list", "int", "slice", "none"]))
        if kind == "none":
            key.append(None)
        if d == mask_dim:
            key.append(np.array(h.draw(st.lists(st.booleans(), min_size=n, max_size=n))))
        elif mask_dim < 0 and (kind == "list" or (not advanced and d == x.ndim - 1)):
            key.append(_ints(h, n, length, -n))
            advanced = True
        elif kind == "int":
            key.append(h.draw(st.integers(-n, n - 1)))
        else:
            key.append(slice(h.draw(st.integers(-n, n)), None, h.draw(st.integers(1, 2))))
    return tuple(key)


def _slice_key(h, x):
    """A basic key whose last view-making step is a slice (torch then names SliceBackward0)."""
    st = h.st
    tup = lambda k: k if isinstance(k, tuple) else (k,)
    pre = tup(h.draw(h.hnp.basic_indices(x.shape[:-1], allow_newaxis=True, allow_ellipsis=False)
                     .filter(lambda k: all((s.step or 1) > 0 for s in tup(k)
                                           if isinstance(s, slice))))) if x.ndim > 1 else ()
    n = x.shape[sum(1 for k in pre if k is not None)]
    start, step = h.draw(st.tuples(st.integers(-n - 1, n - 1), st.integers(1, 3)).filter(
        lambda p: slice(p[0], None, p[1]).indices(n) != (0, n, 1)))
    return pre + (slice(start, None, step),)


def _masked_fill_inputs(h):
    x = h.tensor(h.shape())
    return (x,)


def _gather_inputs(h):
    return (h.tensor(h.shape(min_dims=1)),)


def _gather_make(h, x):
    dim = h.dim(x)
    d = dim % x.ndim
    shape = tuple(h.draw(h.st.integers(1, 3)) if i == d else h.draw(h.st.integers(1, n))
                  for i, n in enumerate(x.shape))
    idx = np.array(_ints(h, x.shape[d], int(np.prod(shape)))).reshape(shape)
    return partial(gather, dim=dim, index=_wrap(idx))


def _index_select_make(h, x):
    d = h.dim(x)
    idx = np.array(_ints(h, x.shape[d], h.draw(h.st.integers(0, 4))), np.int64)
    return partial(index_select, dim=d, index=_wrap(idx))


def _scatter_inputs(h):
    shape = h.shape(min_dims=1)
    return h.tensor(shape), h.tensor(tuple(n + h.draw(h.st.integers(0, 1)) for n in shape))


def _scatter_make(h, x, src):
    d = h.dim(x) % x.ndim
    shape = tuple(h.draw(h.st.integers(1, n)) for n in x.shape)
    idx = np.array(_ints(h, x.shape[d], int(np.prod(shape)))).reshape(shape)
    index = _wrap(idx)
    return lambda x, src: scatter_add(x, d, index, src)


def _mask(h, x):
    shape = h.draw(h.hnp.broadcastable_shapes(x.shape, min_dims=0, max_dims=3, max_side=3))
    return _wrap(h.draw(h.hnp.arrays(np.bool_, shape)))


INDEX = kernel("index", "tapegrad.ops._kernels_shape:adj_take", "IndexBackward0",
               usage="x[idx], x[mask], x[:, [0, 2]]", replay=_S + "fwd_take",
    test=(_gather_inputs, lambda h, x: lambda x, k=_adv_key(h, x): x[k]))
UNSQUEEZE = kernel("index_unsqueeze", "tapegrad.ops._kernels_shape:adj_strided", "UnsqueezeBackward0", usage="x[None]",
                   replay=_S + "fwd_strided", lanes=lanes_strided,
    test=("same", lambda h, x: lambda x: x[..., None]))
ALIAS = kernel("alias", "tapegrad.ops._kernels_shape:adj_strided", "AliasBackward0", usage="x[...], x[:, :]",
               replay=_S + "fwd_strided", lanes=lanes_strided,
    test=("same", lambda h, x: lambda x: x[...]))
INDEX_SELECT = kernel("index_select", "tapegrad.ops._kernels_shape:adj_take", "IndexSelectBackward0",
                      usage="x.index_select(dim, index)", replay=_S + "fwd_take",
    test=(_gather_inputs, lambda h, x: _index_select_make(h, x)))
GATHER = kernel("gather", "tapegrad.ops._kernels_shape:adj_take", "GatherBackward0",
                usage="x.gather(dim, index), tapegrad.take_along_dim(x, index, dim)",
                replay=_S + "fwd_take",
    test=(_gather_inputs, _gather_make))
SCATTER_ADD = kernel("scatter_add", _K + "adj_scatter_add", "ScatterAddBackward0",
                     usage="x.scatter_add(dim, index, src)", replay=_F + "fwd_scatter_add",
                     test=(_scatter_inputs, _scatter_make))
MASKED_FILL = kernel("masked_fill", _K + "adj_masked_fill", "MaskedFillBackward0",
                     usage="x.masked_fill(mask, 0.5)", replay=_F + "fwd_masked_fill",
    test=(_masked_fill_inputs, lambda h, x: partial(masked_fill, mask=_mask(h, x), value=0.5)))
MASKED_FILL_T = kernel("masked_fill_tensor", _K + "adj_masked_fill", "MaskedFillBackward1",
                       usage="x.masked_fill(mask, value_0d_tensor)", replay=_F + "fwd_masked_fill",
    test=(lambda h: (h.tensor(h.shape()), h.tensor(())),
          lambda h, x, v: lambda x, v, m=_mask(h, x): masked_fill(x, m, v)))

# basic indexing records an offset + strides view; torch names the last view-making step
SELECT = kernel("select", "tapegrad.ops._kernels_shape:adj_strided", "SelectBackward0", usage="x[i], x[i, j]",
                replay=_S + "fwd_strided", lanes=lanes_strided,
                test=("nonscalar", lambda h, x: lambda x, i=h.int_index(x): x[i]))
SLICE = kernel("slice", "tapegrad.ops._kernels_shape:adj_strided", "SliceBackward0", usage="x[1:], x[:, ::2]",
               replay=_S + "fwd_strided", lanes=lanes_strided,
               test=("nonscalar", lambda h, x: lambda x, k=_slice_key(h, x): x[k]))


# ------------------------------------------------------------------------------------------------
# parsing a key (torch's rules: ints select first, then the tensors index what is left)
# ------------------------------------------------------------------------------------------------
_BAD_INDEX = ("only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are "
              "valid indices (got {})")


def _index_array(k):
    """A tensor / ndarray / list index as an int64 array, a bool mask, or an int (0-d int)."""
    if isinstance(k, Tensor):
        reads(k)   # (its values go into the record: guarded when compiled)
    a = k._data if isinstance(k, Tensor) else np.asarray(k)
    if isinstance(k, (list, tuple)) and a.size == 0:
        a = a.astype(np.int64)
    if a.dtype == np.bool_ or a.dtype == np.uint8:  # uint8: torch's legacy byte mask
        return a.astype(np.bool_, copy=False)
    if a.dtype.kind not in "iu":
        raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
    return int(a) if a.ndim == 0 else a.astype(np.int64, copy=False)


def _parse(key, shape: tuple):
    """-> (basic key for numpy, advanced key over the basic view's dims or None, last op).

    The basic key holds the ints, slices and None (a tensor index becomes a full slice, a bool
    scalar an unsqueeze); the advanced key holds int64 arrays (masks as their nonzero()) and
    full slices. Everything is bounds-checked here, with torch's messages."""
    single = not isinstance(key, tuple)
    key = (key,) if single else key
    items = []
    for k in key:
        if k is None or k is Ellipsis or isinstance(k, (bool, np.bool_)):
            items.append(k if k is None or k is Ellipsis else bool(k))
        elif isinstance(k, (int, np.integer)):
            items.append(int(k))
        elif isinstance(k, slice):
            if k.step is not None:
                step = operator.index(k.step)
                if step == 0:
                    raise ValueError("slice step cannot be zero")
                if step < 0:
                    raise ValueError("step must be greater than zero")
            items.append(k)
        elif isinstance(k, (Tensor, np.ndarray, list, tuple, range)):
            a = _index_array(list(k) if isinstance(k, range) else k)  # (range: as torch, a list)
            items.append(bool(a) if isinstance(a, np.ndarray) and a.ndim == 0 else a)
        else:
            raise IndexError(_BAD_INDEX.format(type(k).__name__))
    nd = len(shape)
    used = sum(1 if isinstance(k, (int, slice)) and not isinstance(k, bool) else
               k.ndim if isinstance(k, np.ndarray) and k.dtype == np.bool_ else
               1 if isinstance(k, np.ndarray) else 0 for k in items)
    if nd == 0 and any(type(k) is int for k in items):
        raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                         "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number")
    if used > nd:
        raise IndexError(f"too many indices for tensor of dimension {nd}")
    if sum(1 for k in items if k is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    basic, adv, vshape = [], [], []   # vshape: the basic view's shape, built as we go
    last, d, nadv = None, 0, 0
    for k in items:
        if k is Ellipsis:
            for _ in range(nd - used):
                basic.append(slice(None))
                adv.append(slice(None))
                vshape.append(shape[d])
                d += 1
        elif k is None or type(k) is bool:
            basic.append(None)
            vshape.append(1)
            if k is None:
                adv.append(slice(None))
                last = UNSQUEEZE
            else:
                adv.append(np.zeros(int(k), np.int64))
                nadv += 1
        elif type(k) is int:
            if not -shape[d] <= k < shape[d]:
                raise IndexError(f"index {k} is out of bounds for dimension {d} with size "
                                 f"{shape[d]}")
            basic.append(k)
            d += 1
            last = SELECT
        elif isinstance(k, slice):
            basic.append(k)
            n = len(range(*k.indices(shape[d])))
            if single or k.indices(shape[d]) != (0, shape[d], 1):
                last = SLICE
            adv.append(slice(None))
            vshape.append(n)
            d += 1
        elif k.dtype == np.bool_:
            for j in range(k.ndim):
                if k.shape[j] != shape[d + j]:
                    cur = vshape + list(shape[d:])
                    raise IndexError(f"The shape of the mask {list(k.shape)} at index {j} does not "
                                     f"match the shape of the indexed tensor {cur} at index "
                                     f"{len(vshape) + j}")
            basic.extend([slice(None)] * k.ndim)
            vshape.extend(shape[d:d + k.ndim])
            adv.extend(k.nonzero())
            nadv += k.ndim
            d += k.ndim
        else:
            n = shape[d]
            bad = (k < -n) | (k >= n)
            if bad.any():
                raise IndexError(f"index {k[bad].flat[0]} is out of bounds for dimension {nadv} "
                                 f"with size {n}")
            basic.append(slice(None))
            adv.append(np.where(k < 0, k + n, k))
            vshape.append(n)
            nadv += 1
            d += 1
    if not nadv:
        return tuple(basic) + (Ellipsis,), None, (last or ALIAS)
    arrays = [a for a in adv if isinstance(a, np.ndarray)]
    try:
        np.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError:
        raise IndexError("shape mismatch: indexing tensors could not be broadcast together with "
                         "shapes " + ", ".join(str(list(a.shape)) for a in arrays)) from None
    return tuple(basic) + (Ellipsis,), tuple(adv) + (Ellipsis,), INDEX


def _strides_in(view: np.ndarray, base: np.ndarray) -> tuple:
    """(offset, *strides) of `view` in elements of the C-contiguous `base` it views."""
    item = base.itemsize
    ofs = (view.__array_interface__["data"][0] - base.__array_interface__["data"][0]) // item
    return (ofs,) + tuple(s // item for s in view.strides)


def _flat_positions(view: np.ndarray, base: np.ndarray, adv: tuple) -> np.ndarray:
    """Flat position in `base` of every element of ``view[adv]``: O(output size) per dim, from
    a broadcast (0-stride) view of ``arange(n_j) * stride_j`` indexed like the data."""
    ofs, *strides = _strides_in(view, base)
    flat = np.full(_adv_shape(view, adv), ofs, np.int64)
    for j, (n, s) in enumerate(zip(view.shape, strides)):
        if n > 1 and s:
            comp = as_strided(np.arange(n, dtype=np.int64) * s, view.shape,
                              tuple(8 if i == j else 0 for i in range(view.ndim)), writeable=False)
            flat += comp[adv]
    return flat


def _adv_shape(view: np.ndarray, adv: tuple) -> tuple:
    # the result shape of view[adv] without materialising it (a 0-stride stand-in)
    return as_strided(np.zeros(1, np.int8), view.shape, (0,) * view.ndim)[adv].shape


# ------------------------------------------------------------------------------------------------
# x[key]
# ------------------------------------------------------------------------------------------------
def getitem(x: Tensor, key) -> Tensor:
    """``x[key]`` with torch's rules. Basic indices (ints, slices with step > 0, None, ...) give
    Select/Slice/Unsqueeze/AliasBackward0; integer tensors or lists and bool masks give
    IndexBackward0 (repeated indices accumulate their gradients).

    >>> import tapegrad as tg
    >>> x = tg.arange(6.).reshape(2, 3)
    >>> x[:, [2, 0]]
    tensor([[2., 0.],
            [5., 3.]])
    """
    xd = x._data
    basic, adv, op = _parse(key, xd.shape)
    live = xd[basic]  # a view of x's memory (the key ends with an Ellipsis)
    graph = x._rg and STATE.enabled
    if adv is None:  # basic indexing: a view, as torch
        if not graph:
            return attach_view(x, _wrap(live))
        src = _c_order(xd)
        return attach_view(x, apply_kernel(op, (x,), live.shape, xd.dtype,
                                           lambda out: into(live, out),
                                           _strides_in(src[basic], src), live=live))
    if not graph:
        return _wrap(live[adv])
    src = _c_order(xd)
    view = src[basic]
    vals = live[adv]
    flat = _flat_positions(view, src, adv)
    return apply_kernel(op, (x,), vals.shape, xd.dtype, lambda out: into(vals, out),
                        flat.ravel().tolist())


def _c_order(xd: np.ndarray) -> np.ndarray:
    """An array of xd's shape laid out in C order, to take index geometry from (its memory is
    never read: a non-C-ordered xd gets a stand-in of 0-stride-free strides over one element)."""
    if xd.flags.c_contiguous:
        return xd
    st, acc = [], xd.itemsize
    for n in reversed(xd.shape):
        st.append(acc)
        acc *= max(n, 1)
    return as_strided(np.empty(1, xd.dtype), xd.shape, tuple(reversed(st)), writeable=False)




def _setitem_value(x: Tensor, value, tshape: tuple) -> np.ndarray:
    """`value` as an array of the indexed shape (torch drops leading 1s; errors as torch)."""
    if isinstance(value, Tensor):
        v = value._data
    elif isinstance(value, (*SCALAR, np.ndarray)):
        v = np.asarray(value)
    else:
        raise TypeError(f"can't assign a {type(value).__name__} to a torch."
                        f"{torch_name(x._data.dtype)}Tensor")
    vs = v.shape
    while len(vs) > len(tshape) and vs[0] == 1:
        vs = vs[1:]
    try:
        if len(vs) > len(tshape) or np.broadcast_shapes(vs, tshape) != tuple(tshape):
            raise ValueError
    except ValueError:
        raise RuntimeError(f"shape mismatch: value tensor of shape {list(v.shape)} cannot be "
                           f"broadcast to indexing result of shape {list(tshape)}") from None
    return v.reshape(vs)


def setitem(x: Tensor, key, value) -> None:
    """``x[key] = value``: writes x's memory (every view of it sees the change). With a basic
    key it is ``x[key].copy_(value)`` (inside a graph: torch's CopySlices on x's base); with
    integer or mask indices an in-place `index_put` (IndexPutBackward0).

    >>> import tapegrad as tg
    >>> x = tg.zeros(3); x[[0, 2]] = 1.0; x
    tensor([1., 0., 1.])
    """
    from .inplace import copy_, fill_, write
    basic, adv, _ = _parse(key, x._data.shape)
    target = x._data[basic]
    tshape = target.shape if adv is None else _adv_shape(target, adv)
    v = _setitem_value(x, value, tshape)
    value_t = value if isinstance(value, Tensor) and value._rg else _wrap(v)
    if value_t is not value:  # a constant made from the value (guarded when compiled)
        reads(value)
        mark_pure(value_t)
    if adv is None:  # torch: x[...] = v writes x itself; other keys write the view x[key]
        dst = x if all(k is Ellipsis for k in (key if isinstance(key, tuple) else (key,))) \
            else getitem(x, key)
        if isinstance(value, Tensor):
            copy_(dst, value_t)
        else:  # a number: torch fills with it as a 0-d tensor (FillBackward3)
            fill_(dst, mark_pure(_wrap(np.asarray(v, x._data.dtype))))
        return

    def put(d, o):  # numpy: with repeated indices the last write wins, as in torch
        d[basic][adv] = v.astype(d.dtype, copy=False)
    write(x, "index_put_", lambda t: index_put(t, key, value_t), value_t, put, reads_self=False)


INDEX_PUT = kernel("index_put", _K + "adj_index_put", "IndexPutBackward0",
                   usage="x[idx] = v (x in a graph), index_put(x, idx, v)",
                   replay=_S + "fwd_put",
                   test=(lambda h: _index_put_inputs(h),
                         lambda h, x, v: lambda x, v, k=v.__dict__["_key"]: index_put(x, k, v)))


def _index_put_inputs(h):
    from hypothesis import assume
    x = h.tensor(h.shape(min_dims=1))
    key = _adv_key(h, x) if h.flag() else _slice_key(h, x)
    basic, adv, _ = _parse(key, x._data.shape)
    pos = np.arange(x._data.size).reshape(x._data.shape)[basic]
    pos = (pos if adv is None else pos[adv]).reshape(-1)
    # a position written twice: one write wins, but each gets its gradient (torch's rule),
    # which finite differences cannot see
    assume(np.unique(pos).size == pos.size)
    target = x._data[basic]
    v = h.tensor(target.shape if adv is None else _adv_shape(target, adv))
    v._key = key  # the key travels with the value to `make`
    return x, v


def index_put(input: Tensor, key, values: Tensor) -> Tensor:
    """A copy of `input` with ``[key]`` set to `values` (broadcast), differentiable in both.
    ``x[key] = v`` uses it for tensors in a graph."""
    xd = input._data
    basic, adv, _ = _parse(key, xd.shape)
    pos = np.arange(xd.size).reshape(xd.shape)[basic]
    if adv is not None:
        pos = pos[adv]
    v = _setitem_value(input, values, pos.shape)
    vt = values if isinstance(values, Tensor) and values._rg else _wrap(v)
    if vt is not values:
        reads(values)
        mark_pure(vt)
    if vt._data.shape != pos.shape:  # broadcast the value first (recorded: its gradient sums)
        vt = vt.reshape(v.shape).expand(*pos.shape) if vt._rg else _wrap(
            np.broadcast_to(v, pos.shape))
    dt = xd.dtype if xd.dtype == vt._data.dtype or xd.dtype.kind == "f" else vt._data.dtype
    vd = vt._data

    def compute(out):
        res = xd.astype(dt, copy=True)
        res.reshape(-1)[pos.reshape(-1)] = vd.reshape(-1)
        return into(res, out)
    return apply_kernel(INDEX_PUT, (input, vt), xd.shape, dt, compute,
                        tuple(pos.reshape(-1).tolist()))


# ------------------------------------------------------------------------------------------------
# index_select, gather, take_along_dim, scatter_add
# ------------------------------------------------------------------------------------------------
def _gather_flat(shape: tuple, out_shape: tuple, dim: int, idx: np.ndarray) -> np.ndarray:
    """Flat positions in a C-contiguous array of `shape` of out[i] = a[i with i[dim] = idx[i]];
    dims of size 1 in `shape` broadcast (stride 0)."""
    cs = np.cumprod((1,) + shape[:0:-1])[::-1] if shape else np.ones(0, np.int64)
    flat = idx.astype(np.int64) * (int(cs[dim]) if shape[dim] > 1 else 0)
    for d, n in enumerate(out_shape):
        if d != dim and n > 1 and shape[d] > 1:
            flat = flat + (np.arange(n, dtype=np.int64) * int(cs[d])).reshape(
                (-1,) + (1,) * (len(out_shape) - d - 1))
    return np.broadcast_to(flat, out_shape)


def _require_tensor(value, fn: str, arg: str, position: int) -> None:
    """torch's TypeError for a non-tensor index/mask/src argument."""
    if not isinstance(value, Tensor):
        raise TypeError(f"{fn}(): argument '{arg}' (position {position}) must be Tensor, not "
                        f"{type(value).__name__}")


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """The slices at `index` (1-D integer tensor) along `dim`; repeated indices accumulate.

    >>> import tapegrad as tg
    >>> tg.arange(6.).reshape(2, 3).index_select(1, tg.tensor([2, 2]))
    tensor([[2., 2.],
            [5., 5.]])
    """
    reads(index)
    _require_tensor(index, "index_select", "index", 2)
    xd, ix = input._data, index._data
    nd = xd.ndim
    d = normalize_dim(dim, nd)
    if ix.dtype not in (np.int32, np.int64):
        raise RuntimeError("index_select(): Expected dtype int32 or int64 for index")
    if ix.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    ix = ix.reshape(-1).astype(np.int64)
    n = xd.shape[d] if nd else 1
    if ix.size and (ix.min() < 0 or ix.max() >= n):
        raise IndexError("index out of range in self")
    if nd == 0:  # a 0-d input has one element (index 0)
        return _take(INDEX_SELECT, input, (), np.zeros((), np.int64))
    shape = xd.shape[:d] + (ix.size,) + xd.shape[d + 1:]
    full = ix.reshape((-1,) + (1,) * (nd - d - 1))
    return _take(INDEX_SELECT, input, shape, _gather_flat(xd.shape, shape, d, full),
                 lambda: np.take(xd, ix, axis=d))


def _take(op, x: Tensor, shape: tuple, flat: np.ndarray, values=None) -> Tensor:
    """Record out.flat[i] = x.flat[flat[i]] (flat already validated)."""
    xd = x._data
    compute = values or (lambda: np.ascontiguousarray(xd).reshape(-1)[flat])
    if not (x._rg and STATE.enabled):
        return _wrap(np.asarray(compute()).reshape(shape))
    return apply_kernel(op, (x,), shape, xd.dtype,
                        lambda out: into(np.asarray(compute()).reshape(shape), out),
                        np.ravel(flat).tolist())


def _index_dtype(ix: np.ndarray, msg: str) -> None:
    if ix.dtype not in (np.int32, np.int64):
        raise RuntimeError(msg)


def _check_bounds(ix: np.ndarray, n: int, dim: int) -> None:
    bad = (ix < 0) | (ix >= n)
    if bad.any():
        raise RuntimeError(f"index {ix[bad].flat[0]} is out of bounds for dimension {dim} with "
                           f"size {n}")


def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:
    """``out[i][j] = input[index[i][j]][j]`` for dim=0 (any rank); `index` may be smaller than
    `input` in the other dims. Repeated indices accumulate their gradients.

    >>> import tapegrad as tg
    >>> tg.tensor([[1., 2.], [3., 4.]]).gather(1, tg.tensor([[0, 0], [1, 0]]))
    tensor([[1., 1.],
            [4., 3.]])
    """
    reads(index)
    _require_tensor(index, "gather", "index", 2)
    xd, ix = input._data, index._data
    d = normalize_dim(dim, xd.ndim)
    _index_dtype(ix, "gather(): Expected dtype int32/int64 for index")
    xs = xd.shape or (1,)
    ishape = ix.shape
    if max(ix.ndim, 1) != len(xs):
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    ish = ishape or (1,)
    for k, (a, b) in enumerate(zip(ish, xs)):
        if k != d and a > b:
            raise RuntimeError(f"Size does not match at dimension {k} expected index "
                               f"{list(ishape)} to be no larger than self {list(xd.shape)} apart "
                               f"from dimension {d}")
    _check_bounds(ix, xs[d], d)
    flat = _gather_flat(xs, ish, d, ix.reshape(ish)).reshape(ishape)
    return _take(GATHER, input, ishape, flat)


def take_along_dim(input: Tensor, indices: Tensor, dim=None) -> Tensor:
    """Values along `dim` at `indices` (broadcast against `input` in the other dims); without
    `dim`, over the flattened input. Recorded as a gather (GatherBackward0), as in torch.

    >>> import tapegrad as tg
    >>> x = tg.tensor([[3., 1.], [2., 4.]])
    >>> tg.take_along_dim(x, tg.tensor([[1], [0]]), dim=1)
    tensor([[1.],
            [2.]])
    """
    xd, ix = input._data, indices._data
    if ix.dtype != np.int64:
        names = {"int32": "Int", "float32": "Float", "float64": "Double", "bool": "Bool"}
        raise RuntimeError(f"torch.take_along_dim(): dtype of indices should be Long but got "
                           f"{names.get(ix.dtype.name, ix.dtype.name)}")
    if dim is None:
        return gather(input.reshape(-1), 0, indices.reshape(-1))
    if xd.ndim != ix.ndim:
        raise RuntimeError(f"torch.take_along_dim(): input and indices should have the same "
                           f"number of dimensions, but got {xd.ndim} dimensions for input, and "
                           f"{ix.ndim} dimensions for indices")
    d = normalize_dim(dim, xd.ndim)
    if xd.ndim == 0:
        return gather(input, 0, indices)
    with_dim = lambda s, n: s[:d] + (n,) + s[d + 1:]
    b = broadcast_shapes(with_dim(xd.shape, ix.shape[d]), ix.shape)
    ib = np.broadcast_to(ix, with_dim(b, ix.shape[d]))
    _check_bounds(ib, xd.shape[d], d)
    oshape = ib.shape
    flat = _gather_flat(xd.shape, oshape, d, ib)
    return _take(GATHER, input, oshape, flat)


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """A copy of `input` with ``out[index[i][j]][j] += src[i][j]`` (dim=0, any rank); repeated
    indices add up. Differentiable in `input` and `src`.

    >>> import tapegrad as tg
    >>> tg.zeros(3).scatter_add(0, tg.tensor([0, 0, 2]), tg.tensor([1., 2., 3.]))
    tensor([3., 0., 3.])
    """
    reads(index)
    _require_tensor(src, "scatter_add", "src", 3)
    xd, ix, sd = input._data, index._data, src._data
    d = normalize_dim(dim, xd.ndim)
    _index_dtype(ix, "scatter(): Expected dtype int32/int64 for index")
    if sd.dtype != xd.dtype:
        raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
    xs, ish, ss = xd.shape or (1,), ix.shape or (1,), sd.shape or (1,)
    if len(ish) != len(xs):
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
    if len(ss) != len(xs):
        raise RuntimeError("Index tensor must have the same number of dimensions as src tensor")
    if any((k != d and a > b) or a > c for k, (a, b, c) in enumerate(zip(ish, xs, ss))):
        raise RuntimeError(f"Expected index {list(ix.shape)} to be no larger than self "
                           f"{list(xd.shape)} apart from dimension {d} and to be no larger size "
                           f"than src {list(sd.shape)}")
    _check_bounds(ix, xs[d], d)
    cols = ix.reshape(ish).astype(np.int64)
    dst = _gather_flat(xs, ish, d, cols).ravel()
    # src[i] for every index position i (src may be larger than index)
    rows = np.arange(ish[0], dtype=np.int64).reshape((-1,) + (1,) * (len(ish) - 1))
    pos = _gather_flat(ss, ish, 0, np.broadcast_to(rows, ish)).ravel()

    def compute(out):
        res = xd.astype(xd.dtype, copy=True).reshape(-1)
        np.add.at(res, dst, sd.reshape(-1)[pos])
        return into(res.reshape(xd.shape), out)
    if not (STATE.enabled and (input._rg or src._rg)):
        return _wrap(compute(None))
    return apply_kernel(SCATTER_ADD, (input, src), xd.shape, xd.dtype, compute,
                        dst.tolist() + pos.tolist())


def masked_fill(input: Tensor, mask: Tensor, value) -> Tensor:
    """`input` with `value` where the bool `mask` (broadcast) is True; no gradient flows to the
    filled places. A 0-d tensor `value` is differentiable too.

    >>> import tapegrad as tg
    >>> tg.tensor([1., 2., 3.]).masked_fill(tg.tensor([True, False, True]), 0.)
    tensor([0., 2., 0.])
    """
    reads(mask)
    _require_tensor(mask, "masked_fill", "mask", 1)
    xd, md = input._data, mask._data
    if md.dtype != np.bool_:
        names = {"int64": "long int", "int32": "int", "float32": "float", "float64": "double"}
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype "
                           f"{names.get(md.dtype.name, md.dtype.name)}")
    shape = broadcast_shapes(xd.shape, md.shape)
    ins: tuple = (input,)
    if isinstance(value, Tensor):
        if value.ndim:
            raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got "
                               f"tensor with {value.ndim} dimension(s).")
        if value._rg:
            ins = (input, value)
        v = value._data
    else:
        v = value

    def compute(out):
        return into(np.where(md, np.asarray(v).astype(xd.dtype), xd), out)
    if not (STATE.enabled and any(t._rg for t in ins)):
        return _wrap(compute(None).astype(xd.dtype, copy=False))
    filled = np.flatnonzero(np.broadcast_to(md, shape))
    op = MASKED_FILL if len(ins) == 1 and not isinstance(value, Tensor) else MASKED_FILL_T
    # the value as a float too: a replay fills with it when it is not an input (b)
    return apply_kernel(op, ins, shape, xd.dtype, compute, filled.tolist(), (float(v),))


__all__ = ['select', "index_select", "gather", "take_along_dim", "scatter_add", "masked_fill",
           "index_put"]
def select(input: Tensor, dim: int, index: int) -> Tensor:
    """The slice at `index` along `dim`, which is dropped (a view): ``x.select(1, 0)`` is
    ``x[:, 0]``."""
    xd = input._data
    if not xd.ndim:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = normalize_dim(dim, xd.ndim)
    n = xd.shape[d]
    if not -n <= index < n:
        raise IndexError(f"select(): index {index} out of range for tensor of size "
                         f"{list(xd.shape)} at dimension {d}")
    return getitem(input, (slice(None),) * d + (int(index),))


METHODS = dict(__getitem__=getitem, __setitem__=setitem, index_select=index_select, select=select,
               gather=gather, take_along_dim=take_along_dim, scatter_add=scatter_add,
               masked_fill=masked_fill)
