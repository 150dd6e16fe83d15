"""Adjoint kernels of the reductions and scans in `ops/reductions.py` (prod, max/min, amax/amin,
var/std, logsumexp, norm, cumsum, cumprod).

A reduction record carries the reduced dims as a bitmask in ``ints[0]``; `reduced_index` maps each
input element to the output element it was reduced into. A scan record carries its dim in
``ints[0]``. Kernels recompute what they need (group means, zero counts, tie counts) from the
input and output values on the tape instead of storing it at forward time.
"""
import math

import numpy as np
from numba import njit

from ..engine.kernels import (
    T_A,
    T_ADJ,
    T_FOFS,
    T_ICNT,
    T_IOFS,
    T_NDIM,
    T_NEED,
    T_SIZE,
    _values_f64,
    slot_shape,
    strided_map,
)


@njit(cache=True, error_model="numpy")
def _lines(tab, rec, a, dim):
    """(outer, n, inner) of slot `a` around `dim`: element (o, k, i) is at
    (o * n + k) * inner + i."""
    sh = slot_shape(tab, rec, a)
    nd = sh.shape[0]
    if nd == 0:
        return 1, 1, 1
    outer = 1
    for d in range(dim):
        outer *= sh[d]
    inner = 1
    for d in range(dim + 1, nd):
        inner *= sh[d]
    return outer, sh[dim], inner


@njit(cache=True, error_model="numpy")
def adj_prod(e, tab, rec, fl, adj, live, env):
    """prod over the dims in ints[0], as torch: without zeros gx = g * out / x; with one zero the
    product of the elements before times the product of those after (in order, so inf * 0 gives
    nan as torch's); with more zeros 0."""
    a = tab[e, T_A]
    if not tab[a, T_NEED]:
        return
    idx = reduced_index(tab, rec, a, rec[tab[e, T_IOFS]])
    x = _values_f64(tab, a)
    nout = tab[e, T_SIZE]
    prod = np.ones(nout)
    zeros = np.zeros(nout, np.int64)
    for i in range(idx.shape[0]):
        zeros[idx[i]] += x[i] == 0.0
        prod[idx[i]] *= x[i]
    go, ga = tab[e, T_ADJ], tab[a, T_ADJ]
    before = np.ones(nout)
    excl = np.empty(idx.shape[0])
    for i in range(idx.shape[0]):  # exclusive products: before ...
        excl[i] = before[idx[i]]
        before[idx[i]] *= x[i]
    after = np.ones(nout)
    for i in range(idx.shape[0] - 1, -1, -1):  # ... times after
        excl[i] *= after[idx[i]]
        after[idx[i]] *= x[i]
    for i in range(idx.shape[0]):
        r = idx[i]
        if zeros[r] == 0:
            adj[ga + i] += adj[go + r] * (prod[r] / x[i])
        elif zeros[r] == 1:
            adj[ga + i] += adj[go + r] * excl[i]
    live[a] = 1


@njit(cache=True, error_model="numpy")
def adj_extreme(e, tab, rec, fl, adj, live, env):
    """Whole-tensor max / min, as torch's: the gradient is split evenly among the elements equal
    to the result (a NaN result: among the NaNs)."""
    a = tab[e, T_A]
    if not tab[a, T_NEED]:
        return
    x = _values_f64(tab, a)
    o = _values_f64(tab, e)[0]
    count = 0.0
    for i in range(x.shape[0]):
        if x[i] == o or (x[i] != x[i] and o != o):
            count += 1.0
    g = adj[tab[e, T_ADJ]]
    ga = tab[a, T_ADJ]
    for i in range(x.shape[0]):
        if x[i] == o or (x[i] != x[i] and o != o):
            adj[ga + i] += g / count
    live[a] = 1


