"""The rest of torch's everyday functions, as compositions of registered ops (so gradients,
higher-order gradients and `tapegrad.compile` replays come from those ops): masked_select,
repeat_interleave, take, nan_to_num, clamp_min/clamp_max, frac, addcmul/addcdiv, scatter and
the index_* family (with their in-place forms), diff, trace, kron, cross, tensordot, cdist,
meshgrid, cartesian_prod, broadcast_tensors, the *stack family, rot90, std_mean/var_mean; the
elementwise predicates and logical/bitwise ops (bool or integer results, no gradient); random
sampling (normal, bernoulli, multinomial, randperm) and logspace, tril_indices/triu_indices.

`grad_fn` is the node of the last op of a composition (e.g. ``IndexPutBackward0`` for scatter,
torch: ``ScatterBackward0``); values and gradients are torch's. Masks and positions computed
from tensor values are constants of a `tapegrad.compile` recording whose values are guarded
(`_trace.reads`); the predicates isnan/isinf/isfinite/isposinf/isneginf are recorded as
comparisons while tracing, so a ``where(isfinite(x), x, 0)`` replays.
"""
from __future__ import annotations

import builtins
import math
import warnings

import numpy as np

from .._device import check_device
from .._dtype import as_dtype, get_default_dtype, result_type, torch_name
from .._generator import numpy_rng
from .._grad_mode import STATE
from .._record import broadcast_shapes as _bshape
from .._trace import factory, mark_pure, reads
from ..tensor import Size, Tensor, _wrap, normalize_dim
from . import _stl
from .elementwise import clamp, where
from .indexing import getitem, index_put, index_select, masked_fill, scatter_add
from .inplace import write
from .shapes import cat, flip, stack
from .shapes import clone as _clone, contiguous as _contiguous  # (methods taking memory_format)


def _const(a) -> Tensor:
    """A tensor made here from values (masks, positions, fill values): a constant of a
    recording."""
    return mark_pure(_wrap(np.array(a)))  # (a C-ordered copy; 0-d stays 0-d)


def _rg(*ts) -> bool:
    return STATE.enabled and builtins.any(isinstance(t, Tensor) and t._rg for t in ts)


def _need_tensor(fn: str, arg: str, pos: int, value) -> None:
    if not isinstance(value, Tensor):
        raise TypeError(f"{fn}(): argument '{arg}' (position {pos}) must be Tensor, not "
                        f"{type(value).__name__}")


# ------------------------------------------------------------------------------------------------
# predicates and logical / bitwise ops (no gradient)
# ------------------------------------------------------------------------------------------------
def _predicate(name: str, npfn, traced, other_kinds):
    """An elementwise bool predicate: numpy's `npfn` on floats, `other_kinds(data)` on integer
    and bool tensors; while tracing, `traced(x)` (comparisons, which are recorded)."""
    def fn(input: Tensor) -> Tensor:
        xd = input._data
        if xd.dtype.kind != "f":
            return _wrap(np.asarray(other_kinds(xd)))
        if STATE.trace is not None and traced is not None:
            return traced(input)
        return _wrap(np.asarray(npfn(xd)))
    fn.__name__ = fn.__qualname__ = name
    return fn


isnan = _predicate("isnan", np.isnan, lambda x: x != x, lambda d: np.zeros(d.shape, bool))
isnan.__doc__ = """Elementwise x is NaN (a bool tensor).

    >>> import tapegrad as tg
    >>> tg.isnan(tg.tensor([1., float('nan')]))
    tensor([False,  True])
    """
isinf = _predicate("isinf", np.isinf, lambda x: x.abs() == math.inf,
                   lambda d: np.zeros(d.shape, bool))
isinf.__doc__ = """Elementwise x is +inf or -inf.

    >>> import tapegrad as tg
    >>> tg.isinf(tg.tensor([1., float('-inf')]))
    tensor([False,  True])
    """
isfinite = _predicate("isfinite", np.isfinite, lambda x: (x - x) == 0,
                      lambda d: np.ones(d.shape, bool))
isfinite.__doc__ = """Elementwise x is neither NaN nor infinite.

    >>> import tapegrad as tg
    >>> tg.isfinite(tg.tensor([1., float('inf'), float('nan')]))
    tensor([ True, False, False])
    """
isposinf = _predicate("isposinf", np.isposinf, lambda x: x == math.inf,
                      lambda d: np.zeros(d.shape, bool))
isposinf.__doc__ = """Elementwise x is +inf.

    >>> import tapegrad as tg
    >>> tg.isposinf(tg.tensor([float('inf'), float('-inf')]))
    tensor([ True, False])
    """
isneginf = _predicate("isneginf", np.isneginf, lambda x: x == -math.inf,
                      lambda d: np.zeros(d.shape, bool))
isneginf.__doc__ = """Elementwise x is -inf.

    >>> import tapegrad as tg
    >>> tg.isneginf(tg.tensor([float('inf'), float('-inf')]))
    tensor([False,  True])
    """


def signbit(input: Tensor) -> Tensor:
    """Elementwise: the sign bit is set (-0.0 and negative NaN included).

    >>> import tapegrad as tg
    >>> tg.signbit(tg.tensor([-0.0, 0.0, -2.0]))
    tensor([ True, False,  True])
    """
    reads(input)
    return _const(np.signbit(input._data) if input._data.dtype.kind != "b"
                  else np.zeros(input._data.shape, bool))


def _broadcast_check(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape:
        _bshape(a.shape, b.shape)  # (torch's message)


def _logical(name: str, npfn, doc: str):
    def fn(input: Tensor, other: Tensor) -> Tensor:
        _need_tensor(name, "other", 2, other)
        reads(input, other)
        _broadcast_check(input._data, other._data)
        return _const(npfn(input._data, other._data))
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


logical_and = _logical("logical_and", np.logical_and, """Elementwise logical and of the truth
    values (nonzero is true), broadcasting; a bool tensor.

    >>> import tapegrad as tg
    >>> tg.logical_and(tg.tensor([True, False]), tg.tensor([1, 1]))
    tensor([ True, False])
    """)
logical_or = _logical("logical_or", np.logical_or, """Elementwise logical or (nonzero is true).

    >>> import tapegrad as tg
    >>> tg.logical_or(tg.tensor([0., 0.]), tg.tensor([0., 2.]))
    tensor([False,  True])
    """)
logical_xor = _logical("logical_xor", np.logical_xor, """Elementwise logical exclusive or.

    >>> import tapegrad as tg
    >>> tg.logical_xor(tg.tensor([True, True]), tg.tensor([True, False]))
    tensor([False,  True])
    """)


def logical_not(input: Tensor) -> Tensor:
    """Elementwise not of the truth values (zero is false); a bool tensor.

    >>> import tapegrad as tg
    >>> tg.logical_not(tg.tensor([0., 2.]))
    tensor([ True, False])
    """
    reads(input)
    return _const(np.logical_not(input._data))


def _bits(name: str, npfn):
    """Bitwise and/or/xor of integer and bool tensors (and Python ints/bools), with torch's
    promotion."""
    def fn(input, other) -> Tensor:
        if not isinstance(input, Tensor):  # (reflected: a number on the left)
            input, other = other, input
        reads(input, other)
        od = other._data if isinstance(other, Tensor) else other
        dt = result_type(input, other).np_dtype
        if dt.kind == "f":
            raise NotImplementedError(f"\"{name}_cpu\" not implemented for '{torch_name(dt)}'")
        if isinstance(other, Tensor):
            _broadcast_check(input._data, od)
        return _const(npfn(input._data.astype(dt, copy=False), np.asarray(od).astype(dt)))
    fn.__name__ = fn.__qualname__ = name
    return fn


bitwise_and = _bits("bitwise_and", np.bitwise_and)
bitwise_and.__doc__ = """Elementwise bitwise and (``a & b``) of integer or bool tensors.

    >>> import tapegrad as tg
    >>> tg.tensor([3, 5]) & tg.tensor([1, 4])
    tensor([1, 4])
    """
bitwise_or = _bits("bitwise_or", np.bitwise_or)
bitwise_or.__doc__ = """Elementwise bitwise or (``a | b``).

    >>> import tapegrad as tg
    >>> tg.tensor([True, False]) | tg.tensor([False, False])
    tensor([ True, False])
    """
bitwise_xor = _bits("bitwise_xor", np.bitwise_xor)
bitwise_xor.__doc__ = """Elementwise bitwise exclusive or (``a ^ b``).

    >>> import tapegrad as tg
    >>> tg.tensor([3]) ^ 1
    tensor([2])
    """


def bitwise_not(input: Tensor) -> Tensor:
    """Elementwise bitwise not (``~x``): logical not for bool tensors.

    >>> import tapegrad as tg
    >>> ~tg.tensor([True, False])
    tensor([False,  True])
    """
    reads(input)
    xd = input._data
    if xd.dtype.kind == "f":
        raise NotImplementedError(f"\"bitwise_not_cpu\" not implemented for "
                                  f"'{torch_name(xd.dtype)}'")
    return _const(np.invert(xd))


def _invert(self: Tensor) -> Tensor:
    if self._data.dtype.kind == "f":
        raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type "
                        "tensors")
    return bitwise_not(self)


