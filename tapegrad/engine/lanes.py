"""Batched replay: one recorded `Program` run over many input sets ("lanes") at once.

`tapegrad.func.vmap` records a function at one lane's inputs (as `tapegrad.compile` does) and
replays the program here for all lanes. The walk is entry outer, lanes inner: the cost of
interpreting an entry is paid once per entry and block of lanes, and the lanes of an entry are
one vectorizable loop.

* **Layout.** A slot is *batched* when it depends on a batched input, else *invariant* (one
  copy: parameters, constants, what is computed from them alone). A batched slot of shape `s`
  holds its lanes last, ``(*s, L)`` in C order (a scalar's lanes are contiguous). Adjoints are
  always per lane (a shared parameter's per-sample gradient differs by lane): a batched slot's
  as its values, ``(*s, L)``; an invariant slot's lane after lane, ``(L, *s)``; both at
  ``T_ADJ * L`` in the program's adjoint layout.
* **Entries** run in one of three ways (`plan`): 0 -- invariant: computed once, on the
  program's own records; 1 -- *lanes form*: the op's own kernel, called once, on a record
  rewritten for the lanes (`lanes_records`): batched slots of shape ``(*s, L)``, invariant ones
  ``(*s, 1)`` (they broadcast), the op's ints rewritten by its ``lanes`` rule (`Op.lanes`:
  elementwise ops, reductions, cat/stack need none; strided views scale their strides); 2 --
  any other op (matmul, sort, ...): its kernel called once per lane on the program's records,
  the lane's values gathered into a scratch buffer and the result scattered back. So every op
  that replays also replays batched, with its own kernels; nothing is generated per program.
* **Guards** are checked per lane (`ok`): a lane whose recorded decisions do not hold is only
  marked, the others go on; the caller computes the marked ones again.

A frame (buffers, both tables) is patched while an entry runs, so it belongs to one thread at
a time; blocks of lanes run on separate frames.
"""
from __future__ import annotations

import threading

import numpy as np
from numba import njit

from .kernels import (T_ADDR, T_ADJ, T_ICNT, T_INS, T_IOFS, T_IS32, T_NDIM, T_NEED, T_NIN, T_OP,
                      T_SHP, T_SIZE, call_kernel, decode, mark_ready, prepare, vals32,
                      vals64)
from .replay import _holds
from .._opdef import BY_CODE

NO_LANES, ELEMENTWISE, RULE = 0, 1, 2   # per opcode: how its entries may run in lanes form


def lanes_kinds() -> np.ndarray:
    """Per opcode: NO_LANES, ELEMENTWISE (invariant inputs broadcast) or RULE (a lanes form
    when every input is batched)."""
    return np.array([NO_LANES if op.lanes is None else ELEMENTWISE if op.kind in
                     ("unary", "binary", "forward") else RULE for op in BY_CODE], np.int64)


@njit(cache=True, error_model="numpy")
def plan(tab, rec, batched_in, kinds):
    """From the inputs' batched marks: every slot's, how each entry runs forward and backward
    (see module docstring), and the scratch one lane of the widest per-lane entry needs, in
    float64 and float32 elements."""
    n = tab.shape[0]
    batched = batched_in.copy()
    how_f = np.full(n, -1, np.int64)
    how_b = np.full(n, -1, np.int64)
    scr = np.zeros(2, np.int64)
    for e in range(n):
        op = tab[e, T_OP]
        if op < 0:
            continue
        b = 0
        for i in range(tab[e, T_NIN]):
            if batched[rec[tab[e, T_INS] + i]]:
                b = 1
        batched[e] = b
        if not b:
            how_f[e] = 0
            how_b[e] = 2  # (its adjoint is per lane)
            continue
        lanes_f = kinds[op] != NO_LANES
        lanes_b = lanes_f
        for i in range(tab[e, T_NIN]):
            a = rec[tab[e, T_INS] + i]
            if not batched[a]:
                if kinds[op] != ELEMENTWISE:
                    lanes_f = False
                if tab[a, T_NEED]:
                    lanes_b = False  # (the op would sum the lanes' adjoints into one)
        how_f[e] = 1 if lanes_f else 2
        how_b[e] = 1 if (lanes_f and lanes_b) else 2
        if how_b[e] == 2 or how_f[e] == 2:
            need = np.zeros(2, np.int64)
            need[tab[e, T_IS32]] += tab[e, T_SIZE] + 1
            for i in range(tab[e, T_NIN]):
                a = rec[tab[e, T_INS] + i]
                need[tab[a, T_IS32]] += tab[a, T_SIZE] + 1
            for d in range(2):
                scr[d] = max(scr[d], need[d])
    return batched, how_f, how_b, scr


