"""Forward kernels of the elementwise ops with hand-written adjoints (lerp, where, clamp with
tensor bounds) and of softmax / log_softmax: what a replayed program (`engine/replay.py`)
computes for their entries. Same signature as every forward: ``f(e, tab, rec, fl, w, env)``,
`w` an array of the entry's dtype; inputs are read through broadcast maps as the adjoints
read them."""
import math

import numpy as np
from numba import njit

from ..engine.kernels import T_A, T_FOFS, T_INS, T_IOFS, T_NIN, T_SIZE, values_like
from ._kernels_elementwise import _bmap, exp_vec


@njit(cache=True, error_model="numpy")
def fwd_lerp(e, tab, rec, fl, w, env):
    """out = a + wt * (b - a) for |wt| < 0.5, else b - (b - a) * (1 - wt) (torch's two-sided
    formula); wt is the third input, or with two inputs the record's float."""
    ins = tab[e, T_INS]
    a, b = rec[ins], rec[ins + 1]
    tensor_w = tab[e, T_NIN] == 3
    s = rec[ins + 2] if tensor_w else a
    av, bv, wv = values_like(w, tab, a), values_like(w, tab, b), values_like(w, tab, s)
    ia, ib, iw = _bmap(tab, rec, a, e), _bmap(tab, rec, b, e), _bmap(tab, rec, s, e)
    wt0 = w.dtype.type(fl[tab[e, T_FOFS]]) if not tensor_w else w.dtype.type(0.0)
    out = values_like(w, tab, e)
    for i in range(tab[e, T_SIZE]):
        wt = wv[iw[i]] if tensor_w else wt0
        d = bv[ib[i]] - av[ia[i]]
        out[i] = av[ia[i]] + wt * d if abs(wt) < 0.5 else bv[ib[i]] - d * (1 - wt)


@njit(cache=True, error_model="numpy")
def fwd_where(e, tab, rec, fl, w, env):
    """out = x where c (0/1 values) else y, inputs (c, x, y) broadcast to out."""
    ins = tab[e, T_INS]
    c, x, y = rec[ins], rec[ins + 1], rec[ins + 2]
    cv, xv, yv = values_like(w, tab, c), values_like(w, tab, x), values_like(w, tab, y)
    ic, ix, iy = _bmap(tab, rec, c, e), _bmap(tab, rec, x, e), _bmap(tab, rec, y, e)
    out = values_like(w, tab, e)
    for i in range(tab[e, T_SIZE]):
        out[i] = xv[ix[i]] if cv[ic[i]] != 0 else yv[iy[i]]


@njit(cache=True, error_model="numpy")
def fwd_clamp_tensor(e, tab, rec, fl, w, env):
    """out = minimum(maximum(x, lo), hi) (numpy's: NaN propagates), ints (has_lo, has_hi)."""
    ins = tab[e, T_INS]
    k = tab[e, T_IOFS]
    has_lo, has_hi = rec[k] != 0, rec[k + 1] != 0
    x = rec[ins]
    lo = rec[ins + 1] if has_lo else x
    hi = rec[ins + (2 if has_lo else 1)] if has_hi else x
    xv, lv, hv = values_like(w, tab, x), values_like(w, tab, lo), values_like(w, tab, hi)
    ix, il, ih = _bmap(tab, rec, x, e), _bmap(tab, rec, lo, e), _bmap(tab, rec, hi, e)
    out = values_like(w, tab, e)
    for i in range(tab[e, T_SIZE]):
        r = xv[ix[i]]
        if has_lo:
            v = lv[il[i]]
            r = r if r != r else (v if v != v or v > r else r)
        if has_hi:
            v = hv[ih[i]]
            r = r if r != r else (v if v != v or v < r else r)
        out[i] = r


@njit(cache=True, error_model="numpy")
def _softmax_fwd(e, tab, rec, w, is_log):
    """(log-)softmax over the middle axis of (outer, n, inner) in ints, shifted by the row's
    max as the eager forward is (a row of -inf gives nan, as torch). The loops run along the
    inner axis (a batched replay's lanes are there) over rows sliced out of the buffers, with an
    exp that vectorizes: LLVM vectorizes them (offsets into one buffer, it does not)."""
    k = tab[e, T_IOFS]
    outer, n, inner = rec[k], rec[k + 1], rec[k + 2]
    x = values_like(w, tab, tab[e, T_A])
    out = values_like(w, tab, e)
    top = np.empty(inner)
    total = np.empty(inner)
    for o in range(outer):
        base = o * n * inner
        top[:] = -np.inf
        total[:] = 0.0
        for c in range(n):
            xr = x[base + c * inner:base + (c + 1) * inner]
            for j in range(inner):
                v, t = np.float64(xr[j]), top[j]
                top[j] = v if (v > t) | (v != v) else t
        for c in range(n):
            xr = x[base + c * inner:base + (c + 1) * inner]
            orow = out[base + c * inner:base + (c + 1) * inner]
            for j in range(inner):
                ez = exp_vec(np.float64(xr[j]) - top[j])
                total[j] += ez
                if not is_log:
                    orow[j] = ez  # (divided below: one exp per element)
        if is_log:
            for j in range(inner):
                total[j] = math.log(total[j])
        for c in range(n):
            xr = x[base + c * inner:base + (c + 1) * inner]
            orow = out[base + c * inner:base + (c + 1) * inner]
            for j in range(inner):
                if is_log:
                    orow[j] = np.float64(xr[j]) - top[j] - total[j]
                else:
                    orow[j] = orow[j] / total[j]


@njit(cache=True, error_model="numpy")
def fwd_softmax(e, tab, rec, fl, w, env):
    _softmax_fwd(e, tab, rec, w, False)


@njit(cache=True, error_model="numpy")
def fwd_log_softmax(e, tab, rec, fl, w, env):
    _softmax_fwd(e, tab, rec, w, True)