def isin(elements, test_elements, *, assume_unique: bool = False, invert: bool = False) -> Tensor:
    """Elementwise: is the element one of `test_elements` (tensors or numbers)?

    >>> import tapegrad as tg
    >>> tg.isin(tg.tensor([1, 2, 3]), tg.tensor([2, 5]))
    tensor([False,  True, False])
    """
    reads(elements, test_elements)
    e = elements._data if isinstance(elements, Tensor) else np.asarray(elements)
    t = test_elements._data if isinstance(test_elements, Tensor) else np.asarray(test_elements)
    return _const(np.isin(e, t, invert=invert))


def heaviside(input: Tensor, values: Tensor) -> Tensor:
    """0 where x < 0, `values` where x == 0, 1 where x > 0 (NaN gives 0), broadcasting. No
    gradient (torch has none either).

    >>> import tapegrad as tg
    >>> tg.heaviside(tg.tensor([-1., 0., 2.]), tg.tensor([0.5]))
    tensor([0.0000, 0.5000, 1.0000])
    """
    _need_tensor("heaviside", "values", 2, values)
    reads(input, values)
    a, b = input._data, values._data
    if a.dtype != b.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
    _broadcast_check(a, b)
    return _const(np.where(a == 0, b, (a > 0)).astype(a.dtype))


# ------------------------------------------------------------------------------------------------
# selections: masked_select, take, repeat_interleave
# ------------------------------------------------------------------------------------------------
def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """The elements of `input` where the bool `mask` is True (both broadcast), as a 1-D tensor;
    the gradient goes back to those elements.

    >>> import tapegrad as tg
    >>> tg.tensor([[1., 2.], [3., 4.]]).masked_select(tg.tensor([True, False]))
    tensor([1., 3.])
    """
    _need_tensor("masked_select", "mask", 2, mask)
    reads(mask)
    md = mask._data
    if md.dtype != np.bool_:
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    shape = _bshape(input._data.shape, md.shape)
    x = input if input._data.shape == shape else input.expand(*shape)
    return getitem(x, _const(np.broadcast_to(md, shape)))


def take(input: Tensor, index: Tensor) -> Tensor:
    """The elements of `input` (as if flattened) at `index` (negative counts from the end);
    the result has the index's shape.

    >>> import tapegrad as tg
    >>> tg.take(tg.tensor([[4., 5.], [6., 7.]]), tg.tensor([0, -1]))
    tensor([4., 7.])
    """
    _need_tensor("take", "index", 2, index)
    reads(index)
    ix = index._data
    if ix.dtype != np.int64:
        raise RuntimeError(f"take(): Expected a long tensor for index, but got "
                           f"{torch_name(ix.dtype)}")
    n = input._data.size
    bad = (ix < -n) | (ix >= n)
    if bad.any():
        raise IndexError(f"out of range: tried to access index {ix[bad].flat[0]} on a tensor of "
                         f"{n} elements.")
    return getitem(input.reshape(-1), _const(np.where(ix < 0, ix + n, ix)))


def repeat_interleave(input: Tensor, repeats=None, dim=None, *, output_size=None) -> Tensor:
    """Repeat each element (each slice along `dim`) `repeats` times (an int, or one count per
    element as a tensor); flattened when `dim` is None. ``repeat_interleave(counts)`` alone gives
    ``0`` counts[0] times, ``1`` counts[1] times, ...

    >>> import tapegrad as tg
    >>> tg.tensor([1., 2.]).repeat_interleave(tg.tensor([1, 2]))
    tensor([1., 2., 2.])
    >>> tg.repeat_interleave(tg.tensor([2, 1]))
    tensor([0, 0, 1])
    """
    if repeats is None:  # repeat_interleave(repeats): the indices
        counts = _repeat_counts(input, None)
        return _const(np.repeat(np.arange(counts.size, dtype=np.int64), counts))
    x, d = (input.reshape(-1), 0) if dim is None else (input, normalize_dim(dim, input.ndim))
    if x.ndim == 0:
        x = x.reshape(1)
    n = x.shape[d]
    counts = _repeat_counts(repeats, n)
    if counts.size == 1 and n != 1:
        counts = np.full(n, counts.reshape(-1)[0])
    if counts.size != n:
        raise RuntimeError(f"repeats must have the same size as input along dim, but got "
                           f"repeats.size(0) = {counts.size} and input.size({d}) = {n}")
    idx = np.repeat(np.arange(n, dtype=np.int64), counts.reshape(-1))
    if output_size is not None and output_size != idx.size:
        raise RuntimeError("allocated size does not match required size")
    return index_select(x, d, _const(idx))


def _repeat_counts(repeats, n) -> np.ndarray:
    if isinstance(repeats, Tensor):
        reads(repeats)
        rd = repeats._data
        if rd.dtype.kind not in "iu":
            raise NotImplementedError(f"\"repeat_interleave_cpu\" not implemented for "
                                      f"'{torch_name(rd.dtype)}'")
        if rd.ndim > 1:
            raise RuntimeError("repeats must be 0-dim or 1-dim tensor")
        if rd.size and rd.min() < 0:
            raise RuntimeError("repeats can not be negative")
        return rd.reshape(-1).astype(np.int64)
    if repeats < 0:
        raise RuntimeError("Repeats must be non-negative")
    return np.array([int(repeats)], np.int64)


# ------------------------------------------------------------------------------------------------
# elementwise composites
# ------------------------------------------------------------------------------------------------
def nan_to_num(input: Tensor, nan: float = 0.0, posinf=None, neginf=None) -> Tensor:
    """NaN replaced by `nan`, +inf by `posinf` and -inf by `neginf` (default: the dtype's
    largest and smallest numbers); the gradient flows only where x was finite.

    >>> import tapegrad as tg
    >>> tg.nan_to_num(tg.tensor([float('nan'), float('inf'), 2.]), posinf=9.)
    tensor([0., 9., 2.])
    """
    xd = input._data
    if xd.dtype.kind != "f":
        return input.clone()
    info = np.finfo(xd.dtype)
    hi = float(info.max) if posinf is None else posinf
    lo = float(info.min) if neginf is None else neginf
    # comparisons and where: recorded while tracing, so a compiled function replays this
    out = where(input != input, nan, input)
    out = where(input == math.inf, hi, out)
    return where(input == -math.inf, lo, out)


def nan_to_num_(self: Tensor, nan: float = 0.0, posinf=None, neginf=None) -> Tensor:
    """In place: ``nan_to_num``."""
    return write(self, "nan_to_num_", lambda x: nan_to_num(x, nan, posinf, neginf),
                 reads_self=False)


def _int_bound(input: Tensor, bound):
    """An integer tensor clamped by an integer keeps its dtype (torch's); `clamp` with one
    bound missing would widen it, so the other bound is the dtype's own limit."""
    return input._data.dtype.kind in "iu" and isinstance(bound, (int, np.integer)) and \
        not isinstance(bound, bool)


def clamp_min(input: Tensor, min) -> Tensor:  # noqa: A002
    """``clamp(input, min=min)`` (a number or a tensor).

    >>> import tapegrad as tg
    >>> tg.clamp_min(tg.tensor([-1., 2.]), 0.)
    tensor([0., 2.])
    """
    if _int_bound(input, min):
        return clamp(input, min, int(np.iinfo(input._data.dtype).max))
    return clamp(input, min=min)


def clamp_max(input: Tensor, max) -> Tensor:  # noqa: A002
    """``clamp(input, max=max)`` (a number or a tensor).

    >>> import tapegrad as tg
    >>> tg.clamp_max(tg.tensor([-1., 2.]), 0.)
    tensor([-1.,  0.])
    """
    if _int_bound(input, max):
        return clamp(input, int(np.iinfo(input._data.dtype).min), max)
    return clamp(input, max=max)