@njit(cache=True, error_model="numpy")
def lanes_records(rec, tab, batched, L, ints, istart, iend):
    """The program's records for lanes form: each slot's shape gains a last dim (L when it is
    batched, else 1); entry e's ints become ``ints[istart[e]:iend[e]]`` where istart[e] >= 0."""
    n = tab.shape[0]
    total = rec.shape[0] + n + ints.shape[0]
    out = np.empty(total, np.int64)
    q = 0
    for s in range(n):
        p = tab[s, T_INS] - 2
        nin = rec[p + 1]
        for i in range(2 + nin + 2):  # op, nin, inputs, addr, is32
            out[q + i] = rec[p + i]
        q += 4 + nin
        nd = tab[s, T_NDIM]
        out[q] = nd + 1
        for d in range(nd):
            out[q + 1 + d] = rec[tab[s, T_SHP] + d]
        out[q + 1 + nd] = L if batched[s] else 1
        q += 2 + nd
        r = tab[s, T_SHP] + nd
        ni = rec[r]
        if istart[s] >= 0:
            k = iend[s] - istart[s]
            out[q] = k
            for i in range(k):
                out[q + 1 + i] = ints[istart[s] + i]
            q += 1 + k
        else:
            for i in range(ni + 1):
                out[q + i] = rec[r + i]
            q += 1 + ni
        out[q] = rec[r + 1 + ni]  # nfloats
        q += 1
    return out[:q].copy()


@njit(cache=True, inline="always", error_model="numpy")
def _gather(addr, is32, n, L, lane, dst_addr):
    if is32:
        src, dst = vals32(addr, n * L), vals32(dst_addr, n)
        for i in range(n):
            dst[i] = src[i * L + lane]
    else:
        src, dst = vals64(addr, n * L), vals64(dst_addr, n)
        for i in range(n):
            dst[i] = src[i * L + lane]


@njit(cache=True, inline="always", error_model="numpy")
def _scatter(src_addr, is32, n, L, lane, addr):
    if is32:
        src, dst = vals32(src_addr, n), vals32(addr, n * L)
        for i in range(n):
            dst[i * L + lane] = src[i]
    else:
        src, dst = vals64(src_addr, n), vals64(addr, n * L)
        for i in range(n):
            dst[i * L + lane] = src[i]


@njit(cache=True, error_model="numpy")
def _lane_values(tab, rec, e, lane, L, batched, vaddr, size, scratch, with_out):
    """Point entry e's rows (of the program's table) at lane `lane`'s values: invariant slots
    at theirs, batched ones gathered into `scratch` (an address); the output's gathered too
    when `with_out` (a backward reads it), else only given its place."""
    p = scratch
    for i in range(tab[e, T_NIN]):
        a = rec[tab[e, T_INS] + i]
        if batched[a]:
            tab[a, T_ADDR] = p
            _gather(vaddr[a], tab[a, T_IS32], size[a], L, lane, p)
            p += (size[a] + 1) * 8
        else:
            tab[a, T_ADDR] = vaddr[a]
    if not batched[e]:
        tab[e, T_ADDR] = vaddr[e]
        return
    tab[e, T_ADDR] = p
    if with_out:
        _gather(vaddr[e], tab[e, T_IS32], size[e], L, lane, p)


