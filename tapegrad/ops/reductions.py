"""Reductions over all elements or over dims (torch's `dim`/`keepdim`): sum, mean, prod,
max/min, amax/amin, argmax/argmin, var/std, logsumexp, norm; and the scans cumsum, cumprod."""
from __future__ import annotations

import builtins
import math
import warnings
from collections import namedtuple
from functools import partial
from types import SimpleNamespace

import numpy as np

from .._dtype import as_dtype, get_default_dtype, torch_name
from .._opdef import Domain, kernel
from .._record import apply_kernel
from ..tensor import Tensor, _wrap, normalize_dim
from ._util import into

# ------------------------------------------------------------------------------------------------
# reductions
# ------------------------------------------------------------------------------------------------
def lanes_reduce(ints, L: int, nd: int):
    """The lanes rule of the reductions (dims as a bitmask in ints[0]): the lanes' dim (last)
    is never reduced, also when a 0-d input was reduced over "dim 0"."""
    return [ints[0] & ((1 << nd) - 1)] + list(ints[1:])


SUM = kernel("sum", "tapegrad.ops._kernels_reduce:adj_reduce", "SumBackward0", usage="x.sum()",
    replay="tapegrad.ops._forward_reduce:fwd_reduce", lanes=lanes_reduce,
    test=("same", lambda h, x: sum))
SUM_DIM = kernel("sum_dim", "tapegrad.ops._kernels_reduce:adj_reduce", "SumBackward1", usage="x.sum(dim, keepdim)",
    replay="tapegrad.ops._forward_reduce:fwd_reduce", lanes=lanes_reduce,
    test=(
    "same", lambda h, x: partial(sum, dim=h.dims(x), keepdim=h.flag())))
MEAN = kernel("mean", "tapegrad.ops._kernels_reduce:adj_reduce", "MeanBackward0", usage="x.mean()",
    replay="tapegrad.ops._forward_reduce:fwd_reduce", lanes=lanes_reduce,
    test=("same", lambda h, x: mean))
MEAN_DIM = kernel("mean_dim", "tapegrad.ops._kernels_reduce:adj_reduce", "MeanBackward1", usage="x.mean(dim, keepdim)",
    replay="tapegrad.ops._forward_reduce:fwd_reduce", lanes=lanes_reduce,
    test=(
    "same", lambda h, x: partial(mean, dim=h.dims(x), keepdim=h.flag())))



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
                               f"{torch_name(xd.dtype)}")
        dt = xd.dtype
    else:
        dt = xd.dtype if xd.dtype.kind == "f" else np.dtype(np.int64)
    shape = tuple(1 if d in axes else n for d, n in enumerate(xd.shape) if keepdim or d not in axes)
    count = 1
    for a in axes:
        count *= xd.shape[a]
    # (ufunc methods rather than np.sum/np.mean: numpy's warnings then point at tapegrad's
    # code, where the package's filter silences them; torch is silent about inf and nan)

    def compute(out):
        res = np.add.reduce(xd, axis=axes, keepdims=keepdim, dtype=dt if dt.kind == "f" else None)
        if mean:
            res = np.true_divide(res, count) if count else res * np.nan
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


# ------------------------------------------------------------------------------------------------
# test specs: inputs for ops with kinks at ties (max, norm ...) and shared argument draws
# ------------------------------------------------------------------------------------------------
_K = "tapegrad.ops._kernels_reduce:"
_F = "tapegrad.ops._forward_reduce:"
_AWAY_FROM_ZERO = Domain(-2.0, 2.0, kinks=(0.0,), gap=0.4)


def _distinct(h) -> tuple:
    """One tensor whose values are nonzero and pairwise distinct in value and in magnitude
    (|v| in 0.25, 0.5, ...), so max/min/norm/std are smooth around it."""
    from ..factories import tensor
    shape = h.shape()
    n = math.prod(shape)
    mags = (np.array(h.draw(h.st.permutations(range(n))), dtype=np.float64) + 1.0) * 0.25
    signs = h.draw(h.hnp.arrays(np.bool_, n))
    return (tensor((mags * np.where(signs, 1.0, -1.0)).reshape(shape), requires_grad=True),)


def _dims_spec(h, x):
    """dims for ops taking an int or a tuple, or None (all)."""
    return None if h.flag() else h.dims(x)


