"""Adjoint kernels of the shape ops that are not a plain strided view of their input.

(Views whose walk is the output's own shape -- expand, flip, narrow, diagonal, split, unbind --
use `adj_strided` below.) Same uniform signature as every kernel: see `engine/kernels.py`.
"""
import numpy as np
from numba import njit

from ..engine.kernels import (
    T_A,
    T_ADJ,
    T_ICNT,
    T_INS,
    T_IOFS,
    T_NEED,
    T_NIN,
    T_SIZE,
    contiguous_strides,
    slot_shape,
    strided_map,
    walk_scatter_add,
)


@njit(cache=True, error_model="numpy")
def adj_walk(e, tab, rec, fl, adj, live, env):
    """out (flat, C order) reads a at offset + walk(shape, strides), with ints
    ``(offset, *shape, *strides)``; the walk shape may differ from out's shape (repeat walks
    (r0, s0, r1, s1, ...) with zero strides on the repeats): ga[off + map[i]] += g[i]."""
    a = tab[e, T_A]
    if not tab[a, T_NEED]:
        return
    k = tab[e, T_IOFS]
    nd = (tab[e, T_ICNT] - 1) // 2
    go = tab[e, T_ADJ]
    walk_scatter_add(adj, tab[a, T_ADJ] + rec[k], rec[k + 1:k + 1 + nd],
                     rec[k + 1 + nd:k + 1 + 2 * nd], adj[go:go + tab[e, T_SIZE]])
    live[a] = 1


@njit(cache=True, error_model="numpy")
def roll_sources(tab, rec, e):
    """For each flat index of roll entry e's output, the flat index of its input it reads:
    ints ``(*shape, *shifts)`` with shifts in [0, n), out[j] = a[(j - s) mod n] per dim."""
    k = tab[e, T_IOFS]
    nd = tab[e, T_ICNT] // 2
    shape = rec[k:k + nd]
    st = contiguous_strides(shape)
    # walk out in C order keeping the source index per dim, (j - s) mod n, and its position
    first = np.empty(nd, np.int64)
    pos = 0
    for d in range(nd):
        first[d] = (shape[d] - rec[k + nd + d]) % shape[d] if shape[d] else 0
        pos += first[d] * st[d]
    src = first.copy()
    out = np.empty(tab[e, T_SIZE], np.int64)
    for i in range(out.shape[0]):
        out[i] = pos
        d = nd - 1
        while d >= 0:
            src[d] += 1
            pos += st[d]
            if src[d] == shape[d]:
                src[d] = 0
                pos -= st[d] * shape[d]
            if src[d] != first[d]:
                break  # src is back at its first value exactly when out's index wraps: carry
            d -= 1
    return out


@njit(cache=True, error_model="numpy")
def adj_roll(e, tab, rec, fl, adj, live, env):
    """out = a rolled by ``shifts`` (see `roll_sources`): ga[src(i)] += g[i]."""
    a = tab[e, T_A]
    if not tab[a, T_NEED]:
        return
    src = roll_sources(tab, rec, e)
    ga = tab[a, T_ADJ]
    go = tab[e, T_ADJ]
    for i in range(src.shape[0]):
        adj[ga + src[i]] += adj[go + i]
    live[a] = 1