@njit(cache=True, nogil=True, error_model="numpy")
def forward(tab, tabl, rec, recl, fl, fwd, env, w64, w32, live, L, how, batched, vaddr, size,
            scratch, gslot, gkind, goff, gval, ok):
    """Compute every entry for the frame's L lanes; lanes where a guard does not hold get
    ``ok[lane] = 0`` (their values are then meaningless)."""
    ns = tab.shape[0]
    g = 0
    for e in range(ns):
        op = tab[e, T_OP]
        if op >= 0:
            k = fwd[2 * op + tab[e, T_IS32]]
            h = how[e]
            if h == 1:
                call_kernel(k, e, tabl.ctypes.data, ns, recl.ctypes.data, recl.shape[0],
                            fl.ctypes.data, fl.shape[0], w64.ctypes.data, 0, w32.ctypes.data, 0,
                            live.ctypes.data, env.ctypes.data)
            elif h == 0:
                call_kernel(k, e, tab.ctypes.data, ns, rec.ctypes.data, rec.shape[0],
                            fl.ctypes.data, fl.shape[0], w64.ctypes.data, 0, w32.ctypes.data, 0,
                            live.ctypes.data, env.ctypes.data)
            else:
                for lane in range(L):
                    _lane_values(tab, rec, e, lane, L, batched, vaddr, size, scratch, False)
                    call_kernel(k, e, tab.ctypes.data, ns, rec.ctypes.data, rec.shape[0],
                                fl.ctypes.data, fl.shape[0], w64.ctypes.data, 0,
                                w32.ctypes.data, 0, live.ctypes.data, env.ctypes.data)
                    _scatter(tab[e, T_ADDR], tab[e, T_IS32], size[e], L, lane, vaddr[e])
        while g < gslot.shape[0] and gslot[g] == e:
            want = gval[goff[g]:goff[g + 1]]
            if not batched[e]:
                tab[e, T_ADDR] = vaddr[e]
                if not _holds(tab, e, gkind[g], want):
                    ok[:] = 0
            else:
                for lane in range(L):
                    tab[e, T_ADDR] = scratch
                    _gather(vaddr[e], tab[e, T_IS32], size[e], L, lane, scratch)
                    if not _holds(tab, e, gkind[g], want):
                        ok[lane] = 0
            g += 1


@njit(cache=True, nogil=True, error_model="numpy")
def sweep(tab, tabl, rec, recl, fl, adj, adj32, live, ready, env, kernels, inits, L, how,
          batched, vaddr, size, adj0, scratch, sadj):
    """The reverse sweep of every lane (the outputs' adjoints seeded, marked live and ready).
    ``sadj[d]``: where the scratch adjoints start in the buffer of dtype d (float32: 1). The
    adjoint buffers start uninitialised: a slot's lanes are zeroed right before its first
    writer, as the eager sweep's (`kernels.prepare`; `inits` as there)."""
    ns = tab.shape[0]
    for e in range(ns - 1, -1, -1):
        op = tab[e, T_OP]
        if op < 0 or not live[e]:
            continue
        k = kernels[2 * op + tab[e, T_IS32]]
        if k == 0:
            continue
        if how[e] == 1:  # (every input it writes is batched: tabl's sizes span the lanes)
            if inits[op]:
                mark_ready(tab, rec, ready, e)
            else:
                prepare(tabl, recl, adj, adj32, ready, e)
            call_kernel(k, e, tabl.ctypes.data, ns, recl.ctypes.data, recl.shape[0],
                        fl.ctypes.data, fl.shape[0], adj.ctypes.data, adj.shape[0],
                        adj32.ctypes.data, adj32.shape[0], live.ctypes.data, env.ctypes.data)
            continue
        _zero_inputs(tab, rec, e, L, size, adj0, adj, adj32, ready)
        for lane in range(L):
            _lane_values(tab, rec, e, lane, L, batched, vaddr, size, scratch, True)
            _lane_adjoints(tab, rec, e, lane, L, batched, size, adj0, adj, adj32, sadj, True)
            call_kernel(k, e, tab.ctypes.data, ns, rec.ctypes.data, rec.shape[0],
                        fl.ctypes.data, fl.shape[0], adj.ctypes.data, adj.shape[0],
                        adj32.ctypes.data, adj32.shape[0], live.ctypes.data, env.ctypes.data)
            _lane_adjoints(tab, rec, e, lane, L, batched, size, adj0, adj, adj32, sadj, False)


