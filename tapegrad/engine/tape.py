"""The flat Wengert tape: value arena, records; merging; the backward driver.

One `Tape` per connected computation. An op whose inputs carry no tape starts a new one; an op
whose inputs live on two tapes merges the smaller into the larger. A tape is referenced only by
the non-leaf tensors recorded on it, so it is freed (with its arena) by reference counting as soon
as the last of them goes, and explicitly after a backward without ``retain_graph``. This is what
keeps memory bounded: an unrelated live graph pins only its own tape.

Each value gets one variable-length record (layout in `kernels`), appended to a Python list with
one `extend` (the cheapest append from Python) and converted to int64 in batches of ~1k records
(`np.fromiter`); at backward the batches are joined and `engine.kernels.decode` turns them into a
fixed-width table. See docs/architecture.md.
"""
from __future__ import annotations

import itertools
import sys
import threading
import weakref
from typing import Optional

import numba
import numpy as np

from .. import _quiet
from .blas import DGEMM, SGEMM
from .._grad_mode import STATE
from .kernels import (IN_CONST, IN_LEAF, T_ADJ, T_INS, T_IS32, T_NDIM, T_NEED, T_NIN, T_OP,
                       T_SHP, T_SIZE, consumers, decode, kernel_codes, prepare, read_values,
                       run_slice, shift_inputs, sliceable, sweep, zero_slots)
from .threads import executor, in_worker
from .codegen import initialising, kernel_table, op_mask
from .adjoint_memory import share_adjoints
from .._version import Version

_FIRST_CHUNK = 1 << 13      # bytes in a tape's first arena chunk
_MAX_CHUNK = 1 << 23        # chunks double up to this (8 MiB)
_OWN_CHUNK = 1 << 17        # float inputs of at least this many bytes are referenced, not copied
_SMALL_N = 32               # 8-byte slots per chunk of 0-d values (see Tape._alloc0)

_FREED_MSG = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you "
    "call .backward() or autograd.grad(). Specify retain_graph=True if you need to backward "
    "through the graph a second time or if you need to access saved tensors after calling "
    "backward.")

_ENV = np.array([DGEMM, SGEMM], np.int64)  # see _kernels: run-time facts passed to the sweep
# .grad accumulation into shared leaves from several threads; reentrant: a hook may run backward
GRAD_LOCK = threading.RLock()
_SERIALS = itertools.count()  # tape serials: leaves cache their slot by it


class _Pool(threading.local):
    """Memory of dead tapes (arena chunks, record buffers), reused by the next tapes of this
    thread. Fresh memory costs a page fault per 4 KiB on first touch (~2-4 µs each on this
    machine's VM), more than filling it: a training loop or a scalar graph rebuilt every step
    would pay that for every tape. Only arrays nothing else refers to are kept (no tensor's
    `_data` view, no caller's copy of the records), up to `_POOL_MAX` bytes."""

    def __init__(self):
        self.free: dict = {}   # (dtype, length) -> [arrays]
        self.nbytes = 0


_POOL = _Pool()
_POOL_MAX = 1 << 26  # bytes


def _take(n: int, dtype) -> np.ndarray:
    """An uninitialised array of `n` elements, from the pool when it has one of that size."""
    stack = _POOL.free.get((dtype, n))
    if stack:
        arr = stack.pop()
        _POOL.nbytes -= arr.nbytes
        return arr
    return np.empty(n, dtype)


def _give(arrays: list) -> None:
    """Keep those of `arrays` no one else references for reuse (the caller passes a list that
    is their only holder)."""
    for i in range(len(arrays)):
        arr = arrays[i]
        # references: the list, `arr`, getrefcount's argument; a view or a caller adds one
        if (sys.getrefcount(arr) == 3 and arr.base is None and arr.ndim == 1
                and arr.nbytes >= 4096
                and _POOL.nbytes + arr.nbytes <= _POOL_MAX):
            _POOL.free.setdefault((arr.dtype, arr.shape[0]), []).append(arr)
            _POOL.nbytes += arr.nbytes


