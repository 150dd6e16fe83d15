"""Replay of a recorded program: the forward and the reverse sweep at new inputs, in Numba.

A `Program` is made once from a tape recorded while tracing a function (`tapegrad.compile`):

* its records (``rec``) are the tape's, re-emitted in the full layout (the scalar fast path's
  compact records and values kept in the float stream become ordinary records) with every
  value's address replaced by an **offset into a frame**, a per-call buffer; its float stream
  (``fl``) keeps only parameters. So a program holds no address of its own and is immutable:
  threads share it; each call takes a `Frame` (the buffer and the decoded table with the
  frame's addresses), from a pool, and gives it back when its results are no longer needed.
* ``tab0`` is the decoded table (offsets, not addresses), with ``T_NEED`` propagated: an
  entry needs an adjoint only if one of its inputs does, so the sweep skips what leads only
  to constants.
* guards: slots whose values left the tape into Python while tracing (``item()``, ``bool()``,
  comparisons feeding an ``if``); `forward` checks each right after computing its slot and
  stops at the first that does not hold (the recording is then not what the function would
  do at these inputs).

A program keeps only the entries its outputs and guards depend on (dead code is dropped when
it is made). `forward` walks them in order and calls each one's forward kernel by address
(`codegen.forward_table`), as `kernels.sweep` calls the adjoints in reverse; the backward is
that same sweep over the frame, calling the ordinary adjoint kernels. No code is generated per
program.
"""
from __future__ import annotations

import threading

import numpy as np
from numba import njit

from .codegen import forward_table, initialising, kernel_table, replays
from .kernels import (COMPACT, IN_CONST, IN_FL, IN_LEAF, T_ADDR, T_ADJ, T_INS, T_IS32, T_NDIM,
                      T_NEED, T_NIN, T_OP, T_SHP, T_SIZE, call_kernel, decode, kernel_codes,
                      stored_floats, sweep, vals32, vals64, zero_slots)
from .._opdef import BY_CODE


@njit(cache=True, error_model="numpy")
def rebuild(rec, n, fl, drop_ints, keep_s):
    """The program's records and floats from the records of a tape's first `n` slots that
    `keep_s` marks (the others are dead code), renumbered in order: full layout, every value at
    an offset into the frame (8-byte aligned), floats without stored values, no ints for the
    opcodes marked in `drop_ints` (they held values of the recording: argmax positions, which
    the adjoint then finds again). Returns (rec, fl, frame size in bytes, the new number of
    each old slot (-1: dropped))."""
    out = np.empty(rec.shape[0] + 6 * n + 8, np.int64)
    new = np.full(n, -1, np.int64)
    fout = np.empty(fl.shape[0] + 1, np.float64)
    fout[0] = 0.0  # (fl[0] is a placeholder, as on a tape)
    p = 0
    q = 0
    fi = 1
    fo = 1
    off = 0
    ns = 0
    for s in range(n):
        head = rec[p]
        if head >= COMPACT:
            h = head - COMPACT
            op = (h >> 12) & 0xFFFFFF
            nin = (h >> 8) & 15
            ni = (h >> 4) & 15
            nf = h & 15
            ins = p + 1
            iofs = p + 1 + nin
            is32 = (h >> 36) & 1
            nd = 0
            shp = p
            size = 1
            nkeep = nf - 1  # the last float is the value
            p += 1 + nin + ni
        else:
            op = head
            nin = rec[p + 1]
            ins = p + 2
            p += 2 + nin
            addr = rec[p]
            is32 = rec[p + 1]
            nd = rec[p + 2]
            shp = p + 3
            size = 1
            for d in range(nd):
                size *= rec[p + 3 + d]
            r = p + 3 + nd
            ni = rec[r]
            iofs = r + 1
            nf = rec[r + 1 + ni]
            nkeep = nf - stored_floats(size, is32) if addr == IN_FL else nf
            p = r + 2 + ni
        if not keep_s[s]:
            fi += nf
            continue
        new[s] = ns
        ns += 1
        out[q] = op
        out[q + 1] = nin
        q += 2
        for i in range(nin):
            out[q + i] = new[rec[ins + i]]  # (a kept entry's inputs are kept)
        q += nin
        out[q] = off
        out[q + 1] = is32
        out[q + 2] = nd
        for d in range(nd):
            out[q + 3 + d] = rec[shp + d]
        q += 3 + nd
        if op >= 0 and drop_ints[op]:
            ni = 0
        out[q] = ni
        for i in range(ni):
            out[q + 1 + i] = rec[iofs + i]
        q += 1 + ni
        out[q] = nkeep
        q += 1
        for i in range(nkeep):
            fout[fo + i] = fl[fi + i]
        fo += nkeep
        fi += nf
        off += (size * 4 + 7) // 8 * 8 if is32 else size * 8
    return out[:q].copy(), fout[:fo].copy(), off, new


