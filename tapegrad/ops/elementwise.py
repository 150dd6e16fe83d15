"""Elementwise ops: math functions, arithmetic with tensors and Python scalars, powers, clamp.

Each registration (`unary`/`binary`, see `_opdef.py`) is the whole definition of an op's
calculus: forward, adjoint expression, torch's grad_fn name, test domain. The front-ends below
parse torch's arguments and pick the op.
"""
from __future__ import annotations

import math
import operator

import numpy as np

from .._dtype import get_default_dtype, result_type, torch_name
from ._kernels_elementwise import erf_ufunc
from .._opdef import NONZERO, POSITIVE, REAL, Domain, binary, kernel, unary
from .. import _scalar
from .._record import (apply_binary, apply_kernel, apply_unary, binary_operator,
                       broadcast_shapes, float_dtype, unary_function)
from ..tensor import Tensor, _Scalar, _Scalar32, _wrap
from ._util import INF, SCALAR, as_tensor_arg, into

_FE = "tapegrad.ops._forward_elementwise:"  # hand-written forwards a replay runs

# ------------------------------------------------------------------------------------------------
# elementwise, one input
# ------------------------------------------------------------------------------------------------
EXP = unary("exp", np.exp, "g * out", "ExpBackward0",
    scalar=math.exp,
    replay='exp_vec(x)')
LOG = unary("log", np.log, "g / x", "LogBackward0", POSITIVE,
    scalar=math.log,
    replay='log_vec(x)')
SQRT = unary("sqrt", np.sqrt, "g * 0.5 / out", "SqrtBackward0", POSITIVE,
    scalar=math.sqrt,
    replay='math.sqrt(x)')
SIN = unary("sin", np.sin, "g * math.cos(x)", "SinBackward0",
    fast=("g * cos_small(x)", "abs(x) <= TRIG_MAX", "g * cos_small32(x)"),
    scalar=math.sin,
    replay='math.sin(x)')
COS = unary("cos", np.cos, "-g * math.sin(x)", "CosBackward0",
    fast=("-g * sin_small(x)", "abs(x) <= TRIG_MAX", "-g * sin_small32(x)"),
    scalar=math.cos,
    replay='math.cos(x)')
TANH = unary("tanh", np.tanh, "g * (1.0 - out * out)", "TanhBackward0",
    scalar=math.tanh,
    replay='math.tanh(x)')
def sigmoid_into(x: np.ndarray, out) -> np.ndarray:
    """1 / (1 + exp(-x)) as torch computes it (0 where exp(-x) overflows the dtype), in three
    numpy passes: 7x faster than through logaddexp."""
    if out is None:
        out = np.empty(x.shape, x.dtype if x.dtype.kind == "f" else np.float64)
    with np.errstate(over="ignore"):
        np.exp(np.negative(x, out=out), out=out)
    out += 1.0
    return np.reciprocal(out, out=out)


SIGMOID = unary("sigmoid", sigmoid_into,
                "g * out * (1.0 - out)", "SigmoidBackward0",
    scalar=lambda x: 1.0 / (1.0 + math.exp(-x)),
    replay='1.0 / (1.0 + @DT@(exp_vec(-x)))')  # (@DT@: a float32 exp overflows to inf, as eager)
RELU = unary("relu", lambda x, out: np.maximum(x, 0, out=out),
             "0.0 if out <= 0.0 else g", "ReluBackward0", NONZERO, keeps_int=True,  # (torch's
             # relu backward reads its result too: relu_ then keeps no copy of its input)
    scalar=lambda x: x if x > 0.0 or x != x else 0.0,
    replay='x if x > 0.0 or x != x else 0.0')
ABS = unary("abs", np.abs, "g if x > 0.0 else (-g if x < 0.0 else 0.0)", "AbsBackward0",
            NONZERO, keeps_int=True,
    scalar=abs,
    replay='abs(x)')
NEG = unary("neg", np.negative, "-g", "NegBackward0", keeps_int=True,
    scalar=operator.neg,
    replay='-x')
RECIPROCAL = unary("reciprocal", lambda x, out: np.divide(1.0, x, out=out),
                   "-g * out * out", "ReciprocalBackward0", NONZERO,
    scalar=lambda x: 1.0 / x,
    replay='1.0 / x')
CLAMP = unary("clamp", lambda x, p0, p1, out: np.clip(x, None if p0 == -INF else p0,
                                                      None if p1 == INF else p1, out=out),
              "g if (x >= p0 and x <= p1) else 0.0", "ClampBackward1",
              Domain(-3, 3, kinks=(-1.0, 1.0), gap=0.1), keeps_int=True, params=(-1.0, 1.0),
              usage="x.clamp(min, max)",
    test=("same", lambda h, x: lambda x: x.clamp(-1.0, 1.0)),
    replay='x if x != x else min(max(x, p0), p1)')
# tensor (op) Python scalar; the scalar is p0
ADD_S = unary("add_scalar", lambda x, p0, p1, out: np.add(x, p0, out), "g", "AddBackward0",
              keeps_int=True, params=(1.5, 0.0), usage="x + 2, 2 + x",
    test=("same", lambda h, x: lambda x: x + 1.5),
    scalar=lambda x, p0, p1: x + p0,
    replay='x + p0')
SUB_S = unary("sub_scalar", lambda x, p0, p1, out: np.subtract(x, p0, out), "g",
              "SubBackward0", keeps_int=True, params=(1.5, 0.0),
              usage="x - 2",
    test=("same", lambda h, x: lambda x: x - 1.5),
    scalar=lambda x, p0, p1: x - p0,
    replay='x - p0')
