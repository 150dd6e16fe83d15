"""Numba forwards of the fused losses in `nn/functional.py` (nll_loss, nll_loss2d, mse_loss,
smooth_l1_loss, binary_cross_entropy, binary_cross_entropy_with_logits): what a replayed program
(`engine/replay.py`) runs to compute their entries at new inputs.

Each ``fwd_*(e, tab, rec, fl, w, env)`` reads the record its adjoint in `_kernels_nn` reads; `w`
only types the values (the entry's dtype). As the eager front-ends, they compute in float64 and
round once to the entry's dtype.
"""
import math

import numpy as np
from numba import njit

from ..engine.kernels import (
    T_A,
    T_B,
    T_FOFS,
    T_IOFS,
    bcast_strides,
    slot_shape,
    strided_map,
    values_like,
)
from ._kernels_nn import BCE, MSE, SMOOTH_L1, _softplus


@njit(cache=True, error_model="numpy")
def fwd_nll(e, tab, rec, fl, w, env):
    """-weight[t] * x[b, t, d] of x viewed as (N, C, D), per target or summed; ints: (N, C, D,
    reduced, targets over (N, D)); fl: one weight per target (0 if ignored; divided by the total
    weight for 'mean'), then the divisor left to apply to the sum (0 for a 'mean' over targets
    all ignored, whose weights could not be divided: 0 / 0 is NaN, as eager; else 1)."""
    a = tab[e, T_A]
    k = tab[e, T_IOFS]
    nb, nc, nd, red = rec[k], rec[k + 1], rec[k + 2], rec[k + 3]
    f = tab[e, T_FOFS]
    x, out = values_like(w, tab, a), values_like(w, tab, e)
    n = nb * nd
    s = 0.0
    for i in range(n):
        b = i // nd
        v = -(np.float64(x[(b * nc + rec[k + 4 + i]) * nd + i - b * nd]) * fl[f + i])
        if red:
            s += v
        else:
            out[i] = v
    if red:
        out[0] = s / fl[f + n]


@njit(cache=True, inline="always", error_model="numpy")
def _log_clamped(v):
    """torch's clamp of BCE's logs at -100 (NaN stays NaN, as np.maximum)."""
    return -100.0 if v < -100.0 else v


@njit(cache=True, error_model="numpy")
def fwd_pointwise_loss(e, tab, rec, fl, w, env):
    """A loss l(x, y) per element of the broadcast shape, times its weight, reduced (summed,
    times the scale: 1, or 1 / n for 'mean') or not. ints: (kind, reduced, has_weight,
    has_pos_weight, ndim, *shape); fl: (scale, beta, weight per element if has_weight,
    pos_weight per element if has_pos_weight)."""
    a, b = tab[e, T_A], tab[e, T_B]
    k = tab[e, T_IOFS]
    kind, red, hw, hp, nd = rec[k], rec[k + 1], rec[k + 2], rec[k + 3], rec[k + 4]
    bs = rec[k + 5:k + 5 + nd]
    ia = strided_map(bs, bcast_strides(bs, slot_shape(tab, rec, a)))
    ib = strided_map(bs, bcast_strides(bs, slot_shape(tab, rec, b)))
    n = ia.shape[0]
    f = tab[e, T_FOFS]
    scale, beta = fl[f], fl[f + 1]
    wo = f + 2
    po = wo + (n if hw else 0)
    xs, ys, out = values_like(w, tab, a), values_like(w, tab, b), values_like(w, tab, e)
    s = 0.0
    for i in range(n):
        x, y = np.float64(xs[ia[i]]), np.float64(ys[ib[i]])
        if kind == MSE:
            v = (x - y) * (x - y)
        elif kind == SMOOTH_L1:
            d = abs(x - y)
            v = 0.5 * d * d / beta if d < beta else d - 0.5 * beta
        elif kind == BCE:
            v = -(y * _log_clamped(math.log(x)) + (1.0 - y) * _log_clamped(math.log1p(-x)))
        else:  # BCE_LOGITS: (1 - y) x + (1 + (pw - 1) y) softplus(-x)
            pw = fl[po + i] if hp else 1.0
            v = (1.0 - y) * x + (1.0 + (pw - 1.0) * y) * _softplus(-x)
        if hw:
            v *= fl[wo + i]
        if red:
            s += v
        else:
            out[i] = v
    if red:
        out[0] = s * scale
