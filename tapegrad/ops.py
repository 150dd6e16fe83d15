"""The op table: every differentiable op, defined in one place.

Each `unary`/`binary`/`kernel` call registers an op: its forward, its adjoint (a Numba fragment,
see `_opdef.py`), torch's `grad_fn` name and the input domain its property test draws from. The
front-end function that parses torch's arguments sits right below the registration, and
`_METHODS` at the end binds the front-ends to `Tensor`.
"""
from __future__ import annotations

import builtins
import math
from functools import partial as _partial
from typing import Optional, Sequence

import numpy as np

from ._dtype import get_default_dtype, result_type
from ._opdef import NONZERO, POSITIVE, REAL, Domain, binary, kernel, unary
from ._record import (apply_binary, apply_kernel, apply_unary, binary_operator,
                      broadcast_shapes, float_dtype, unary_function)
from .tensor import Tensor, _wrap, normalize_dim

_SCALAR = (int, float, bool, np.number, np.bool_)
_INF = math.inf


def _into(res: np.ndarray, out: Optional[np.ndarray]) -> np.ndarray:
    if out is None:
        return res
    out[...] = res
    return out


def as_tensor_arg(x, name: str = "other") -> Tensor:
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (np.ndarray, list, tuple) + _SCALAR):
        from .factories import tensor
        return tensor(x)
    raise TypeError(f"{name} must be a Tensor or a number, not {type(x).__name__}")


# ------------------------------------------------------------------------------------------------
# elementwise, one input
# ------------------------------------------------------------------------------------------------
EXP = unary("exp", np.exp, "g * out", "ExpBackward0")
LOG = unary("log", np.log, "g / x", "LogBackward0", POSITIVE)
SQRT = unary("sqrt", np.sqrt, "g * 0.5 / out", "SqrtBackward0", POSITIVE)
SIN = unary("sin", np.sin, "g * math.cos(x)", "SinBackward0")
COS = unary("cos", np.cos, "-g * math.sin(x)", "CosBackward0")
TANH = unary("tanh", np.tanh, "g * (1.0 - out * out)", "TanhBackward0")
SIGMOID = unary("sigmoid", lambda x, out: _into(np.exp(-np.logaddexp(0, -x)), out),
                "g * out * (1.0 - out)", "SigmoidBackward0")
RELU = unary("relu", lambda x, out: np.maximum(x, 0, out=out),
             "g if x > 0.0 else 0.0", "ReluBackward0", NONZERO, keeps_int=True)
ABS = unary("abs", np.abs, "g if x > 0.0 else (-g if x < 0.0 else 0.0)", "AbsBackward0",
            NONZERO, keeps_int=True)
NEG = unary("neg", np.negative, "-g", "NegBackward0", keeps_int=True)
RECIPROCAL = unary("reciprocal", lambda x, out: np.divide(1.0, x, out=out),
                   "-g * out * out", "ReciprocalBackward0", NONZERO)
CLAMP = unary("clamp", lambda x, p0, p1, out: np.clip(x, None if p0 == -_INF else p0,
                                                      None if p1 == _INF else p1, out=out),
              "g if (x >= p0 and x <= p1) else 0.0", "ClampBackward1",
              Domain(-3, 3, kinks=(-1.0, 1.0), gap=0.1), keeps_int=True, params=(-1.0, 1.0),
              usage="x.clamp(min, max)",
    test=("same", lambda h, x: lambda x: x.clamp(-1.0, 1.0)))
# tensor (op) Python scalar; the scalar is p0
ADD_S = unary("add_scalar", lambda x, p0, p1, out: np.add(x, p0, out), "g", "AddBackward0",
              keeps_int=True, params=(1.5, 0.0), usage="x + 2, 2 + x",
    test=("same", lambda h, x: lambda x: x + 1.5))
SUB_S = unary("sub_scalar", lambda x, p0, p1, out: np.subtract(x, p0, out), "g",
              "SubBackward0", keeps_int=True, params=(1.5, 0.0),
              usage="x - 2",
    test=("same", lambda h, x: lambda x: x - 1.5))