def _correction(h, x, dim) -> int:
    """A correction below the number of reduced elements (so the divisor is positive)."""
    n = 1
    for a in _dims(dim, x.ndim) if x.ndim else ():
        n *= x.shape[a]
    return h.draw(h.st.integers(0, builtins.max(n - 1, 0)))


def _values_of(fn, dim: int, keepdim: bool):
    return lambda x: fn(x, dim, keepdim).values


def _var_make(fn):
    def make(h, x):
        dim = _dims_spec(h, x)
        c = _correction(h, x, dim)
        if h.flag():
            return partial(fn, dim=dim, correction=c, keepdim=h.flag())
        return partial(fn, dim=dim, unbiased=c == 1, keepdim=h.flag()) if c <= 1 else (
            partial(fn, dim=dim, correction=c))
    return make


PROD = kernel("prod", _K + "adj_prod", "ProdBackward0", (_AWAY_FROM_ZERO,), usage="x.prod()",
    replay=_F + "fwd_prod",
    test=("same", lambda h, x: prod))
PROD_DIM = kernel("prod_dim", _K + "adj_prod", "ProdBackward1", (_AWAY_FROM_ZERO,),
    usage="x.prod(dim, keepdim)", replay=_F + "fwd_prod",
    test=("same", lambda h, x: partial(prod, dim=h.dim(x), keepdim=h.flag())))
MAX = kernel("max", _K + "adj_extreme", "MaxBackward1", usage="x.max()", replay=_F + "fwd_max",
    test=(_distinct, lambda h, x: max))
MIN = kernel("min", _K + "adj_extreme", "MinBackward1", usage="x.min()", replay=_F + "fwd_min",
    test=(_distinct, lambda h, x: min))
MAX_DIM = kernel("max_dim", _K + "adj_max_dim", "MaxBackward0", value_ints=True,
    usage="x.max(dim, keepdim) -> (values, indices)", replay=_F + "fwd_max_dim",
    test=(_distinct, lambda h, x: _values_of(max, h.dim(x), h.flag())))
MIN_DIM = kernel("min_dim", _K + "adj_min_dim", "MinBackward0", value_ints=True,
    usage="x.min(dim, keepdim) -> (values, indices)", replay=_F + "fwd_min_dim",
    test=(_distinct, lambda h, x: _values_of(min, h.dim(x), h.flag())))
AMAX = kernel("amax", _K + "adj_amax", "AmaxBackward0", usage="x.amax(dim, keepdim)",
    replay=_F + "fwd_max",
    test=(_distinct, lambda h, x: partial(amax, dim=h.dims(x), keepdim=h.flag())))
AMIN = kernel("amin", _K + "adj_amax", "AminBackward0", usage="x.amin(dim, keepdim)",
    replay=_F + "fwd_min",
    test=(_distinct, lambda h, x: partial(amin, dim=h.dims(x), keepdim=h.flag())))
VAR = kernel("var", _K + "adj_var", "VarBackward0",
    usage="x.var(dim, correction=1, keepdim=False)", replay=_F + "fwd_var",
    test=("same", _var_make(lambda *a, **k: var(*a, **k))))
STD = kernel("std", _K + "adj_var", "StdBackward0",
    usage="x.std(dim, correction=1, keepdim=False)", replay=_F + "fwd_var",
    test=(_distinct, _var_make(lambda *a, **k: std(*a, **k))))
LOGSUMEXP = kernel("logsumexp", _K + "adj_logsumexp", "LogsumexpBackward0",
    usage="x.logsumexp(dim, keepdim)", replay=_F + "fwd_logsumexp",
    test=("same", lambda h, x: partial(logsumexp, dim=h.dims(x), keepdim=h.flag())))
NORM = kernel("norm", _K + "adj_norm", "LinalgVectorNormBackward0",
    usage="x.norm(p='fro', dim=None, keepdim=False)", replay=_F + "fwd_norm",
    test=(_distinct, lambda h, x: partial(
        norm, p=h.draw(h.st.sampled_from(["fro", 0, 0.5, 1, 2, 3, math.inf, -math.inf])),
        dim=None if h.flag() else h.dim(x), keepdim=h.flag())))
CUMSUM = kernel("cumsum", _K + "adj_cumsum", "CumsumBackward0", usage="x.cumsum(dim)",
    replay=_F + "fwd_cumsum",
    test=("same", lambda h, x: partial(cumsum, dim=h.dim(x))))
