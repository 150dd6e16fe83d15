"""Numba forwards of the reductions and scans in `ops/reductions.py`: what a replayed program
(`engine/replay.py`) runs to compute their entries at new inputs.

Each ``fwd_*(e, tab, rec, fl, w, env)`` writes entry e's values from its input's, reading the
record its adjoint in `_kernels_reduce` reads (reduced dims as a bitmask in ``ints[0]``, a scan's
dim in ``ints[0]``); `w` only types the values (the entry's dtype). They accumulate in float64
and follow numpy's semantics, as the eager front-ends (NaN propagates through max/min).
"""
import math

import numpy as np
from numba import njit

from ..engine.kernels import T_A, T_FOFS, T_IOFS, T_SIZE, values_like
from ._kernels_reduce import _lines, reduced_index


@njit(cache=True, error_model="numpy")
def _sums(x, idx, nout):
    """Per output element, the float64 sum of the elements of x reduced into it."""
    acc = np.zeros(nout)
    for i in range(idx.shape[0]):
        acc[idx[i]] += x[i]
    return acc


@njit(cache=True, error_model="numpy")
def arg_extreme_rows(x, sign, vals, idx):
    """Per row of the 2-D C-ordered x: the position (into `idx`) and value (into `vals`) of
    its first largest (sign 1) or smallest (sign -1) element, the first NaN winning over every
    number (numpy's argmax/argmin). The eager `max(dim)`/`min(dim)` over the last dim."""
    n, k = x.shape
    for r in range(n):
        best = 0
        b = x[r, 0]
        nan = b != b
        if sign > 0:  # (plain comparisons in the loops: they vectorize; NaN rows redone below)
            for j in range(1, k):
                v = x[r, j]
                nan |= v != v
                if v > b:
                    best, b = j, v
        else:
            for j in range(1, k):
                v = x[r, j]
                nan |= v != v
                if v < b:
                    best, b = j, v
        if nan:
            for j in range(k):
                if x[r, j] != x[r, j]:
                    best, b = j, x[r, j]
                    break
        idx[r] = best
        vals[r] = b


@njit(cache=True, error_model="numpy")
def _extremes(x, idx, nout, sign):
    """Per output element, the largest (sign 1) or smallest (sign -1) of the elements of x
    reduced into it; NaN if one of them is NaN (numpy's max / min)."""
    m = np.full(nout, -math.inf)  # (of sign * x: one comparison for both)
    for i in range(idx.shape[0]):
        r = idx[i]
        v = sign * x[i]
        if v > m[r] or v != v:  # a NaN stays: nothing compares greater than it
            m[r] = v
    return m * sign


@njit(cache=True, error_model="numpy")
def _write(w, tab, e, res):
    out = values_like(w, tab, e)
    for r in range(out.shape[0]):
        out[r] = res[r]


@njit(cache=True, error_model="numpy")
def fwd_reduce(e, tab, rec, fl, w, env):
    """sum / mean (sum_dim, mean_dim) over the dims in ints[0] (bitmask): the sum times fl[0]
    (1, or 1 / count for a mean; NaN when count is 0)."""
    a = tab[e, T_A]
    idx = reduced_index(tab, rec, a, rec[tab[e, T_IOFS]])
    _write(w, tab, e, _sums(values_like(w, tab, a), idx, tab[e, T_SIZE]) * fl[tab[e, T_FOFS]])


@njit(cache=True, error_model="numpy")
def fwd_prod(e, tab, rec, fl, w, env):
    """prod (prod_dim) over the dims in ints[0] (bitmask)."""
    a = tab[e, T_A]
    idx = reduced_index(tab, rec, a, rec[tab[e, T_IOFS]])
    x = values_like(w, tab, a)
    acc = np.ones(tab[e, T_SIZE])
    for i in range(idx.shape[0]):
        acc[idx[i]] *= x[i]
    _write(w, tab, e, acc)


@njit(cache=True, error_model="numpy")
def _extreme(e, tab, rec, w, mask, sign):
    a = tab[e, T_A]
    idx = reduced_index(tab, rec, a, mask)
    _write(w, tab, e, _extremes(values_like(w, tab, a), idx, tab[e, T_SIZE], sign))


@njit(cache=True, error_model="numpy")
def fwd_max(e, tab, rec, fl, w, env):
    """max (whole tensor) and amax over the dims in ints[0] (bitmask), NaN if any is NaN."""
    _extreme(e, tab, rec, w, rec[tab[e, T_IOFS]], 1.0)


@njit(cache=True, error_model="numpy")
def fwd_min(e, tab, rec, fl, w, env):
    """min (whole tensor) and amin over the dims in ints[0] (bitmask), NaN if any is NaN."""
    _extreme(e, tab, rec, w, rec[tab[e, T_IOFS]], -1.0)