@njit(cache=True, error_model="numpy")
def adj_amax(e, tab, rec, fl, adj, live, env):
    """amax / amin (and whole-tensor max / min) over the dims in ints[0], as torch: the gradient
    is split evenly among the elements equal to the result; a NaN result equals none of them,
    so every element gets g * 0 / 0 = NaN."""
    a = tab[e, T_A]
    if not tab[a, T_NEED]:
        return
    idx = reduced_index(tab, rec, a, rec[tab[e, T_IOFS]])
    x = _values_f64(tab, a)
    out = _values_f64(tab, e)
    count = np.zeros(tab[e, T_SIZE])
    for i in range(idx.shape[0]):
        if x[i] == out[idx[i]]:
            count[idx[i]] += 1.0
    go, ga = tab[e, T_ADJ], tab[a, T_ADJ]
    for i in range(idx.shape[0]):
        r = idx[i]
        hit = 1.0 if x[i] == out[r] else 0.0
        adj[ga + i] += adj[go + r] * hit / count[r]
    live[a] = 1


@njit(cache=True, error_model="numpy")
def adj_var(e, tab, rec, fl, adj, live, env):
    """var / std over the dims in ints[0] (ints[1]: 1 for std), divisor N - correction in fl:
    d var / dx = 2 (x - mean) / divisor; d std / dx = (x - mean) / (divisor * std), 0 at std 0."""
    a = tab[e, T_A]
    if not tab[a, T_NEED]:
        return
    k = tab[e, T_IOFS]
    is_std = rec[k + 1]
    idx = reduced_index(tab, rec, a, rec[k])
    x = _values_f64(tab, a)
    out = _values_f64(tab, e)
    nout = tab[e, T_SIZE]
    n = idx.shape[0] // nout
    mean = np.zeros(nout)
    for i in range(idx.shape[0]):
        mean[idx[i]] += x[i]
    mean /= n
    div = fl[tab[e, T_FOFS]]
    go, ga = tab[e, T_ADJ], tab[a, T_ADJ]
    for i in range(idx.shape[0]):
        r = idx[i]
        if is_std:
            if out[r] != 0.0:
                adj[ga + i] += adj[go + r] * (x[i] - mean[r]) / (div * out[r])
        else:
            adj[ga + i] += adj[go + r] * 2.0 * (x[i] - mean[r]) / div
    live[a] = 1


@njit(cache=True, error_model="numpy")
def adj_logsumexp(e, tab, rec, fl, adj, live, env):
    """logsumexp over the dims in ints[0]: gx = g * exp(x - out) (softmax weights, no overflow)."""
    a = tab[e, T_A]
    if not tab[a, T_NEED]:
        return
    idx = reduced_index(tab, rec, a, rec[tab[e, T_IOFS]])
    x = _values_f64(tab, a)
    out = _values_f64(tab, e)
    go, ga = tab[e, T_ADJ], tab[a, T_ADJ]
    for i in range(idx.shape[0]):
        r = idx[i]
        adj[ga + i] += adj[go + r] * math.exp(x[i] - out[r])
    live[a] = 1


@njit(cache=True, error_model="numpy")
def adj_norm(e, tab, rec, fl, adj, live, env):
    """Vector p-norm over the dims in ints[0], p in fl, with torch's formulas (and its zeros):
    p=0 -> 0; p=1 -> g sign(x); p=+-inf -> g sign(x) split evenly among the |x| equal to out;
    p=2 -> g (x / out, 0 where out is 0); p<1 -> sign(x) |x|^(p-1) (0 where x is 0) g out^(1-p);
    p<2 -> sign(x) |x|^(p-1) (g / out^(p-1), 0 where out is 0); else x |x|^(p-2) (the same)."""
    a = tab[e, T_A]
    if not tab[a, T_NEED]:
        return
    idx = reduced_index(tab, rec, a, rec[tab[e, T_IOFS]])
    p = fl[tab[e, T_FOFS]]
    x = _values_f64(tab, a)
    out = _values_f64(tab, e)
    go, ga = tab[e, T_ADJ], tab[a, T_ADJ]
    if p == 0.0:
        live[a] = 1
        return
    count = np.zeros(tab[e, T_SIZE])
    if math.isinf(p):
        for i in range(idx.shape[0]):
            if abs(x[i]) == out[idx[i]]:
                count[idx[i]] += 1.0
    for i in range(idx.shape[0]):
        r = idx[i]
        g = adj[go + r]
        xi = x[i]
        s = 1.0 if xi > 0.0 else (-1.0 if xi < 0.0 else 0.0)  # (torch's sgn(nan) is 0)
        if p == 1.0:
            adj[ga + i] += g * s
        elif math.isinf(p):
            if abs(xi) == out[r]:
                adj[ga + i] += g * s / count[r]
        elif p < 1.0:
            adj[ga + i] += s * (0.0 if xi == 0.0 else abs(xi) ** (p - 1.0)) * g * out[r] ** (
                1.0 - p)
        elif p == 2.0:
            adj[ga + i] += g * (0.0 if out[r] == 0.0 else xi / out[r])
        else:
            scale = 0.0 if out[r] == 0.0 else g / out[r] ** (p - 1.0)
            if p < 2.0:
                adj[ga + i] += s * abs(xi) ** (p - 1.0) * scale
            else:
                adj[ga + i] += xi * abs(xi) ** (p - 2.0) * scale
    live[a] = 1


