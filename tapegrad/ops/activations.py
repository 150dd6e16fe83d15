"""Activation functions (also exposed in `tapegrad.nn.functional`).

The elementwise ones are `unary` registrations (their float parameters are p0/p1); softmax and
log_softmax have kernels (`_kernels_nn`) that reduce over one dim. Forwards are written not to
overflow: softplus/logsigmoid go through `logaddexp`, silu divides by 1 + exp(-x) (inf where
it overflows, as torch), log_softmax subtracts the max.
"""
from __future__ import annotations

import math
import warnings
from functools import partial

import numpy as np

from .._dtype import as_dtype, torch_name
from .._opdef import Domain, kernel, unary
from .._record import apply_kernel, apply_unary
from .. import _scalar
from ..tensor import Tensor, _Scalar, _Vec, normalize_dim
from ._util import into

_KINK0 = Domain(-3.0, 3.0, kinks=(0.0,), gap=0.1)
_K_TANH = 0.7978845608028654   # sqrt(2 / pi)
_T = "math.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))"


def _sigmoid(t: str) -> str:
    """sigmoid(t) as an adjoint fragment (`sigmoid_vec`: finite for any t, vectorizes;
    create_graph records it as sigmoid)."""
    return f"sigmoid_vec({t})"


_S = _sigmoid("x")

_FE = "tapegrad.ops._forward_elementwise:"  # hand-written forwards a replay runs
LEAKY_RELU = unary(
    "leaky_relu", lambda x, p0, p1, out: into(np.where(x > 0, x, x * p0), out),
    "g if x > 0.0 else g * p0", "LeakyReluBackward0", _KINK0, params=(0.1, 0.0),
    usage="F.leaky_relu(x, negative_slope)",
    test=("same", lambda h, x: lambda x: leaky_relu(x, 0.1)),
    replay='x if x > 0.0 else x * p0')
ELU = unary(
    "elu", lambda x, p0, p1, out: into(np.where(x > 0, x, p0 * np.expm1(np.minimum(x, 0))), out),
    # (at 0 the value of torch's backward, whose own derivative there is 0, as torch's)
    "g if x > 0.0 else (g * p0 if x == 0.0 else g * p0 * exp_vec(0.0 if x >= 0.0 else x))",
    "EluBackward0",
    _KINK0, params=(1.5, 0.0),
    usage="F.elu(x, alpha)", test=("same", lambda h, x: lambda x: elu(x, 1.5)),
    replay='x if x > 0.0 else p0 * math.expm1(x)')
GELU = unary(
    "gelu", lambda x, out: into(0.5 * x * (1 + erf(x * math.sqrt(0.5))), out),
    "g * (0.5 * (1.0 + math.erf(x * 0.7071067811865476))"
    " + x * 0.3989422804014327 * exp_vec(-0.5 * x * x))", "GeluBackward0",
    usage="F.gelu(x)", test=("same", lambda h, x: gelu),
    replay='0.5 * x * (1.0 + math.erf(x * 0.7071067811865476))')
GELU_TANH = unary(
    "gelu_tanh",
    lambda x, out: into(0.5 * x * (1 + np.tanh(_K_TANH * (x + 0.044715 * x ** 3))), out),
    f"g * (0.5 * (1.0 + {_T}) + 0.5 * x * (1.0 - {_T} ** 2)"
    " * 0.7978845608028654 * (1.0 + 0.134145 * x * x))", "GeluBackward0",
    usage="F.gelu(x, approximate='tanh')",
    test=("same", lambda h, x: partial(gelu, approximate="tanh")),
    replay='0.5 * x * (1.0 + math.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))')
def _one_plus_exp_neg(x: np.ndarray) -> np.ndarray:
    """1 + exp(-x), inf where exp(-x) overflows (so x / it is torch's silu, -0. there)."""
    with np.errstate(over="ignore"):
        t = np.exp(-x)
    t += 1.0
    return t


