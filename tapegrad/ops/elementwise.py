"""Elementwise ops: math functions, arithmetic with tensors and Python scalars, powers, clamp.

Each registration (`unary`/`binary`, see `_opdef.py`) is the whole definition of an op's
calculus: forward, adjoint expression, torch's grad_fn name, test domain. The front-ends below
parse torch's arguments and pick the op.
"""
from __future__ import annotations

import math

import numpy as np

from .._dtype import get_default_dtype, result_type
from .._opdef import NONZERO, POSITIVE, REAL, Domain, binary, unary
from .._record import apply_binary, apply_unary, binary_operator, float_dtype, unary_function
from ..tensor import Tensor
from ._util import INF, SCALAR, as_tensor_arg, into

# ------------------------------------------------------------------------------------------------
# elementwise, one input
# ------------------------------------------------------------------------------------------------
EXP = unary("exp", np.exp, "g * out", "ExpBackward0")
LOG = unary("log", np.log, "g / x", "LogBackward0", POSITIVE)
SQRT = unary("sqrt", np.sqrt, "g * 0.5 / out", "SqrtBackward0", POSITIVE)
SIN = unary("sin", np.sin, "g * math.cos(x)", "SinBackward0")
COS = unary("cos", np.cos, "-g * math.sin(x)", "CosBackward0")
TANH = unary("tanh", np.tanh, "g * (1.0 - out * out)", "TanhBackward0")
SIGMOID = unary("sigmoid", lambda x, out: into(np.exp(-np.logaddexp(0, -x)), out),
                "g * out * (1.0 - out)", "SigmoidBackward0")
RELU = unary("relu", lambda x, out: np.maximum(x, 0, out=out),
             "g if x > 0.0 else 0.0", "ReluBackward0", NONZERO, keeps_int=True)
ABS = unary("abs", np.abs, "g if x > 0.0 else (-g if x < 0.0 else 0.0)", "AbsBackward0",
            NONZERO, keeps_int=True)
NEG = unary("neg", np.negative, "-g", "NegBackward0", keeps_int=True)
RECIPROCAL = unary("reciprocal", lambda x, out: np.divide(1.0, x, out=out),
                   "-g * out * out", "ReciprocalBackward0", NONZERO)
CLAMP = unary("clamp", lambda x, p0, p1, out: np.clip(x, None if p0 == -INF else p0,
                                                      None if p1 == INF else p1, out=out),
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
    """Elementwise -x (not for bool tensors, as torch)."""
    if input._data.dtype.kind == "b":
        raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If you "
                           "are trying to invert a mask, use the `~` or `logical_not()` operator "
                           "instead.")
    return apply_unary(NEG, input)


def clamp(input: Tensor, min=None, max=None) -> Tensor:  # noqa: A002
    """Clip values to [min, max]; either bound may be None (not both)."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        raise TypeError("clamp: tensor bounds are not supported yet; pass numbers")
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
    if isinstance(b, SCALAR):
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
    if isinstance(other, SCALAR):
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


__all__ = ['exp', 'log', 'sqrt', 'sin', 'cos', 'tanh', 'sigmoid', 'relu', 'abs', 'neg',
           'reciprocal', 'clamp', 'add', 'sub', 'rsub', 'mul', 'div', 'pow']
METHODS = dict(
    exp=exp, log=log, sqrt=sqrt, sin=sin, cos=cos, tanh=tanh, sigmoid=sigmoid, relu=relu, abs=abs,
    neg=neg, reciprocal=reciprocal, clamp=clamp, clip=clamp, add=add, sub=sub, mul=mul, div=div,
    pow=pow,
    __add__=binary_operator(ADD, ADD_S, add), __radd__=binary_operator(ADD, ADD_S, add),
    __sub__=binary_operator(SUB, SUB_S, sub), __rsub__=rsub,
    __mul__=binary_operator(MUL, MUL_S, mul), __rmul__=binary_operator(MUL, MUL_S, mul),
    __truediv__=binary_operator(DIV, DIV_S, div), __rtruediv__=_rdiv, __pow__=pow,
    __rpow__=_rpow, __neg__=neg, __abs__=abs,
)