@njit(cache=True, error_model="numpy")
def _zero_inputs(tab, rec, e, L, size, adj0, adj, adj32, ready):
    """`kernels.prepare` for an entry run lane by lane: its inputs' adjoints, all lanes."""
    for i in range(tab[e, T_NIN]):
        a = rec[tab[e, T_INS] + i]
        if tab[a, T_NEED] and not ready[a]:
            ready[a] = 1
            o, n = adj0[a], size[a] * L
            if tab[a, T_IS32]:
                adj32[o:o + n] = 0.0
            else:
                adj[o:o + n] = 0.0


@njit(cache=True, error_model="numpy")
def _lane_adjoints(tab, rec, e, lane, L, batched, size, adj0, adj, adj32, sadj, before):
    """Before a lane's call (`before`): point e's and its inputs' adjoint rows at that lane
    (an invariant slot's lane block; a batched slot's lane gathered into scratch: the output's
    adjoints, zeros for the inputs'). After it: add the inputs' scratch into their lanes."""
    p64 = sadj[0]
    p32 = sadj[1]
    for j in range(-1, tab[e, T_NIN]):
        a = e if j < 0 else rec[tab[e, T_INS] + j]
        d = tab[a, T_IS32]
        n = size[a]
        if j >= 0:
            first = True
            for i in range(j):
                if rec[tab[e, T_INS] + i] == a:
                    first = False  # (x * x: one row, one scratch)
            if not first:
                continue
        if not batched[a]:
            if before:
                tab[a, T_ADJ] = adj0[a] + lane * n
            continue
        if d:
            o = p32
            p32 += n
        else:
            o = p64
            p64 += n
        if before:
            tab[a, T_ADJ] = o
            for i in range(n):
                if d:
                    adj32[o + i] = adj32[adj0[a] + i * L + lane] if j < 0 else 0.0
                else:
                    adj[o + i] = adj[adj0[a] + i * L + lane] if j < 0 else 0.0
        elif j >= 0 and tab[a, T_NEED]:
            for i in range(n):
                if d:
                    adj32[adj0[a] + i * L + lane] += adj32[o + i]
                else:
                    adj[adj0[a] + i * L + lane] += adj[o + i]


def _last_to_first(v: np.ndarray) -> np.ndarray:
    """np.moveaxis(v, -1, 0), without its argument checks (a few µs a call, several calls a
    block)."""
    n = v.ndim
    return v.transpose((n - 1,) + tuple(range(n - 1)))


def _first_to_last(v: np.ndarray) -> np.ndarray:
    """np.moveaxis(v, 0, -1), as `_last_to_first`."""
    return v.transpose(tuple(range(1, v.ndim)) + (0,))