def clamp_min_(self: Tensor, min) -> Tensor:  # noqa: A002
    """In place: ``clamp_min``."""
    return write(self, "clamp_min_", lambda x: clamp(x, min=min),
                 min if isinstance(min, Tensor) else None)


def clamp_max_(self: Tensor, max) -> Tensor:  # noqa: A002
    """In place: ``clamp_max``."""
    return write(self, "clamp_max_", lambda x: clamp(x, max=max),
                 max if isinstance(max, Tensor) else None)


def frac(input: Tensor) -> Tensor:
    """The fractional part ``x - trunc(x)`` (negative for negative x); gradient 1.

    >>> import tapegrad as tg
    >>> tg.frac(tg.tensor([1.25, -2.5]))
    tensor([ 0.2500, -0.5000])
    """
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f"\"frac_cpu\" not implemented for "
                                  f"'{torch_name(input._data.dtype)}'")
    return input - input.trunc()


def frac_(self: Tensor) -> Tensor:
    """In place: ``frac``."""
    return write(self, "frac_", frac, reads_self=False)


def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
    """``input + value * tensor1 * tensor2`` (broadcasting).

    >>> import tapegrad as tg
    >>> tg.addcmul(tg.ones(2), tg.tensor([1., 2.]), tg.tensor([3., 4.]), value=0.5)
    tensor([2.5000, 5.0000])
    """
    t1 = tensor1 if value == 1 else tensor1 * value  # torch's order: (value * t1) * t2
    return input + t1 * tensor2


_INT_ADDCDIV = ("Integer division with addcdiv is no longer supported, and in a future  release "
                "addcdiv will perform a true division of tensor1 and tensor2. The historic addcdiv "
                "behavior can be implemented as (input + value * torch.trunc(tensor1 / tensor2))"
                ".to(input.dtype) for integer inputs and as (input + value * tensor1 / tensor2) "
                "for float inputs. The future addcdiv behavior is just the latter implementation: "
                "(input + value * tensor1 / tensor2), for all dtypes.")


def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
    """``input + value * tensor1 / tensor2`` (broadcasting; float tensors, as torch).

    >>> import tapegrad as tg
    >>> tg.addcdiv(tg.ones(2), tg.tensor([1., 2.]), tg.tensor([4., 4.]), value=2)
    tensor([1.5000, 2.0000])
    """
    if tensor1._data.dtype.kind in "iub" and tensor2._data.dtype.kind in "iub":
        raise RuntimeError(_INT_ADDCDIV)
    t1 = tensor1 if value == 1 else tensor1 * value  # torch's order: (value * t1) / t2
    return input + t1 / tensor2


def _first_rg(*ts):
    """The operand `write` checks for `requires_grad` (any of several that need a graph)."""
    for t in ts:
        if isinstance(t, Tensor) and t._rg:
            return t
    return None