@njit(cache=True, error_model="numpy")
def adj_cumsum(e, tab, rec, fl, adj, live, env):
    """cumsum along ints[0]: gx[k] = sum of g[j] for j >= k along the line (a reversed cumsum)."""
    a = tab[e, T_A]
    if not tab[a, T_NEED]:
        return
    outer, n, inner = _lines(tab, rec, a, rec[tab[e, T_IOFS]])
    go, ga = tab[e, T_ADJ], tab[a, T_ADJ]
    for o in range(outer):
        for i in range(inner):
            acc = 0.0
            for k in range(n - 1, -1, -1):
                p = (o * n + k) * inner + i
                acc += adj[go + p]
                adj[ga + p] += acc
    live[a] = 1


@njit(cache=True, error_model="numpy")
def adj_cumprod(e, tab, rec, fl, adj, live, env):
    """cumprod along ints[0]. Before the first zero z of a line, gx[k] = sum_{j>=k} g[j] out[j]
    / x[k]; at z, gx[z] = sum_{j>=z} g[j] * (product of x[0..j] without x[z]); after z, 0."""
    a = tab[e, T_A]
    if not tab[a, T_NEED]:
        return
    outer, n, inner = _lines(tab, rec, a, rec[tab[e, T_IOFS]])
    x = _values_f64(tab, a)
    out = _values_f64(tab, e)
    go, ga = tab[e, T_ADJ], tab[a, T_ADJ]
    for o in range(outer):
        for i in range(inner):
            base = o * n * inner + i
            z = n
            for k in range(n):
                if x[base + k * inner] == 0.0:
                    z = k
                    break
            if z < n:  # the first zero: the products of the others, running forward
                run = out[base + (z - 1) * inner] if z > 0 else 1.0
                acc = 0.0
                for k in range(z, n):
                    if k > z:
                        run *= x[base + k * inner]
                    acc += adj[go + base + k * inner] * run
                adj[ga + base + z * inner] += acc
            acc = 0.0
            for k in range(z - 1, -1, -1):
                p = base + k * inner
                acc += adj[go + p] * out[p]
                adj[ga + p] += acc / x[p]
    live[a] = 1


@njit(cache=True, error_model="numpy")
def reduced_index(tab, rec, a, mask):
    """For each flat index of slot `a`, the flat index of the output of reducing the dims in
    bitmask `mask` (with or without keepdim: both have the same C order)."""
    ishape = slot_shape(tab, rec, a)
    nd = ishape.shape[0]
    st = np.zeros(nd, np.int64)
    acc = 1
    for d in range(nd - 1, -1, -1):
        if not (mask >> d) & 1:
            st[d] = acc
            acc *= ishape[d]
    return strided_map(ishape, st)


