"""Hand-written adjoints of the elementwise ops with three inputs (where, lerp, clamp with tensor
bounds), and the vectorized forward of erf (numpy has none; scipy is not a dependency).

Every input of these ops is broadcast to the output's shape: `_bmap` gives, for each flat output
index, the flat index of an input, and adjoints accumulate through it (`+=`), which sums over the
broadcast dimensions. A bool condition (`where`) is stored in the arena as 0.0/1.0 in the op's
float dtype, like any constant input, and never needs a gradient.
"""
import math

import numpy as np
from numba import njit

from ..engine.kernels import (
    T_ADJ,
    T_FOFS,
    T_INS,
    T_IOFS,
    T_NEED,
    T_NIN,
    _values_f64,
    bindex,
)


@njit(cache=True, error_model="numpy")
def _bmap(tab, rec, s, e):
    """For each flat index of output slot `e`, the flat index of input slot `s` it reads."""
    return bindex(tab, rec, s, e)


@njit(cache=True, error_model="numpy")
def adj_where(e, tab, rec, fl, adj, live, env):
    """out = where(c, x, y) (inputs c, x, y): gx += g where c, gy += g elsewhere."""
    ins = tab[e, T_INS]
    c, x, y = rec[ins], rec[ins + 1], rec[ins + 2]
    cv = _values_f64(tab, c)
    ic = _bmap(tab, rec, c, e)
    go = tab[e, T_ADJ]
    for s, take in ((x, True), (y, False)):
        if tab[s, T_NEED]:
            idx = _bmap(tab, rec, s, e)
            gs = tab[s, T_ADJ]
            for i in range(idx.shape[0]):
                if (cv[ic[i]] != 0.0) == take:
                    adj[gs + idx[i]] += adj[go + i]
            live[s] = 1


@njit(cache=True, error_model="numpy")
def adj_lerp(e, tab, rec, fl, adj, live, env):
    """out = a + w * (b - a); w is the third input or, with two inputs, the float parameter:
    ga += g * (1 - w), gb += g * w, gw += g * (b - a)."""
    ins = tab[e, T_INS]
    a, b = rec[ins], rec[ins + 1]
    tensor_w = tab[e, T_NIN] == 3
    w = rec[ins + 2] if tensor_w else a
    wv = _values_f64(tab, w) if tensor_w else np.full(1, fl[tab[e, T_FOFS]])
    iw = _bmap(tab, rec, w, e)
    go = tab[e, T_ADJ]
    for s, sign in ((a, -1.0), (b, 1.0)):
        if tab[s, T_NEED]:
            idx = _bmap(tab, rec, s, e)
            gs = tab[s, T_ADJ]
            for i in range(idx.shape[0]):
                wi = wv[iw[i]] if tensor_w else wv[0]
                adj[gs + idx[i]] += adj[go + i] * (wi if sign > 0 else 1.0 - wi)
            live[s] = 1
    if tensor_w and tab[w, T_NEED]:
        av = _values_f64(tab, a)
        bv = _values_f64(tab, b)
        ia = _bmap(tab, rec, a, e)
        ib = _bmap(tab, rec, b, e)
        gw = tab[w, T_ADJ]
        for i in range(iw.shape[0]):
            adj[gw + iw[i]] += adj[go + i] * (bv[ib[i]] - av[ia[i]])
        live[w] = 1


@njit(cache=True, error_model="numpy")
def adj_clamp_tensor(e, tab, rec, fl, adj, live, env):
    """out = min(max(x, lo), hi) with tensor bounds (inputs x, then lo and/or hi as ints
    (has_lo, has_hi) say), torch's masks: gx where lo <= x <= hi; glo where x < lo and lo < hi
    (x < lo alone without hi); ghi where x > hi or hi < lo."""
    ins = tab[e, T_INS]
    k = tab[e, T_IOFS]
    has_lo, has_hi = rec[k] != 0, rec[k + 1] != 0
    x = rec[ins]
    lo = rec[ins + 1] if has_lo else x
    hi = rec[ins + (2 if has_lo else 1)] if has_hi else x
    xv, lv, hv = _values_f64(tab, x), _values_f64(tab, lo), _values_f64(tab, hi)
    ix, il, ih = _bmap(tab, rec, x, e), _bmap(tab, rec, lo, e), _bmap(tab, rec, hi, e)
    go = tab[e, T_ADJ]
    gx, gl, gh = tab[x, T_ADJ], tab[lo, T_ADJ], tab[hi, T_ADJ]
    nx = tab[x, T_NEED] != 0
    nl = has_lo and tab[lo, T_NEED] != 0
    nh = has_hi and tab[hi, T_NEED] != 0
    for i in range(ix.shape[0]):
        g = adj[go + i]
        xi = xv[ix[i]]
        li = lv[il[i]] if has_lo else -math.inf
        hi_ = hv[ih[i]] if has_hi else math.inf
        if nx and xi >= li and xi <= hi_:
            adj[gx + ix[i]] += g
        if nl and xi < li and (not has_hi or li < hi_):
            adj[gl + il[i]] += g
        if nh and (xi > hi_ or (has_lo and hi_ < li)):
            adj[gh + ih[i]] += g
    if nx:
        live[x] = 1
    if nl:
        live[lo] = 1
    if nh:
        live[hi] = 1


# ------------------------------------------------------------------------------------------------
# erf's forward: a Numba ufunc over math.erf, built on first use (compiling it costs ~0.1 s the
# first time ever; later processes load it from Numba's cache)
# ------------------------------------------------------------------------------------------------
def _erf_scalar(x):
    return math.erf(x)


_ERF = None


def erf_ufunc():
    """The vectorized erf (float32 and float64; integers are cast to float64 by numpy)."""
    global _ERF
    if _ERF is None:
        from numba import vectorize
        _ERF = vectorize(["float64(float64)", "float32(float32)"], cache=True)(_erf_scalar)
    return _ERF


@njit(cache=True, inline="always", error_model="numpy")
def pow_m05(x):
    """x ** -0.5 as torch computes it (rsqrt: -inf at -0., nan at -inf)."""
    return 1.0 / np.sqrt(x)


@njit(cache=True, inline="always", error_model="numpy")
def div_floor(a, b):
    """torch's floor division of floats (remainder's backward multiplies by it): its rounding
    and its nan for an infinite dividend, where floor(a / b) gives +-inf."""
    if b == 0.0:
        return a / b
    mod = np.fmod(a, b)
    div = (a - mod) / b
    if mod != 0.0 and (b < 0.0) != (mod < 0.0):
        div -= 1.0
    if div != 0.0:
        fd = np.floor(div)
        if div - fd > 0.5:
            fd += 1.0
        return fd
    return np.copysign(0.0, a / b)