@njit(cache=True, error_model="numpy")
def fwd_max_dim(e, tab, rec, fl, w, env):
    """The values of max(dim) along the dim in fl[0] (its ints are the recorded argmax
    positions, for the adjoint), NaN if any is NaN (numpy's argmax picks the first NaN)."""
    _extreme(e, tab, rec, w, 1 << int(fl[tab[e, T_FOFS]]), 1.0)


@njit(cache=True, error_model="numpy")
def fwd_min_dim(e, tab, rec, fl, w, env):
    """The values of min(dim) along the dim in fl[0]; see `fwd_max_dim`."""
    _extreme(e, tab, rec, w, 1 << int(fl[tab[e, T_FOFS]]), -1.0)


@njit(cache=True, error_model="numpy")
def fwd_var(e, tab, rec, fl, w, env):
    """var / std over the dims in ints[0] (bitmask; ints[1]: 1 for std): the sum of squared
    deviations from the group mean (two passes) over the divisor N - correction in fl[0]."""
    a = tab[e, T_A]
    k = tab[e, T_IOFS]
    idx = reduced_index(tab, rec, a, rec[k])
    x = values_like(w, tab, a)
    nout = tab[e, T_SIZE]
    mean = _sums(x, idx, nout) / (idx.shape[0] / max(nout, 1))  # (0 / 0: NaN, as numpy)
    sq = np.zeros(nout)
    for i in range(idx.shape[0]):
        d = x[i] - mean[idx[i]]
        sq[idx[i]] += d * d
    res = sq / fl[tab[e, T_FOFS]]
    _write(w, tab, e, np.sqrt(res) if rec[k + 1] else res)


@njit(cache=True, error_model="numpy")
def fwd_logsumexp(e, tab, rec, fl, w, env):
    """logsumexp over the dims in ints[0] (bitmask): log(sum(exp(x - m))) + m around the group
    max m (0 where m is not finite: all -inf, or an inf or NaN, which the sum then carries)."""
    a = tab[e, T_A]
    idx = reduced_index(tab, rec, a, rec[tab[e, T_IOFS]])
    x = values_like(w, tab, a)
    nout = tab[e, T_SIZE]
    m = _extremes(x, idx, nout, 1.0)
    for r in range(nout):
        if not math.isfinite(m[r]):
            m[r] = 0.0
    acc = np.zeros(nout)
    for i in range(idx.shape[0]):
        acc[idx[i]] += math.exp(x[i] - m[idx[i]])
    _write(w, tab, e, np.log(acc) + m)


@njit(cache=True, error_model="numpy")
def fwd_norm(e, tab, rec, fl, w, env):
    """Vector p-norm over the dims in ints[0] (bitmask), p in fl[0]: max / min |x| for +-inf
    (NaN propagates), the count of non-zeros for 0, sum |x| for 1, sqrt(sum x^2) for 2, else
    (sum |x|^p)^(1/p)."""
    a = tab[e, T_A]
    idx = reduced_index(tab, rec, a, rec[tab[e, T_IOFS]])
    x = values_like(w, tab, a)
    nout = tab[e, T_SIZE]
    p = fl[tab[e, T_FOFS]]
    if math.isinf(p):
        _write(w, tab, e, _extremes(np.abs(x), idx, nout, 1.0 if p > 0.0 else -1.0))
        return
    acc = np.zeros(nout)
    for i in range(idx.shape[0]):
        v = abs(np.float64(x[i]))
        if p == 0.0:
            v = 1.0 if v != 0.0 else 0.0  # (NaN counts, as numpy's a != 0)
        elif p == 2.0:
            v = v * v
        elif p != 1.0:
            v = v ** p
        acc[idx[i]] += v
    if p == 2.0:
        acc = np.sqrt(acc)
    elif p != 0.0 and p != 1.0:
        acc = acc ** (1.0 / p)
    _write(w, tab, e, acc)


@njit(cache=True, error_model="numpy")
def _scan(e, tab, rec, w, mul):
    """Running sums (or products when `mul`) along the dim in ints[0]."""
    a = tab[e, T_A]
    outer, n, inner = _lines(tab, rec, a, rec[tab[e, T_IOFS]])
    x = values_like(w, tab, a)
    out = values_like(w, tab, e)
    for o in range(outer):
        for i in range(inner):
            acc = 1.0 if mul else 0.0
            for k in range(n):
                p = (o * n + k) * inner + i
                acc = acc * x[p] if mul else acc + x[p]
                out[p] = acc


@njit(cache=True, error_model="numpy")
def fwd_cumsum(e, tab, rec, fl, w, env):
    """cumsum along the dim in ints[0]."""
    _scan(e, tab, rec, w, False)


@njit(cache=True, error_model="numpy")
def fwd_cumprod(e, tab, rec, fl, w, env):
    """cumprod along the dim in ints[0]."""
    _scan(e, tab, rec, w, True)