RSUB_S = unary("rsub_scalar", lambda x, p0, p1, out: np.subtract(p0, x, out), "-g",
               "RsubBackward1", keeps_int=True, params=(1.5, 0.0),
               usage="2 - x",
    test=("same", lambda h, x: lambda x: 1.5 - x),
    scalar=lambda x, p0, p1: p0 - x,
    replay='p0 - x')
MUL_S = unary("mul_scalar", lambda x, p0, p1, out: np.multiply(x, p0, out), "g * p0",
              "MulBackward0", keeps_int=True, params=(-2.5, 0.0),
              usage="x * 2, 2 * x",
    test=("same", lambda h, x: lambda x: x * -2.5),
    scalar=lambda x, p0, p1: x * p0,
    replay='x * p0')
DIV_S = unary("div_scalar", lambda x, p0, p1, out: np.true_divide(x, p0, out), "g / p0",
              "DivBackward0", params=(-2.5, 0.0), usage="x / 2",
    test=("same", lambda h, x: lambda x: x / -2.5),
    scalar=lambda x, p0, p1: x / p0,
    replay='x / p0')
def _pow_scalar(x, p0, p1, out):
    """x ** p0 as torch computes it: p0 = +-0.5 are sqrt / rsqrt (so (-0.) ** 0.5 is -0. and
    (-inf) ** 0.5 is nan, where C's pow gives 0. and inf)."""
    if p0 == 0.5:
        return np.sqrt(x, out=out)
    if p0 == -0.5:
        return np.divide(1.0, np.sqrt(x), out=out)
    if x.dtype.kind == "f":  # small integer powers by multiplication, as torch (np.power with
        if p0 == 2.0:        # a float exponent is ~20x slower)
            return np.multiply(x, x, out=out)
        if p0 == 3.0:
            return np.multiply(np.multiply(x, x), x, out=out)
        if p0 == -1.0:
            return np.divide(1.0, x, out=out)
        if p0 == -2.0:
            return np.divide(1.0, np.multiply(x, x), out=out)
    return np.power(x, p0, out)


def _pow_scalar_float(x: float, p0: float, p1: float) -> float:
    return math.sqrt(x) if p0 == 0.5 else math.pow(x, p0)  # (negative x: general path, nan)


# d/dx x ** p = p * x ** (p - 1), 0 for p = 0; x ** (p - 1) with torch's sqrt/rsqrt for +-0.5
POW_S = unary("pow_scalar", _pow_scalar,
              "0.0 if p0 == 0.0 else g * p0 * (x if p0 == 2.0 else (x * x if p0 == 3.0 else ("
              "math.sqrt(x) if p0 == 1.5 else (pow_m05(x) if p0 == 0.5 else ("
              "1.0 / (x * x) if p0 == -1.0 else x ** (p0 - 1.0))))))", "PowBackward0", POSITIVE,
              keeps_int=True, params=(2.5, 0.0), usage="x ** 2",
    test=("same", lambda h, x: lambda x: x ** 2.5),
    scalar=_pow_scalar_float,
    replay='math.sqrt(x) if p0 == 0.5 else (1.0 / math.sqrt(x) if p0 == -0.5 else ('
           'x * x if p0 == 2.0 else (x * x * x if p0 == 3.0 else (1.0 / x if p0 == -1.0 else ('
           '1.0 / (x * x) if p0 == -2.0 else x ** p0)))))')
RPOW_S = unary("rpow_scalar", lambda x, p0, p1, out: np.power(p0, x, out),
               "0.0 if p0 == 0.0 and x >= 0.0 else g * out * math.log(p0)", "PowBackward2",
               params=(1.7, 0.0),
               usage="2 ** x",
    test=("same", lambda h, x: lambda x: 1.7 ** x),
    scalar=lambda x, p0, p1: math.pow(p0, x),
    replay='p0 ** x')

# more math functions (integer inputs give the default float dtype, as torch)
LOG1P = unary("log1p", np.log1p, "g / (1.0 + x)", "Log1PBackward0", Domain(-0.9, 3.0),
    scalar=math.log1p,
    replay='log1p_vec(x)')
EXPM1 = unary("expm1", np.expm1, "g * (out + 1.0)", "Expm1Backward0",
    scalar=math.expm1,
    replay='math.expm1(x)')
LOG2 = unary("log2", np.log2, "g / (x * 0.6931471805599453)", "Log2Backward0", POSITIVE,
    replay='math.log2(x)')
LOG10 = unary("log10", np.log10, "g / (x * 2.302585092994046)", "Log10Backward0", POSITIVE,
    replay='math.log10(x)')


RSQRT = unary("rsqrt", lambda x, out: np.divide(1.0, np.sqrt(x), out=out),
              "-0.5 * g * out * out * out", "RsqrtBackward0", POSITIVE,
    replay='1.0 / math.sqrt(x)')
SQUARE = unary("square", np.square, "2.0 * g * x", "PowBackward0", keeps_int=True,
    scalar=lambda x: x * x,
    replay='x * x')
TAN = unary("tan", np.tan, "g * (1.0 + out * out)", "TanBackward0", Domain(-1.3, 1.3),
    scalar=math.tan,
    replay='math.tan(x)')
ASIN = unary("asin", np.arcsin, "g / math.sqrt(1.0 - x * x)", "AsinBackward0", Domain(-0.9, 0.9),
    replay='math.asin(x)')