RSUB_S = unary("rsub_scalar", lambda x, p0, p1, out: np.subtract(p0, x, out), "-g",
               "RsubBackward1", keeps_int=True, params=(1.5, 0.0),
               usage="2 - x",
    test=("same", lambda h, x: lambda x: 1.5 - x))
MUL_S = unary("mul_scalar", lambda x, p0, p1, out: np.multiply(x, p0, out), "g * p0",
              "MulBackward0", keeps_int=True, params=(-2.5, 0.0),
              usage="x * 2, 2 * x",
    test=("same", lambda h, x: lambda x: x * -2.5))
DIV_S = unary("div_scalar", lambda x, p0, p1, out: np.true_divide(x, p0, out), "g / p0",
              "DivBackward0", params=(-2.5, 0.0), usage="x / 2",
    test=("same", lambda h, x: lambda x: x / -2.5))
POW_S = unary("pow_scalar", lambda x, p0, p1, out: np.power(x, p0, out),
              "0.0 if p0 == 0.0 else g * p0 * x ** (p0 - 1.0)", "PowBackward0", POSITIVE,
              keeps_int=True, params=(2.5, 0.0), usage="x ** 2",
    test=("same", lambda h, x: lambda x: x ** 2.5))
RPOW_S = unary("rpow_scalar", lambda x, p0, p1, out: np.power(p0, x, out),
               "g * out * math.log(p0)", "PowBackward2", params=(1.7, 0.0),
               usage="2 ** x",
    test=("same", lambda h, x: lambda x: 1.7 ** x))
# flat identities: reshape/view, dtype casts, clone (recorded with their own output shape/dtype)
VIEW = unary("view", None, "g", "ViewBackward0",
             usage="x.reshape(...), x.view(...)",
    test=("same", lambda h, x: lambda x, s=h.reshape_target(x): x.reshape(s)))
TO = unary("to_copy", None, "g", "ToCopyBackward0", tol=dict(eps=1e-2, atol=1e-4),
           usage="x.to(dtype), x.double(), x.float()",
    test=("same", lambda h, x: lambda x: x.float()))  # float32 output: a coarser step
CLONE = unary("clone", lambda x, out: _into(x.copy(), out), "g", "CloneBackward0")


exp = unary_function(EXP, "Elementwise e**x. ``tapegrad.exp(tapegrad.zeros(2))`` -> "
                         "``tensor([1., 1.])``.")
log = unary_function(LOG, "Elementwise natural logarithm.")
sqrt = unary_function(SQRT, "Elementwise square root.")
sin = unary_function(SIN, "Elementwise sine.")
cos = unary_function(COS, "Elementwise cosine.")
tanh = unary_function(TANH, "Elementwise hyperbolic tangent.")
sigmoid = unary_function(SIGMOID, "Elementwise 1 / (1 + exp(-x)), computed without overflow.")
relu = unary_function(RELU, "Elementwise max(x, 0).")
abs = unary_function(ABS, "Elementwise absolute value.")  # noqa: A001
reciprocal = unary_function(RECIPROCAL, "Elementwise 1 / x.")


def neg(input: Tensor) -> Tensor:
    if input._data.dtype.kind == "b":
        raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If you "
                           "are trying to invert a mask, use the `~` or `logical_not()` operator "
                           "instead.")
    return apply_unary(NEG, input)


def reciprocal(input: Tensor) -> Tensor:
    return apply_unary(RECIPROCAL, input)