CUMPROD = kernel("cumprod", _K + "adj_cumprod", "CumprodBackward0", (_AWAY_FROM_ZERO,),
    usage="x.cumprod(dim)", replay=_F + "fwd_cumprod",
    test=("same", lambda h, x: partial(cumprod, dim=h.dim(x))))


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------
class _MissingDim:
    """Default of a required `dim`, so that omitting it raises torch's TypeError."""


_REQUIRED = _MissingDim()


def _require_dim(name: str, dim) -> None:
    if dim is _REQUIRED:
        raise TypeError(f'{name}() missing 1 required positional arguments: "dim"')


def _shape_after(shape: tuple, axes: tuple, keepdim: bool) -> tuple:
    return tuple(1 if d in axes else n for d, n in enumerate(shape) if keepdim or d not in axes)


def _mask(axes: tuple) -> int:
    return builtins.sum(1 << a for a in axes)


def _axes(x: np.ndarray, dim) -> tuple:
    """The reduced axes (dims normalized; a 0-d tensor reduces over nothing)."""
    axes = _dims(dim, x.ndim)  # validates dim, also for a 0-d tensor
    return axes if x.ndim else ()


def _int_result(dt: np.dtype) -> np.dtype:
    """prod/cumsum/cumprod of integers and bools accumulate in int64, as torch."""
    return dt if dt.kind == "f" else np.dtype(np.int64)


def _nonempty(name: str, x: np.ndarray, axes: tuple, whole: bool, exc=IndexError) -> None:
    """torch's errors for reductions without an identity (max, amax, argmax ...) over nothing."""
    if whole:
        if x.size == 0:
            raise exc(f"{name}(): Expected reduction dim to be specified for input.numel() == 0."
                      + (" Specify the reduction dim with the 'dim' argument."
                         if exc is RuntimeError else ""))
        return
    for a in axes:
        if x.shape[a] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {a} to have non-zero size.")


