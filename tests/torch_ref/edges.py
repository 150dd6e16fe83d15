"""Numeric edge values: every op family at 0, -0, +-1, +-inf, NaN, +-1e30, tiny and subnormal
values, float64, for values and gradients (and second derivatives where they are delicate).

Elementwise ops take all the special values at once (one backward gives every element's
derivative); binary ops take every pair; reductions and softmaxes take small vectors built from
them."""
from __future__ import annotations

import itertools
import math

from . import observe

INF, NAN = math.inf, math.nan
SPECIALS = [0.0, -0.0, 1.0, -1.0, 0.5, -2.0, 3.0, INF, -INF, NAN, 1e30, -1e30, 1e-30, -1e-30,
            1e-310, 800.0, -800.0]
PAIR_VALUES = [0.0, -0.0, 1.0, -1.0, 2.5, -0.5, INF, -INF, NAN, 1e30, 1e-30]


def _f(lib, name):
    return getattr(lib, name, None) or getattr(lib.nn.functional, name)


UNARY = ["exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu", "abs", "neg",
         "reciprocal", "log1p", "expm1", "log2", "log10", "rsqrt", "square", "tan", "asin", "acos",
         "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "erf", "sign", "floor", "ceil",
         "trunc", "round", "leaky_relu", "elu", "gelu", "silu", "softplus", "logsigmoid",
         "hardtanh"]
UNARY_CALLS = {name: (lambda name: lambda lib, x: _f(lib, name)(x))(name) for name in UNARY}
UNARY_CALLS.update({
    "gelu_tanh": lambda lib, x: lib.nn.functional.gelu(x, approximate="tanh"),
    "clamp": lambda lib, x: x.clamp(-1.0, 2.0),
    "clamp_min": lambda lib, x: x.clamp(min=0.0),
    "pow_0": lambda lib, x: x ** 0,
    "pow_0.5": lambda lib, x: x ** 0.5,
    "pow_2": lambda lib, x: x ** 2,
    "pow_3": lambda lib, x: x ** 3,
    "pow_-1": lambda lib, x: x ** -1,
    "pow_-0.5": lambda lib, x: x ** -0.5,
    "pow_1.5": lambda lib, x: x ** 1.5,
    "rpow_2": lambda lib, x: 2.0 ** x,
    "rpow_0": lambda lib, x: 0.0 ** x,
    "mul_scalar": lambda lib, x: x * 3.0,
    "div_scalar": lambda lib, x: x / 4.0,
    "rdiv_scalar": lambda lib, x: 1.0 / x,
    "fmod_scalar": lambda lib, x: lib.fmod(x, 1.5),
    "remainder_scalar": lambda lib, x: lib.remainder(x, 1.5),
    "elu_alpha": lambda lib, x: lib.nn.functional.elu(x, 0.5),
    "softplus_beta": lambda lib, x: lib.nn.functional.softplus(x, beta=2.0, threshold=10.0),
})

BINARY = ["add", "sub", "mul", "div", "pow", "maximum", "minimum", "fmod", "remainder", "atan2",
          "hypot"]

REDUCTIONS = {
    "sum": lambda lib, x: x.sum(),
    "mean": lambda lib, x: x.mean(),
    "prod": lambda lib, x: x.prod(),
    "amax": lambda lib, x: x.amax(),
    "amin": lambda lib, x: x.amin(),
    "max": lambda lib, x: x.max(),
    "min": lambda lib, x: x.min(),
    "max_dim": lambda lib, x: x.max(0)[0],
    "logsumexp": lambda lib, x: x.logsumexp(0),
    "norm": lambda lib, x: x.norm(),
    "norm_1": lambda lib, x: x.norm(1),
    "norm_inf": lambda lib, x: x.norm(INF),
    "norm_0.5": lambda lib, x: x.norm(0.5),
    "var": lambda lib, x: x.var(),
    "std": lambda lib, x: x.std(),
    "cumsum": lambda lib, x: x.cumsum(0),
    "cumprod": lambda lib, x: x.cumprod(0),
    "softmax": lambda lib, x: x.softmax(0),
    "log_softmax": lambda lib, x: x.log_softmax(0),
}
VECTORS = {
    "plain": [1.0, 2.0, 3.0],
    "nan": [1.0, NAN, 2.0],
    "nan_first": [NAN, 5.0, -1.0],
    "inf": [1.0, INF, 2.0],
    "-inf": [1.0, -INF, 2.0],
    "all_-inf": [-INF, -INF, -INF],
    "inf_-inf": [INF, -INF, 1.0],
    "one_zero": [0.0, 2.0, 3.0],
    "two_zeros": [0.0, 0.0, 3.0],
    "all_zero": [0.0, 0.0, 0.0],
    "inf_zero": [INF, 0.0, 2.0],
    "ties": [2.0, 2.0, 1.0],
    "huge": [1e30, 1e30, -1e30],
    "tiny": [1e-30, -1e-30, 1e-310],
    "big_equal": [1e200, 1e200, 1e200],
}