@njit(cache=True, error_model="numpy")
def propagate_need(tab, rec):
    """T_NEED of every entry: whether one of its inputs needs an adjoint (inputs keep theirs)."""
    for e in range(tab.shape[0]):
        if tab[e, T_OP] < 0:
            continue
        need = 0
        for i in range(tab[e, T_NIN]):
            if tab[rec[tab[e, T_INS] + i], T_NEED]:
                need = 1
        tab[e, T_NEED] = need


@njit(cache=True, error_model="numpy")
def needed(tab, rec, roots):
    """1 for the entries some slot in `roots` depends on (itself included): the others are dead
    code, which a replay skips."""
    keep = np.zeros(tab.shape[0], np.uint8)
    for r in roots:
        keep[r] = 1
    for e in range(tab.shape[0] - 1, -1, -1):
        if keep[e]:
            for i in range(tab[e, T_NIN]):
                keep[rec[tab[e, T_INS] + i]] = 1
    return keep


@njit(cache=True, error_model="numpy")
def forward(tab, rec, fl, fwd, env, w64, w32, live, gslot, gkind, goff, gval, start):
    """Compute the entries from `start` on, each through its op's forward kernel (by
    address), and check each guard right after its slot is computed. Returns -1, or the index
    of the first guard that does not hold (the entries after it are not computed)."""
    ns = tab.shape[0]
    g = 0
    while g < gslot.shape[0] and gslot[g] < start:
        g += 1
    for e in range(start, ns):
        op = tab[e, T_OP]
        if op >= 0:
            call_kernel(fwd[2 * op + tab[e, T_IS32]], e, tab.ctypes.data, ns, rec.ctypes.data,
                        rec.shape[0], fl.ctypes.data, fl.shape[0], w64.ctypes.data, 0,
                        w32.ctypes.data, 0, live.ctypes.data, env.ctypes.data)
        while g < gslot.shape[0] and gslot[g] == e:
            if not _holds(tab, e, gkind[g], gval[goff[g]:goff[g + 1]]):
                return g
            g += 1
    return -1


@njit(cache=True, error_model="numpy")
def _holds(tab, s, kind, want):
    """Guard kinds: 0 -- the values are the recorded ones (NaN matches NaN); 1 -- the truth
    value (nonzero) of each is the recorded one."""
    n = tab[s, T_SIZE]
    v32 = vals32(tab[s, T_ADDR], n if tab[s, T_IS32] else 0)
    v64 = vals64(tab[s, T_ADDR], 0 if tab[s, T_IS32] else n)
    for i in range(n):
        v = np.float64(v32[i]) if tab[s, T_IS32] else v64[i]
        w = want[i]
        if kind == 1:
            if (v != 0.0) != (w != 0.0):
                return False
        elif v != w and not (v != v and w != w):
            return False
    return True