def clamp(input: Tensor, min=None, max=None) -> Tensor:  # noqa: A002
    """Clip values to [min, max]; either bound may be None (not both)."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        raise TypeError("clamp: tensor bounds are not supported yet; pass numbers")
    lo = -_INF if min is None else min
    hi = _INF if max is None else max
    dt = input._data.dtype
    if dt.kind != "f" and (isinstance(lo, float) or isinstance(hi, float)) and math.isfinite(
            float(lo if min is not None else hi)):
        dt = get_default_dtype().np_dtype
    return apply_unary(CLAMP, input, lo, hi, dt)


def _scalar_op(op, x: Tensor, c) -> Tensor:
    """`x (op) c` for a Python/numpy scalar c: Python scalars never widen a float tensor."""
    if isinstance(c, np.generic):
        c = c.item()
    dt = x._data.dtype if x._data.dtype.kind == "f" else result_type(x, c).np_dtype
    if op.extra.get("float_out") or op is DIV_S:
        dt = float_dtype(dt)
    return apply_unary(op, x, c, 0.0, dt)


# ------------------------------------------------------------------------------------------------
# elementwise, two inputs (broadcasting)
# ------------------------------------------------------------------------------------------------
ADD = binary("add", np.add, "g", "g", "AddBackward0")
SUB = binary("sub", np.subtract, "g", "-g", "SubBackward0")
MUL = binary("mul", np.multiply, "g * y", "g * x", "MulBackward0")
DIV = binary("div", np.true_divide, "g / y", "-g * out / y", "DivBackward0", (REAL, NONZERO),
             float_out=True)
POW = binary("pow", np.power, "g * y * x ** (y - 1.0)", "g * out * math.log(x)", "PowBackward1",
             (POSITIVE, REAL))


def _arith(op, sop, a, b):
    tb = type(b)
    if tb is Tensor:
        return apply_binary(op, a, b)
    if (tb is float or tb is int) and a._data.dtype.kind == "f":  # the common case, kept short
        return apply_unary(sop, a, b, 0.0, a._data.dtype)
    if isinstance(b, _SCALAR):
        return _scalar_op(sop, a, b)
    if isinstance(b, (np.ndarray, list, tuple)):
        return apply_binary(op, a, as_tensor_arg(b))
    return NotImplemented


def add(input, other, *, alpha=1) -> Tensor:
    """input + alpha * other, broadcasting. ``tapegrad.ones(2) + 2`` -> ``tensor([3., 3.])``."""
    if alpha != 1:
        other = other * alpha
    if type(input) is not Tensor:
        return _arith(ADD, ADD_S, other, input)
    return _arith(ADD, ADD_S, input, other)


def sub(input, other, *, alpha=1) -> Tensor:
    """input - alpha * other, broadcasting."""
    if alpha != 1:
        other = other * alpha
    if not isinstance(input, Tensor):
        return rsub(other, input)
    return _arith(SUB, SUB_S, input, other)


def rsub(input: Tensor, other) -> Tensor:
    """other - input."""
    if isinstance(other, Tensor):
        return apply_binary(SUB, other, input)
    if isinstance(other, _SCALAR):
        return _scalar_op(RSUB_S, input, other)
    if isinstance(other, (np.ndarray, list, tuple)):
        return apply_binary(SUB, as_tensor_arg(other), input)
    return NotImplemented


def mul(input, other) -> Tensor:
    """Elementwise product, broadcasting."""
    if type(input) is not Tensor:
        return _arith(MUL, MUL_S, other, input)
    return _arith(MUL, MUL_S, input, other)


def div(input, other) -> Tensor:
    """True division, broadcasting (integer inputs give the default float dtype)."""
    if not isinstance(input, Tensor):
        return _rdiv(other, input)
    return _arith(DIV, DIV_S, input, other)


def _rdiv(x: Tensor, c):
    """c / x: torch computes reciprocal(x) * c."""
    if isinstance(c, _SCALAR):
        return _scalar_op(MUL_S, reciprocal(x), c)
    if isinstance(c, (np.ndarray, list, tuple, Tensor)):
        return apply_binary(DIV, as_tensor_arg(c), x)
    return NotImplemented


def pow(input, exponent) -> Tensor:  # noqa: A001
    """input ** exponent: tensor^scalar, scalar^tensor or tensor^tensor."""
    if not isinstance(input, Tensor):
        return _rpow(exponent, input)
    return _arith(POW, POW_S, input, exponent)


def _rpow(x: Tensor, c):
    if isinstance(c, _SCALAR):
        return _scalar_op(RPOW_S, x, c)
    if isinstance(c, (np.ndarray, list, tuple, Tensor)):
        return apply_binary(POW, as_tensor_arg(c), x)
    return NotImplemented


# ------------------------------------------------------------------------------------------------
# reductions
# ------------------------------------------------------------------------------------------------
SUM = kernel("sum", "adj_reduce", "SumBackward0", usage="x.sum()",
    test=("same", lambda h, x: sum))
SUM_DIM = kernel("sum_dim", "adj_reduce", "SumBackward1", usage="x.sum(dim, keepdim)",
    test=(
    "same", lambda h, x: _partial(sum, dim=h.dims(x), keepdim=h.flag())))
MEAN = kernel("mean", "adj_reduce", "MeanBackward0", usage="x.mean()",
    test=("same", lambda h, x: mean))
MEAN_DIM = kernel("mean_dim", "adj_reduce", "MeanBackward1", usage="x.mean(dim, keepdim)",
    test=(
    "same", lambda h, x: _partial(mean, dim=h.dims(x), keepdim=h.flag())))

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
        from ._dtype import as_dtype
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
        return _into(np.asarray(res, dtype=dt), out)
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
# linear algebra
# ------------------------------------------------------------------------------------------------
MM = kernel("mm", "adj_matmul", "MmBackward0", (REAL, REAL), usage="a @ b (2-D), mm(a, b)",
    test=("mm", lambda h, a, b: mm))
DOT = kernel("dot", "adj_matmul", "DotBackward0", (REAL, REAL),
             usage="a @ b (1-D · 1-D)",
    test=("dot", lambda h, a, b: matmul))
MV = kernel("mv", "adj_matmul", "MvBackward0", (REAL, REAL), usage="a @ v (2-D · 1-D)",
    test=("mv", lambda h, a, b: matmul))
VM = kernel("vm", "adj_matmul", "SqueezeBackward4", (REAL, REAL),
            usage="v @ b (1-D · 2-D)",
    test=("vm", lambda h, a, b: matmul))
BMM = kernel("matmul_batched", "adj_matmul", "UnsafeViewBackward0", (REAL, REAL),
             usage="a @ b (batched, broadcast)",
    test=("bmm", lambda h, a, b: matmul))


def _shape_str(s) -> str:
    return "x".join(str(n) for n in s)


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product with torch's dimension rules (1-D, 2-D, batched with broadcasting)."""
    a, b = as_tensor_arg(input, "input"), as_tensor_arg(other)
    sa, sb = a._data.shape, b._data.shape
    if not sa or not sb:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are "
                           f"{len(sa)}D and {len(sb)}D")
    k1 = sa[-1]
    k2 = sb[0] if len(sb) == 1 else sb[-2]
    if k1 != k2:
        if len(sa) == 1 and len(sb) == 1:
            raise RuntimeError(f"inconsistent tensor size, expected tensor [{sa[0]}] and src "
                               f"[{sb[0]}] to have the same number of elements, but got {sa[0]} "
                               f"and {sb[0]} elements respectively")
        if len(sa) == 2 and len(sb) == 1:
            raise RuntimeError(f"size mismatch, got input ({sa[0]}), mat ({_shape_str(sa)}), vec "
                               f"({sb[0]})")
        left = sa if len(sa) > 1 else (1,) + sa
        right = sb if len(sb) > 1 else sb + (1,)
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied "
                           f"({_shape_str((int(np.prod(left[:-1])), left[-1]))} and "
                           f"{_shape_str(right[-2:])})")
    batch = broadcast_shapes(sa[:-2], sb[:-2])
    shape = batch + sa[-2:-1] + sb[-1:] if len(sb) > 1 else batch + sa[-2:-1]
    if len(sa) == 1 and len(sb) > 1:
        shape = batch + sb[-1:]
    op = {(1, 1): DOT, (2, 2): MM, (2, 1): MV, (1, 2): VM}.get((len(sa), len(sb)), BMM)
    dt = a._data.dtype if a._data.dtype == b._data.dtype else result_type(a, b).np_dtype
    ad, bd = a._data, b._data
    return apply_kernel(op, (a, b), shape, dt, lambda out: np.matmul(ad, bd, out=out))


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """2-D matrix product."""
    for name, t in (("self", input), ("mat2", mat2)):
        if t.ndim != 2:
            raise RuntimeError(f"{name} must be a matrix")
    return matmul(input, mat2)


