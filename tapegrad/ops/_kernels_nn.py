"""Adjoint kernels of the nn ops (softmax family, nll_loss, pointwise losses) and the erf ufunc.

Every index a kernel forms comes from `rec`: shapes Python validated, and class indices checked
to lie in [0, C) before they were recorded (ignored targets are recorded as 0 with weight 0).
"""
import math

import numpy as np
from numba import njit

from ..engine.kernels import (
    T_A,
    T_ADJ,
    T_B,
    T_FOFS,
    T_IOFS,
    T_NEED,
    _values_f64,
    bcast_strides,
    slot_shape,
    strided_map,
)
from ._kernels_elementwise import exp_vec

_ERF = []


def erf_ufunc():
    """A numpy ufunc for erf (float32/float64), compiled on first use and cached on disk: there is
    no scipy, and numpy has no erf."""
    if not _ERF:
        from numba import vectorize

        @vectorize(["float64(float64)", "float32(float32)"], cache=True)
        def erf(x):
            return math.erf(x)
        _ERF.append(erf)
    return _ERF[0]


@njit(cache=True, error_model="numpy")
def _softmax_adj(e, tab, rec, adj, live, is_log):
    """out = (log_)softmax of a over the middle axis of (outer, n, inner) in ints:
    softmax: ga = y * (g - sum(g * y)); log_softmax: ga = g - exp(y) * sum(g). Loops along
    the inner axis over sliced rows, as the forward's (`_softmax_fwd`)."""
    a = tab[e, T_A]
    if not tab[a, T_NEED]:
        return
    k = tab[e, T_IOFS]
    outer, n, inner = rec[k], rec[k + 1], rec[k + 2]
    y = _values_f64(tab, e)
    go, ga = tab[e, T_ADJ], tab[a, T_ADJ]
    s = np.empty(inner)
    for o in range(outer):
        base = o * n * inner
        s[:] = 0.0
        for c in range(n):
            r = base + c * inner
            g, yr = adj[go + r:go + r + inner], y[r:r + inner]
            for j in range(inner):
                s[j] += g[j] if is_log else g[j] * yr[j]
        for c in range(n):
            r = base + c * inner
            g, yr, gin = adj[go + r:go + r + inner], y[r:r + inner], adj[ga + r:ga + r + inner]
            for j in range(inner):
                if is_log:
                    gin[j] += g[j] - exp_vec(yr[j]) * s[j]
                else:
                    gin[j] += yr[j] * (g[j] - s[j])
    live[a] = 1


@njit(cache=True, error_model="numpy")
def adj_softmax(e, tab, rec, fl, adj, live, env):
    _softmax_adj(e, tab, rec, adj, live, False)


@njit(cache=True, error_model="numpy")
def adj_log_softmax(e, tab, rec, fl, adj, live, env):
    _softmax_adj(e, tab, rec, adj, live, True)


@njit(cache=True, error_model="numpy")
def adj_nll(e, tab, rec, fl, adj, live, env):
    """nll_loss of a viewed as (N, C, D); ints: (N, C, D, reduced, targets over (N, D));
    fl: one weight per target (0 if ignored; divided by the total weight for 'mean')."""
    a = tab[e, T_A]
    if not tab[a, T_NEED]:
        return
    k = tab[e, T_IOFS]
    nb, nc, nd, red = rec[k], rec[k + 1], rec[k + 2], rec[k + 3]
    f = tab[e, T_FOFS]
    go, ga = tab[e, T_ADJ], tab[a, T_ADJ]
    for i in range(nb * nd):
        b = i // nd
        g = adj[go] if red else adj[go + i]
        adj[ga + (b * nc + rec[k + 4 + i]) * nd + i - b * nd] -= g * fl[f + i]
    live[a] = 1


MSE, SMOOTH_L1, BCE, BCE_LOGITS = range(4)


@njit(cache=True, inline="always", error_model="numpy")
def _softplus(x):
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


@njit(cache=True, error_model="numpy")
def adj_pointwise_loss(e, tab, rec, fl, adj, live, env):
    """A loss l(x, y) per element of the broadcast shape, reduced (summed, times a scale) or not.
    ints: (kind, reduced, has_weight, has_pos_weight, ndim, *shape); fl: (scale, beta,
    weight per element if has_weight, pos_weight per element if has_pos_weight)."""
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
    xs, ys = _values_f64(tab, a), _values_f64(tab, b)
    na, nb = tab[a, T_NEED], tab[b, T_NEED]
    go, ga, gb = tab[e, T_ADJ], tab[a, T_ADJ], tab[b, T_ADJ]
    for i in range(n):
        g = (adj[go] if red else adj[go + i]) * scale
        if hw:
            g *= fl[wo + i]
        x, y = xs[ia[i]], ys[ib[i]]
        if kind == MSE:
            dx = 2.0 * (x - y)
            dy = -dx
        elif kind == SMOOTH_L1:
            d = x - y
            dx = d / beta if abs(d) < beta else (1.0 if d > 0 else (-1.0 if d < 0 else 0.0))
            dy = -dx
        elif kind == BCE:  # torch's clamps: log >= -100, denominator >= 1e-12 (a float32
            dx = (x - y) / max((1.0 - x) * x, 9.999999960041972e-13)  # constant: 1e-12f)
            dy = max(math.log1p(-x), -100.0) - max(math.log(x), -100.0) if x > 0.0 else 100.0
        else:  # BCE_LOGITS: (1 - y) x + lw softplus(-x), lw = 1 + (pw - 1) y
            pw = fl[po + i] if hp else 1.0
            lw = 1.0 + (pw - 1.0) * y
            sig_neg = math.exp(-_softplus(x))  # sigmoid(-x), no overflow
            dx = (1.0 - y) - lw * sig_neg
            dy = -x + (pw - 1.0) * _softplus(-x)
        if na:
            adj[ga + ia[i]] += g * dx
        if nb:
            adj[gb + ib[i]] += g * dy
    if na:
        live[a] = 1
    if nb:
        live[b] = 1
