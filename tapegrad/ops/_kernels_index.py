"""Adjoint kernels of the indexing ops (advanced indexing, gather, scatter_add, masked_fill).

Every index a kernel reads comes from the record's ints, which the front-ends in
`ops/indexing.py` computed and bounds-checked in Python: flat (C-order) positions in the input.
"""
import numpy as np
from numba import njit

from ..engine.kernels import (T_A, T_ADJ, T_B, T_ICNT, T_IOFS, T_NEED, T_SIZE, bindex, bmode,
                       slot_shape, strided_map)


@njit(cache=True, error_model="numpy")
def adj_scatter_add(e, tab, rec, fl, adj, live, env):
    """out = a with out.flat[dst[j]] += b.flat[src[j]] (ints = dst + src, n each):
    ga += g; gb[src[j]] += g[dst[j]]."""
    a = tab[e, T_A]
    b = tab[e, T_B]
    k = tab[e, T_IOFS]
    n = tab[e, T_ICNT] // 2
    go = tab[e, T_ADJ]
    if tab[a, T_NEED]:
        ga = tab[a, T_ADJ]
        for i in range(tab[e, T_SIZE]):
            adj[ga + i] += adj[go + i]
        live[a] = 1
    if tab[b, T_NEED]:
        gb = tab[b, T_ADJ]
        for j in range(n):
            adj[gb + rec[k + n + j]] += adj[go + rec[k + j]]
        live[b] = 1


@njit(cache=True, error_model="numpy")
def adj_masked_fill(e, tab, rec, fl, adj, live, env):
    """out = where(mask, value, a) broadcast; ints = the filled flat positions of out.
    ga gets g where not filled (un-broadcast); a 0-d tensor value b gets the sum of g where filled."""
    a = tab[e, T_A]
    b = tab[e, T_B]
    k = tab[e, T_IOFS]
    nf = tab[e, T_ICNT]
    n = tab[e, T_SIZE]
    go = tab[e, T_ADJ]
    if tab[a, T_NEED]:
        filled = np.zeros(n, np.uint8)
        for j in range(nf):
            filled[rec[k + j]] = 1
        ga = tab[a, T_ADJ]
        same = tab[a, T_SIZE] == n
        ia = rec[:0] if same else bindex(tab, rec, a, e)
        for i in range(n):
            if not filled[i]:
                adj[ga + (i if same else ia[i])] += adj[go + i]
        live[a] = 1
    if b >= 0 and tab[b, T_NEED]:
        s = 0.0
        for j in range(nf):
            s += adj[go + rec[k + j]]
        adj[tab[b, T_ADJ]] += s
        live[b] = 1


@njit(cache=True, error_model="numpy")
def adj_index_put(e, tab, rec, fl, adj, live, env):
    """out = a with out.flat[ints[k]] = b.flat[k] (``x[idx] = v`` on a recorded x; b is v already
    broadcast to the indexed shape). With repeated positions every k of a position gets its
    gradient (torch's: ``grad.index(indices)``), though one write wins; positions written get
    none for a."""
    k0 = tab[e, T_IOFS]
    _put_adjoints(e, tab, adj, live, rec[k0:k0 + tab[e, T_ICNT]])


@njit(cache=True, error_model="numpy")
def _put_adjoints(e, tab, adj, live, pos):
    """Adjoints of out = a with out.flat[pos[k]] = b.flat[k]: gb[k] += g[pos[k]] (for every k,
    repeated positions too, as torch), ga += g where nothing was written."""
    a = tab[e, T_A]
    b = tab[e, T_B]
    n = tab[e, T_SIZE]
    go = tab[e, T_ADJ]
    written = np.zeros(n, np.bool_)
    for k in range(pos.shape[0]):
        p = pos[k]
        if 0 <= p < n:  # validated in Python; never leave the buffers
            written[p] = True
            if tab[b, T_NEED]:
                adj[tab[b, T_ADJ] + k] += adj[go + p]
    if tab[b, T_NEED]:
        live[b] = 1
    if tab[a, T_NEED]:
        ga = tab[a, T_ADJ]
        for i in range(n):
            if not written[i]:
                adj[ga + i] += adj[go + i]
        live[a] = 1


@njit(cache=True, error_model="numpy")
def adj_copy(e, tab, rec, fl, adj, live, env):
    """out = b broadcast to out's shape (copy_, fill_ with a tensor), or a constant (zero_,
    fill_; no b): the old value a gets a zero gradient (it is reached, as in torch), gb the sum
    of g over the broadcast dims."""
    a = tab[e, T_A]
    b = tab[e, T_B]
    if tab[a, T_NEED]:
        live[a] = 1
    if b < 0 or not tab[b, T_NEED]:
        return
    go, gb, n = tab[e, T_ADJ], tab[b, T_ADJ], tab[e, T_SIZE]
    mode = bmode(tab, b, e)
    if mode == 0:
        for i in range(n):
            adj[gb + i] += adj[go + i]
    elif mode == 1:
        acc = 0.0
        for i in range(n):
            acc += adj[go + i]
        adj[gb] += acc
    else:
        idx = bindex(tab, rec, b, e)
        for i in range(n):
            adj[gb + idx[i]] += adj[go + i]
    live[b] = 1


@njit(cache=True, error_model="numpy")
def adj_copy_slices(e, tab, rec, fl, adj, live, env):
    """out = a with the view at (offset, strides) in ints replaced by b (an in-place op on a view
    of a): gb[k] += g[offset + map[k]]; ga += g outside the view."""
    k = tab[e, T_IOFS]
    nd = tab[e, T_ICNT] - 1
    _put_adjoints(e, tab, adj, live,
                  rec[k] + strided_map(slot_shape(tab, rec, tab[e, T_B]), rec[k + 1:k + 1 + nd]))