# ------------------------------------------------------------------------------------------------
# shapes
# ------------------------------------------------------------------------------------------------
PERMUTE = kernel("permute", "adj_permute", "PermuteBackward0",
                 usage="x.permute(dims), x.T",
    test=("same", lambda h, x: lambda x, p=h.perm(x): x.permute(p)))
TRANSPOSE = kernel("transpose", "adj_permute", "TransposeBackward0",
                   usage="x.transpose(d0, d1)",
    test=("same", lambda h, x: _partial(transpose, dim0=h.dim(x), dim1=h.dim(x))))
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
                        lambda out: _into(np.transpose(xd, perm).copy(), out), perm)


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
    return apply_kernel(VIEW, (input,), new, xd.dtype, lambda out: _into(xd.reshape(new), out))


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
    return apply_kernel(op, (x,), view.shape, xd.dtype, lambda out: _into(view.copy(), out),
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
    from ._dtype import as_dtype, dtype as _dt
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
                        lambda out: _into(xd.astype(nd), out))


def clone(input: Tensor) -> Tensor:
    """A copy with its own memory (recorded: gradients flow back to `input`)."""
    return apply_unary(CLONE, input, out_dtype=input._data.dtype)


def contiguous(input: Tensor) -> Tensor:
    return input if input._data.flags.c_contiguous else clone(input)


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