ACOS = unary("acos", np.arccos, "-g / math.sqrt(1.0 - x * x)", "AcosBackward0",
             Domain(-0.9, 0.9),
    replay='math.acos(x)')
ATAN = unary("atan", np.arctan, "g / (1.0 + x * x)", "AtanBackward0",
    scalar=math.atan,
    replay='math.atan(x)')
SINH = unary("sinh", np.sinh, "g * math.cosh(x)", "SinhBackward0",
    scalar=math.sinh,
    replay='math.sinh(x)')
COSH = unary("cosh", np.cosh, "g * math.sinh(x)", "CoshBackward0",
    scalar=math.cosh,
    replay='math.cosh(x)')
ASINH = unary("asinh", np.arcsinh, "g / math.sqrt(x * x + 1.0)", "AsinhBackward0",
    scalar=math.asinh,
    replay='math.asinh(x)')
ACOSH = unary("acosh", np.arccosh, "g / math.sqrt(x * x - 1.0)", "AcoshBackward0",
              Domain(1.1, 3.0),
    replay='math.acosh(x)')
ATANH = unary("atanh", np.arctanh, "g / (1.0 - x * x)", "AtanhBackward0", Domain(-0.9, 0.9),
    replay='math.atanh(x)')
ERF = unary("erf", lambda x, out: erf_ufunc()(x, out=out),
            "g * 1.1283791670955126 * exp_vec(-x * x)", "ErfBackward0",
    scalar=math.erf,
    replay='math.erf(x)')


# piecewise constant: zero gradient, as torch
def _sign(x: np.ndarray, out):
    if x.dtype.kind == "b":
        return into(x.copy(), out)
    # torch's (0 < x) - (x < 0): NaN gives 0 (np.sign would give NaN)
    return into(np.subtract(x > 0, x < 0, dtype=x.dtype), out)


def _whole(fn, name: str):
    """floor/ceil/round/trunc: integer tensors are already whole (numpy would go through
    float64 and lose digits); bool is refused, as by torch."""
    def forward(x: np.ndarray, out):
        if x.dtype.kind == "b":
            raise NotImplementedError(f"\"{name}_vml_cpu\" not implemented for 'Bool'")
        if x.dtype.kind in "iu":
            return into(x.copy(), out)
        return fn(x, out=out)
    return forward


_INTEGERS = Domain(-3.0, 3.0, kinks=tuple(float(k) for k in range(-3, 4)), gap=0.05)
_HALVES = Domain(-3.0, 3.0, kinks=tuple(k + 0.5 for k in range(-4, 3)), gap=0.05)
_TENTHS = Domain(-3.0, 3.0, kinks=tuple((k + 0.5) / 10 for k in range(-31, 31)), gap=0.01)
SIGN = unary("sign", _sign, "0.0", "SignBackward0", NONZERO, keeps_int=True,
    replay='(1.0 if x > 0.0 else 0.0) - (1.0 if x < 0.0 else 0.0)')
FLOOR = unary("floor", _whole(np.floor, "floor"), "0.0", "FloorBackward0", _INTEGERS,
              keeps_int=True,
    replay='np.floor(x)')
CEIL = unary("ceil", _whole(np.ceil, "ceil"), "0.0", "CeilBackward0", _INTEGERS, keeps_int=True,
    replay='np.ceil(x)')
TRUNC = unary("trunc", _whole(np.trunc, "trunc"), "0.0", "TruncBackward0", _INTEGERS,
              keeps_int=True,
    replay='np.trunc(x)')
ROUND = unary("round", _whole(np.rint, "round"), "0.0", "RoundBackward0", _HALVES,
              keeps_int=True,
    replay='np.rint(x)')  # half to even, as torch
ROUND_D = unary("round_decimals", lambda x, p0, p1, out: np.round(x, int(p0), out=out), "0.0",
                "RoundBackward1", _TENTHS, params=(1.0, 0.0), usage="x.round(decimals=1)",
    test=("same", lambda h, x: lambda x: x.round(decimals=1)),
    replay='np.rint(x * 10.0 ** p0) / 10.0 ** p0 if p0 >= 0.0 else np.rint(x / 10.0 ** -p0) * 10.0 ** -p0')
# tensor (mod) Python scalar; the scalar is p0
FMOD_S = unary("fmod_scalar", lambda x, p0, p1, out: np.fmod(x, p0, out=out), "g",
               "FmodBackward0", Domain(-3, 3, kinks=(-1.7, 1.7), gap=0.05), keeps_int=True,
               params=(1.7, 0.0), usage="x.fmod(2.5)",
    test=("same", lambda h, x: lambda x: x.fmod(1.7)),
    replay='np.fmod(x, p0)')
REMAINDER_S = unary("remainder_scalar", lambda x, p0, p1, out: np.remainder(x, p0, out=out), "g",
                    "RemainderBackward0", Domain(-3, 3, kinks=(-1.7, 0.0, 1.7), gap=0.05),
                    keeps_int=True, params=(1.7, 0.0), usage="x.remainder(2.5), x % 2.5",
    test=("same", lambda h, x: lambda x: x % 1.7),
    replay='np.remainder(x, p0)')


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
log1p = unary_function(LOG1P, "Elementwise log(1 + x), accurate for small x. "
                               "``tapegrad.log1p(tapegrad.zeros(1))`` -> ``tensor([0.])``.")
