"""Numba forwards of the shape ops and of the in-place machinery (AsStrided, CopySlices, zero_,
fill_, copy_), run when a recorded program is replayed (`engine/replay.py`).

Each computes entry e's value from its inputs' values and reads the record its adjoint in
`_kernels_shape.py` / `_kernels_index.py` reads: where the adjoint scatters, the forward gathers.
Signature ``f(e, tab, rec, fl, w, env)``; `w` only types the values (the entry's dtype): see
`engine.codegen.forward_source_for`. Every slot is a contiguous copy in a replay, so each forward
writes its whole output.
"""
import numpy as np
from numba import njit

from ._kernels_shape import roll_sources, transpose_into
from ..engine.kernels import (
    T_A,
    T_B,
    T_FOFS,
    T_ICNT,
    T_INS,
    T_IOFS,
    T_NIN,
    T_SIZE,
    bindex,
    bmode,
    contiguous_strides,
    slot_shape,
    strided_map,
    values_like,
)


@njit(cache=True, error_model="numpy")
def _gather(e, tab, w, off, idx):
    """out[i] = a[off + idx[i]] (a: e's first input)."""
    va = values_like(w, tab, tab[e, T_A])
    out = values_like(w, tab, e)
    for i in range(idx.shape[0]):
        out[i] = va[off + idx[i]]


@njit(cache=True, error_model="numpy")
def fwd_strided(e, tab, rec, fl, w, env):
    """A view of a at ints ``(offset, *strides)`` walked over out's shape (expand, flip, narrow,
    diagonal, split, unbind, as_strided): out[i] = a[offset + map[i]]."""
    k = tab[e, T_IOFS]
    if tab[e, T_SIZE] == 1:  # (an element: unbind of a vector in scalar code) no index map
        values_like(w, tab, e)[0] = values_like(w, tab, tab[e, T_A])[rec[k]]
        return
    nd = tab[e, T_ICNT] - 1
    if nd == 1 and rec[k + 1] == 1:  # a contiguous run (a batched replay's unbind): a copy
        n = tab[e, T_SIZE]
        values_like(w, tab, e)[:] = values_like(w, tab, tab[e, T_A])[rec[k]:rec[k] + n]
        return
    _gather(e, tab, w, rec[k], strided_map(slot_shape(tab, rec, e), rec[k + 1:k + 1 + nd]))


@njit(cache=True, error_model="numpy")
def fwd_walk(e, tab, rec, fl, w, env):
    """As `fwd_strided` over its own walk shape, ints ``(offset, *shape, *strides)`` (repeat)."""
    k = tab[e, T_IOFS]
    nd = (tab[e, T_ICNT] - 1) // 2
    _gather(e, tab, w, rec[k], strided_map(rec[k + 1:k + 1 + nd], rec[k + 1 + nd:k + 1 + 2 * nd]))


@njit(cache=True, error_model="numpy")
def fwd_permute(e, tab, rec, fl, w, env):
    """out = a.permute(perm), ints ``perm`` (permute, transpose, t)."""
    k = tab[e, T_IOFS]
    nd = tab[e, T_ICNT]
    if nd == 2 and rec[k] == 1:  # a matrix transpose: no index map
        sh = slot_shape(tab, rec, tab[e, T_A])
        transpose_into(values_like(w, tab, tab[e, T_A]), 0, values_like(w, tab, e), 0,
                       sh[0], sh[1], False)
        return
    ist = contiguous_strides(slot_shape(tab, rec, tab[e, T_A]))
    pst = np.empty(nd, np.int64)
    for d in range(nd):
        pst[d] = ist[rec[k + d]]
    _gather(e, tab, w, 0, strided_map(slot_shape(tab, rec, e), pst))


@njit(cache=True, error_model="numpy")
def fwd_roll(e, tab, rec, fl, w, env):
    """out = a rolled over a C-order shape (see `roll_sources`): out[i] = a[src(i)]."""
    _gather(e, tab, w, 0, roll_sources(tab, rec, e))