# ------------------------------------------------------------------------------------------------
# binding to Tensor
# ------------------------------------------------------------------------------------------------
def _view(input: Tensor, *shape) -> Tensor:
    return reshape(input, *shape)


_METHODS = dict(
    exp=exp, log=log, sqrt=sqrt, sin=sin, cos=cos, tanh=tanh, sigmoid=sigmoid, relu=relu, abs=abs,
    neg=neg, reciprocal=reciprocal, clamp=clamp, clip=clamp, add=add, sub=sub, mul=mul, div=div,
    pow=pow, sum=sum, mean=mean, matmul=matmul, mm=mm, reshape=reshape, view=_view,
    permute=permute, transpose=transpose, t=t, to=to, clone=clone, contiguous=contiguous,
    __add__=binary_operator(ADD, ADD_S, add), __radd__=binary_operator(ADD, ADD_S, add),
    __sub__=binary_operator(SUB, SUB_S, sub), __rsub__=rsub, __mul__=binary_operator(MUL, MUL_S, mul),
    __rmul__=binary_operator(MUL, MUL_S, mul), __truediv__=binary_operator(DIV, DIV_S, div), __rtruediv__=_rdiv, __pow__=pow, __rpow__=_rpow, __matmul__=matmul,
    __rmatmul__=lambda self, other: matmul(other, self), __neg__=neg, __abs__=abs,
    __getitem__=_getitem,
    double=lambda self: to(self, np.float64), float=lambda self: to(self, np.float32),
    long=lambda self: to(self, np.int64), int=lambda self: to(self, np.int32),
    bool=lambda self: to(self, np.bool_),
)
_QUERIES = dict(eq=eq, ne=ne, lt=lt, le=le, gt=gt, ge=ge, all=all, any=any)
_COMPARE_DUNDERS = dict(__eq__=eq, __ne__=ne, __lt__=lt, __le__=le, __gt__=gt, __ge__=ge)


def _bind() -> None:
    from .tensor import builtin_method
    for name, fn in _METHODS.items():
        setattr(Tensor, name, fn)
    for name, fn in _QUERIES.items():
        setattr(Tensor, name, builtin_method(fn))
    for name, fn in _COMPARE_DUNDERS.items():
        setattr(Tensor, name, fn)


_bind()