expm1 = unary_function(EXPM1, "Elementwise exp(x) - 1, accurate for small x.")
log2 = unary_function(LOG2, "Elementwise base-2 logarithm.")
log10 = unary_function(LOG10, "Elementwise base-10 logarithm.")
rsqrt = unary_function(RSQRT, "Elementwise 1 / sqrt(x).")
tan = unary_function(TAN, "Elementwise tangent.")
asin = unary_function(ASIN, "Elementwise arcsine.")
acos = unary_function(ACOS, "Elementwise arccosine.")
atan = unary_function(ATAN, "Elementwise arctangent.")
sinh = unary_function(SINH, "Elementwise hyperbolic sine.")
cosh = unary_function(COSH, "Elementwise hyperbolic cosine.")
asinh = unary_function(ASINH, "Elementwise inverse hyperbolic sine.")
acosh = unary_function(ACOSH, "Elementwise inverse hyperbolic cosine.")
atanh = unary_function(ATANH, "Elementwise inverse hyperbolic tangent.")
erf = unary_function(ERF, "Elementwise error function. ``tapegrad.erf(tapegrad.zeros(1))`` -> "
                          "``tensor([0.])``.")
sign = unary_function(SIGN, "Elementwise -1, 0 or 1 (0 for NaN, as torch); zero gradient.")
floor = unary_function(FLOOR, "Elementwise floor; zero gradient.")
ceil = unary_function(CEIL, "Elementwise ceiling; zero gradient.")
trunc = unary_function(TRUNC, "Elementwise rounding toward zero; zero gradient.")
_round = unary_function(ROUND, "")


def square(input: Tensor) -> Tensor:
    """Elementwise x * x (bool gives int64, as torch). ``tapegrad.tensor([3]).square()`` ->
    ``tensor([9])``."""
    if not isinstance(input, _Scalar) and input._data.dtype.kind == "b":
        return apply_unary(SQUARE, input, out_dtype=np.dtype(np.int64))
    return apply_unary(SQUARE, input)


def round(input: Tensor, *, decimals: int = 0) -> Tensor:  # noqa: A001
    """Round half to even, to `decimals` places; zero gradient.
    ``tapegrad.tensor([0.5, 1.5, 2.25]).round()`` -> ``tensor([0., 2., 2.])``."""
    if decimals == 0:
        return _round(input)
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f"\"round_cpu\" not implemented for "
                                  f"'{torch_name(input._data.dtype)}'")
    return apply_unary(ROUND_D, input, float(decimals), 0.0)


def neg(input: Tensor) -> Tensor:
    """Elementwise -x (not for bool tensors, as torch)."""
    if not isinstance(input, _Scalar) and input._data.dtype.kind == "b":
        raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If you "
                           "are trying to invert a mask, use the `~` or `logical_not()` operator "
                           "instead.")
    return apply_unary(NEG, input)