# ------------------------------------------------------------------------------------------------
# prod
# ------------------------------------------------------------------------------------------------
def prod(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Product of all elements, or along the int `dim`. Integers give int64; the gradient is
    exact with zeros. ``tg.tensor([2., 0., 3.]).prod()`` -> ``tensor(0.)``."""
    xd = input._data
    axes = _axes(xd, dim if dim is None else normalize_dim(dim, xd.ndim))
    dt = as_dtype(dtype).np_dtype if dtype is not None else _int_result(xd.dtype)
    shape = _shape_after(xd.shape, axes, keepdim)

    def compute(out):
        return into(np.asarray(np.multiply.reduce(xd, axis=axes, keepdims=keepdim, dtype=dt)),
                    out)
    return apply_kernel(PROD if dim is None else PROD_DIM, (input,), shape, dt, compute,
                        (_mask(axes),))


# ------------------------------------------------------------------------------------------------
# max / min / amax / amin / argmax / argmin
# ------------------------------------------------------------------------------------------------
def _return_type(name: str):
    base = namedtuple(name, ["values", "indices"])

    def __repr__(self) -> str:
        return f"tapegrad.return_types.{name}(\nvalues={self.values!r},\nindices={self.indices!r})"
    return type(name, (base,), {"__slots__": (), "__repr__": __repr__,
                                "__module__": "tapegrad.return_types", "__qualname__": name})


return_types = SimpleNamespace(max=_return_type("max"), min=_return_type("min"))


def _extreme(name: str, whole_op, dim_op, input: Tensor, dim, keepdim: bool, other):
    if isinstance(dim, Tensor) or other is not None:
        from . import elementwise  # another module's op: looked up at call time
        fn = getattr(elementwise, "maximum" if name == "max" else "minimum", None)
        if fn is None:
            raise NotImplementedError(f"{name}(input, other) needs tapegrad.maximum/minimum")
        return fn(input, other if other is not None else dim)
    xd = input._data
    npfn = np.max if name == "max" else np.min
    if dim is None:
        _nonempty(name, xd, (), True, RuntimeError)
        return apply_kernel(whole_op, (input,), (), xd.dtype,
                            lambda out: into(np.asarray(npfn(xd)), out),
                            (_mask(tuple(range(xd.ndim))),))
    d = normalize_dim(dim, xd.ndim)
    x1 = xd.reshape(1) if xd.ndim == 0 else xd
    _nonempty(name, x1, (d,), False)
    shape = _shape_after(xd.shape, (d,) if xd.ndim else (), keepdim)
    if d == x1.ndim - 1 and x1.dtype.kind == "f" and x1.shape[d] > 1:
        values, idx, where = _extreme_last_dim(name, x1)
        values, idx = values.reshape(shape), idx.reshape(shape)
    else:
        pick = (np.argmax if name == "max" else np.argmin)(x1, axis=d, keepdims=True)
        # the flat input position each output element came from: what the adjoint scatters to
        where = np.take_along_axis(np.arange(x1.size).reshape(x1.shape), pick, axis=d)
        idx = pick.reshape(shape)
        values = np.take_along_axis(x1, pick, axis=d).reshape(shape)
    values = apply_kernel(dim_op, (input,), shape, xd.dtype, lambda out: into(values, out),
                          where.ravel(), (float(d),))  # (d: for the replay)
    return getattr(return_types, name)(values, _wrap(idx.astype(np.int64)))


def _extreme_last_dim(name: str, x: np.ndarray) -> tuple:
    """max/min over the last dim of a float array by one Numba pass (numpy's argmax plus two
    take_along_axis cost ~10x more on short rows such as pooling windows): (values, indices,
    flat input positions)."""
    from ._forward_reduce import arg_extreme_rows
    k = x.shape[-1]
    rows = np.ascontiguousarray(x).reshape(-1, k)
    vals = np.empty(rows.shape[0], x.dtype)
    idx = np.empty(rows.shape[0], np.int64)
    arg_extreme_rows(rows, 1.0 if name == "max" else -1.0, vals, idx)
    where = np.arange(0, rows.shape[0] * k, k, dtype=np.int64) + idx
    return vals, idx, where


def max(input: Tensor, dim=None, keepdim: bool = False, *, other=None):  # noqa: A001
    """The largest element (0-d; gradient split evenly among ties); with an int `dim`, the named
    tuple ``(values, indices)`` (gradient to the returned index); with a tensor, `maximum`.
    ``tg.tensor([[1., 5.], [7., 2.]]).max(1)`` ->
    ``values=tensor([5., 7.]), indices=tensor([1, 0])``."""
    return _extreme("max", MAX, MAX_DIM, input, dim, keepdim, other)


def min(input: Tensor, dim=None, keepdim: bool = False, *, other=None):  # noqa: A001
    """The smallest element, or ``(values, indices)`` along `dim`, or `minimum` (see `max`).
    ``tg.tensor([3., 1.]).min()`` -> ``tensor(1.)``."""
    return _extreme("min", MIN, MIN_DIM, input, dim, keepdim, other)


def _amax(name: str, op, input: Tensor, dim, keepdim: bool) -> Tensor:
    xd = input._data
    axes = _axes(xd, dim)
    # dim=() means all dims: torch then asks for a dim rather than naming an empty one
    _nonempty(name, xd, axes, isinstance(dim, (tuple, list)) and not dim, RuntimeError)
    npfn = np.max if name == "amax" else np.min
    shape = _shape_after(xd.shape, axes, keepdim)
    return apply_kernel(op, (input,), shape, xd.dtype,
                        lambda out: into(np.asarray(npfn(xd, axis=axes, keepdims=keepdim)), out),
                        (_mask(axes),))


def amax(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """Largest values over `dim` (int or tuple; () = all), gradient split evenly among ties.
    ``tg.tensor([[1., 4.], [4., 2.]]).amax(1)`` -> ``tensor([4., 4.])``."""
    return _amax("amax", AMAX, input, dim, keepdim)


def amin(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """Smallest values over `dim` (int or tuple; () = all); see `amax`."""
    return _amax("amin", AMIN, input, dim, keepdim)


def _arg(name: str, input: Tensor, dim, keepdim: bool) -> Tensor:
    xd = input._data
    if xd.dtype == np.bool_:
        raise RuntimeError(f"{name}(): does not support bool input")
    if dim is not None and not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{name}(): argument 'dim' must be int, not {type(dim).__name__}")
    fn = np.argmax if name == "argmax" else np.argmin
    if dim is None:
        _nonempty(name, xd, (), True)
        res = np.asarray(fn(xd))
        return _wrap(res.reshape((1,) * xd.ndim) if keepdim else res)
    d = normalize_dim(dim, xd.ndim)
    x1 = xd.reshape(1) if xd.ndim == 0 else xd
    _nonempty(name, x1, (d,), False)
    res = fn(x1, axis=d, keepdims=True).reshape(_shape_after(xd.shape, (d,) if xd.ndim else (),
                                                             keepdim))
    return _wrap(res.astype(np.int64))


def argmax(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Index of the largest element (flat when `dim` is None), int64, no gradient.
    ``tg.tensor([1., 9., 3.]).argmax()`` -> ``tensor(1)``."""
    return _arg("argmax", input, dim, keepdim)


def argmin(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Index of the smallest element (flat when `dim` is None), int64, no gradient."""
    return _arg("argmin", input, dim, keepdim)


# ------------------------------------------------------------------------------------------------
# var / std
# ------------------------------------------------------------------------------------------------
def _moment(name: str, op, input: Tensor, dim, unbiased, keepdim: bool, correction) -> Tensor:
    if isinstance(dim, bool):  # var(x, False): the (bool unbiased) overload
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise TypeError(f"{name}() received an invalid combination of arguments - got both "
                        f"'unbiased' and 'correction'")
    c = float(correction) if correction is not None else (0.0 if unbiased is False else 1.0)
    xd = input._data
    if xd.dtype.kind != "f":
        raise RuntimeError("std and var only support floating point and complex dtypes")
    axes = _axes(xd, dim)
    n = 1
    for a in axes:
        n *= xd.shape[a]
    div = builtins.max(0.0, n - c)
    if div <= 0:
        warnings.warn(f"{name}(): degrees of freedom is <= 0. Correction should be strictly less "
                      f"than the reduction factor (input numel divided by output numel).",
                      UserWarning, stacklevel=3)
    shape = _shape_after(xd.shape, axes, keepdim)

    def compute(out):  # two passes, in float64 as torch accumulates float32 (no overflow of
        x = xd.astype(np.float64, copy=False)  # squares that the result does not need)
        n_ = np.float64(n)
        dev = x - np.add.reduce(x, axis=axes, keepdims=True) / n_
        res = np.add.reduce(dev * dev, axis=axes, keepdims=keepdim) / np.float64(div)
        if name == "std":
            res = np.sqrt(res)
        return into(np.asarray(res, xd.dtype), out)
    return apply_kernel(op, (input,), shape, xd.dtype, compute,
                        (_mask(axes), int(name == "std")), (div,))


def var(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *,
        correction=None) -> Tensor:
    """Variance over `dim` (int, tuple or None), divided by N - `correction` (default 1;
    ``unbiased=False`` means 0). ``tg.tensor([1., 2., 3., 4.]).var()`` -> ``tensor(1.6667)``."""
    return _moment("var", VAR, input, dim, unbiased, keepdim, correction)


def std(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *,
        correction=None) -> Tensor:
    """Standard deviation (see `var`); its gradient is 0 where the result is 0.
    ``tg.tensor([1., 3.]).std()`` -> ``tensor(1.4142)``."""
    return _moment("std", STD, input, dim, unbiased, keepdim, correction)


# ------------------------------------------------------------------------------------------------
# logsumexp / norm
# ------------------------------------------------------------------------------------------------
def logsumexp(input: Tensor, dim=_REQUIRED, keepdim: bool = False) -> Tensor:
    """log(sum(exp(x))) over `dim` (int or tuple), computed around the max so that it neither
    overflows nor underflows. ``tg.tensor([1e4, 1e4]).logsumexp(0)`` -> ``tensor(10000.6934)``."""
    _require_dim("logsumexp", dim)
    xd = input._data
    dt = xd.dtype if xd.dtype.kind == "f" else get_default_dtype().np_dtype
    x = xd.astype(dt, copy=False)
    axes = _axes(xd, dim)
    shape = _shape_after(xd.shape, axes, keepdim)

    def compute(out):
        m = np.maximum.reduce(x, axis=axes, keepdims=True, initial=-np.inf)
        m = np.where(np.isfinite(m), m, 0.0).astype(dt)  # all -inf / an inf: nothing to shift
        with np.errstate(divide="ignore"):
            res = np.log(np.add.reduce(np.exp(x - m), axis=axes, keepdims=True)) + m
        return into(np.asarray(res.reshape(shape), dt), out)
    return apply_kernel(LOGSUMEXP, (input,), shape, dt, compute, (_mask(axes),))


def norm(input: Tensor, p="fro", dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """Vector p-norm over `dim` (int, tuple or None = all): p in numbers (1, 2, inf, -inf, 0 ...)
    or 'fro' (= 2). The gradient of the 2-norm at 0 is 0, as torch.
    ``tg.tensor([3., 4.]).norm()`` -> ``tensor(5.)``."""
    xd = input._data
    if xd.dtype.kind != "f":
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as "
                           f"input. Got {torch_name(xd.dtype)}")
    if isinstance(p, str):
        if p == "nuc":
            raise NotImplementedError("norm(): p='nuc' (nuclear norm) is not supported")
        if p != "fro":
            raise RuntimeError(f"linalg.matrix_norm: Order {p} not supported.")
        if isinstance(dim, (tuple, list)) and len(dim) > 2:
            raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got "
                               f"{' '.join(str(d) for d in dim)}")
        p = 2.0
    p = float(p)
    dt = as_dtype(dtype).np_dtype if dtype is not None else xd.dtype
    axes = _axes(xd, dim)
    if math.isinf(p):
        sign = "-inf" if p < 0 else "inf"
        if dim is None and xd.size == 0:
            raise RuntimeError(f"linalg.vector_norm cannot compute the {sign} norm on an empty "
                               f"tensor because the operation does not have an identity")
        for a in axes:
            if xd.shape[a] == 0:  # (sic: torch's message has no space before "because")
                raise RuntimeError(f"linalg.vector_norm cannot compute the {sign} norm on the "
                                   f"dimension {a}because this dimension is empty and the "
                                   f"operation does not have an identity")
    shape = _shape_after(xd.shape, axes, keepdim)

    def compute(out):
        a = np.abs(xd.astype(dt, copy=False))
        kw = dict(axis=axes, keepdims=keepdim)
        if p == math.inf:
            res = np.maximum.reduce(a, **kw)
        elif p == -math.inf:
            res = np.minimum.reduce(a, **kw)
        elif p == 0:
            res = np.add.reduce(a != 0, **kw, dtype=dt)
        elif p == 1:
            res = np.add.reduce(a, **kw)
        elif p == 2:
            res = np.sqrt(np.add.reduce(a * a, **kw))
        else:
            res = np.add.reduce(a ** p, **kw) ** (1.0 / p)
        return into(np.asarray(res, dt), out)
    return apply_kernel(NORM, (input,), shape, dt, compute, (_mask(axes),), (p,))


# ------------------------------------------------------------------------------------------------
# scans
# ------------------------------------------------------------------------------------------------
def _scan(name: str, op, npfn, input: Tensor, dim, dtype) -> Tensor:
    _require_dim(name, dim)
    xd = input._data
    d = normalize_dim(dim, xd.ndim)
    dt = as_dtype(dtype).np_dtype if dtype is not None else _int_result(xd.dtype)

    def compute(out):
        res = npfn(xd, axis=d, dtype=dt) if xd.ndim else xd.astype(dt)
        return into(np.asarray(res), out)
    return apply_kernel(op, (input,), xd.shape, dt, compute, (d,))


def cumsum(input: Tensor, dim=_REQUIRED, *, dtype=None) -> Tensor:
    """Running sums along `dim`.
    ``tg.tensor([1., 2., 3.]).cumsum(0)`` -> ``tensor([1., 3., 6.])``."""
    return _scan("cumsum", CUMSUM, np.add.accumulate, input, dim, dtype)


def cumprod(input: Tensor, dim=_REQUIRED, *, dtype=None) -> Tensor:
    """Running products along `dim` (gradient exact with zeros).
    ``tg.tensor([1., 2., 3.]).cumprod(0)`` -> ``tensor([1., 2., 6.])``."""
    return _scan("cumprod", CUMPROD, np.multiply.accumulate, input, dim, dtype)


__all__ = ['sum', 'mean', 'prod', 'max', 'min', 'amax', 'amin', 'argmax', 'argmin', 'var', 'std',
           'logsumexp', 'norm', 'cumsum', 'cumprod', 'return_types']
METHODS = dict(sum=sum, mean=mean, prod=prod, max=max, min=min, amax=amax, amin=amin,
               argmax=argmax, argmin=argmin, var=var, std=std, logsumexp=logsumexp, norm=norm,
               cumsum=cumsum, cumprod=cumprod)