def addcmul_(self: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
    """In place: ``addcmul`` (e.g. optimizers' ``v.addcmul_(g, g, value=1 - beta2)``)."""
    if not _rg(self, tensor1, tensor2):
        a, b = tensor1._data, tensor2._data

        def np_op(d, _):
            prod = (np.multiply(a, value, dtype=np.result_type(a, d)) if value != 1 else a) * b
            np.add(d, prod, out=d, casting="same_kind")
        return write(self, "addcmul_", lambda x: addcmul(x, tensor1, tensor2, value=value), None,
                     np_op, reads_self=False)
    return write(self, "addcmul_", lambda x: addcmul(x, tensor1, tensor2, value=value),
                 _first_rg(tensor1, tensor2), reads_self=False)


def addcdiv_(self: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
    """In place: ``addcdiv`` (e.g. Adam's ``p.addcdiv_(m, denom, value=-lr)``)."""
    return write(self, "addcdiv_", lambda x: addcdiv(x, tensor1, tensor2, value=value),
                 _first_rg(tensor1, tensor2), reads_self=False)


# ------------------------------------------------------------------------------------------------
# scatter and the index_* family
# ------------------------------------------------------------------------------------------------
def _index_dtype(ix: np.ndarray, msg: str) -> None:
    if ix.dtype not in (np.int32, np.int64):
        raise RuntimeError(msg)


def _scatter_key(input: Tensor, dim: int, index: Tensor, src) -> tuple:
    """(dim, the index's shape, an advanced key: per dim of input an int64 array of that shape)
    for ``out[key] = src[:index.shape]``, with scatter's checks and torch's messages."""
    _need_tensor("scatter", "index", 3, index)
    reads(index)
    xd, ix = input._data, index._data
    d = normalize_dim(dim, xd.ndim)
    _index_dtype(ix, "scatter(): Expected dtype int32/int64 for index")
    xs, ish = xd.shape or (1,), ix.shape or (1,)
    if isinstance(src, Tensor):
        sd = src._data
        if sd.dtype != xd.dtype:
            raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
        ss = sd.shape or (1,)
        if len(ish) != len(xs):
            raise RuntimeError("Index tensor must have the same number of dimensions as self "
                               "tensor")
        if len(ss) != len(xs):
            raise RuntimeError("Index tensor must have the same number of dimensions as src "
                               "tensor")
        if builtins.any((k != d and a > b) or a > c for k, (a, b, c) in
                        enumerate(zip(ish, xs, ss))):
            raise RuntimeError(f"Expected index {list(ix.shape)} to be no larger than self "
                               f"{list(xd.shape)} apart from dimension {d} and to be no larger "
                               f"size than src {list(sd.shape)}")
    else:
        if len(ish) != len(xs):
            raise RuntimeError("Index tensor must have the same number of dimensions as self "
                               "tensor")
        if builtins.any(k != d and a > b for k, (a, b) in enumerate(zip(ish, xs))):
            raise RuntimeError(f"Expected index {list(ix.shape)} to be no larger than self "
                               f"{list(xd.shape)} apart from dimension {d}")
    cols = ix.reshape(ish).astype(np.int64)
    bad = (cols < 0) | (cols >= xs[d])
    if bad.any():
        raise RuntimeError(f"index {cols[bad].flat[0]} is out of bounds for dimension {d} with "
                           f"size {xs[d]}")
    key = tuple(cols if k == d else np.broadcast_to(
        np.arange(n, dtype=np.int64).reshape((-1,) + (1,) * (len(ish) - k - 1)), ish)
        for k, n in enumerate(ish))
    return d, ish, key


_REDUCE_WARNING = ("The reduce argument of torch.scatter with Tensor src is deprecated and will be "
                   "removed in a future PyTorch release. Use torch.scatter_reduce instead for "
                   "more reduction options.")


def scatter(input: Tensor, dim: int, index: Tensor, src=None, value=None, *, reduce=None) -> Tensor:
    """A copy of `input` with ``out[index[i][j]][j] = src[i][j]`` (dim=0; any rank), or `value`
    at those places; `src` may be larger than `index`. Differentiable in `input` (not where
    written) and `src` (where read). ``reduce='add'``/``'multiply'`` combine instead.

    >>> import tapegrad as tg
    >>> tg.zeros(3, 2).scatter(0, tg.tensor([[2, 0]]), tg.tensor([[1., 2.]]))
    tensor([[0., 2.],
            [0., 0.],
            [1., 0.]])
    """
    if src is not None and not isinstance(src, Tensor):
        src, value = None, src
    if src is None and value is None:
        raise TypeError("scatter() missing 1 required positional argument: 'src' or 'value'")
    if reduce is not None:
        return _scatter_reduce(input, dim, index, src, value, reduce)
    d, ish, key = _scatter_key(input, dim, index, src)
    xd = input._data
    x1 = input if xd.ndim else input.reshape(1)
    if isinstance(src, Tensor):
        s1 = src if src._data.ndim else src.reshape(1)
        part = tuple(slice(0, n) for n in ish)
        vals = getitem(s1, part) if _rg(s1) else _wrap(np.ascontiguousarray(s1._data[part]))
        out = index_put(x1, tuple(_const(k) for k in key), vals)
    else:
        if isinstance(value, Tensor):
            value = value.item()
        out = index_put(x1, tuple(_const(k) for k in key), value)
    return out if xd.ndim else out.reshape(())


def _scatter_reduce(input: Tensor, dim, index, src, value, reduce: str) -> Tensor:
    if reduce not in ("add", "multiply"):
        raise RuntimeError("reduce argument must be either add or multiply.")
    if isinstance(src, Tensor):
        _warn_once("scatter_reduce", _REDUCE_WARNING, stacklevel=4)
    d, ish, key = _scatter_key(input, dim, index, src)
    xd = input._data
    if isinstance(src, Tensor):
        vals = np.ascontiguousarray((src._data if src._data.ndim else src._data.reshape(1))[
            tuple(slice(0, n) for n in ish)])
    else:
        vals = np.full(ish, value, xd.dtype)
    if reduce == "add":
        src_t = src if isinstance(src, Tensor) else _const(vals)
        return scatter_add(input, d, _const(key[d].reshape(index._data.shape)), src_t)
    if _rg(input, src):
        raise NotImplementedError("scatter(reduce='multiply') of tensors that require grad is "
                                  "not supported by tapegrad")
    out = np.array(xd, copy=True).reshape(xd.shape or (1,))
    np.multiply.at(out, key, vals)
    return _wrap(out.reshape(xd.shape))


def scatter_(self: Tensor, dim: int, index: Tensor, src=None, value=None, *,
             reduce=None) -> Tensor:
    """In place: ``scatter``."""
    return write(self, "scatter_", lambda x: scatter(x, dim, index, src, value, reduce=reduce),
                 src if isinstance(src, Tensor) else None, reads_self=False)


def scatter_add_(self: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """In place: ``scatter_add``."""
    return write(self, "scatter_add_", lambda x: scatter_add(x, dim, index, src), src,
                 reads_self=False)


def _vector_index(name: str, index, kind: str) -> np.ndarray:
    _need_tensor(name, "index", 2, index)
    reads(index)
    ix = index._data
    if kind == "add":
        if ix.ndim > 1:
            raise IndexError(f"index_add_(): Index is supposed to be a vector, but got dim: "
                             f"{ix.ndim} with type: {torch_name(ix.dtype)} and size: "
                             f"{list(ix.shape)}")
        _index_dtype(ix, f"index_add_(): Expected dtype int32/int64 for index but got: "
                         f"{torch_name(ix.dtype)}")
    elif kind == "fill":
        if ix.dtype != np.int64:
            raise IndexError("index_fill_(): Expected dtype int64 for index.")
        if ix.ndim > 1:
            raise RuntimeError("Index has to be a vector/scalar")
    else:
        if ix.dtype != np.int64:
            raise RuntimeError(f"index_copy_(): Expected a long tensor for index, but got "
                               f"{torch_name(ix.dtype)}")
    return ix.reshape(-1).astype(np.int64)


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    """A copy of `input` with ``alpha * source`` added at `index` along `dim` (repeated
    indices add up); differentiable in `input` and `source`.

    >>> import tapegrad as tg
    >>> tg.zeros(3).index_add(0, tg.tensor([0, 0, 2]), tg.tensor([1., 2., 3.]))
    tensor([3., 0., 3.])
    """
    idx = _vector_index("index_add", index, "add")
    xd, sd = input._data, source._data
    d = normalize_dim(dim, xd.ndim)
    if sd.dtype != xd.dtype:
        raise RuntimeError(f"index_add_(): self ({torch_name(xd.dtype)}) and source "
                           f"({torch_name(sd.dtype)}) must have the same scalar type")
    n_src = sd.shape[d] if sd.ndim > d else 1
    if idx.size != n_src:
        raise RuntimeError(f"index_add_(): Number of indices ({idx.size}) should be equal to "
                           f"source.size(dim): ({n_src}), for dim: {d}")
    if sd.ndim != xd.ndim or builtins.any(a != b for k, (a, b) in
                                          enumerate(zip(xd.shape, sd.shape)) if k != d):
        raise RuntimeError(f"source tensor shape must match self tensor shape, excluding the "
                           f"specified dimension. Got self.shape = {list(xd.shape)} "
                           f"source.shape = {list(sd.shape)}")
    x1, s1 = (input, source) if xd.ndim else (input.reshape(1), source.reshape(1))
    xs, ss = x1._data.shape, s1._data.shape
    bad = (idx < 0) | (idx >= xs[d])
    if bad.any():
        raise RuntimeError(f"index {idx[bad][0]} is out of bounds for dimension {d} with size "
                           f"{xs[d]}")
    full = np.broadcast_to(idx.reshape((-1,) + (1,) * (len(ss) - d - 1)), ss)
    s = s1 if alpha == 1 else s1 * alpha
    out = scatter_add(x1, d, _const(full), s)
    return out if xd.ndim else out.reshape(())


def index_fill(input: Tensor, dim: int, index: Tensor, value) -> Tensor:
    """A copy of `input` with the slices at `index` along `dim` set to `value` (a number or a
    0-d tensor, differentiable); negative indices count from the end.

    >>> import tapegrad as tg
    >>> tg.zeros(2, 3).index_fill(1, tg.tensor([0, 2]), 5.)
    tensor([[5., 0., 5.],
            [5., 0., 5.]])
    """
    idx = _vector_index("index_fill", index, "fill")
    xd = input._data
    d = normalize_dim(dim, xd.ndim)
    if isinstance(value, Tensor) and value._data.ndim:
        raise RuntimeError(f"index_fill_ only supports a 0-dimensional value tensor, but got "
                           f"tensor with {value._data.ndim} dimension(s).")
    n = xd.shape[d] if xd.ndim else 1
    bad = (idx < -n) | (idx >= n)
    if bad.any():
        raise IndexError(f"index {idx[bad][0]} is out of bounds for dimension {d} with size {n}")
    if xd.dtype.kind != "f" and isinstance(value, Tensor):
        value = value.item()
    # an index_put of the slices (its adjoint reads no values, so in-place ops may follow), each
    # slice once: a repeated index fills once, and a tensor value gets each element's gradient
    # once (torch's), where index_put gives every repeat its own
    x1 = input if xd.ndim else input.reshape(1)
    out = index_put(x1, (slice(None),) * d + (_const(np.unique(np.where(idx < 0, idx + n, idx))),),
                    value)
    return out if xd.ndim else out.reshape(())


def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """A copy of `input` with the slices at `index` along `dim` replaced by those of `source`;
    differentiable in both.

    >>> import tapegrad as tg
    >>> tg.zeros(3).index_copy(0, tg.tensor([2, 0]), tg.tensor([1., 2.]))
    tensor([2., 0., 1.])
    """
    idx = _vector_index("index_copy", index, "copy")
    xd, sd = input._data, source._data
    d = normalize_dim(dim, xd.ndim)
    if sd.dtype != xd.dtype:
        raise RuntimeError(f"index_copy_(): self and source expected to have the same dtype, but "
                           f"got (self) {torch_name(xd.dtype)} and (source) "
                           f"{torch_name(sd.dtype)}")
    xs = xd.shape or (1,)
    ss = sd.shape or (1,)
    n_src = ss[d] if len(ss) > d else 1
    if idx.size != n_src:
        raise IndexError(f"index_copy_(): Number of indices ({idx.size}) should be equal to "
                         f"source.size(dim) ({n_src})")
    for k in range(builtins.max(len(xs), len(ss))):
        a = xs[k] if k < len(xs) else 1
        b = ss[k] if k < len(ss) else 1
        if k != d and a != b:  # (torch numbers the dims of the slices: `dim` removed)
            j = k if k < d else k - 1
            raise RuntimeError(f"index_copy_(): Source/destination tensor must have same slice "
                               f"shapes. Destination slice shape: {a} at dimension {j} and "
                               f"source slice shape: {b} at dimension {j}.")
    bad = (idx < 0) | (idx >= xs[d])
    if bad.any():
        raise IndexError(f"index_copy_(): index {idx[bad][0]} is out of bounds for dimension "
                         f"{d} with size {xs[d]}")
    x1 = input if xd.ndim else input.reshape(1)
    s1 = source.reshape(ss)
    out = index_put(x1, (slice(None),) * d + (_const(idx),), s1)
    return out if xd.ndim else out.reshape(())


def index_add_(self: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    """In place: ``index_add``."""
    return write(self, "index_add_", lambda x: index_add(x, dim, index, source, alpha=alpha),
                 source, reads_self=False)


def index_fill_(self: Tensor, dim: int, index: Tensor, value) -> Tensor:
    """In place: ``index_fill``."""
    return write(self, "index_fill_", lambda x: index_fill(x, dim, index, value),
                 value if isinstance(value, Tensor) else None, reads_self=False)


def index_copy_(self: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """In place: ``index_copy``."""
    return write(self, "index_copy_", lambda x: index_copy(x, dim, index, source), source,
                 reads_self=False)


def masked_fill_(self: Tensor, mask: Tensor, value) -> Tensor:
    """In place: ``masked_fill`` (the mask broadcasts to self's shape).

    >>> import tapegrad as tg
    >>> x = tg.zeros(3); x.masked_fill_(tg.tensor([True, False, True]), 1.)
    tensor([1., 0., 1.])
    """
    _need_tensor("masked_fill_", "mask", 1, mask)
    reads(mask)
    sd, md = self._data, mask._data
    shape = _bshape(sd.shape, md.shape)
    if shape != sd.shape:
        raise RuntimeError(f"output with shape {list(sd.shape)} doesn't match the broadcast shape "
                           f"{list(shape)}")
    vt = value if isinstance(value, Tensor) else None

    if md.dtype != np.bool_ or (vt is not None and vt._data.ndim):
        masked_fill(self, mask, value)  # (raises its error)

    def np_op(d, o):
        np.copyto(d, np.asarray(value._data if vt is not None else value), casting="unsafe",
                  where=np.broadcast_to(md, d.shape))
    return write(self, "masked_fill_", lambda x: masked_fill(x, mask, value), vt, np_op,
                 reads_self=False, overlap_ok=False)


def type_as(self: Tensor, other: Tensor) -> Tensor:
    """This tensor in `other`'s dtype (itself when it has it already).

    >>> import tapegrad as tg
    >>> tg.tensor([1, 2]).type_as(tg.zeros(1, dtype=tg.float64))
    tensor([1., 2.], dtype=tapegrad.float64)
    """
    return self.to(other.dtype)


# ------------------------------------------------------------------------------------------------
# diff, trace, kron, cross, tensordot
# ------------------------------------------------------------------------------------------------
def diff(input: Tensor, n: int = 1, dim: int = -1, prepend=None, append=None) -> Tensor:
    """The `n`-th forward difference along `dim` (``x[1:] - x[:-1]``, repeated), after joining
    `prepend` and `append` (tensors) to `input`; bool tensors use logical xor.

    >>> import tapegrad as tg
    >>> tg.diff(tg.tensor([1., 4., 9., 16.]))
    tensor([3., 5., 7.])
    """
    if input._data.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    for name, extra in (("prepend", prepend), ("append", append)):
        if extra is not None:
            if not isinstance(extra, Tensor):
                raise TypeError(f"diff(): argument '{name}' must be Tensor, not "
                                f"{type(extra).__name__}")
            if extra._data.ndim != input._data.ndim:
                raise RuntimeError("diff expects prepend or append to be the same dimension as "
                                   "input")
    d = normalize_dim(dim, input._data.ndim)
    x = input
    if prepend is not None or append is not None:
        x = cat([t for t in (prepend, input, append) if t is not None], d)
    if n == 0:
        return x
    for _ in range(n):
        k = x.shape[d]
        if k == 0:
            break
        a, b = x.narrow(d, 1, k - 1), x.narrow(d, 0, k - 1)
        x = logical_xor(a, b) if x._data.dtype == np.bool_ else a - b
    return x


def trace(input: Tensor) -> Tensor:
    """The sum of the main diagonal of a matrix (integers sum to int64).

    >>> import tapegrad as tg
    >>> tg.trace(tg.tensor([[1., 2.], [3., 4.]]))
    tensor(5.)
    """
    if input._data.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim "
                           f"{input._data.ndim}")
    return input.diagonal().sum()


def kron(input: Tensor, other: Tensor) -> Tensor:
    """The Kronecker product: blocks ``input[i, j] * other`` (any ranks).

    >>> import tapegrad as tg
    >>> tg.kron(tg.tensor([[1, 2], [3, 4]]), tg.tensor([1, 10]))
    tensor([[ 1, 10,  2, 20],
            [ 3, 30,  4, 40]])
    """
    na, nb = input._data.ndim, other._data.ndim
    nd = builtins.max(na, nb)
    sa = (1,) * (nd - na) + input._data.shape
    sb = (1,) * (nd - nb) + other._data.shape
    a = input.reshape(tuple(v for s in sa for v in (s, 1)))
    b = other.reshape(tuple(v for s in sb for v in (1, s)))
    return (a * b).reshape(tuple(p * q for p, q in zip(sa, sb)))


_CROSS_WARNING = ("Using torch.cross without specifying the dim arg is deprecated.\nPlease either "
                  "pass the dim explicitly or simply use torch.linalg.cross.\nThe default value "
                  "of dim will change to agree with that of linalg.cross in a future release.")
_WARNED: set = set()


def _warn_once(key: str, msg: str, stacklevel: int = 3) -> None:
    """torch's TORCH_WARN_ONCE: the warning is given the first time only, in a process."""
    if key not in _WARNED:
        _WARNED.add(key)
        warnings.warn(msg, UserWarning, stacklevel=stacklevel)


def cross(input: Tensor, other: Tensor, dim=None) -> Tensor:
    """The cross product of 3-vectors along `dim` (broadcasting); without `dim`, the first dim
    of size 3 (torch's deprecated default, with its warning).

    >>> import tapegrad as tg
    >>> tg.cross(tg.tensor([1., 0., 0.]), tg.tensor([0., 1., 0.]), dim=0)
    tensor([0., 0., 1.])
    """
    if dim is None:
        _warn_once("cross", _CROSS_WARNING)
        shape = _bshape(input._data.shape, other._data.shape)
        dims = [i for i, s in enumerate(shape) if s == 3]
        if not dims:
            raise RuntimeError("no dimension of size 3 in input")
        dim = dims[0]
    return linalg_cross(input, other, dim=dim)


def linalg_cross(input: Tensor, other: Tensor, *, dim: int = -1) -> Tensor:
    """``torch.linalg.cross``: the cross product of 3-vectors along `dim` (default the last);
    the inputs have the same number of dims and broadcast in the others.

    >>> import tapegrad as tg
    >>> linalg_cross(tg.tensor([[0., 1., 0.]]), tg.tensor([[0., 0., 1.]]))
    tensor([[1., 0., 0.]])
    """
    a, b = input, other
    if a._data.ndim != b._data.ndim:
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    d = normalize_dim(dim, a._data.ndim)
    if a._data.shape[d] != 3 or b._data.shape[d] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got "
                           f"{a._data.shape[d]} and {b._data.shape[d]}")
    _bshape(a._data.shape, b._data.shape)
    a0, a1, a2 = (a.select(d, i) for i in range(3))
    b0, b1, b2 = (b.select(d, i) for i in range(3))
    return stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], d)


def tensordot(a: Tensor, b: Tensor, dims=2) -> Tensor:
    """Contract the last `dims` dims of `a` with the first `dims` of `b` (or the dims listed in
    ``dims=([...], [...])``), as one matrix product.

    >>> import tapegrad as tg
    >>> tg.tensordot(tg.ones(2, 3), tg.ones(3, 4), dims=1).shape
    tapegrad.Size([2, 4])
    """
    na, nb = a._data.ndim, b._data.ndim
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, (int, np.integer)):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > builtins.min(na, nb):
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims}")
        da, db = list(range(na - dims, na)), list(range(dims))
    else:
        da, db = dims
        da = [da] if isinstance(da, int) else list(da)
        db = [db] if isinstance(db, int) else list(db)
        if len(da) != len(db):
            raise RuntimeError("both dimension lists should have same length")
    if a._data.dtype != b._data.dtype:
        raise RuntimeError("both inputs should have same dtype")
    da = [normalize_dim(d, na) for d in da]
    db = [normalize_dim(d, nb) for d in db]
    for i, j in zip(da, db):
        if a._data.shape[i] != b._data.shape[j]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size "
                               f"{a._data.shape[i]} in dim {i} and second has size "
                               f"{b._data.shape[j]} in dim {j}")
    fa = [i for i in range(na) if i not in da]
    fb = [j for j in range(nb) if j not in db]
    sa = [a._data.shape[i] for i in fa]
    sb = [b._data.shape[j] for j in fb]
    k = math.prod(a._data.shape[i] for i in da)
    am = a.permute(*(fa + da)).reshape(math.prod(sa), k)
    bm = b.permute(*(db + fb)).reshape(k, math.prod(sb))
    return (am @ bm).reshape(tuple(sa + sb))