def clamp(input: Tensor, min=None, max=None) -> Tensor:  # noqa: A002
    """Clip values to [min, max]; either bound may be None (not both); bounds are numbers or
    tensors (broadcasting; then both must be tensors, as torch).
    ``tapegrad.tensor([-2.0, 0.5, 3.0]).clamp(-1, 1)`` -> ``tensor([-1.0000, 0.5000, 1.0000])``."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        return _clamp_tensor(input, min, max)
    lo = -INF if min is None else min
    hi = INF if max is None else max
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
ADD = binary("add", np.add, "g", "g", "AddBackward0",
    scalar=operator.add,
    replay='x + y')
SUB = binary("sub", np.subtract, "g", "-g", "SubBackward0",
    scalar=operator.sub,
    replay='x - y')
MUL = binary("mul", np.multiply, "g * y", "g * x", "MulBackward0",
    scalar=operator.mul,
    replay='x * y')
DIV = binary("div", np.true_divide, "g / y", "-g * out / y", "DivBackward0", (REAL, NONZERO),
             float_out=True,
    scalar=operator.truediv,
    replay='x / y')
POW = binary("pow", np.power, "0.0 if y == 0.0 else g * y * x ** (y - 1.0)",
             "0.0 if x == 0.0 and y >= 0.0 else g * out * math.log(x)", "PowBackward1",
             (POSITIVE, NONZERO),  # (torch's masks at y = 0 make its second derivative 0 there)
    scalar=math.pow,
    replay='x ** y')


def _arith(op, sop, a, b):
    tb = type(b)
    if tb is Tensor or isinstance(b, Tensor):  # (subclasses: the scalar fast path's)
        return apply_binary(op, a, b)
    if (tb is float or tb is int) and a._data.dtype.kind == "f":  # the common case, kept short
        return apply_unary(sop, a, b, 0.0, a._data.dtype)
    if isinstance(b, SCALAR):
        return _scalar_op(sop, a, b)
    if isinstance(b, (np.ndarray, list, tuple)):
        return apply_binary(op, a, as_tensor_arg(b))
    return NotImplemented


def add(input, other, *, alpha=1) -> Tensor:
    """input + alpha * other, broadcasting. ``tapegrad.ones(2) + 2`` -> ``tensor([3., 3.])``."""
    if alpha != 1:
        other = other * alpha
    if not isinstance(input, Tensor):
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
    if isinstance(other, SCALAR):
        return _scalar_op(RSUB_S, input, other)
    if isinstance(other, (np.ndarray, list, tuple)):
        return apply_binary(SUB, as_tensor_arg(other), input)
    return NotImplemented


def mul(input, other) -> Tensor:
    """Elementwise product, broadcasting."""
    if not isinstance(input, Tensor):
        return _arith(MUL, MUL_S, other, input)
    return _arith(MUL, MUL_S, input, other)


def div(input, other) -> Tensor:
    """True division, broadcasting (integer inputs give the default float dtype)."""
    if not isinstance(input, Tensor):
        return _rdiv(other, input)
    return _arith(DIV, DIV_S, input, other)


def _rdiv(x: Tensor, c):
    """c / x: torch computes reciprocal(x) * c."""
    if isinstance(c, SCALAR):
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
    if isinstance(c, SCALAR):
        return _scalar_op(RPOW_S, x, c)
    if isinstance(c, (np.ndarray, list, tuple, Tensor)):
        return apply_binary(POW, as_tensor_arg(c), x)
    return NotImplemented



# ------------------------------------------------------------------------------------------------
# maximum/minimum, modulo, atan2, hypot (two tensors, broadcasting)
# ------------------------------------------------------------------------------------------------
def _leaf(h, shape: tuple, elements) -> Tensor:
    """A float64 test input requiring grad, its values drawn from `elements`."""
    from ..factories import tensor
    return tensor(h.draw(h.hnp.arrays(np.float64, shape, elements=elements)), requires_grad=True)


def _pair_shapes(h, n: int = 2) -> tuple:
    return h.draw(h.hnp.mutually_broadcastable_shapes(num_shapes=n, min_dims=0, max_dims=3,
                                                      max_side=3)).input_shapes


def _apart(h) -> tuple:
    """Two inputs at least 0.1 apart everywhere (away from maximum's ties): one on integers,
    the other away from them."""
    sa, sb = _pair_shapes(h)
    ints = _leaf(h, sa, h.st.integers(-3, 3).map(float))
    other = h.tensor(sb, _INTEGERS)
    return (ints, other) if h.flag() else (other, ints)


def _quotients(h) -> tuple:
    """x and y with |x / y| in [1.02, 1.94], either sign: trunc/floor of x / y are constant."""
    def pm(lo, hi):
        return h.st.one_of(h.st.floats(lo, hi), h.st.floats(-hi, -lo))
    sa, sb = _pair_shapes(h)
    return _leaf(h, sa, pm(2.2, 2.8)), _leaf(h, sb, pm(1.45, 2.15))


# out= by keyword: numpy deprecates a third positional argument of maximum/minimum
MAXIMUM = binary("maximum", lambda x, y, out=None: np.maximum(x, y, out=out),
                 "0.0 if x < y else (0.5 * g if x == y else g)",
                 "0.0 if x > y else (0.5 * g if x == y else g)", "MaximumBackward0",
                 test=(_apart, lambda h, x, y: maximum),
    replay='x if x != x else (y if y != y else (x if x >= y else y))')
MINIMUM = binary("minimum", lambda x, y, out=None: np.minimum(x, y, out=out),
                 "0.0 if x > y else (0.5 * g if x == y else g)",
                 "0.0 if x < y else (0.5 * g if x == y else g)", "MinimumBackward0",
                 test=(_apart, lambda h, x, y: minimum),
    replay='x if x != x else (y if y != y else (x if x <= y else y))')
FMOD = binary("fmod", np.fmod, "g", "-g * np.trunc(x / y)", "FmodBackward1",
              test=(_quotients, lambda h, x, y: fmod),
    replay='np.fmod(x, y)')
REMAINDER = binary("remainder", np.remainder, "g", "-g * div_floor(x, y)", "RemainderBackward1",
                   usage="x.remainder(y), x % y", test=(_quotients, lambda h, x, y: remainder),
    replay='np.remainder(x, y)')
# (torch: 0 where x = y = 0)
ATAN2 = binary("atan2", np.arctan2,
               "g * y * (0.0 if x * x + y * y == 0.0 else 1.0 / (x * x + y * y))",
               "-g * x * (0.0 if x * x + y * y == 0.0 else 1.0 / (x * x + y * y))",
               "Atan2Backward0", (NONZERO, REAL), float_out=True,
    replay='math.atan2(x, y)')  # x away from the branch cut
HYPOT = binary("hypot", np.hypot, "g * x / out", "g * y / out", "HypotBackward0",
               (NONZERO, REAL),
    replay='math.hypot(x, y)')




def _got(*args) -> str:
    """How torch's argument-parser error lists the arguments it got."""
    return ", ".join(("Tensor" if isinstance(a, Tensor) else type(a).__name__) if not
                     isinstance(a, tuple) else f"{a[0]}={_got(a[1])}" for a in args)


def _two_tensors(name: str, input, other) -> None:
    for arg, pos, argname in ((input, 1, "input"), (other, 2, "other")):
        if not isinstance(arg, Tensor):
            raise TypeError(f"{name}(): argument '{argname}' (position {pos}) must be Tensor, "
                            f"not {type(arg).__name__}")


def maximum(input: Tensor, other: Tensor) -> Tensor:
    """Elementwise maximum of two tensors, broadcasting (NaN propagates; a tie splits the
    gradient equally). ``tapegrad.maximum(tapegrad.tensor([1, 5]), tapegrad.tensor([3, 2]))``
    -> ``tensor([3, 5])``."""
    _two_tensors("maximum", input, other)
    return apply_binary(MAXIMUM, input, other)


def minimum(input: Tensor, other: Tensor) -> Tensor:
    """Elementwise minimum of two tensors, broadcasting (see `maximum`)."""
    _two_tensors("minimum", input, other)
    return apply_binary(MINIMUM, input, other)


def atan2(input: Tensor, other: Tensor) -> Tensor:
    """Elementwise arctangent of input / other in (-pi, pi] (the quadrant from both signs).
    ``tapegrad.atan2(tapegrad.ones(1), -tapegrad.ones(1))`` -> ``tensor([2.3562])``."""
    _two_tensors("atan2", input, other)
    return apply_binary(ATAN2, input, other)


def hypot(input: Tensor, other: Tensor) -> Tensor:
    """Elementwise sqrt(input**2 + other**2) without overflow (float tensors only)."""
    _two_tensors("hypot", input, other)
    dt = result_type(input, other).np_dtype
    if dt.kind != "f":
        raise NotImplementedError(f"\"hypot_cpu\" not implemented for '{torch_name(dt)}'")
    return apply_binary(HYPOT, input, other)


def _modulo(name: str, op, sop, input, other) -> Tensor:
    if not isinstance(input, Tensor) or not isinstance(other, (Tensor,) + SCALAR):
        raise TypeError(f"{name}() received an invalid combination of arguments - got "
                        f"({_got(input, other)}), but expected one of:\n"
                        f" * (Tensor input, Tensor other, *, Tensor out = None)\n"
                        f" * (Tensor input, Number other, *, Tensor out = None)\n")
    dt = result_type(input, other).np_dtype
    if dt.kind == "b":
        raise NotImplementedError(f"\"{name}_cpu\" not implemented for 'Bool'")
    if dt.kind in "iu" and not np.all(other._data if isinstance(other, Tensor) else other):
        raise RuntimeError("ZeroDivisionError")  # integer division by zero, as torch
    if isinstance(other, Tensor):
        return apply_binary(op, input, other)
    return _scalar_op(sop, input, other)


def fmod(input: Tensor, other) -> Tensor:
    """C's fmod: the remainder of input / other truncated toward zero, with input's sign.
    ``tapegrad.tensor([-7, 7]).fmod(3)`` -> ``tensor([-1, 1])``."""
    return _modulo("fmod", FMOD, FMOD_S, input, other)


def remainder(input, other) -> Tensor:
    """Python's modulo: input - floor(input / other) * other, with other's sign (``x % y``).
    ``tapegrad.tensor([-7, 7]).remainder(3)`` -> ``tensor([2, 1])``."""
    if isinstance(input, SCALAR) and isinstance(other, Tensor):
        from ..factories import tensor
        input = tensor(input)
    return _modulo("remainder", REMAINDER, REMAINDER_S, input, other)


def _rmod(self: Tensor, other) -> Tensor:
    """other % self."""
    return remainder(other, self)


def _div_floor(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """torch's floor division (`_kernels_elementwise.div_floor`, vectorized): nan for an
    infinite dividend."""
    if a.dtype.kind in "iub" and b.dtype.kind in "iub":
        return np.floor_divide(a, b)
    mod = np.fmod(a, b)
    div = (a - mod) / b
    div = np.where((mod != 0) & ((b < 0) != (mod < 0)), div - 1, div)
    fd = np.floor(div)
    fd = np.where(div - fd > 0.5, fd + 1, fd)
    return np.where(b == 0, a / b, np.where(div != 0, fd, np.copysign(0.0, a / b)))


def floor_divide(input, other) -> Tensor:
    """Elementwise floor(input / other) with torch's rounding (``x // y``); piecewise constant,
    so no gradient flows through it. ``tapegrad.tensor([7., -7.]) // 2`` ->
    ``tensor([ 3., -4.])``."""
    a = as_tensor_arg(input, "input")
    b = as_tensor_arg(other)
    dt = result_type(a, b).np_dtype
    res = _div_floor(a._data.astype(dt, copy=False), b._data.astype(dt, copy=False))
    return _wrap(np.asarray(res, dt))


def _rfloordiv(self: Tensor, other) -> Tensor:
    return floor_divide(other, self)


# ------------------------------------------------------------------------------------------------
# three inputs: lerp, where, clamp with tensor bounds (hand-written kernels, broadcasting)
# ------------------------------------------------------------------------------------------------
def _lerp_scalar_test(h, a, b):
    w = h.draw(h.st.floats(-1.0, 2.0))
    return lambda a, b: lerp(a, b, w)


def _where_test(h, x, y):
    """A bool condition broadcasting against x and y (a suffix of their shape, some dims 1)."""
    from ..factories import tensor
    shape = np.broadcast_shapes(tuple(x.shape), tuple(y.shape))
    shape = tuple(d if h.flag() else 1 for d in shape[h.draw(h.st.integers(0, len(shape))):])
    cond = tensor(h.draw(h.hnp.arrays(np.bool_, shape)))
    return lambda x, y: where(cond, x, y)


def _clamp_inputs(h) -> tuple:
    """x below, inside and above [lo, hi] (lo < hi), at least 0.2 from either bound."""
    sx, sl, sh = _pair_shapes(h, 3)
    xs = h.st.one_of(h.st.floats(-3.0, -1.6), h.st.floats(-0.4, 0.4), h.st.floats(1.6, 3.0))
    return (_leaf(h, sx, xs), _leaf(h, sl, h.st.floats(-1.4, -0.6)),
            _leaf(h, sh, h.st.floats(0.6, 1.4)))


def _clamp_test(h, x, lo, hi):
    which = h.draw(h.st.sampled_from(["both", "min", "max"]))
    if which == "min":
        return lambda x, lo, hi: clamp(x, min=lo)
    if which == "max":
        return lambda x, lo, hi: clamp(x, max=hi)
    return lambda x, lo, hi: clamp(x, lo, hi)


LERP_S = kernel("lerp_scalar", "tapegrad.ops._kernels_elementwise:adj_lerp",
                "LerpBackward0",
               replay=_FE + "fwd_lerp",
                usage="x.lerp(end, 0.3)", test=("broadcast", _lerp_scalar_test))
LERP = kernel("lerp", "tapegrad.ops._kernels_elementwise:adj_lerp", "LerpBackward1",
               replay=_FE + "fwd_lerp",
              usage="x.lerp(end, weight_tensor)",
    test=(lambda h: tuple(h.tensor(s) for s in _pair_shapes(h, 3)), lambda h, a, b, w: lerp))
WHERE = kernel("where", "tapegrad.ops._kernels_elementwise:adj_where",
               "WhereBackward0",
               replay=_FE + "fwd_where",
               usage="tapegrad.where(cond, x, y), x.where(cond, y)",
    test=("broadcast", _where_test))
CLAMP_T = kernel("clamp_tensor", "tapegrad.ops._kernels_elementwise:adj_clamp_tensor",
                 "ClampBackward0", replay=_FE + "fwd_clamp_tensor",
                 usage="x.clamp(min_tensor, max_tensor)",
    test=(_clamp_inputs, _clamp_test))

# torch's C++ names of dtypes, as lerp's messages print them
_C_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int",
            "int32": "int", "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
            "bool": "bool"}


def lerp(input: Tensor, end: Tensor, weight) -> Tensor:
    """input + weight * (end - input), broadcasting; weight is a number or a tensor.
    ``tapegrad.tensor([1.0, 2.0]).lerp(tapegrad.tensor([3.0, 4.0]), 0.25)`` ->
    ``tensor([1.5000, 2.5000])``."""
    tw = isinstance(weight, Tensor)
    if not (isinstance(input, Tensor) and isinstance(end, Tensor)
            and (tw or isinstance(weight, SCALAR))):
        raise TypeError(f"lerp() received an invalid combination of arguments - got "
                        f"({_got(input, end, weight)}), but expected one of:\n"
                        f" * (Tensor input, Tensor end, Tensor weight, *, Tensor out = None)\n"
                        f" * (Tensor input, Tensor end, Number weight, *, Tensor out = None)\n")
    dt = input._data.dtype
    for arg, argname in ((end, "end"), (weight, "weight")):
        if isinstance(arg, Tensor) and arg._data.dtype != dt:
            raise RuntimeError(f"expected dtype {_C_NAMES.get(dt.name, dt.name)} for `{argname}` "
                               f"but got dtype {_C_NAMES.get(arg._data.dtype.name)}")
    if dt.kind != "f":
        raise NotImplementedError(f"\"lerp_kernel_{'tensor' if tw else 'scalar'}\" not "
                                  f"implemented for '{torch_name(dt)}'")
    shape = broadcast_shapes(input._data.shape, end._data.shape)
    if tw:
        shape = broadcast_shapes(shape, weight._data.shape)
    a, b = input._data, end._data
    w = weight._data if tw else float(weight)

    def compute(out):
        d = b - a
        # torch's two-sided formula: exact at both ends (weight 0 gives a, weight 1 gives b)
        return into(np.where(np.abs(w) < 0.5, a + w * d, b - d * (1 - w)).astype(dt), out)
    if tw:
        return apply_kernel(LERP, (input, end, weight), shape, dt, compute)
    return apply_kernel(LERP_S, (input, end), shape, dt, compute, floats=(w,))


def where(condition: Tensor, input=None, other=None):
    """Elementwise `input` where `condition` is true, else `other` (either may be a number),
    broadcasting all three; no gradient flows to the (bool) condition. With only a condition:
    the indices of its true elements, one tensor per dim (as ``nonzero(as_tuple=True)``).
    ``tapegrad.where(tapegrad.tensor([True, False]), 1.0, 0.0)`` -> ``tensor([1., 0.])``."""
    if input is None and other is None and isinstance(condition, Tensor):
        return tuple(_wrap(i) for i in np.nonzero(np.atleast_1d(condition._data)))
    ok = (Tensor,) + SCALAR
    if not (isinstance(condition, Tensor) and isinstance(input, ok) and isinstance(other, ok)):
        raise TypeError(f"where() received an invalid combination of arguments - got "
                        f"({_got(condition, input, other)}), but expected one of:\n"
                        f" * (Tensor condition)\n"
                        f" * (Tensor condition, Tensor input, Tensor other, *, Tensor out = None)\n"
                        f" * (Tensor condition, Number self, Tensor other)\n"
                        f" * (Tensor condition, Tensor input, Number other)\n"
                        f" * (Tensor condition, Number self, Number other)\n")
    cd = condition._data
    if cd.dtype.kind != "b":
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor "
                           f"with dtype {torch_name(cd.dtype)}")
    dt = result_type(input, other).np_dtype
    from ..factories import tensor
    x = input if isinstance(input, Tensor) else tensor(input, dtype=dt)
    y = other if isinstance(other, Tensor) else tensor(other, dtype=dt)
    shape = broadcast_shapes(broadcast_shapes(cd.shape, x._data.shape), y._data.shape)
    xd, yd = x._data, y._data
    # the condition enters the tape as a constant: stored as 0.0/1.0 in the op's float dtype
    return apply_kernel(WHERE, (condition, x, y), shape, dt,
                        lambda out: into(np.where(cd, xd, yd).astype(dt, copy=False), out))