@njit(cache=True, error_model="numpy")
def adj_tri(e, tab, rec, fl, adj, live, env):
    """tril / triu over the last two dims, ints ``(diagonal, upper)``: ga[i] += g[i] where
    kept (col - row <= diagonal for tril, >= for triu)."""
    a = tab[e, T_A]
    if not tab[a, T_NEED]:
        return
    k = tab[e, T_IOFS]
    diag = rec[k]
    upper = rec[k + 1]
    sh = slot_shape(tab, rec, e)
    nd = sh.shape[0]
    rows = sh[nd - 2]
    cols = sh[nd - 1]
    ga = tab[a, T_ADJ]
    go = tab[e, T_ADJ]
    for i in range(tab[e, T_SIZE]):
        c = i % cols
        r = (i // cols) % rows
        if (c - r >= diag) if upper else (c - r <= diag):
            adj[ga + i] += adj[go + i]
    live[a] = 1


@njit(cache=True, error_model="numpy")
def adj_cat(e, tab, rec, fl, adj, live, env):
    """cat / stack: out is the inputs laid side by side along ``dim`` of out's shape; ints
    ``(dim, *extent)`` give each input's extent along it (stack: 1). Each input's adjoint is
    its block of g: outer x (extent * inner) elements at a running offset."""
    k = tab[e, T_IOFS]
    dim = rec[k]
    sh = slot_shape(tab, rec, e)
    outer = 1
    for d in range(dim):
        outer *= sh[d]
    inner = 1
    for d in range(dim + 1, sh.shape[0]):
        inner *= sh[d]
    row = sh[dim] * inner  # one step of the outer dims in out
    go = tab[e, T_ADJ]
    start = 0
    for j in range(tab[e, T_NIN]):
        s = rec[tab[e, T_INS] + j]
        w = rec[k + 1 + j] * inner
        if tab[s, T_NEED]:  # (an empty input too: its gradient is an empty tensor, as torch's)
            ga = tab[s, T_ADJ]
            for o in range(outer):
                src = go + o * row + start
                g, gin = adj[src:src + w], adj[ga + o * w:ga + (o + 1) * w]  # (slices vectorize)
                for t in range(w):
                    gin[t] += g[t]
            live[s] = 1
        start += w


@njit(cache=True, error_model="numpy")
def adj_take(e, tab, rec, fl, adj, live, env):
    """out[k] = a.flat[ints[k]] (advanced indexing, gather, index_select, max/min along a dim):
    ga[ints[k]] += g[k]; repeated indices accumulate."""
    a = tab[e, T_A]
    if not tab[a, T_NEED]:
        return
    k0 = tab[e, T_IOFS]
    size = tab[a, T_SIZE]
    go, ga = tab[e, T_ADJ], tab[a, T_ADJ]
    for k in range(min(tab[e, T_ICNT], tab[e, T_SIZE])):
        p = rec[k0 + k]
        if 0 <= p < size:  # validated in Python; never write outside the adjoint
            adj[ga + p] += adj[go + k]
    live[a] = 1


@njit(cache=True, error_model="numpy")
def transpose_into(src, s0, dst, d0, rows, cols, acc):
    """dst[d0 + j*rows + i] (+)= src[s0 + i*cols + j] for a rows x cols matrix, in cache
    blocks (a 2-D transpose without an index map)."""
    b = 32
    for i0 in range(0, rows, b):
        for j0 in range(0, cols, b):
            for i in range(i0, min(i0 + b, rows)):
                for j in range(j0, min(j0 + b, cols)):
                    if acc:
                        dst[d0 + j * rows + i] += src[s0 + i * cols + j]
                    else:
                        dst[d0 + j * rows + i] = src[s0 + i * cols + j]


@njit(cache=True, error_model="numpy")
def adj_permute(e, tab, rec, fl, adj, live, env):
    """out = a.permute(perm) (perm in ints): ga[map[i]] += g[i]."""
    o = e
    a = tab[e, T_A]
    if not tab[a, T_NEED]:
        return
    k = tab[e, T_IOFS]
    nd = tab[e, T_ICNT]
    if nd == 2 and rec[k] == 1:  # a matrix transpose (t(), linear's weight)
        sh = slot_shape(tab, rec, o)  # (cols, rows) of a's (rows, cols)
        transpose_into(adj, tab[o, T_ADJ], adj, tab[a, T_ADJ], sh[0], sh[1], True)
        live[a] = 1
        return
    ist = contiguous_strides(slot_shape(tab, rec, a))
    pst = np.empty(nd, np.int64)
    for d in range(nd):
        pst[d] = ist[rec[k + d]]
    idx = strided_map(slot_shape(tab, rec, o), pst)
    go = tab[o, T_ADJ]
    ga = tab[a, T_ADJ]
    for i in range(idx.shape[0]):
        adj[ga + idx[i]] += adj[go + i]
    live[a] = 1


@njit(cache=True, error_model="numpy")
def adj_strided(e, tab, rec, fl, adj, live, env):
    """out = a viewed at (offset, strides) in ints (basic indexing): ga[off + map[i]] += g[i]."""
    o = e
    a = tab[e, T_A]
    if not tab[a, T_NEED]:
        return
    k = tab[e, T_IOFS]
    if tab[o, T_SIZE] == 1:  # (an element: unbind of a vector in scalar code) no index map
        adj[tab[a, T_ADJ] + rec[k]] += adj[tab[o, T_ADJ]]
        live[a] = 1
        return
    nd = tab[e, T_ICNT] - 1
    base = tab[a, T_ADJ] + rec[k]
    go = tab[o, T_ADJ]
    if nd == 1 and rec[k + 1] == 1:  # a contiguous run (a batched replay's unbind)
        n = tab[o, T_SIZE]
        ga, g = adj[base:base + n], adj[go:go + n]
        for i in range(n):
            ga[i] += g[i]
        live[a] = 1
        return
    idx = strided_map(slot_shape(tab, rec, o), rec[k + 1:k + 1 + nd])
    for i in range(idx.shape[0]):
        adj[base + idx[i]] += adj[go + i]
    live[a] = 1