class LaneFrame:
    """The buffers of one block of `L` lanes (see module docstring)."""

    __slots__ = ("L", "buf", "vaddr", "home", "off", "tab", "tabl", "recl", "adj", "live", "ready",
                 "ok", "scratch", "sadj", "adj0", "read_in_place")

    def __init__(self, p: "LanePlan", L: int):
        self.L = L
        prog = p.prog
        lanes = np.where(p.batched == 1, L, 1)
        nbytes = (p.bytes * lanes + 7) // 8 * 8
        self.off = np.concatenate([[0], np.cumsum(nbytes)[:-1]]).astype(np.int64)
        self.buf = np.zeros(max(int(nbytes.sum()) // 8, 1), np.float64)
        self.vaddr = self.buf.ctypes.data + self.off
        self.home = self.vaddr.copy()
        self.read_in_place: dict = {}   # invariant input slot -> the array it reads
        self.scratch = np.zeros(int(p.scr.sum()) + 2 * prog.n + 8, np.float64)
        self.tab = prog.tab0.copy()
        self.tab[:, T_ADDR] = self.vaddr
        self.adj0 = prog.tab0[:, T_ADJ] * L
        self.recl = lanes_records(prog.rec, prog.tab0, p.batched, L, *p.lane_ints(L))
        tabl = decode(self.recl, prog.n, prog.fl.ctypes.data)[0]
        tabl[:, T_ADDR] = self.vaddr
        tabl[:, T_ADJ] = self.adj0
        tabl[:, T_NEED] = prog.tab0[:, T_NEED] * p.batched
        self.tabl = tabl
        self.sadj = np.array([prog.n64 * L, prog.n32 * L], np.int64)
        self.adj = (np.empty(prog.n64 * L + p.scr[0] + 1),    # (zeroed by the sweep: `sweep`)
                    np.empty(prog.n32 * L + p.scr[1] + 1, np.float32))
        self.live = np.zeros(prog.n, np.uint8)
        self.ready = np.zeros(prog.n, np.uint8)
        self.ok = np.ones(L, np.uint8)

    def _raw(self, p: "LanePlan", s: int, adjoint: bool) -> np.ndarray:
        _, is32, shape = p.prog.layout(s)
        n = int(p.size[s]) * (self.L if (adjoint or p.batched[s]) else 1)
        if adjoint:
            buf = self.adj[1] if is32 else self.adj[0]
            start = int(self.adj0[s])
        else:
            buf = self.buf.view(np.float32) if is32 else self.buf
            start = int(self.off[s]) // (4 if is32 else 8)
        return buf[start:start + n]

    def values(self, p: "LanePlan", s: int) -> np.ndarray:
        """Slot s's values: ``(*shape, L)`` when batched (a view to write lanes into with
        `put`), else ``shape``."""
        shape = p.prog.layout(s)[2]
        v = self.read_in_place.get(s)
        if v is not None:
            return v.reshape(shape)
        return self._raw(p, s, False).reshape(shape + ((self.L,) if p.batched[s] else ()))

    def _point(self, s: int, addr: int) -> None:
        self.vaddr[s] = self.tab[s, T_ADDR] = self.tabl[s, T_ADDR] = addr

    def put(self, p: "LanePlan", s: int, v: np.ndarray) -> None:
        """Write slot s's values: `v` is ``(L, *shape)`` for a batched slot, else ``shape``.
        A large invariant input of the slot's dtype is read in place, not copied (a shared
        weight would otherwise be copied into every block of lanes)."""
        if not p.batched[s]:
            is32 = p.prog.layout(s)[1]
            if (v.size >= 4096 and v.dtype == (np.float32 if is32 else np.float64)
                    and v.flags.c_contiguous and v.size == p.size[s]):
                self.read_in_place[s] = v
                self._point(s, v.ctypes.data)
                return
            if self.read_in_place.pop(s, None) is not None:
                self._point(s, self.home[s])
        dst = self.values(p, s)
        if p.batched[s]:
            v = _first_to_last(v.reshape((self.L,) + dst.shape[:-1]))
        np.copyto(dst, v.reshape(dst.shape), casting="unsafe")

    def lanes(self, p: "LanePlan", s: int) -> np.ndarray:
        """Slot s's values per lane, ``(L, *shape)`` (an invariant slot's broadcast)."""
        v = self.values(p, s)
        if p.batched[s]:
            return _last_to_first(v)
        return np.broadcast_to(v, (self.L,) + v.shape)

    def adjoint(self, p: "LanePlan", s: int) -> np.ndarray:
        """Slot s's adjoints per lane, ``(L, *shape)``."""
        shape = p.prog.layout(s)[2]
        raw = self._raw(p, s, True)
        if p.batched[s]:
            return _last_to_first(raw.reshape(shape + (self.L,)))
        return raw.reshape((self.L,) + shape)


class LanePlan:
    """A program with a choice of batched inputs: how each entry runs, and a pool of frames
    by block size."""

    def __init__(self, prog, batched_in: np.ndarray):
        self.prog = prog
        tab = prog.tab0
        self.size = tab[:, T_SIZE].copy()
        self.bytes = self.size * np.where(tab[:, T_IS32] == 1, 4, 8)
        self.batched, self.how_f, self.how_b, self.scr = plan(
            tab, prog.rec, batched_in.astype(np.uint8), lanes_kinds())
        # (values of batched slots and every slot's adjoints: what one more lane costs)
        self.lane_bytes = int(self.bytes[self.batched == 1].sum() + self.bytes.sum())
        self._rules = [(e, BY_CODE[tab[e, T_OP]].lanes) for e in
                       np.flatnonzero(self.how_f == 1).tolist()
                       if callable(BY_CODE[tab[e, T_OP]].lanes)]
        self._free: dict = {}
        self._lock = threading.Lock()

    def lane_ints(self, L: int) -> tuple:
        """(ints, start, end) of the entries whose lanes form rewrites their ints."""
        n = self.prog.n
        start = np.full(n, -1, np.int64)
        end = np.full(n, -1, np.int64)
        parts, at = [], 0
        rec, tab = self.prog.rec, self.prog.tab0
        for e, rule in self._rules:
            k = tab[e, T_IOFS]
            nd = int(tab[rec[tab[e, T_INS]], T_NDIM])
            new = np.asarray(rule(rec[k:k + tab[e, T_ICNT]].tolist(), L, nd), np.int64)
            start[e], end[e] = at, at + new.size
            parts.append(new)
            at += new.size
        ints = np.concatenate(parts) if parts else np.zeros(0, np.int64)
        return ints, start, end

    def acquire(self, L: int) -> LaneFrame:
        with self._lock:
            stack = self._free.get(L)
            if stack:
                return stack.pop()
        return LaneFrame(self, L)

    def give_back(self, frame: LaneFrame) -> None:
        with self._lock:
            stack = self._free.setdefault(frame.L, [])
            if len(stack) < 4:
                stack.append(frame)

    def forward(self, f: LaneFrame, env: np.ndarray) -> np.ndarray:
        """Run the forward for the frame's lanes (inputs written); the lanes' guard marks."""
        p = self.prog
        f.ok[:] = 1
        forward(f.tab, f.tabl, p.rec, f.recl, p.fl, p.fwd, env, p.w64, p.w32, p.live0, f.L,
                self.how_f, self.batched, f.vaddr, self.size, f.scratch.ctypes.data, p.gslot,
                p.gkind, p.goff, p.gval, f.ok)
        return f.ok

    def backward(self, f: LaneFrame, env: np.ndarray, seeds: list) -> None:
        """The reverse sweep of every lane; `seeds`: [(slot, adjoints (L, *shape) or a
        number)]."""
        from .codegen import initialising, kernel_table
        p = self.prog
        f.live.fill(0)
        f.ready.fill(0)
        for s, g in seeds:
            f.adjoint(self, s)[...] = g
            f.live[s] = f.ready[s] = 1
        if p.kernels is None:
            p.kernels = kernel_table(p.adj_codes)
        sweep(f.tab, f.tabl, p.rec, f.recl, p.fl, f.adj[0], f.adj[1], f.live, f.ready, env,
              p.kernels, initialising(), f.L, self.how_b, self.batched, f.vaddr, self.size, f.adj0,
              f.scratch.ctypes.data, f.sadj)


__all__ = ["LanePlan", "LaneFrame", "plan", "lanes_records", "lanes_kinds"]