def _where_method(self: Tensor, condition: Tensor, other) -> Tensor:
    """``x.where(condition, y)`` is ``where(condition, x, y)``."""
    return where(condition, self, other)


def _clamp_tensor(input: Tensor, min, max) -> Tensor:  # noqa: A002
    """clamp with tensor bounds (one may be None): min(max(x, min), max), broadcasting."""
    if any(b is not None and not isinstance(b, Tensor) for b in (min, max)):
        kw = sorted((k, v) for k, v in (("min", min), ("max", max)) if v is not None)
        raise TypeError(f"clamp() received an invalid combination of arguments - got "
                        f"({_got(input, *kw)}), but expected one of:\n"
                        f" * (Tensor input, Tensor min = None, Tensor max = None, *, "
                        f"Tensor out = None)\n"
                        f" * (Tensor input, Number min = None, Number max = None, *, "
                        f"Tensor out = None)\n")
    bounds = tuple(b for b in (min, max) if b is not None)
    dt = result_type(input, *bounds).np_dtype
    shape = input._data.shape
    for b in bounds:
        shape = broadcast_shapes(shape, b._data.shape)

    def compute(out):
        r = input._data
        if min is not None:
            r = np.maximum(r, min._data)
        if max is not None:
            r = np.minimum(r, max._data)
        return into(np.broadcast_to(r, shape).astype(dt), out)
    return apply_kernel(CLAMP_T, (input,) + bounds, shape, dt, compute,
                        ints=(int(min is not None), int(max is not None)))