# ------------------------------------------------------------------------------------------------
# cdist
# ------------------------------------------------------------------------------------------------
_CDIST_MODES = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                "donot_use_mm_for_euclid_dist")


def _safe_root(s: Tensor, p: float) -> Tensor:
    """s ** (1/p) with gradient 0 where s is 0 (torch's cdist backward there)."""
    pos = s > 0  # (a comparison: recorded while tracing)
    safe = where(pos, s, 1.0)
    return where(pos, safe.sqrt() if p == 2 else safe ** (1.0 / p), 0.0)


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0,
          compute_mode: str = "use_mm_for_euclid_dist_if_necessary") -> Tensor:
    """The p-norm distance between each row of `x1` (..., P, M) and each row of `x2`
    (..., R, M): (..., P, R), batch dims broadcasting. For p=2 with more than 25 rows torch (and
    so this) uses ``|a|^2 + |b|^2 - 2 a.b`` (a matrix product); the gradient is 0 at distance 0.

    >>> import tapegrad as tg
    >>> tg.cdist(tg.tensor([[0., 0.], [3., 4.]]), tg.tensor([[0., 0.]]))
    tensor([[0.],
            [5.]])
    """
    a, b = x1._data, x2._data
    if a.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {a.ndim}D")
    if b.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X2 got: {b.ndim}D")
    if a.shape[-1] != b.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {a.shape[-1]} "
                           f"X2: {b.shape[-1]}")
    if a.dtype.kind != "f":
        raise RuntimeError(f"cdist only supports floating-point dtypes, X1 got: "
                           f"{torch_name(a.dtype)}")
    if b.dtype.kind != "f":
        raise RuntimeError(f"cdist only supports floating-point dtypes, X2 got: "
                           f"{torch_name(b.dtype)}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    if compute_mode not in _CDIST_MODES:
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    P, R = a.shape[-2], b.shape[-2]
    mm = p == 2 and (compute_mode == _CDIST_MODES[1] or (
        compute_mode == _CDIST_MODES[0] and (P > 25 or R > 25)))
    if mm:  # torch's _euclidean_dist
        n1 = (x1 * x1).sum(-1, keepdim=True)
        n2 = (x2 * x2).sum(-1, keepdim=True)
        left = cat([x1 * -2, n1, n1.new_ones(tuple(n1.shape))], -1)
        right = cat([x2, n2.new_ones(tuple(n2.shape)), n2], -1)
        return _safe_root(clamp(left @ right.mT, min=0.0), 2.0)
    d = x1.unsqueeze(-2) - x2.unsqueeze(-3)  # (..., P, R, M)
    if p == 0:
        return (d != 0).sum(-1).to(d.dtype)
    if p == 1:
        return d.abs().sum(-1)
    if math.isinf(p):
        return d.abs().amax(-1)
    if p == 2:
        return _safe_root((d * d).sum(-1), 2.0)
    return _safe_root((d.abs() ** p).sum(-1), p)


# ------------------------------------------------------------------------------------------------
# meshgrid, cartesian_prod, broadcasting, stacking, rot90
# ------------------------------------------------------------------------------------------------
_MESHGRID_WARNING = ("torch.meshgrid: in an upcoming release, it will be required to pass the "
                     "indexing argument.")


def _tensor_args(tensors) -> tuple:
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return tuple(tensors[0])
    return tuple(tensors)


def meshgrid(*tensors, indexing=None) -> tuple:
    """Coordinate grids of 0-d/1-d tensors: the i-th result varies along dim i (``'ij'``) or,
    with ``indexing='xy'``, the first two swap (the default 'ij' warns, as torch). Views.

    >>> import tapegrad as tg
    >>> gx, gy = tg.meshgrid(tg.tensor([1, 2]), tg.tensor([3, 4, 5]), indexing='ij')
    >>> gx.shape, gy[0]
    (tapegrad.Size([2, 3]), tensor([3, 4, 5]))
    """
    ts = _tensor_args(tensors)
    if indexing is None:
        _warn_once("meshgrid", _MESHGRID_WARNING)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: '
                           f'{indexing}')
    if not ts:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    for t in ts:
        if t._data.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but "
                               f"got: {t!r}")
    if builtins.any(t._data.dtype != ts[0]._data.dtype for t in ts):
        raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    swap = indexing == "xy" and len(ts) >= 2
    order = list(range(len(ts)))
    if swap:
        order[0], order[1] = 1, 0
    shape = tuple(ts[i]._data.size for i in order)
    out = []
    for i, t in enumerate(ts):
        pos = order.index(i)
        view = [1] * len(ts)
        view[pos] = t._data.size
        out.append(t.reshape(tuple(view)).expand(*shape))
    return tuple(out)


