"""Numba forwards of scatter_add and masked_fill, which a replayed program runs
(`engine/replay.py`) to compute an entry from its inputs' values. Each mirrors the op's adjoint
in `_kernels_index.py` and reads the same record. The other indexing ops replay through the
shared forwards of `_forward_shape.py` (``x[...]`` basic: `fwd_strided`; advanced indexing,
index_select, gather: `fwd_take`; index_put: `fwd_put`).

Signature ``f(e, tab, rec, fl, w, env)``; `w` only types the values (the entry's dtype). Every
slot has its own contiguous memory, and the output is written whole. Positions come from the
record, which Python filled from validated shapes; each is checked anyway, so a kernel never
leaves a buffer.
"""
import numpy as np
from numba import njit

from ..engine.kernels import T_A, T_B, T_FOFS, T_ICNT, T_IOFS, bindex, bmode, values_like


@njit(cache=True, error_model="numpy")
def fwd_scatter_add(e, tab, rec, fl, w, env):
    """out = a with out.flat[dst[j]] += b.flat[src[j]] in order j (ints = dst + src, n each),
    as numpy's ``add.at``."""
    a = tab[e, T_A]
    b = tab[e, T_B]
    k = tab[e, T_IOFS]
    n = tab[e, T_ICNT] // 2
    va = values_like(w, tab, a)
    vb = values_like(w, tab, b)
    out = values_like(w, tab, e)
    out[:] = va
    for j in range(n):
        p = rec[k + j]
        q = rec[k + n + j]
        if 0 <= p < out.shape[0] and 0 <= q < vb.shape[0]:
            out[p] += vb[q]


@njit(cache=True, error_model="numpy")
def fwd_masked_fill(e, tab, rec, fl, w, env):
    """out = a broadcast to out's shape with the filled flat positions (ints) set to the value:
    the 0-d tensor b if it is an input, else the record's float (masked_fill, and
    masked_fill_tensor with a constant value)."""
    a = tab[e, T_A]
    b = tab[e, T_B]
    k = tab[e, T_IOFS]
    va = values_like(w, tab, a)
    out = values_like(w, tab, e)
    n = out.shape[0]
    mode = bmode(tab, a, e)
    ia = bindex(tab, rec, a, e) if mode == 2 else rec[:0]
    for i in range(n):
        out[i] = va[i if mode == 0 else (0 if mode == 1 else ia[i])]
    if n == 0:
        return
    # (stored into out, the float64 value rounds as the eager ``np.asarray(value).astype``)
    v = np.float64(values_like(w, tab, b)[0]) if b >= 0 else fl[tab[e, T_FOFS]]
    for j in range(tab[e, T_ICNT]):
        p = rec[k + j]
        if 0 <= p < n:
            out[p] = v