SILU = unary(
    "silu", lambda x, out: into(x / _one_plus_exp_neg(x), out),
    f"g * {_S} * (1.0 + x * (1.0 - {_S}))",
    "SiluBackward0", usage="F.silu(x)", test=("same", lambda h, x: silu),
    replay='x / (1.0 + @DT@(exp_vec(-x)))')  # (as sigmoid's)
SOFTPLUS = unary(
    "softplus",
    lambda x, p0, p1, out: into(np.where(x * p0 > p1, x, np.logaddexp(0, x * p0) / p0), out),
    f"g if x * p0 > p1 else g * {_sigmoid('x * p0')}", "SoftplusBackward0",
    params=(1.5, 20.0), usage="F.softplus(x, beta, threshold)",
    scalar=lambda x, p0, p1: x if x * p0 > p1 else math.log1p(math.exp(x * p0)) / p0,
    test=("same", lambda h, x: lambda x: softplus(x, 1.5)),
    replay='x if x * p0 > p1 else softplus_vec(x * p0) / p0')
LOGSIGMOID = unary(
    "logsigmoid", lambda x, out: into(-np.logaddexp(0, -x), out),
    f"g * {_sigmoid('-x')}", "LogSigmoidBackward0", usage="F.logsigmoid(x)",
    test=("same", lambda h, x: logsigmoid),
    replay='-softplus_vec(-x)')
HARDTANH = unary(
    "hardtanh", lambda x, p0, p1, out: np.clip(x, p0, p1, out=out),
    "g if (x > p0 and x < p1) else 0.0", "HardtanhBackward0",
    Domain(-3.0, 3.0, kinks=(-1.0, 1.0), gap=0.1), keeps_int=True, params=(-1.0, 1.0),
    usage="F.hardtanh(x, min_val, max_val)", test=("same", lambda h, x: hardtanh),
    replay='x if x != x else min(max(x, p0), p1)')
def lanes_softmax(ints, L: int, nd: int):
    """(log-)softmax's lanes rule: its ints ``(outer, n, inner)`` walk (*s, L) with L times
    the inner extent."""
    return [ints[0], ints[1], ints[2] * L] + list(ints[3:])


SOFTMAX = kernel("softmax", "tapegrad.ops._kernels_nn:adj_softmax", "SoftmaxBackward0",
                 replay=_FE + "fwd_softmax", lanes=lanes_softmax,
                 usage="x.softmax(dim)",
                 test=("same", lambda h, x: partial(softmax, dim=h.dim(x))))
LOG_SOFTMAX = kernel("log_softmax", "tapegrad.ops._kernels_nn:adj_log_softmax",
                     "LogSoftmaxBackward0", replay=_FE + "fwd_log_softmax", lanes=lanes_softmax,
                     usage="x.log_softmax(dim)",
                     test=("same", lambda h, x: partial(log_softmax, dim=h.dim(x))))


def erf(x: np.ndarray) -> np.ndarray:
    """Elementwise erf of a float array (numba ufunc; float32 stays float32)."""
    from ._kernels_nn import erf_ufunc
    return erf_ufunc()(x)


_CPU_NAMES = {"leaky_relu": "leaky_relu_cpu", "elu": "elu_cpu", "gelu": "GeluKernelImpl",
              "silu": "silu_cpu", "softplus": "softplus_cpu", "logsigmoid": "log_sigmoid_cpu",
              "softmax": "softmax_lastdim_kernel_impl",
              "log_softmax": "log_softmax_lastdim_kernel_impl"}