def cartesian_prod(*tensors) -> Tensor:
    """All combinations of the elements of 1-D tensors, one per row (a single tensor is
    returned as it is).

    >>> import tapegrad as tg
    >>> tg.cartesian_prod(tg.tensor([1, 2]), tg.tensor([3, 4]))
    tensor([[1, 3],
            [1, 4],
            [2, 3],
            [2, 4]])
    """
    ts = _tensor_args(tensors)
    for t in ts:
        if t._data.ndim != 1:
            raise RuntimeError(f"Expect a 1D vector, but got shape {list(t._data.shape)}")
    if len(ts) == 1:
        return ts[0]
    grids = meshgrid(*ts, indexing="ij")
    return stack([g.reshape(-1) for g in grids], 1)


def broadcast_shapes(*shapes) -> Size:
    """The shape tensors of these shapes broadcast to.

    >>> import tapegrad as tg
    >>> tg.broadcast_shapes((2, 1), (3,))
    tapegrad.Size([2, 3])
    """
    given = [(s,) if isinstance(s, (int, np.integer)) else s for s in shapes]
    common = [1] * builtins.max([len(s) for s in given] + [0])
    for k, shape in enumerate(given):  # (torch's _refs._broadcast_shapes, its messages)
        for i in range(-1, -1 - len(shape), -1):
            if common[i] == 1:
                if shape[i] < 0:
                    raise RuntimeError(f"Trying to create tensor with negative dimension "
                                       f"({shape[i]}): ({shape[i]})")
                common[i] = shape[i]
            elif shape[i] != 1 and common[i] != shape[i]:
                raise RuntimeError(f"Attempting to broadcast a dimension of length {shape[i]} at "
                                   f"{i}! Mismatching argument at index {k} had {shape}; but "
                                   f"expected shape should be broadcastable to {common}")
    return Size(common)


def broadcast_tensors(*tensors) -> tuple:
    """The tensors expanded (as views) to their common broadcast shape.

    >>> import tapegrad as tg
    >>> [t.shape for t in tg.broadcast_tensors(tg.ones(2, 1), tg.ones(3))]
    [tapegrad.Size([2, 3]), tapegrad.Size([2, 3])]
    """
    ts = _tensor_args(tensors)
    shape: tuple = ()
    for t in ts:  # (torch's message for tensors: the size of tensor a ... must match ...)
        shape = _bshape(shape, t._data.shape)
    return tuple(t.expand(*shape) for t in ts)


def _atleast(n: int, t: Tensor) -> Tensor:
    nd = t._data.ndim
    if nd >= n:
        return t
    s = t._data.shape
    if n == 1:
        return t.reshape(1)
    if n == 2:
        return t.reshape((1,) * (2 - nd) + s)
    return t.reshape((1, 1, 1) if nd == 0 else (1,) + s + (1,) if nd == 1 else s + (1,))


def _atleast_fn(n: int):
    def fn(*tensors):
        ts = _tensor_args(tensors)
        if len(tensors) == 1 and isinstance(tensors[0], Tensor):
            return _atleast(n, tensors[0])
        return tuple(_atleast(n, t) for t in ts)
    fn.__name__ = fn.__qualname__ = f"atleast_{n}d"
    return fn


atleast_1d, atleast_2d, atleast_3d = _atleast_fn(1), _atleast_fn(2), _atleast_fn(3)
atleast_1d.__doc__ = """The tensor(s) with at least 1 dim (a 0-d one becomes (1,)).

    >>> import tapegrad as tg
    >>> tg.atleast_1d(tg.tensor(3.))
    tensor([3.])
    """
atleast_2d.__doc__ = """The tensor(s) with at least 2 dims (leading 1s added).

    >>> import tapegrad as tg
    >>> tg.atleast_2d(tg.tensor([1., 2.])).shape
    tapegrad.Size([1, 2])
    """
