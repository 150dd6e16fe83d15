"""Adjoint memory shared by liveness: large slots whose adjoints are never live at once share
one region of the adjoint buffer.

A reverse sweep needs slot s's adjoint from the first entry that writes it (its last consumer
in recording order, or the seeding for a root) until entry s itself has read it. `decode` lays
every slot out end to end, so a chain of n elementwise ops over N elements takes n*N of
adjoint memory where two regions of N suffice; at 10^7 float32 elements that is the difference
between a buffer kept from one backward to the next and one faulted in afresh every time (and
between data in cache and out of it). `share_adjoints` rewrites ``tab[:, T_ADJ]`` so that a
slot of at least `min_size` elements takes over the region of a slot of the same size and
dtype whose adjoint is dead. Regions start uninitialised either way: the sweep zeroes a slot's
adjoint right before its first writer (`kernels.prepare`).

Only for sweeps whose callers read nothing but the input slots and the slots in `keep` after
the sweep, and with no Python op on the tape (a custom Function's extra outputs are read at
its entry, not at their own).
"""
import numpy as np
from numba import njit

from .kernels import T_ADJ, T_INS, T_IS32, T_NIN, T_OP, T_SIZE


@njit(cache=True, error_model="numpy")
def share_adjoints(tab, rec, roots, keep, min_size):
    """Rewrite the adjoint offsets of `tab` (from `kernels.decode`) so that slots of at least
    `min_size` elements reuse dead slots' regions; `roots` are seeded before the sweep, `keep`
    (a mask per slot) are read after it (input slots always are). Returns the new sizes of the
    float64 and float32 buffers (never more than before)."""
    n = tab.shape[0]
    off = np.full(n, -1, np.int64)
    top = np.zeros(2, np.int64)
    big = np.zeros(n, np.bool_)
    keys = np.empty(n, np.int64)
    nb = 0
    for s in range(n):
        size = tab[s, T_SIZE]
        d = tab[s, T_IS32]
        if size >= min_size:
            big[s] = True
            keys[nb] = 2 * size + d
            nb += 1
        else:  # small slots: end to end, as decode laid them out
            off[s] = top[d]
            top[d] += size
    classes = np.unique(keys[:nb])
    cls = np.searchsorted(classes, 2 * tab[:, T_SIZE] + tab[:, T_IS32])
    head = np.full(classes.shape[0], -1, np.int64)  # per class: a dead slot whose region is free
    nxt = np.full(n, -1, np.int64)                   # (the rest of that class's free list)
    for s in roots:
        _take(tab, s, big, off, top, cls, head, nxt)
    for e in range(n - 1, -1, -1):
        if tab[e, T_OP] < 0:
            continue
        ins = tab[e, T_INS]
        for i in range(tab[e, T_NIN]):
            _take(tab, rec[ins + i], big, off, top, cls, head, nxt)
        if big[e] and off[e] >= 0 and not keep[e]:  # entry e has read its adjoint: dead
            nxt[e] = head[cls[e]]
            head[cls[e]] = e
    for s in range(n):  # (slots no entry writes: a region all the same)
        _take(tab, s, big, off, top, cls, head, nxt)
    for s in range(n):
        tab[s, T_ADJ] = off[s]
    return top[0], top[1]


@njit(cache=True, inline="always", error_model="numpy")
def _take(tab, s, big, off, top, cls, head, nxt):
    """Give slot s (if it has none yet) a dead slot's region of its class, or a new one."""
    if off[s] >= 0:
        return
    h = head[cls[s]]
    if h >= 0:
        off[s] = off[h]
        head[cls[s]] = nxt[h]
    else:
        d = tab[s, T_IS32]
        off[s] = top[d]
        top[d] += tab[s, T_SIZE]