@njit(cache=True, error_model="numpy")
def adj_reduce(e, tab, rec, fl, adj, live, env):
    """sum / mean over the dims in ints (bitmask): gx[i] += g[reduced(i)] * fl[0]."""
    a = tab[e, T_A]
    if not tab[a, T_NEED]:
        return
    mask = rec[tab[e, T_IOFS]]
    scale = fl[tab[e, T_FOFS]]
    go = tab[e, T_ADJ]
    ga = tab[a, T_ADJ]
    outer, n, inner = reduced_block(tab, rec, a, mask)
    if n >= 0:  # the reduced dims are contiguous: no index map (the common case, and fast)
        gout = adj[go:go + outer * inner]
        gin = adj[ga:ga + outer * n * inner]
        for o in range(outer):
            if inner == 1:
                v = gout[o] * scale
                block = gin[o * n:(o + 1) * n]
                for k in range(n):
                    block[k] += v
                continue
            src = gout[o * inner:(o + 1) * inner]
            for k in range(n):
                row = gin[(o * n + k) * inner:(o * n + k + 1) * inner]
                for i in range(inner):
                    row[i] += src[i] * scale
    else:
        idx = reduced_index(tab, rec, a, mask)
        for i in range(idx.shape[0]):
            adj[ga + i] += adj[go + idx[i]] * scale
    live[a] = 1


@njit(cache=True, error_model="numpy")
def reduced_block(tab, rec, a, mask):
    """(outer, n, inner) when the dims of slot `a` in bitmask `mask` are contiguous (the
    reduced elements of output element (o, i) are at (o * n + k) * inner + i); n = -1 when
    they are not."""
    sh = slot_shape(tab, rec, a)
    nd = sh.shape[0]
    first, last = nd, -1
    for d in range(nd):
        if (mask >> d) & 1:
            first = min(first, d)
            last = d
    outer, n, inner = 1, 1, 1
    for d in range(nd):
        if d < first:
            outer *= sh[d]
        elif d > last:
            inner *= sh[d]
        elif (mask >> d) & 1:
            n *= sh[d]
        elif sh[d] != 1:  # a kept dim between reduced ones
            return 0, -1, 0
    return outer, n, inner


@njit(cache=True, error_model="numpy")
def _arg_extreme_adj(e, tab, rec, fl, adj, live, sign):
    """max/min along a dim: ga[argmax] += g. The positions are the record's ints (eager: the
    ones the forward chose), or -- in a replayed program, which drops them because they depend
    on the values -- found again in the input (numpy's choice: the first extreme, the first
    NaN); the dim is the record's float."""
    a = tab[e, T_A]
    if not tab[a, T_NEED]:
        return
    go, ga = tab[e, T_ADJ], tab[a, T_ADJ]
    if tab[e, T_ICNT] > 0:
        k0 = tab[e, T_IOFS]
        for k in range(min(tab[e, T_ICNT], tab[e, T_SIZE])):
            p = rec[k0 + k]
            if 0 <= p < tab[a, T_SIZE]:
                adj[ga + p] += adj[go + k]
        live[a] = 1
        return
    shape = slot_shape(tab, rec, a)
    d = int(fl[tab[e, T_FOFS]])
    outer, n, inner = 1, 1, 1
    for i in range(tab[a, T_NDIM]):
        if i < d:
            outer *= shape[i]
        elif i == d:
            n = shape[i]
        else:
            inner *= shape[i]
    x = _values_f64(tab, a)
    for o in range(outer):
        for j in range(inner):
            base = o * n * inner + j
            best = base
            for c in range(1, n):
                v, b = x[base + c * inner], x[best]
                if b != b:
                    break
                if v != v or sign * v > sign * b:
                    best = base + c * inner
            adj[ga + best] += adj[go + o * inner + j]
    live[a] = 1


@njit(cache=True, error_model="numpy")
def adj_max_dim(e, tab, rec, fl, adj, live, env):
    _arg_extreme_adj(e, tab, rec, fl, adj, live, 1.0)


@njit(cache=True, error_model="numpy")
def adj_min_dim(e, tab, rec, fl, adj, live, env):
    _arg_extreme_adj(e, tab, rec, fl, adj, live, -1.0)