atleast_3d.__doc__ = """The tensor(s) with at least 3 dims ((n,) -> (1, n, 1); (a, b) ->
    (a, b, 1)).

    >>> import tapegrad as tg
    >>> tg.atleast_3d(tg.ones(2, 3)).shape
    tapegrad.Size([2, 3, 1])
    """


def _stack_list(name: str, tensors) -> list:
    ts = list(tensors)
    if not ts:
        raise RuntimeError(f"{name} expects a non-empty TensorList")
    return ts


def hstack(tensors) -> Tensor:
    """Join along the columns: 1-D tensors end to end, others along dim 1.

    >>> import tapegrad as tg
    >>> tg.hstack([tg.tensor([1., 2.]), tg.tensor([3.])])
    tensor([1., 2., 3.])
    """
    ts = [_atleast(1, t) for t in _stack_list("hstack", tensors)]
    return cat(ts, 0 if ts[0]._data.ndim == 1 else 1)


def vstack(tensors) -> Tensor:
    """Stack as rows (1-D tensors become rows), along dim 0.

    >>> import tapegrad as tg
    >>> tg.vstack([tg.tensor([1., 2.]), tg.tensor([3., 4.])])
    tensor([[1., 2.],
            [3., 4.]])
    """
    return cat([_atleast(2, t) for t in _stack_list("vstack", tensors)], 0)


def row_stack(tensors) -> Tensor:
    """Alias of `vstack`."""
    return cat([_atleast(2, t) for t in _stack_list("row_stack", tensors)], 0)


def dstack(tensors) -> Tensor:
    """Stack along the third dim (after `atleast_3d`).

    >>> import tapegrad as tg
    >>> tg.dstack([tg.ones(2), tg.zeros(2)]).shape
    tapegrad.Size([1, 2, 2])
    """
    return cat([_atleast(3, t) for t in _stack_list("dstack", tensors)], 2)


def column_stack(tensors) -> Tensor:
    """Join as columns: 0-d and 1-d tensors become columns, then along dim 1.

    >>> import tapegrad as tg
    >>> tg.column_stack([tg.tensor([1., 2.]), tg.tensor([3., 4.])])
    tensor([[1., 3.],
            [2., 4.]])
    """
    ts = _stack_list("column_stack", tensors)
    return cat([t.reshape(t._data.size, 1) if t._data.ndim <= 1 else t for t in ts], 1)


def rot90(input: Tensor, k: int = 1, dims=(0, 1)) -> Tensor:
    """Rotate by 90 degrees `k` times in the plane of `dims` (from the first towards the
    second).

    >>> import tapegrad as tg
    >>> tg.rot90(tg.tensor([[1., 2.], [3., 4.]]))
    tensor([[2., 4.],
            [1., 3.]])
    """
    dims = list(dims)
    nd = input._data.ndim
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if nd < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {nd}")
    d0, d1 = normalize_dim(dims[0], nd), normalize_dim(dims[1], nd)
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {dims[0]} and "
                           f"dim1 = {dims[1]}")
    k %= 4
    if k == 1:
        return flip(input, (d1,)).transpose(d0, d1)
    if k == 2:
        return flip(input, (d0, d1))
    if k == 3:
        return flip(input, (d0,)).transpose(d0, d1)
    return input.clone()


# ------------------------------------------------------------------------------------------------
# std_mean / var_mean
# ------------------------------------------------------------------------------------------------
def _moments(name: str, input: Tensor, dim, unbiased, keepdim, correction) -> tuple:
    spread = getattr(input, name)(dim, unbiased, keepdim, correction=correction)
    mdim = None if isinstance(dim, bool) else dim
    if mdim is None:
        mean = input.mean()
        if keepdim:
            mean = mean.reshape((1,) * input._data.ndim)
    else:
        mean = input.mean(mdim, keepdim)
    return spread, mean


def std_mean(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *,
             correction=None) -> tuple:
    """``(std, mean)`` over `dim` (see `std`).

    >>> import tapegrad as tg
    >>> tg.std_mean(tg.tensor([1., 3.]))
    (tensor(1.4142), tensor(2.))
    """
    return _moments("std", input, dim, unbiased, keepdim, correction)


def var_mean(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *,
             correction=None) -> tuple:
    """``(var, mean)`` over `dim` (see `var`).

    >>> import tapegrad as tg
    >>> tg.var_mean(tg.tensor([1., 3.]))
    (tensor(2.), tensor(2.))
    """
    return _moments("var", input, dim, unbiased, keepdim, correction)


# ------------------------------------------------------------------------------------------------
# factories: logspace, tril_indices / triu_indices, randperm
# ------------------------------------------------------------------------------------------------
def _finish(data: np.ndarray, requires_grad: bool) -> Tensor:
    t = _wrap(data)
    if requires_grad:
        t.requires_grad_(True)
    return t


@factory("pure")
def logspace(start, end, steps: int, base: float = 10.0, *, dtype=None,
             requires_grad: bool = False, device=None) -> Tensor:
    """`steps` values from ``base ** start`` to ``base ** end``, evenly spaced in the exponent.

    >>> import tapegrad as tg
    >>> tg.logspace(0, 2, 3)
    tensor([  1.,  10., 100.])
    """
    check_device(device)
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    dt = as_dtype(dtype).np_dtype if dtype is not None else get_default_dtype().np_dtype
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end)]
    res = np.power(float(base), np.linspace(float(vals[0]), float(vals[1]), steps))
    return _finish(res.astype(dt), requires_grad)


def _tri_indices(name: str, row: int, col: int, offset: int, dtype, lower: bool) -> Tensor:
    if row < 0:
        raise RuntimeError(f"row must be non-negative, got{row}")
    if col < 0:
        raise RuntimeError(f"col must be non-negative, got{col}")
    nd = as_dtype(dtype).np_dtype if dtype is not None else np.dtype(np.int64)
    r, c = (np.tril_indices if lower else np.triu_indices)(row, offset, col)
    return _wrap(np.stack([r, c]).astype(nd).reshape(2, -1))


@factory("pure")
def tril_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None,
                 layout=None) -> Tensor:
    """The (2, N) row and column indices of the lower triangle of a row x col matrix (below
    the `offset`-th diagonal), row by row.

    >>> import tapegrad as tg
    >>> tg.tril_indices(2, 2)
    tensor([[0, 1, 1],
            [0, 0, 1]])
    """
    check_device(device)
    return _tri_indices("tril_indices", row, col, offset, dtype, True)


@factory("pure")
def triu_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None,
                 layout=None) -> Tensor:
    """The (2, N) indices of the upper triangle (above the `offset`-th diagonal).

    >>> import tapegrad as tg
    >>> tg.triu_indices(2, 2)
    tensor([[0, 0, 1],
            [0, 1, 1]])
    """
    check_device(device)
    return _tri_indices("triu_indices", row, col, offset, dtype, False)


@factory("random")
def randperm(n: int, *, generator=None, dtype=None, requires_grad: bool = False,
             device=None, layout=None, pin_memory: bool = False) -> Tensor:
    """A random permutation of 0 .. n-1 (int64 unless `dtype`), from tapegrad's generator.

    >>> import tapegrad as tg
    >>> sorted(tg.randperm(4).tolist())
    [0, 1, 2, 3]
    """
    check_device(device)
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    nd = as_dtype(dtype).np_dtype if dtype is not None else np.dtype(np.int64)
    return _finish(numpy_rng(generator).permutation(int(n)).astype(nd), requires_grad)


# ------------------------------------------------------------------------------------------------
# sampling: normal, bernoulli, multinomial
# ------------------------------------------------------------------------------------------------
@factory("random")
def _draw(sample, generator) -> Tensor:
    """``sample(numpy_generator)`` as a tensor: redrawn at every replay of a recording."""
    return _wrap(sample(numpy_rng(generator)))


def _zero_grad_link(sample: Tensor, *sources) -> Tensor:
    """`sample` joined to `sources` that require grad with a zero gradient (torch's backward
    of normal and bernoulli): ``where(True, sample, source)`` takes none of a source's values."""
    out = sample
    for s in sources:
        if isinstance(s, Tensor) and _rg(s):
            out = where(_const(np.ones(out._data.shape, bool)), out, s)
    return out