class Frame:
    """One call's memory: the value buffer and the table holding its addresses."""

    __slots__ = ("buf", "base", "tab", "adj", "live", "views")

    def __init__(self, prog: "Program"):
        self.buf = np.zeros(max(prog.nbytes // 8, 1), np.float64)
        self.base = self.buf.ctypes.data
        self.tab = prog.tab0.copy()
        self.tab[:, T_ADDR] += self.base
        self.adj = None   # the adjoint buffers and live marks of a backward (made on first use)
        self.live = None
        self.views: dict = {}  # slot -> its values (inputs and outputs, asked at every call)

    def values(self, prog: "Program", s: int) -> np.ndarray:
        """Slot s's values in this frame: a numpy view of its shape and dtype."""
        v = self.views.get(s)
        if v is not None:
            return v
        v = self.views[s] = self._view(prog, s)
        return v

    def _view(self, prog: "Program", s: int) -> np.ndarray:
        start, is32, shape = prog.layout(s)
        if is32:
            n, i = self.tab[s, T_SIZE], start // 4
            return self.buf.view(np.float32)[i:i + n].reshape(shape)
        return self.buf[start // 8:start // 8 + self.tab[s, T_SIZE]].reshape(shape)


class Program:
    """An immutable replayable program (see module docstring), made from the first `n`
    records of a tape.

    `need`: tape slot -> whether that input needs an adjoint (others are constants); `guards`:
    [(tape slot, kind, recorded values)] (kinds: see `_holds`); `outputs`: the tape slots of
    the results (None: every slot is kept). Only the entries the outputs and guards depend on
    are kept, renumbered in order: ``slot[s]`` is the program's number of tape slot s (-1:
    dropped); every other method takes the program's numbers."""

    def __init__(self, rec: np.ndarray, fl: np.ndarray, n: int, need: dict, guards: list = (),
                 outputs=None):
        guards = sorted(guards, key=lambda g: g[0])
        if outputs is None:
            keep = np.ones(n, np.uint8)
        else:  # only what the outputs and the guards depend on is kept
            roots = np.array(list(outputs) + [g[0] for g in guards], np.int64)
            keep = needed(decode(rec, n, 0)[0], rec, roots)
        drop = np.array([op.value_ints for op in BY_CODE], np.uint8)
        self.rec, self.fl, self.nbytes, self.slot = rebuild(rec, n, fl, drop, keep)
        n = self.n = int(keep.sum())
        tab, self.n64, self.n32 = decode(self.rec, n, self.fl.ctypes.data)
        bad = [BY_CODE[c // 2].name for c in kernel_codes(tab).tolist()
               if not replays(BY_CODE[c // 2])]
        if bad:
            raise NotReplayable(sorted(set(bad)))
        on = np.zeros(n, np.uint8)
        for old, yes in need.items():
            if yes and self.slot[old] >= 0:
                on[self.slot[old]] = 1
        for s in np.flatnonzero(tab[:, T_OP] < 0).tolist():
            tab[s, T_NEED] = on[s]
            self.rec[tab[s, T_INS] - 2] = IN_LEAF if on[s] else IN_CONST
        propagate_need(tab, self.rec)
        self.tab0 = tab
        codes = kernel_codes(tab).tolist()
        self.fwd = forward_table(codes)
        self.adj_codes = codes
        self.kernels = None
        self.gslot = np.array([self.slot[g[0]] for g in guards], np.int64)
        self.gkind = np.array([g[1] for g in guards], np.int64)
        sizes = [np.asarray(g[2]).size for g in guards]
        self.goff = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.gval = (np.concatenate([np.asarray(g[2], np.float64).reshape(-1) for g in guards])
                     if guards else np.zeros(0))
        self.live0 = np.zeros(n, np.uint8)  # (also the sweep's pause marks: never pauses)
        self.w64, self.w32 = np.zeros(1), np.zeros(1, np.float32)
        self._free: list = []
        self._lock = threading.Lock()
        self._layouts: dict = {}

    def layout(self, s: int) -> tuple:
        """(byte offset in the frame, is32, shape) of slot s (remembered: inputs and outputs
        are asked at every call)."""
        got = self._layouts.get(s)
        if got is None:
            t = self.tab0
            o = int(t[s, T_SHP])
            got = self._layouts[s] = (int(t[s, T_ADDR]), bool(t[s, T_IS32]),
                                      tuple(self.rec[o:o + t[s, T_NDIM]].tolist()))
        return got

    # -- frames --------------------------------------------------------------------------------
    def acquire(self) -> Frame:
        with self._lock:
            if self._free:
                return self._free.pop()
        return Frame(self)

    def give_back(self, frame: Frame) -> None:
        with self._lock:
            if len(self._free) < 4:
                self._free.append(frame)

    # -- running -------------------------------------------------------------------------------
    def forward(self, frame: Frame, env: np.ndarray, guarded: bool = True) -> int:
        """Compute every entry in `frame` (its inputs written); -1, or the failing guard.
        `guarded` False: no guard is checked."""
        gslot = self.gslot if guarded else self.gslot[:0]
        return int(forward(frame.tab, self.rec, self.fl, self.fwd, env, self.w64, self.w32,
                           self.live0, gslot, self.gkind, self.goff, self.gval, 0))

    def rebase_guards(self, frame: Frame) -> int:
        """Take the values guarded by value (kind 0) from `frame`, a replay at the recording's
        own inputs: a replay then meets its own guards although its last bits may differ from
        the eager run's. Returns the first guard whose replayed value is not the recorded one
        to float tolerance (or whose truth value differs), else -1."""
        for g, s in enumerate(self.gslot.tolist()):
            got = frame.values(self, s).reshape(-1).astype(np.float64)
            want = self.gval[self.goff[g]:self.goff[g + 1]]
            if self.gkind[g] == 1:
                if not np.array_equal(got != 0, want != 0):
                    return g
                continue
            tol = 1e-5 if self.tab0[s, T_IS32] else 1e-12
            if not np.allclose(got, want, rtol=tol, atol=tol, equal_nan=True):
                return g
            want[:] = got
        return -1

    def backward(self, frame: Frame, env: np.ndarray, outer: tuple, seeds: tuple,
                 wanted: tuple) -> None:
        """The reverse sweep of `frame`'s call inside an outer sweep ``outer = (tab, adj,
        live)`` (an eager tape's): the adjoints of the outer slots ``seeds[0]`` seed this
        program's slots ``seeds[1]`` (outputs); after the sweep, the adjoints of the program's
        slots ``wanted[1]`` (inputs) are added to the outer slots ``wanted[0]`` (each pair of
        one size and dtype; int64 arrays)."""
        tab = frame.tab
        if frame.adj is None:  # (zeroed slot by slot as the sweep reaches them: `prepare`)
            frame.adj = (np.empty(self.n64), np.empty(self.n32, np.float32))
            frame.live = np.zeros(self.n, np.uint8)
        else:  # (a second backward through one call: retain_graph)
            frame.live.fill(0)
        adj, live = frame.adj, frame.live
        ready = np.zeros(self.n, np.uint8)
        zero_slots(tab, adj[0], adj[1], ready, seeds[1])
        otab, oadj, olive = outer
        transfer(otab, oadj[0], oadj[1], olive, seeds[0], tab, adj[0], adj[1], live, seeds[1])
        kernels = self.kernels
        if kernels is None:
            kernels = self.kernels = kernel_table(self.adj_codes)  # (loaded ones stay put)
        sweep(tab, self.rec, self.fl, adj[0], adj[1], live, ready, env, kernels,
              initialising(), self.live0, 0, self.n, -1)
        transfer(tab, adj[0], adj[1], live, wanted[1], otab, oadj[0], oadj[1], olive, wanted[0])


@njit(cache=True, error_model="numpy")
def transfer(ta, a64, a32, live_a, slots_a, tb, b64, b32, live_b, slots_b):
    """Add the adjoints of the live slots `slots_a` of one sweep (table, float64 and float32
    buffers, live marks) to those of `slots_b` of another (where that slot needs one; copied
    where that one is not live yet), and mark them live."""
    for k in range(slots_a.shape[0]):
        sa = slots_a[k]
        sb = slots_b[k]
        if not live_a[sa] or not tb[sb, T_NEED]:
            continue
        oa = ta[sa, T_ADJ]
        ob = tb[sb, T_ADJ]
        n = ta[sa, T_SIZE]
        if ta[sa, T_IS32]:  # (slices, not offsets into one buffer: the loops vectorize)
            _add_into(b32[ob:ob + n], a32[oa:oa + n], live_b[sb])
        else:
            _add_into(b64[ob:ob + n], a64[oa:oa + n], live_b[sb])
        live_b[sb] = 1


@njit(cache=True, error_model="numpy")
def _add_into(dst, src, add):
    if add:
        for i in range(dst.shape[0]):
            dst[i] += src[i]
    else:
        for i in range(dst.shape[0]):
            dst[i] = 0.0 + src[i]


class NotReplayable(Exception):
    """A recorded op has no Numba forward: the program cannot be replayed."""

    def __init__(self, names: list):
        super().__init__(", ".join(names))
        self.names = names


def check_forward(tape) -> list:
    """Development check: replay `tape`'s program from its own input values and compare every
    slot with the eager values. Returns [(slot, op name, max abs difference)] of the slots
    that differ by more than float tolerance (empty: the forwards agree)."""
    rec, fl, tab, _ = tape.decode()
    n = tape.n
    prog = Program(rec, fl, n, {s: True for s in range(n) if tab[s, T_OP] == IN_LEAF})
    frame = prog.acquire()
    eager = [_eager_values(tab, s) for s in range(n)]
    for s in range(n):
        if tab[s, T_OP] < 0:
            frame.values(prog, s).reshape(-1)[...] = eager[s]
    from .tape import _ENV
    prog.forward(frame, _ENV)
    bad = []
    for s in range(n):
        if s in tape.dirty:  # (eager memory written in place after it was recorded)
            continue
        got = frame.values(prog, s).reshape(-1).astype(np.float64)
        want = eager[s].astype(np.float64)
        tol = 1e-5 if tab[s, T_IS32] else 1e-10
        ok = np.allclose(got, want, rtol=tol, atol=tol, equal_nan=True)
        if not ok:
            diff = float(np.nanmax(np.abs(got - want))) if got.size else 0.0
            bad.append((s, BY_CODE[tab[s, T_OP]].name if tab[s, T_OP] >= 0 else "input", diff))
    return bad


def _eager_values(tab, s) -> np.ndarray:
    n = int(tab[s, T_SIZE])
    addr = int(tab[s, T_ADDR])
    if n == 0:
        return np.zeros(0, np.float32 if tab[s, T_IS32] else np.float64)
    import ctypes
    ct = ctypes.c_float if tab[s, T_IS32] else ctypes.c_double
    return np.ctypeslib.as_array((ct * n).from_address(addr)).copy()