class _Buffer:
    """A growable 1-D numpy array: appends copy into spare capacity, doubling when full."""

    __slots__ = ("data", "n")

    def __init__(self, dtype, first=()):
        self.data = np.zeros(64, dtype)
        self.n = 0
        self.append(np.asarray(first, dtype))

    def append(self, arr: np.ndarray) -> None:
        k = arr.shape[0]
        if self.n + k > self.data.shape[0]:
            grown = _take(max(2 * self.data.shape[0], self.n + k), self.data.dtype)
            grown[:self.n] = self.data[:self.n]
            self.data, old = grown, [self.data]
            _give(old)
        self.data[self.n:self.n + k] = arr
        self.n += k

    def view(self) -> np.ndarray:
        return self.data[:self.n]


class Tape:
    """The records and arena of one connected computation (see module docstring)."""

    __slots__ = ("serial", "pend", "fpend", "recs", "fls", "chunks", "cur", "cur32", "base", "pos",
                 "cap", "n", "inputs", "hooks", "pyops", "dirty", "traces",
                 "leaves", "consts", "retained", "dead", "freed", "into", "shift", "ok",
                 "_ref", "sm", "sm32", "smbase", "smpos", "renamed", "owner", "__weakref__")

    def __init__(self):
        _quiet.ensure()
        self.serial = next(_SERIALS)        # unique for the process: leaves cache their slot by it
        self.pend: list = []                # records not yet converted to int64 ...
        self.fpend: list = []               # ... and their float parameters
        self.recs = _Buffer(np.int64)       # converted records
        self.fls = _Buffer(np.float64, (0.0,))  # fl[0] is a placeholder: fl is never empty
        self.chunks: list = []              # numpy buffers the records' addresses point into
        self.cur = self.cur32 = None        # the chunk being filled, and its float32 view
        self.base = 0                       # its address
        self.pos = 0                        # bytes used in it ...
        self.cap = -1                       # ... and available (-1: no chunk yet)
        self.n = 0                          # number of slots (= records)
        self.inputs: dict = {}              # (id(tensor), needs grad) -> slot of an input
        self.leaves: list = []              # (tensor, slot): leaves requiring grad
        self.consts: list = []              # other input tensors (pins their ids while we live)
        self.retained: list = []            # (weakref to non-leaf, slot) with retain_grad()
        self.dead: list = []                # slots standing for non-leaves of freed tapes
        self.hooks: dict = {}               # slot -> [hook(grad) -> grad or None] (non-leaves)
        self.pyops: dict = {}               # entry -> Python op (custom Function) run in backward
        self.dirty: dict = {}               # slot -> (saved version, version, mark): memory
        #                                     changed in place; entries before `mark` read the old
        self.traces: dict = {}              # slot -> user source line (anomaly mode only)
        self.renamed: dict = {}             # slot -> the slot its tensor was moved to by an
        #                                     in-place change (torch's messages name the latter)
        self.freed = False
        self.ok = STATE.key                 # records may be appended (by this thread): neither
        self.owner = threading.current_thread()  # freed nor merged; ok is False then
        self.into: Optional[Tape] = None    # set when merged into another tape ...
        self.shift = 0                      # ... with this slot offset there
        self._ref = None                    # weakref to self (made once: `ref`)
        self.sm = self.sm32 = None          # the chunk of 0-d values being filled (`_alloc0`)
        self.smbase = 0
        self.smpos = _SMALL_N

    def ref(self) -> "weakref.ref":
        """A weak reference to this tape (one per tape: version counters keep many)."""
        r = self._ref
        if r is None:
            r = self._ref = weakref.ref(self)
        return r

    def modified(self, slot: int, saved: int, version: int, mark: int, key=None,
                 view: bool = False) -> None:
        """The memory slot `slot` holds (or was copied from) was written at version `version`;
        entries before `mark` that read its values saw version `saved` (`Version.changed`).
        `key`: the input cache entry of a leaf's copy, which the next use must not take."""
        if version is not None:  # (None: only the input cache entry goes, see Version.forget)
            old = self.dirty.get(slot)
            self.dirty[slot] = (old[0] if old else saved, version,
                                max(mark, old[2]) if old else mark, view)
        if key is not None and self.inputs.get(key) == slot:
            del self.inputs[key]
            self.serial = next(_SERIALS)  # leaves' cached `_slot`s on this tape are stale

    def restamp(self, slot: int, version: int) -> None:
        """A changed slot's memory changed again: the error reports the newest version."""
        old = self.dirty.get(slot)
        if old is not None:
            self.dirty[slot] = (old[0], version, old[2], old[3])

    # -- arena ------------------------------------------------------------------------------
    def _grow(self, nbytes: int) -> None:
        cap = min(max(self.cap * 2, _FIRST_CHUNK), _MAX_CHUNK)
        while cap < nbytes:
            cap *= 2
        self.cur = _take(cap // 8, np.dtype(np.float64))
        self.cur32 = self.cur.view(np.float32)
        self.chunks.append(self.cur)
        self.base = self.cur.ctypes.data
        self.pos = 0
        self.cap = cap

    def _alloc(self, size: int, is32: bool):
        """Arena space for `size` values: (address, flat view)."""
        nbytes = (size * 4 + 7) & ~7 if is32 else size * 8   # every slot 8-byte aligned
        if self.pos + nbytes > self.cap:
            if nbytes > _MAX_CHUNK // 2:                      # big values: a chunk of their own
                buf = np.empty((nbytes + 7) // 8, np.float64)
                self.chunks.append(buf)
                flat = buf.view(np.float32)[:size] if is32 else buf[:size]
                return buf.ctypes.data, flat
            self._grow(nbytes)
        pos = self.pos
        self.pos = pos + nbytes
        if is32:
            return self.base + pos, self.cur32[pos >> 2:(pos >> 2) + size]
        return self.base + pos, self.cur[pos >> 3:(pos >> 3) + size]

    def _alloc0(self, is32: bool):
        """Arena space for a 0-d value: (address, flat view), in a small chunk of 0-d values.
        These are what outlives a tape (``losses.append(loss.detach())``, metrics): a kept one
        then pins a 256-byte chunk rather than an arena chunk of up to 8 MiB."""
        i = self.smpos
        if i >= _SMALL_N:
            self.sm = np.empty(_SMALL_N)
            self.sm32 = self.sm.view(np.float32)
            self.smbase = self.sm.ctypes.data
            self.chunks.append(self.sm)
            i = 0
        self.smpos = i + 1
        return self.smbase + 8 * i, (self.sm32[2 * i:2 * i + 1] if is32 else self.sm[i:i + 1])

    def record(self, opcode: int, shape: tuple, size: int, is32: bool, ins: tuple,
               floats: tuple = (), ints=()):
        """Append the record of one op's output (`ins`: its input slots); returns
        (slot, view to write the value into). `ints`: a tuple, or an int64 array when long.

        The hot path of eager mode (one call per recorded op): the arena allocation of `_alloc`
        is repeated inline for the common case, and the record is one `extend`."""
        pos = self.pos
        nbytes = (size * 4 + 7) & ~7 if is32 else size * 8
        if not shape:
            addr, flat = self._alloc0(is32)
        elif pos + nbytes <= self.cap:
            self.pos = pos + nbytes
            addr = self.base + pos
            flat = (self.cur32[pos >> 2:(pos >> 2) + size] if is32
                    else self.cur[pos >> 3:(pos >> 3) + size])
        else:
            addr, flat = self._alloc(size, is32)
        s = self.n
        self.n = s + 1
        nd = len(shape)
        if type(ints) is np.ndarray:  # many ints (gather positions): appended as one array
            self.pend.extend((opcode, len(ins), *ins, addr, is32, nd, *shape, ints.size))
            self._flush()
            self.recs.append(ints.reshape(-1).astype(np.int64, copy=False))
            self.pend.append(len(floats))
        elif ints:
            self.pend.extend((opcode, len(ins), *ins, addr, is32, nd, *shape, len(ints), *ints,
                              len(floats)))
        elif nd == 1 and len(ins) == 1:  # the commonest records, without tuple unpacking
            self.pend.extend((opcode, 1, ins[0], addr, is32, 1, shape[0], 0, len(floats)))
        elif nd == 1 and len(ins) == 2:
            self.pend.extend((opcode, 2, ins[0], ins[1], addr, is32, 1, shape[0], 0,
                              len(floats)))
        else:
            self.pend.extend((opcode, len(ins), *ins, addr, is32, nd, *shape, 0, len(floats)))
        if floats:
            self.fpend.extend(floats)
        if not s & 1023:
            self._flush()
        return s, (flat if nd == 1 else flat.reshape(shape))

    def record_at(self, opcode: int, data: np.ndarray, ins: tuple, ints: tuple = ()) -> int:
        """Append the record of a value that lives in `data` (C-contiguous, float32/64, kept
        alive by the tape) instead of the arena: an in-place op's result that *is* the tensor's
        memory. Returns the slot."""
        self.chunks.append(data)
        s = self.n
        self.n = s + 1
        self.pend.extend((opcode, len(ins), *ins, data.ctypes.data, data.dtype == np.float32,
                          data.ndim, *data.shape, len(ints), *ints, 0))
        if not s & 1023:
            self._flush()
        return s

    def input_slot(self, t, np_dtype) -> int:
        """Slot holding tensor `t` (a leaf, a constant, or a non-leaf of a freed tape)."""
        tr = STATE.trace
        if tr is not None and tr.tape is self:  # recording for tapegrad.compile (`_trace`)
            a = tr.alias.get(id(t))
            if a is not None and self.fields(a[1])[2] == (np_dtype == np.float32):
                return a[1]   # a recorded comparison's result
        need = bool(t._rg)
        # (requires_grad may be switched on between two uses; a constant may enter in two
        # dtypes, a tensor requiring grad only in its own: casts are entries, `entry_slot`)
        key = (id(t), need, np.dtype(np_dtype).char)
        s = self.inputs.get(key)
        if s is not None:
            if need and t._tape is None:
                t._ser, t._slot = self.serial, s
            return s
        data = t._data
        is32 = np_dtype == np.float32
        own = (data.dtype == np_dtype and data.dtype.kind == "f" and data.nbytes >= _OWN_CHUNK
               and data.flags.c_contiguous)
        if own:
            self.chunks.append(data)   # referenced in place: no copy of large float inputs
            addr = data.ctypes.data
        else:
            addr, flat = self._alloc(data.size, is32)
            flat.reshape(data.shape)[...] = data
        s = self.n
        self.n = s + 1
        # so that changing `t`'s memory in place (through any alias) is noticed: the next use
        # takes a new copy, and backward raises if an entry before the change read this one
        vc = t._vc
        if vc is None:
            vc = t._vc = Version()
        vc.save(self, s, key, own)
        self.pend.extend((IN_LEAF if need else IN_CONST, 0, addr, is32, data.ndim,
                         *data.shape, 0, 0))
        self.inputs[key] = s
        if tr is not None and tr.tape is self:
            tr.inputs[s] = t
        if t._tape is not None:             # non-leaf whose graph was freed earlier
            self.dead.append(s)
            self.consts.append(t)
        elif need:
            self.leaves.append((t, s))
            t._ser, t._slot = self.serial, s  # next use on this tape skips the lookup
        else:
            self.consts.append(t)
        return s

    # -- record batches ---------------------------------------------------------------------
    def _flush(self) -> None:
        """Convert the pending records (and floats) into int64 (float64) batches."""
        self.recs.append(np.fromiter(self.pend, np.int64, len(self.pend)))
        self.fls.append(np.fromiter(self.fpend, np.float64, len(self.fpend)))
        self.pend = []
        self.fpend = []

    def arrays(self) -> tuple:
        """All records and float parameters as two arrays (views, no copy)."""
        if self.ok is not STATE.key and self.ok is not False:
            claim(self)  # (flushing while the owner appends could lose records)
        self._flush()
        return self.recs.view(), self.fls.view()

    # -- merging ----------------------------------------------------------------------------
    def absorb(self, other: "Tape") -> None:
        """Append `other`'s records to this tape; tensors of `other` are redirected lazily."""
        ns = self.n
        rec, fl = other.arrays()
        rec = rec.copy()
        shift_inputs(rec, other.n, ns)
        self._flush()
        self.recs.append(rec)
        self.fls.append(fl[1:])
        self.chunks.extend(other.chunks)
        for k, s in other.inputs.items():
            self.inputs.setdefault(k, s + ns)
        self.leaves.extend((t, s + ns) for t, s in other.leaves)
        self.consts.extend(other.consts)
        self.retained.extend((r, s + ns) for r, s in other.retained)
        self.dead.extend(s + ns for s in other.dead)
        self.hooks.update({s + ns: h for s, h in other.hooks.items()})
        for p in other.pyops.values():
            p.shift(ns)  # (a Python op keeps the slots of its inputs and outputs)
        self.pyops.update({s + ns: p for s, p in other.pyops.items()})
        self.dirty.update({s + ns: (a, b, m + ns, v) for s, (a, b, m, v) in other.dirty.items()})
        self.traces.update({s + ns: v for s, v in other.traces.items()})
        self.renamed.update({s + ns: v + ns for s, v in other.renamed.items()})
        self.n += other.n
        other.into, other.shift, other.ok = self, ns, False
        other._release()

    def _release(self) -> None:
        """Drop the values and the input references (records stay, so grad_fn still prints)."""
        self.cur = self.cur32 = None  # (so that the chunks are only referenced by the list)
        self.sm = self.sm32 = None
        self.smpos = _SMALL_N
        _give(self.chunks)
        self.chunks = []
        self.pos, self.cap = 0, -1
        self.inputs = {}
        self.leaves = []
        self.consts = []
        self.retained = []
        self.hooks = {}
        self.pyops = {}
        self.dirty = {}

    def __del__(self) -> None:  # the last tensor of this tape is gone: its memory is reusable
        try:
            self._release()
            bufs = [self.recs.data, self.fls.data]
            self.recs.data = self.fls.data = None
            _give(bufs)
        except Exception:  # noqa: BLE001 -- never raise from a finalizer (interpreter exit)
            pass

    def free(self) -> None:
        self._release()
        self.freed = True
        self.ok = False

    # -- record views (grad_fn, the tape table) -----------------------------------------------
    def decode(self) -> tuple:
        """(rec, fl, tab, adjoint sizes): the records, their floats, the decoded table (whose
        addresses stay valid until the next record: ``fl`` may then move) and the sizes of the
        float64 and float32 adjoint buffers."""
        rec, fl = self.arrays()
        tab, n64, n32 = decode(rec, self.n, fl.ctypes.data)
        return rec, fl, tab, (n64, n32)

    def table(self) -> np.ndarray:
        """The decoded fixed-width table (columns T_* of `kernels`); a copy, for inspection."""
        return self.decode()[2]

    def fields(self, s: int) -> tuple:
        """(op, input slots, is32, shape) of slot s (decodes the tape: for display only)."""
        row = self.table()[s]
        rec = self.arrays()[0]
        return (int(row[T_OP]), tuple(rec[row[T_INS]:row[T_INS] + row[T_NIN]].tolist()),
                int(row[T_IS32]), tuple(rec[row[T_SHP]:row[T_SHP] + row[T_NDIM]].tolist()))


def claim(tape: Tape) -> None:
    """`tape` is live but another thread's (its ``ok`` holds that thread's key): it becomes this
    thread's if that thread has ended; otherwise a clear error. A graph is recorded and
    differentiated in one thread at a time: appending to it from two at once could interleave
    its records (the tape has no lock, which would cost every op)."""
    if not tape.owner.is_alive():
        tape.ok, tape.owner = STATE.key, threading.current_thread()
        return
    raise RuntimeError(f"this tensor's graph is being recorded in thread {tape.owner.name!r}: "
                       f"tapegrad records and differentiates a graph in the thread that made it. "
                       f"Pass values to other threads with .detach(), or build the graph (from "
                       f"shared leaves) in each thread.")


def resolve(t) -> Tape:
    """The live tape of non-leaf `t`, following merges (and updating `t` on the way)."""
    tp = t._tape
    while tp.into is not None:
        t._slot += tp.shift
        tp = tp.into
    t._tape = tp
    return tp


def _drop_unread(tape: Tape, tab, rec) -> None:
    """Before a backward after which the tape is freed: free the values that have a chunk of
    their own (large ones) when no adjoint reads them and no tensor holds them -- torch frees
    such intermediates once the forward is done; here they would add to the backward's peak."""
    big, chunks = [], tape.chunks
    for i in range(len(chunks)):
        c = chunks[i]
        # references: the list, `c`, getrefcount's argument; a tensor's view would add one
        if c.nbytes > _MAX_CHUNK // 2 and sys.getrefcount(c) == 3:
            big.append(i)
        del c
    if not big:
        return
    addrs = np.array([tape.chunks[i].ctypes.data for i in big], np.int64)
    needed = read_values(tab, rec, op_mask("reads_inputs", lambda op: op.reads_inputs),
                         op_mask("reads_output", lambda op: op.reads_output), addrs)
    drop = {i for i, k in zip(big, needed) if not k}
    if drop:
        tape.chunks = [c for i, c in enumerate(tape.chunks) if i not in drop]


def sweep_tape(tape: Tape, roots: list, final: bool = False, keep=None) -> tuple:
    """Seed the adjoints of `roots` [(slot, float64 gradient)] and sweep the tape in reverse,
    stopping only for Python callbacks (tensor hooks, custom Functions). Returns (tab, adj,
    live); `adj` is the pair of adjoint buffers (float64, float32) of this thread's scratch
    memory: read slots with `adjoint`, hand it back with `release(adj)` when done. `keep`:
    the slots besides the input slots that the caller reads afterwards (None: any slot; else
    large adjoints share memory, `share_adjoints`)."""
    if tape.freed:
        raise RuntimeError(_FREED_MSG)
    rec, fl, tab, total = tape.decode()
    if final:  # (the tape is freed after this backward: values nothing reads can go first)
        _drop_unread(tape, tab, rec)
    if keep is not None and not tape.pyops and tab.shape[0] and (
            tab[:, T_SIZE].max() >= SHARE_MIN):
        mask = np.zeros(tab.shape[0], np.bool_)
        mask[list(keep)] = True
        total = share_adjoints(tab, rec, np.array([s for s, _ in roots], np.int64), mask,
                               SHARE_MIN)
    adj = _scratch(total)
    try:
        return _sweep(tape, roots, rec, fl, tab, adj)
    except BaseException:
        release(adj)
        raise


def _sweep(tape: Tape, roots: list, rec, fl, tab, adj) -> tuple:
    live = np.zeros(tape.n, np.uint8)
    ready = np.zeros(tape.n, np.uint8)  # adjoints zeroed so far (`kernels.prepare`)
    stop = 0
    zero_slots(tab, adj[0], adj[1], ready, np.array([s for s, _ in roots], np.int64))
    for s, g in roots:
        adjoint(tab, adj, s)[:] += g.reshape(-1)
        live[s] = 1
        stop = max(stop, s + 1)
    kernels = kernel_table(kernel_codes(tab).tolist())
    pause = np.zeros(tape.n, np.uint8)
    threads = 1 if in_worker() else numba.get_num_threads()
    if threads > 1:  # long elementwise entries run in slices, in threads (`_run_sliced`)
        pause[sliceable(tab, _elementwise_kinds(), SLICE_MIN)] = 3
    if tape.hooks:
        pause[list(tape.hooks)] = 1
    if tape.pyops:
        pause[list(tape.pyops)] = 2
    watch = STATE.anomaly and _NanWatch(tape, tab, rec, adj)
    if watch:
        pause[:] = 1  # anomaly mode: back to Python after every entry, to catch the first NaN
    resume = -1
    while True:
        e = sweep(tab, rec, fl, adj[0], adj[1], live, ready, _ENV, kernels,
                  initialising(), pause, 0, stop, resume)
        if watch:
            watch.check()
        if e < 0:
            break
        if pause[e] == 3:
            _run_sliced(tab, rec, fl, adj, live, ready, kernels, e, threads)
            stop, resume = e, -1
            continue
        pyop = tape.pyops.get(e)
        # (a Python op adds into its inputs' adjoints, anomaly mode reads them: zeroed first,
        # unless the op assigns where they are not live yet)
        assigns = pyop is not None and getattr(pyop, "initialises", False)
        if watch or (pyop is not None and not assigns):
            prepare(tab, rec, adj[0], adj[1], ready, e)
            if getattr(pyop, "in_slots", ()):
                zero_slots(tab, adj[0], adj[1], ready, np.array(pyop.in_slots, np.int64))
        if watch:
            watch.before(e)
        stop, resume = _callbacks(tape, tab, adj, live, e)
        if assigns:  # (those it wrote are initialised now)
            ins = np.array(pyop.in_slots, np.int64)
            ready[ins] |= live[ins]
    for s in tape.dead:
        if live[s]:
            raise RuntimeError(_FREED_MSG)
    if tape.dirty:
        _check_modified(tape, tab, rec, live)
    return tab, adj, live


SLICE_MIN = 1 << 18  # elements: entries this long run in slices on several threads
SHARE_MIN = 1 << 12  # elements: adjoints this long share memory by liveness


def _elementwise_kinds() -> np.ndarray:
    """Per opcode: 1 for the elementwise (unary, binary) families, whose kernels slice."""
    return op_mask("elementwise", lambda op: op.kind in ("unary", "binary"))


def _run_sliced(tab, rec, fl, adj, live, ready, kernels, e: int, threads: int) -> None:
    """Entry e's adjoint in `threads` slices at once (`kernels.run_slice`, without the GIL):
    the ~20 us this costs in Python is under 2% of a 2^18-element entry's time."""
    k = kernels[2 * tab[e, T_OP] + tab[e, T_IS32]]
    n = int(tab[e, T_SIZE])
    step = ((n + threads - 1) // threads + 63) // 64 * 64  # (whole cache lines)
    futures = [executor(threads).submit(run_slice, k, e, lo, min(lo + step, n), tab, rec, fl,
                                        adj[0], adj[1], live, _ENV)
               for lo in range(0, n, step)]
    for f in futures:
        f.result()
    for i in range(int(tab[e, T_NIN])):
        s = rec[tab[e, T_INS] + i]
        ready[s] = 1  # (its adjoint is initialised: the kernel assigned where not live)
        if tab[s, T_NEED]:
            live[s] = 1


def _check_modified(tape: Tape, tab, rec, live) -> None:
    """torch's error when a value that a live adjoint reads was changed in place after that
    entry was recorded (entries recorded later read the new value, as torch's would). Of all
    such reads, the one torch's backward meets first (the latest entry) is reported."""
    from .._opdef import BY_CODE
    worst = None  # (reader entry, slot, expected, actual)
    for s, (expected, actual, mark, view) in tape.dirty.items():
        readers = [e for e in consumers(tab, rec, s).tolist()
                   if e < mark and live[e] and BY_CODE[tab[e, T_OP]].reads_inputs]
        op = tab[s, T_OP]
        if op >= 0 and live[s] and BY_CODE[op].reads_output:
            readers.append(s)
        if readers and (worst is None or max(readers) > worst[0]):
            worst = (max(readers), s, expected, actual, view)
    if worst is None:
        return
    e, s, expected, actual, view = worst
    kind = "Float" if tab[s, T_IS32] else "Double"
    shape = list(tape.fields(s)[3])
    # torch names the node of the saved tensor: its producer's for an op's own output, the one
    # the tensor has now (after the in-place change) for an input
    # (a view whose base changed: torch regenerates its node as it unpacks it, AsStrided)
    now = int(tab[s, T_OP]) if e == s else _current_op(tape, tab, rec, s)
    name = "AsStrided" if view and e != s else (_forward_name(BY_CODE[now]) if now >= 0 else "")
    where = f", which is output 0 of {name}," if name else ""
    raise RuntimeError(
        f"one of the variables needed for gradient computation has been modified by an "
        f"inplace operation: [tapegrad.{kind}Tensor {shape}]{where} is at version {actual}; "
        f"expected version {expected} instead. Hint: enable anomaly detection to find the "
        f"operation that failed to compute its gradient, with "
        f"tapegrad.autograd.set_detect_anomaly(True, check_nan=False).")


def _current_op(tape: Tape, tab, rec, s: int) -> int:
    """The opcode of the node the tensor of slot s has now: after its in-place moves, through
    internal copies (transparent entries)."""
    from .._opdef import BY_CODE
    while s in tape.renamed:
        s = tape.renamed[s]
    op = tab[s, T_OP]
    while op >= 0 and BY_CODE[op].transparent:
        s = rec[tab[s, T_INS]]
        op = tab[s, T_OP]
    return int(op)


def _forward_name(op) -> str:
    """torch's name of the function behind a node: ``ExpBackward0`` -> ``Exp``."""
    name = op.grad_fn
    i = name.find("Backward")
    return name[:i] if i > 0 else name


class _NanWatch:
    """Anomaly mode: which entry's adjoint first turned an input's gradient into NaN."""

    def __init__(self, tape: Tape, tab, rec, adj):
        self.tape, self.tab, self.rec, self.adj = tape, tab, rec, adj
        self.entry, self.clean = -1, ()

    def _inputs(self, e: int) -> list:
        t = self.tab
        return self.rec[t[e, T_INS]:t[e, T_INS] + t[e, T_NIN]].tolist()

    def before(self, e: int) -> None:
        self.entry = e
        self.clean = [s for s in self._inputs(e) if not np.isnan(adjoint(self.tab, self.adj, s)).any()]

    def check(self) -> None:
        e = self.entry
        for k, s in enumerate(self._inputs(e) if e >= 0 else ()):
            if s in self.clean and np.isnan(adjoint(self.tab, self.adj, s)).any():
                from .._opdef import BY_CODE
                name = BY_CODE[self.tab[e, T_OP]].grad_fn
                where = self.tape.traces.get(e, "(not recorded in anomaly mode)")
                raise RuntimeError(f"Function '{name}' returned nan values in its {k}th output. "
                                   f"The op was recorded at:\n{where}")
        self.entry = -1


def adjoint(tab: np.ndarray, adj: tuple, s: int) -> np.ndarray:
    """The flat adjoint segment of slot s, in the slot's dtype: a view into `adj` (the float64
    and float32 buffers of a sweep)."""
    off = tab[s, T_ADJ]
    return adj[1 if tab[s, T_IS32] else 0][off:off + tab[s, T_SIZE]]


def bind_wrap(wrap) -> None:
    """`wrap(ndarray) -> tensor`, for the Python callbacks (hooks) that get tensors: given by
    `tapegrad.tensor` at import (the engine does not import it)."""
    _WRAP[0] = wrap


_WRAP: list = [None]


def _callbacks(tape: Tape, tab, adj, live, e: int) -> tuple:
    """Run the hooks on slot e's (now complete) gradient, then a Python op recorded at e.
    Returns where the sweep resumes: (stop, resume)."""
    _wrap = _WRAP[0]
    seg = adjoint(tab, adj, e)
    hooks = tape.hooks.get(e) if live[e] else None
    shape = tape.fields(e)[3] if hooks else ()
    for hook in list(hooks.values()) if hooks else ():
        new = hook(_wrap(seg.reshape(shape).copy()))
        if new is not None:
            seg[:] = _grad_array(new, shape, "hook").reshape(-1)
    pyop = tape.pyops.get(e)
    if pyop is not None:
        pyop.run(tape, tab, adj, live, e)
        return e, -1
    return e + 1, e


def _grad_array(g, shape: tuple, who: str) -> np.ndarray:
    data = np.asarray(g._data if hasattr(g, "_data") else g)
    if data.dtype.kind != "f":  # (float gradients keep their dtype: no conversion pass)
        data = data.astype(np.float64)
    if data.shape != tuple(shape):
        raise RuntimeError(f"{who} returned a gradient of shape {list(data.shape)} but expected "
                           f"shape {list(shape)}")
    return data


class _Scratch(threading.local):
    bufs = (None, None)  # the float64 and float32 adjoint buffers this thread's backwards reuse
    busy = False  # handed out: a backward run from a hook of that one gets buffers of its own


_SCRATCH = _Scratch()
_SCRATCH_MAX = 1 << 27  # bytes (128 MiB): larger adjoint buffers are not kept between calls


def _scratch(sizes: tuple) -> tuple:
    """Uninitialised float64 and float32 buffers of the given sizes (the sweep zeroes what it
    uses, `kernels.prepare`), reused per thread (no fresh pages to fault in)."""
    sc = _SCRATCH
    if sc.busy:
        return tuple(np.empty(n, dt) for n, dt in zip(sizes, (np.float64, np.float32)))
    out, keep = [], []
    for n, buf, dt in zip(sizes, sc.bufs, (np.float64, np.float32)):
        if n * np.dtype(dt).itemsize > _SCRATCH_MAX:
            out.append(np.empty(n, dt))
            keep.append(buf)
            continue
        if buf is None or buf.shape[0] < n:
            buf = np.empty(max(n, 2 * (0 if buf is None else buf.shape[0])), dt)
        keep.append(buf)
        out.append(buf[:n])
    sc.bufs, sc.busy = tuple(keep), True
    return tuple(out)


def release(adj: tuple) -> None:
    """The adjoints from `sweep_tape` are no longer read: the thread's buffers are free again."""
    bufs = _SCRATCH.bufs
    if any(a.base is not None and a.base is b for a, b in zip(adj, bufs)):
        _SCRATCH.busy = False