__all__ = ['exp', 'log', 'sqrt', 'sin', 'cos', 'tanh', 'sigmoid', 'relu', 'abs', 'neg',
           'reciprocal', 'clamp', 'add', 'sub', 'rsub', 'mul', 'div', 'pow',
           'log1p', 'expm1', 'log2', 'log10', 'rsqrt', 'square', 'tan', 'asin', 'acos', 'atan',
           'sinh', 'cosh', 'asinh', 'acosh', 'atanh', 'erf', 'sign', 'floor', 'ceil', 'round',
           'trunc', 'maximum', 'minimum', 'fmod', 'remainder', 'atan2', 'hypot', 'lerp', 'where',
           'floor_divide']
METHODS = dict(
    exp=exp, log=log, sqrt=sqrt, sin=sin, cos=cos, tanh=tanh, sigmoid=sigmoid, relu=relu, abs=abs,
    neg=neg, reciprocal=reciprocal, clamp=clamp, clip=clamp, add=add, sub=sub, mul=mul, div=div,
    pow=pow,
    __add__=binary_operator(ADD, ADD_S, add), __radd__=binary_operator(ADD, ADD_S, add),
    __sub__=binary_operator(SUB, SUB_S, sub), __rsub__=rsub,
    __mul__=binary_operator(MUL, MUL_S, mul), __rmul__=binary_operator(MUL, MUL_S, mul),
    __truediv__=binary_operator(DIV, DIV_S, div), __rtruediv__=_rdiv, __pow__=pow,
    __rpow__=_rpow, __neg__=neg, __abs__=abs,
    log1p=log1p, expm1=expm1, log2=log2, log10=log10, rsqrt=rsqrt, square=square, tan=tan,
    asin=asin, acos=acos, atan=atan, sinh=sinh, cosh=cosh, asinh=asinh, acosh=acosh, atanh=atanh,
    erf=erf, sign=sign, floor=floor, ceil=ceil, round=round, trunc=trunc, maximum=maximum,
    minimum=minimum, fmod=fmod, remainder=remainder, atan2=atan2, hypot=hypot, lerp=lerp,
    where=_where_method, __mod__=remainder, __rmod__=_rmod, floor_divide=floor_divide,
    __floordiv__=floor_divide, __rfloordiv__=_rfloordiv,
)