SECOND = {  # d2/dx2 of sum(f(x)) at the special values, and norm's Hessian row sums
    "softplus": lambda lib, x: lib.nn.functional.softplus(x),
    "logsigmoid": lambda lib, x: lib.nn.functional.logsigmoid(x),
    "elu": lambda lib, x: lib.nn.functional.elu(x),
    "silu": lambda lib, x: lib.nn.functional.silu(x),
    "sigmoid": lambda lib, x: lib.sigmoid(x),
    "tanh": lambda lib, x: lib.tanh(x),
    "pow_0.5": lambda lib, x: x ** 0.5,
    "pow_2": lambda lib, x: x ** 2,
    "gelu": lambda lib, x: lib.nn.functional.gelu(x),
}
NORM_POINTS = {"zero_coord": [0.0, 3.0, 4.0], "all_zero": [0.0, 0.0], "plain": [1.0, 2.0, 2.0]}


_F = lambda lib: lib.nn.functional  # noqa: E731
LOSSES = {  # (loss(lib, x, y), x values, y values)
    "mse_inf": (lambda lib, x, y: _F(lib).mse_loss(x, y), [1.0, INF, NAN, 1e200],
                [0.0, 1.0, 0.0, -1e200]),
    "l1_nan": (lambda lib, x, y: _F(lib).l1_loss(x, y), [1.0, NAN, INF], [0.0, 1.0, INF]),
    "smooth_l1_inf": (lambda lib, x, y: _F(lib).smooth_l1_loss(x, y), [1.0, INF, 0.5],
                      [0.0, 1.0, 0.5]),
    "bce_edges": (lambda lib, x, y: _F(lib).binary_cross_entropy(x, y), [0.0, 1.0, 0.5, 1e-300],
                  [1.0, 0.0, 1.0, 1.0]),
    "bce_logits_huge": (lambda lib, x, y: _F(lib).binary_cross_entropy_with_logits(x, y),
                        [1e30, -1e30, 800.0, -800.0, 0.0], [0.0, 1.0, 0.0, 1.0, 0.5]),
    "cross_entropy_-inf": (lambda lib, x, y: _F(lib).cross_entropy(x.reshape(2, 3),
                                                                    lib.tensor([0, 2])),
                           [-INF, 0.0, 1.0, 1e30, -1e30, 0.0], None),
    "log_softmax_-inf": (lambda lib, x, y: x.log_softmax(0), [-INF, 0.0, -INF], None),
    "softmax_inf": (lambda lib, x, y: x.softmax(0), [INF, 0.0, 1.0], None),
}


def _loss(lib, name):
    fn, xs, ys = LOSSES[name]
    x = lib.tensor(xs, dtype=lib.float64, requires_grad=True)
    y = None if ys is None else lib.tensor(ys, dtype=lib.float64)
    out = fn(lib, x, y)
    out.backward(lib.ones_like(out))
    return {"value": out, "grad": x.grad}


def _grad_of(lib, fn, values):
    x = lib.tensor(values, dtype=lib.float64, requires_grad=True)
    y = fn(lib, x)
    y.backward(lib.ones_like(y))
    return {"value": y, "grad": x.grad}


def _binary(lib, name):
    pairs = list(itertools.product(PAIR_VALUES, repeat=2))
    x = lib.tensor([p[0] for p in pairs], dtype=lib.float64, requires_grad=True)
    y = lib.tensor([p[1] for p in pairs], dtype=lib.float64, requires_grad=True)
    z = getattr(lib, name)(x, y)
    z.backward(lib.ones_like(z))
    return {"value": z, "grad_x": x.grad, "grad_y": y.grad}


def _second(lib, fn, values):
    x = lib.tensor(values, dtype=lib.float64, requires_grad=True)
    g, = lib.autograd.grad(fn(lib, x).sum(), x, create_graph=True)
    h, = lib.autograd.grad(g.sum(), x)
    return {"grad": g, "second": h}


def _norm_second(lib, values):
    x = lib.tensor(values, dtype=lib.float64, requires_grad=True)
    g, = lib.autograd.grad(x.norm(), x, create_graph=True)
    rows = [lib.autograd.grad(g[i], x, retain_graph=True)[0] for i in range(len(values))]
    return {"grad": g, "hessian": rows}


def run(lib, family: str, name: str, arg: str = "") -> dict:
    if family == "unary":
        return observe(lambda: _grad_of(lib, UNARY_CALLS[name], SPECIALS))
    if family == "binary":
        return observe(lambda: _binary(lib, name))
    if family == "reduction":
        return observe(lambda: _grad_of(lib, REDUCTIONS[name], VECTORS[arg]))
    if family == "second":
        return observe(lambda: _second(lib, SECOND[name], SPECIALS))
    if family == "loss":
        return observe(lambda: _loss(lib, name))
    assert family == "norm_second"
    return observe(lambda: _norm_second(lib, NORM_POINTS[name]))


def cases() -> list:
    out = [(f"unary|{n}", ("unary", n)) for n in UNARY_CALLS]
    out += [(f"binary|{n}", ("binary", n)) for n in BINARY]
    out += [(f"reduction|{n}|{v}", ("reduction", n, v)) for n in REDUCTIONS for v in VECTORS]
    out += [(f"second|{n}", ("second", n)) for n in SECOND]
    out += [(f"norm_second|{n}", ("norm_second", n)) for n in NORM_POINTS]
    out += [(f"loss|{n}", ("loss", n)) for n in LOSSES]
    return out