def _floating(x: Tensor, name: str) -> None:
    """torch's error for an activation that has no integer kernel."""
    if not isinstance(x, _Scalar) and x._data.dtype.kind != "f":
        raise NotImplementedError(f'"{_CPU_NAMES[name]}" not implemented for '
                                  f"'{torch_name(x._data.dtype)}'")


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x if x > 0 else negative_slope * x. ``F.leaky_relu(tg.tensor([-2., 3.]))`` ->
    ``tensor([-0.0200, 3.0000])``."""
    _floating(input, "leaky_relu")
    return apply_unary(LEAKY_RELU, input, float(negative_slope))


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x if x > 0 else alpha * (exp(x) - 1). ``F.elu(tg.tensor([0., 1.]))`` -> ``tensor([0., 1.])``."""
    _floating(input, "elu")
    return apply_unary(ELU, input, float(alpha))


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x) (exact, with erf) or its tanh approximation (``approximate='tanh'``).
    ``F.gelu(tg.tensor([1.]))`` -> ``tensor([0.8413])``."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    _floating(input, "gelu")
    return apply_unary(GELU if approximate == "none" else GELU_TANH, input)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x). ``F.silu(tg.tensor([0.]))`` -> ``tensor([0.])``."""
    _floating(input, "silu")
    return apply_unary(SILU, input)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta * x)) / beta, and x where beta * x > threshold; no overflow.
    ``F.softplus(tg.tensor([0.]))`` -> ``tensor([0.6931])``."""
    _floating(input, "softplus")
    return apply_unary(SOFTPLUS, input, float(beta), float(threshold))


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(x)) = -softplus(-x), without overflow at large |x|.
    ``F.logsigmoid(tg.tensor([0.]))`` -> ``tensor([-0.6931])``."""
    _floating(input, "logsigmoid")
    return apply_unary(LOGSIGMOID, input)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """x clipped to [min_val, max_val]; integer tensors stay integer.
    ``F.hardtanh(tg.tensor([-2., 0.5]))`` -> ``tensor([-1.0000, 0.5000])``."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return apply_unary(HARDTANH, input, float(min_val), float(max_val))


def _softmax_rows(z: np.ndarray, d: int, is_log: bool) -> np.ndarray:
    """(log-)softmax of z = x - max(x) along d."""
    ez = np.exp(z)
    total = np.add.reduce(ez, axis=d, keepdims=True)
    return z - np.log(total) if is_log else ez / total


def _softmax(op, name: str, x: Tensor, dim: int, dtype) -> Tensor:
    if isinstance(x, _Vec) and dtype is None and (dim == 0 or dim == -1):  # scalar fast path
        r = _scalar.softmax_of(x, op is LOG_SOFTMAX, op.code)
        if r is not None:
            return r
    if dtype is not None:
        x = x.to(as_dtype(dtype))
    _floating(x, name)
    xd = x._data
    d = normalize_dim(dim, xd.ndim)
    shape = xd.shape or (1,)
    outer = math.prod(shape[:d])
    inner = math.prod(shape[d + 1:])
    is_log = op is LOG_SOFTMAX

    def compute(out):
        if not xd.size:
            return into(xd.copy(), out)
        top = np.maximum.reduce(xd, axis=d, keepdims=True)  # ufunc methods: no wrapper cost
        if np.isfinite(top).all():
            return into(_softmax_rows(xd - top, d, is_log), out)
        with np.errstate(invalid="ignore"):  # a row of -inf gives nan, as torch
            return into(_softmax_rows(xd - top, d, is_log), out)
    return apply_kernel(op, (x,), xd.shape, xd.dtype, compute, (outer, shape[d], inner))


def softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    """exp(x) / sum(exp(x)) over `dim` (computed stably); ``dtype`` casts the input first.
    ``tg.tensor([0., 0.]).softmax(0)`` -> ``tensor([0.5000, 0.5000])``."""
    return _softmax(SOFTMAX, "softmax", input, dim, dtype)


def log_softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    """x - logsumexp(x) over `dim`, finite for any finite input (e.g. +-1e4).
    ``tg.tensor([0., 0.]).log_softmax(0)`` -> ``tensor([-0.6931, -0.6931])``."""
    return _softmax(LOG_SOFTMAX, "log_softmax", input, dim, dtype)


def implicit_softmax_dim(name: str, ndim: int) -> int:
    """torch.nn.functional's deprecated choice of dim when none is given (with its warning)."""
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to "
                  f"include dim=X as an argument.", stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


__all__ = ['log_softmax', 'softmax']
METHODS = {"softmax": softmax, "log_softmax": log_softmax}