@njit(cache=True, error_model="numpy")
def fwd_tri(e, tab, rec, fl, w, env):
    """tril / triu over the last two dims, ints ``(diagonal, upper)``: a where kept (col - row
    <= diagonal for tril, >= for triu), else 0."""
    k = tab[e, T_IOFS]
    diag = rec[k]
    upper = rec[k + 1]
    sh = slot_shape(tab, rec, e)
    nd = sh.shape[0]
    rows = sh[nd - 2]
    cols = sh[nd - 1]
    va = values_like(w, tab, tab[e, T_A])
    out = values_like(w, tab, e)
    for i in range(tab[e, T_SIZE]):
        c = i % cols
        r = (i // cols) % rows
        out[i] = va[i] if ((c - r >= diag) if upper else (c - r <= diag)) else 0.0


@njit(cache=True, error_model="numpy")
def fwd_cat(e, tab, rec, fl, w, env):
    """cat / stack: the inputs side by side along ``dim`` of out's shape, ints ``(dim,
    *extent)`` (stack: extents 1); each input is outer x (extent * inner) elements of out at a
    running offset."""
    k = tab[e, T_IOFS]
    dim = rec[k]
    out = values_like(w, tab, e)
    if dim == 0:  # (the inputs one after another: scalar code's stack) no shape walk
        start = 0
        for j in range(tab[e, T_NIN]):
            s = rec[tab[e, T_INS] + j]
            n = tab[s, T_SIZE]
            out[start:start + n] = values_like(w, tab, s)
            start += n
        return
    sh = slot_shape(tab, rec, e)
    outer = 1
    for d in range(dim):
        outer *= sh[d]
    inner = 1
    for d in range(dim + 1, sh.shape[0]):
        inner *= sh[d]
    row = sh[dim] * inner  # one step of the outer dims in out
    start = 0
    for j in range(tab[e, T_NIN]):
        v = values_like(w, tab, rec[tab[e, T_INS] + j])
        n = rec[k + 1 + j] * inner
        for o in range(outer):
            out[o * row + start:o * row + start + n] = v[o * n:(o + 1) * n]
        start += n


@njit(cache=True, error_model="numpy")
def fwd_take(e, tab, rec, fl, w, env):
    """out[k] = a.flat[ints[k]] (as_strided_take: a view of a base not in C order; advanced
    indexing, index_select, gather)."""
    k0 = tab[e, T_IOFS]
    nk = tab[e, T_ICNT]
    va = values_like(w, tab, tab[e, T_A])
    out = values_like(w, tab, e)
    size = va.shape[0]
    for k in range(out.shape[0]):
        p = rec[k0 + k] if k < nk else -1
        out[k] = va[p] if 0 <= p < size else 0.0  # (validated in Python; never read outside)


@njit(cache=True, error_model="numpy")
def _put(e, tab, w, off, pos):
    """out = a with out[off + pos[k]] = b[k] in order (the last write of a position wins)."""
    va = values_like(w, tab, tab[e, T_A])
    vb = values_like(w, tab, tab[e, T_B])
    out = values_like(w, tab, e)
    n = out.shape[0]
    for i in range(n):  # (loops, not array expressions: those cost seconds of compile time)
        out[i] = va[i]
    for k in range(min(pos.shape[0], vb.shape[0])):
        p = off + pos[k]
        if 0 <= p < n:  # (validated in Python; never write outside)
            out[p] = vb[k]


@njit(cache=True, error_model="numpy")
def fwd_copy_slices(e, tab, rec, fl, w, env):
    """CopySlices: the base a with its view at ints ``(offset, *strides)`` (b's shape) replaced
    by b."""
    k = tab[e, T_IOFS]
    nd = tab[e, T_ICNT] - 1
    _put(e, tab, w, rec[k], strided_map(slot_shape(tab, rec, tab[e, T_B]), rec[k + 1:k + 1 + nd]))


@njit(cache=True, error_model="numpy")
def fwd_put(e, tab, rec, fl, w, env):
    """a with the flat positions in ints replaced by b's values (copy_slices_take; index_put,
    b being the value broadcast to the indexed shape)."""
    k = tab[e, T_IOFS]
    _put(e, tab, w, 0, rec[k:k + tab[e, T_ICNT]])


@njit(cache=True, error_model="numpy")
def fwd_copy(e, tab, rec, fl, w, env):
    """b broadcast to out's shape (copy_, fill_ with a 0-d tensor), or, with no b, the record's
    first float (zero_: 0, fill_: its value). The old value a is not read."""
    b = tab[e, T_B]
    out = values_like(w, tab, e)
    n = out.shape[0]
    if b < 0:
        v = fl[tab[e, T_FOFS]]
        for i in range(n):
            out[i] = v
        return
    vb = values_like(w, tab, b)
    mode = bmode(tab, b, e)
    idx = bindex(tab, rec, b, e) if mode == 2 else rec[:0]
    for i in range(n):
        out[i] = vb[i if mode == 0 else (0 if mode == 1 else idx[i])]