_NORMAL_SIGNATURES = (
    " * (Tensor mean, Tensor std, *, torch.Generator generator = None, Tensor out = None)\n"
    " * (Tensor mean, float std = 1, *, torch.Generator generator = None, Tensor out = None)\n"
    " * (float mean, Tensor std, *, torch.Generator generator = None, Tensor out = None)\n"
    " * (float mean, float std, tuple of ints size, *, torch.Generator generator = None, Tensor "
    "out = None, torch.dtype dtype = None, torch.layout layout = None, torch.device device = "
    "None, bool pin_memory = False, bool requires_grad = False)\n")


def normal(mean, std=1.0, size=None, *, generator=None, dtype=None, requires_grad: bool = False,
           device=None, layout=None, pin_memory: bool = False) -> Tensor:
    """Samples of N(mean, std^2): elementwise for tensor `mean`/`std` (broadcasting), or
    `size` samples for two numbers. The gradient to mean and std is zero, as torch's.

    >>> import tapegrad as tg
    >>> tg.normal(tg.zeros(3), 0.0)
    tensor([0., 0., 0.])
    >>> tg.normal(0.0, 1.0, (2, 2)).shape
    tapegrad.Size([2, 2])
    """
    check_device(device)
    mt, st = isinstance(mean, Tensor), isinstance(std, Tensor)
    if not mt and not st:
        if size is None:
            raise TypeError(f"normal() received an invalid combination of arguments - got "
                            f"({type(mean).__name__}, {type(std).__name__}), but expected one "
                            f"of:\n{_NORMAL_SIGNATURES}")
        if std < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {_num(std)}")
        from ..factories import _size
        shape = _size((size,))
        dt = as_dtype(dtype).np_dtype if dtype is not None else get_default_dtype().np_dtype
        m, s = float(mean), float(std)
        out = _draw(lambda r: (m + s * r.standard_normal(shape)).astype(dt), generator)
        return out.requires_grad_(True) if requires_grad else out
    if st:
        reads(std)
        if std._data.size and (std._data < 0).any():
            raise RuntimeError("normal expects all elements of std >= 0.0")
    elif std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {_num(std)}")
    if mt:
        reads(mean)
    md = mean._data if mt else np.asarray(mean)
    sd = std._data if st else np.asarray(std)
    dt = result_type(*(t for t in (mean, std) if isinstance(t, Tensor))).np_dtype
    shape = _bshape(md.shape, sd.shape)
    out = _draw(lambda r: (md + sd * r.standard_normal(shape)).astype(dt), generator)
    return _zero_grad_link(out, mean, std)


def _num(v) -> str:
    """A number as torch prints a double in messages (``-1``, ``0.5``)."""
    return f"{float(v):g}"


_BERNOULLI_P = ("Expected p_in >= 0 && p_in <= 1 to be true, but got false.  (Could this error "
                "message be improved?  If so, please report an enhancement request to PyTorch.)")


def bernoulli(input: Tensor, p=None, *, generator=None) -> Tensor:
    """0/1 samples (input's dtype) that are 1 with probability `input` (elementwise), or `p`
    when given. The gradient to the probabilities is zero, as torch's.

    >>> import tapegrad as tg
    >>> tg.bernoulli(tg.tensor([0., 1., 1.]))
    tensor([0., 1., 1.])
    """
    xd = input._data
    if p is None:
        if xd.dtype.kind != "f":
            raise NotImplementedError(f"\"bernoulli_tensor_cpu_p_\" not implemented for "
                                      f"'{torch_name(xd.dtype)}'")
        reads(input)
        if xd.size and not ((xd >= 0) & (xd <= 1)).all():
            raise RuntimeError(_BERNOULLI_P)
        probs = xd
    else:
        if not 0 <= p <= 1:
            raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
        probs = np.full(xd.shape, float(p))
    out = _draw(lambda r: (r.random(xd.shape) < probs).astype(xd.dtype), generator)
    return _zero_grad_link(out, input) if p is None else out


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator=None) -> Tensor:
    """`num_samples` category indices per row of the (unnormalised, non-negative) weights
    `input` (1-D or 2-D), with or without replacement; int64.

    >>> import tapegrad as tg
    >>> tg.multinomial(tg.tensor([0., 1., 0.]), 2, replacement=True)
    tensor([1, 1])
    """
    reads(input)
    xd = input._data
    if xd.dtype.kind != "f":
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: "
                           f"{torch_name(xd.dtype)}")
    if xd.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    rows = xd.reshape(-1, xd.shape[-1]).astype(np.float64)
    n = rows.shape[1]
    if not replacement and num_samples > n:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                           "replacement")
    if not (np.isfinite(rows).all() and (rows >= 0).all()):
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    sums = rows.sum(1)
    if (sums <= 0).any():
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    shape = xd.shape[:-1] + (num_samples,)

    def sample(r):
        if replacement:
            picks = [r.choice(n, num_samples, p=row / s) for row, s in zip(rows, sums)]
            return np.stack(picks).reshape(shape).astype(np.int64)
        # torch's algorithm: the k largest of p / q with q ~ Exp(1) (a Gumbel-max race), so
        # categories of probability 0 come last rather than raising
        race = rows / r.exponential(1.0, rows.shape)
        if num_samples == 1:
            return np.argmax(race, axis=1).reshape(shape)
        vals = np.empty((rows.shape[0], num_samples))
        idx = np.empty((rows.shape[0], num_samples), np.int64)
        _stl.topk_rows(race, num_samples, True, True, vals, idx)
        return idx.reshape(shape)
    return _draw(sample, generator)


__all__ = ["isnan", "isinf", "isfinite", "isposinf", "isneginf", "signbit", "logical_and",
           "logical_or", "logical_xor", "logical_not", "bitwise_and", "bitwise_or",
           "bitwise_xor", "bitwise_not", "isin", "heaviside", "masked_select", "take",
           "repeat_interleave", "nan_to_num", "clamp_min", "clamp_max", "frac", "addcmul",
           "addcdiv", "scatter", "index_add", "index_fill", "index_copy", "diff", "trace",
           "kron", "cross", "tensordot", "cdist", "meshgrid", "cartesian_prod",
           "broadcast_shapes", "broadcast_tensors", "atleast_1d", "atleast_2d", "atleast_3d",
           "hstack", "vstack", "row_stack", "dstack", "column_stack", "rot90", "std_mean",
           "var_mean", "logspace", "tril_indices", "triu_indices", "randperm", "normal",
           "bernoulli", "multinomial"]
METHODS = dict(
    isnan=isnan, isinf=isinf, isfinite=isfinite, isposinf=isposinf, isneginf=isneginf,
    signbit=signbit, logical_and=logical_and, logical_or=logical_or, logical_xor=logical_xor,
    logical_not=logical_not, bitwise_and=bitwise_and, bitwise_or=bitwise_or,
    bitwise_xor=bitwise_xor, bitwise_not=bitwise_not, __and__=bitwise_and, __rand__=bitwise_and,
    __or__=bitwise_or, __ror__=bitwise_or, __xor__=bitwise_xor, __rxor__=bitwise_xor,
    __invert__=_invert, heaviside=heaviside, masked_select=masked_select, take=take,
    repeat_interleave=repeat_interleave, nan_to_num=nan_to_num, nan_to_num_=nan_to_num_,
    clamp_min=clamp_min, clamp_max=clamp_max, clamp_min_=clamp_min_, clamp_max_=clamp_max_,
    frac=frac, frac_=frac_, addcmul=addcmul, addcdiv=addcdiv, addcmul_=addcmul_,
    addcdiv_=addcdiv_, scatter=scatter, scatter_=scatter_, scatter_add_=scatter_add_,
    index_add=index_add, index_add_=index_add_, index_fill=index_fill, index_fill_=index_fill_,
    index_copy=index_copy, index_copy_=index_copy_, masked_fill_=masked_fill_, type_as=type_as,
    diff=diff, trace=trace, kron=kron, cross=cross, rot90=rot90, bernoulli=bernoulli,
    multinomial=multinomial, clone=lambda self, *, memory_format=None: _clone(self),
    contiguous=lambda self, memory_format=None: _contiguous(self),
)


def _is_nonzero(input: Tensor) -> bool:
    n = input._data.size
    if n == 0:
        raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
    if n > 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return bool(input)


def is_nonzero(input: Tensor) -> bool:
    """Whether the single element of `input` is nonzero (torch's errors for other sizes).

    >>> import tapegrad as tg
    >>> tg.is_nonzero(tg.tensor([[0.5]]))
    True
    """
    return _is_nonzero(input)


__all__.append("is_nonzero")
METHODS["is_nonzero"] = is_nonzero  # (defined after the tables: they are built above)