def _scalar_rdiv(self, c):
    """c / x for a fast scalar x: reciprocal, then times c (as torch)."""
    if type(c) is float or type(c) is int:
        r = _scalar.unary(RECIPROCAL, self)
        if r is not None:
            return r * c
    elif isinstance(c, Tensor):
        r = _scalar.binary(DIV, c, self)
        if r is not None:
            return r
    return _rdiv(self, c)


def _scalar_neg(self):
    r = _scalar.unary(NEG, self)
    return neg(self) if r is None else r


def _scalar_operators(cls) -> dict:
    """The operators of a fast scalar class (`_Scalar`, `_Scalar32`), falling back to the
    Tensor methods above."""
    def make(op, number_op, generic, reflected=False):
        return _scalar.operator(op, number_op, generic, reflected, cls)
    return dict(
        __add__=make(ADD, ADD_S, METHODS["__add__"]),
        __radd__=make(ADD, ADD_S, METHODS["__radd__"], reflected=True),
        __sub__=make(SUB, SUB_S, METHODS["__sub__"]),
        __rsub__=make(SUB, RSUB_S, rsub, reflected=True),
        __mul__=make(MUL, MUL_S, METHODS["__mul__"]),
        __rmul__=make(MUL, MUL_S, METHODS["__rmul__"], reflected=True),
        __truediv__=make(DIV, DIV_S, METHODS["__truediv__"]),
        __rtruediv__=_scalar_rdiv,
        __pow__=make(POW, POW_S, pow),
        __rpow__=make(POW, RPOW_S, _rpow, reflected=True),
        __neg__=_scalar_neg,
    )


# the operators of `_Scalar` / `_Scalar32` (0-d float64 / float32 non-leaves): the scalar fast
# path (`_scalar.py`)
SCALAR_METHODS = _scalar_operators(_Scalar)
SCALAR32_METHODS = _scalar_operators(_Scalar32)
