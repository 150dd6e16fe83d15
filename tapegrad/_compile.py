"""`tapegrad.compile`: record a function once, replay its tape forward and backward in Numba.

The first call with a new input signature runs the function eagerly while tracing it
(`_trace`), which gives the call's result and a tape; the tape becomes a `Program`
(`engine/replay.py`) together with the guards the recording depended on. Later calls check the
Python-side guards (captured tensors are still the same objects, Python values the function
reads are unchanged, integer arguments hold the recorded values), copy the inputs into a frame,
and run the program's forward in one Numba call, which checks the value guards as it goes. The
result is one autograd node (``CompiledFunctionBackward``) whose backward is the program's
reverse sweep. A guard that fails means the recording is not what the function would do at
these inputs: the function is recorded again (a few recordings are kept per signature).
Whatever cannot be replayed runs eagerly, with one warning saying why.
"""
from __future__ import annotations

import functools
import threading
import warnings
from typing import Any, Callable, Optional

import numpy as np

from . import _trace
from ._grad_mode import STATE, enable_grad, set_modes
from ._record import slot_in, tape_for
from .autograd import FUNCTION, FUNCTION_OUT, grad as _grad
from .engine.kernels import T_ADDR, T_OP
from .engine.replay import NotReplayable, Program
from .engine.tape import _ENV, Tape
from .tensor import Tensor, _nonleaf, _wrap

MAX_RECORDINGS = 8  # per signature; then the function runs eagerly (with a warning)
_IN_PLACE = 1 << 12  # inputs of at least this many elements are read in place, not copied


class CompileWarning(UserWarning):
    """A compiled function runs eagerly (it cannot be replayed, or keeps being recorded)."""


def compile(fn: Optional[Callable] = None, **options: Any):  # noqa: A001 -- torch's name
    """Record `fn` once per input signature and replay it (forward and backward) in Numba.

    Works as a decorator (``@tg.compile`` or ``@tg.compile()``) or a call; torch.compile's
    options (``mode=``, ``fullgraph=``, ``dynamic=``, ``backend=``) are accepted and ignored.

    >>> import tapegrad as tg
    >>> @tg.compile
    ... def f(w, x):
    ...     return ((x @ w) ** 2).sum()
    >>> w = tg.ones(3, requires_grad=True)
    >>> f(w, tg.ones(2, 3)).backward(); w.grad
    tensor([12., 12., 12.])
    """
    if fn is None:
        return lambda f: compile(f, **options)
    as_module = getattr(fn, "_compiled_module", None)  # an nn.Module: torch's OptimizedModule
    return as_module() if as_module is not None else CompiledFunction(fn)


class CompiledFunction:
    """The callable `compile` returns; `stats()` tells how its calls went."""

    def __init__(self, fn: Callable, quiet: bool = False, max_recordings: int = MAX_RECORDINGS):
        self.fn = fn
        self.quiet = quiet   # no warnings (`vmap` says itself why it runs otherwise)
        self.max_recordings = max_recordings
        functools.update_wrapper(self, fn, updated=())
        self._recordings: dict = {}    # signature -> [Recording]
        self._eager: dict = {}         # signature -> why it runs eagerly
        self._lock = threading.Lock()
        self._stats = dict(recordings=0, replays=0, eager_calls=0, rerecords=[])
        self._warned: set = set()

    def stats(self) -> dict:
        """Recordings made, replays run, eager calls, and each re-record with the guard that
        failed (and the source line that created it); ``eager`` maps signatures that run
        eagerly to why."""
        s = dict(self._stats)
        s["rerecords"] = list(s["rerecords"])
        s["eager"] = {str(k): v for k, v in self._eager.items()}
        return s

    def __call__(self, *args, **kwargs):
        if STATE.trace is not None:   # inside another compiled function's recording: inline
            return self.fn(*args, **kwargs)
        try:
            key, flat = _signature(args, kwargs)
        except TypeError as err:
            return self._run_eagerly(None, str(err), args, kwargs)
        why = self._eager.get(key)
        if why is not None:
            return self._run_eagerly(key, why, args, kwargs)
        failed = None
        for rec in list(self._recordings.get(key, ())):
            out, failed = rec.call(flat)
            if failed is None:
                self._stats["replays"] += 1
                return out
        with self._lock:
            n = len(self._recordings.get(key, ()))
            if failed is not None:
                self._stats["rerecords"].append(failed)
        if n >= self.max_recordings:
            why = (f"recorded {n} times for one input signature (the last guard that failed: "
                   f"{failed['guard']} at {failed['line']})")
            self._eager[key] = why
            return self._run_eagerly(key, why, args, kwargs)
        return self._record(key, flat, args, kwargs)

    def recording_for(self, args: tuple, kwargs: dict, exclude=()) -> tuple:
        """For `vmap`: (a recording whose Python-side guards hold at these arguments, None,
        recordings made: 0 or 1) -- an existing one not in `exclude` (ids), else a new one --
        or (None, why the function cannot be replayed, made)."""
        try:
            key, flat = _signature(args, kwargs)
        except TypeError as err:
            return None, str(err), 0
        if key in self._eager:
            return None, self._eager[key], 0
        recs = self._recordings.get(key, [])
        for rec in recs:
            if id(rec) not in exclude and rec._check(flat) is None:
                return rec, None, 0
        if len(recs) >= self.max_recordings:
            return None, f"recorded {len(recs)} times for one input signature", 0
        n = len(recs)
        self._record(key, flat, args, kwargs)
        recs = self._recordings.get(key, [])
        if len(recs) > n:
            return recs[-1], None, 1
        return None, self._eager.get(key, "it cannot be recorded"), 1

    # -- recording -------------------------------------------------------------------------------
    def _record(self, key, flat: tuple, args: tuple, kwargs: dict):
        self._stats["recordings"] += 1
        caps, pyvals = _trace.reachable(self.fn)
        before = {i: (t, t._version) for i, (t, _) in caps.items()}
        call_args = []
        proxies, arg_ids, arg_ints = {}, {}, {}
        for k, a in enumerate(flat):
            if isinstance(a, Tensor):
                arg_ids[id(a)] = k
                if a._data.dtype.kind == "f" and not a._rg:
                    p = _wrap(a._data)   # records the ops on it (a leaf that requires grad)
                    p._rg = True
                    proxies[id(p)] = k
                    a = p
                elif a._data.dtype.kind != "f":
                    arg_ints[id(a)] = k
            call_args.append(a)
        for a in call_args:  # (arguments changed in place while tracing are noticed too)
            if isinstance(a, Tensor):
                before[id(a)] = (a, a._version)
        enabled, key_state = STATE.enabled, (STATE.key, STATE.ek, STATE.fk)
        tr = None
        failed = False
        try:
            STATE.key = object()  # a fresh owner: no outer tape is live while tracing
            set_modes(True, STATE.anomaly)
            tr = _trace.Trace(Tape(), proxies, caps)
            tr.arg_ints, tr.args = arg_ints, arg_ids
            STATE.trace = tr
            pos = call_args[:len(args)]
            kw = dict(zip(tuple(sorted(kwargs)), call_args[len(args):]))
            try:
                out = self.fn(*pos, **kw)
            except Exception as err:
                if not proxies:
                    raise
                # (perhaps only because a stand-in requires grad: see below)
                failed = f"{type(err).__name__}: {str(err).splitlines()[0][:160]}" \
                    if str(err) else type(err).__name__
        finally:
            STATE.trace = None
            STATE.key = key_state[0]
            set_modes(enabled, STATE.anomaly)
            if tr is not None and tr.tape.ok is not False:
                tr.tape.ok = STATE.key  # the call's result: an ordinary graph of this thread
        if failed:  # e.g. an in-place op on an argument: eager mode decides (and raises, if so)
            out = self.fn(*args, **kwargs)
            why = (f"it fails while being recorded, where its float arguments require grad "
                   f"({failed}): e.g. it changes an argument in place or calls .numpy() on it")
            self._eager[key] = why
            self._warn(why)
            return out
        changed = [t for t, v in before.values() if t._version != v]
        if changed:
            tr.fail("it changes a tensor it captures, or an argument, in place")
        rec = None
        if tr.abort is None:
            try:
                rec = Recording(self, tr, flat, arg_ids, pyvals, out, enabled)
            except _trace.Abort as err:
                tr.fail(str(err))
            except NotReplayable as err:
                tr.fail(f"ops without a replay: {err}")
        if rec is None:
            self._eager[key] = tr.abort
            self._warn(tr.abort)
        else:
            with self._lock:
                self._recordings.setdefault(key, []).append(rec)
        return _eager_result(out, tr, enabled)

    def _run_eagerly(self, key, why: str, args: tuple, kwargs: dict):
        self._stats["eager_calls"] += 1
        self._warn(why)
        return self.fn(*args, **kwargs)

    def _warn(self, why: str) -> None:
        if not self.quiet and why not in self._warned:
            self._warned.add(why)
            name = getattr(self.fn, "__qualname__", type(self.fn).__name__)
            warnings.warn(f"tapegrad.compile: {name} runs eagerly: {why}", CompileWarning,
                          stacklevel=4)


def _signature(args: tuple, kwargs: dict) -> tuple:
    """(the cache key of a call: grad mode, keyword names, each argument's `_arg_key`; the
    arguments flat, positional then keyword values in name order)."""
    names = tuple(sorted(kwargs))
    flat = args + tuple(kwargs[k] for k in names)
    return (STATE.enabled, names, tuple(_arg_key(a) for a in flat)), flat


def _arg_key(a) -> tuple:
    if isinstance(a, Tensor):
        return ("T", a._data.shape, a._data.dtype.char, bool(a._rg))
    if a is None or isinstance(a, (bool, int, float, str)):
        return ("v", type(a).__name__, a)
    if isinstance(a, tuple) and all(x is None or isinstance(x, (bool, int, float, str))
                                    for x in a):
        return ("v", "tuple", a)
    raise TypeError(f"an argument of type {type(a).__name__} (only tensors and Python "
                    f"numbers, strings and tuples of them are replayed)")


def _eager_result(out, tr, enabled: bool):
    """The traced call's own result: an eager result (its graph holds the real leaves; the
    stand-ins of arguments that do not require grad only add entries nobody reads). Without
    grad mode, or when no real input requires grad, it is detached."""
    real = [t for t, _ in tr.tape.leaves if id(t) not in tr.proxies] if tr else []
    if enabled and (real or (tr and tr.tape.dead)):
        return out
    return _map_out(out, lambda t: t.detach())


def _map_out(out, f):
    if isinstance(out, Tensor):
        return f(out)
    if isinstance(out, (tuple, list)):
        return type(out)(_map_out(o, f) for o in out)
    return out


class Recording:
    """One recorded program with its guards and the way each input slot is filled."""

    def __init__(self, owner: CompiledFunction, tr, flat: tuple, arg_ids: dict, pyvals: list,
                 out, enabled: bool):
        tape = tr.tape
        if tape.pyops:
            raise _trace.Abort("it calls a custom autograd.Function")
        if tape.hooks:
            raise _trace.Abort("it registers a tensor hook")
        self.outputs = []   # (slot, shape) per output tensor
        self.single = isinstance(out, Tensor)
        for o in ((out,) if self.single else out if isinstance(out, (tuple, list)) else None) or ():
            s = tr.slot_of(o) if isinstance(o, Tensor) else None
            if s is None:
                raise _trace.Abort("it returns something other than tensors computed from "
                                   "its inputs")
            self.outputs.append((s, o._data.shape if type(o) is Tensor else tuple(o.shape)))
        if not self.outputs:
            raise _trace.Abort("it returns no tensor")
        self.owner = owner
        rec, fl = tape.arrays()
        tab = tape.table()
        self.fills = []     # (slot, kind, source): kind 'arg' (index), 'cap' (tensor), ...
        need = {}
        self.captures = {}  # id -> (tensor, path, shape, dtype)
        self.node_inputs = []   # (kind, source, slot): what the autograd node takes
        for s in range(tape.n):
            if tab[s, T_OP] >= 0:
                continue
            t = tr.inputs.get(s)
            kind, src = _classify(tr, s, tab, t, arg_ids, flat)
            # (a detached alias of an input has its values, but no gradient flows through it)
            rg = id(t) not in tr.detached and (
                (kind == "arg" and isinstance(flat[src], Tensor) and flat[src]._rg)
                or (kind == "cap" and src._rg))
            need[s] = bool(rg)
            if kind == "cap":
                self.captures[id(src)] = (src, tr.captures[id(src)][1], src._data.shape,
                                          src._data.dtype)
            if rg:
                self.node_inputs.append((kind, src, s))
            self.fills.append((s, kind, src))
        self.out_type = type(out)
        guards = [(s, kind, vals) for s, kind, vals, _ in tr.guards]
        self.guard_lines = [(s, kind, line) for s, kind, _, line in
                            sorted(tr.guards, key=lambda g: g[0])]
        prog = self.prog = Program(rec, fl, tape.n, need, guards, [s for s, _ in self.outputs])
        # from here on, slots are the program's (dead code is dropped: so are inputs only it
        # read; an input the outputs do not depend on gets no gradient, as in eager mode)
        at = prog.slot.tolist()
        self.outputs = [(at[s], shape) for s, shape in self.outputs]
        self.fills = [(at[s], kind, src) for s, kind, src in self.fills if at[s] >= 0]
        self.node_inputs = [(kind, src, at[s]) for kind, src, s in self.node_inputs
                            if at[s] >= 0]
        self.guard_lines = [(at[s], kind, line) for s, kind, line in self.guard_lines]
        self.out_slots = np.array([s for s, _ in self.outputs], np.int64)
        self.in_slots = np.array([s for _, _, s in self.node_inputs], np.int64)
        self.pyvals = pyvals
        self.int_args = [(k, np.array(flat[k]._data, copy=True)) for k in
                         {v for v in tr.arg_ints.values()} | tr.int_sources]
        self.enabled = enabled
        self._verify(tr, flat, out)

    def _verify(self, tr, flat: tuple, out) -> None:
        """Replay at the recording's own inputs (random tensors as drawn then): the program must
        give what the eager run gave, and its guarded values are taken from that replay."""
        frame = self.prog.acquire()
        self._fill(frame, flat, redraw=False)
        self.prog.forward(frame, _ENV, guarded=False)
        g = self.prog.rebase_guards(frame)
        if g >= 0:
            raise _trace.Abort(f"its replay does not meet its own guard at "
                               f"{self.guard_lines[g][2]}")
        outs = (out,) if self.single else tuple(out)
        for (s, shape), o in zip(self.outputs, outs):
            got = frame.values(self.prog, s)
            want = np.asarray(o._val if hasattr(o, "_val") else o._data, np.float64)
            tol = 1e-4 if got.dtype == np.float32 else 1e-8
            if not np.allclose(got, want, rtol=tol, atol=tol, equal_nan=True):
                raise _trace.Abort("its replay differs from its eager run (an op whose "
                                   "forward depends on something the tape does not hold)")
        self.prog.give_back(frame)

    # -- a call --------------------------------------------------------------------------------
    def _fill(self, frame, flat: tuple, redraw: bool = True) -> list:
        """Write the inputs into `frame`. Large float inputs of the slot's dtype are read in
        place (the frame's table points at their memory) rather than copied; returns them as
        [(tensor, array, version)]: backward checks they were not changed in place since."""
        refs = []
        prog, tab = self.prog, frame.tab
        for s, kind, src in self.fills:
            if kind == "arg" or kind == "cap":
                t = flat[src] if kind == "arg" else src
                v = t._data
                if v.size >= _IN_PLACE:  # (only such slots' addresses ever change)
                    start, is32, _ = prog.layout(s)
                    if v.dtype == (np.float32 if is32 else np.float64) and v.flags.c_contiguous:
                        tab[s, T_ADDR] = v.ctypes.data
                        refs.append((t, v, t._version))
                        continue
                    tab[s, T_ADDR] = frame.base + start
            elif kind == "rand":
                v = src[1]() if redraw else src[0]._data
            else:  # 'const': frozen values
                v = src
            dst = frame.values(prog, s)
            np.copyto(dst, v if v.shape == dst.shape else v.reshape(dst.shape), casting="unsafe")
        return refs

    def _check(self, flat: tuple) -> Optional[dict]:
        """The Python-side guards; None when all hold, else what failed."""
        fn = self.owner.fn
        for path, value in self.pyvals:
            try:
                now = _trace.resolve_path(fn, path)
            except LookupError:
                return dict(guard=f"{_path(path)} is gone", line="")
            if type(now) is not type(value) or now != value:
                return dict(guard=f"{_path(path)} == {value!r}", line="")
        for t, path, shape, dt in self.captures.values():
            try:
                now = _trace.resolve_path(fn, path)
            except LookupError:
                return dict(guard=f"{_path(path)} is gone", line="")
            if now is not t or t._data.shape != shape or t._data.dtype != dt:
                return dict(guard=f"{_path(path)} is the captured tensor of shape "
                                  f"{list(shape)}", line="")
        for k, vals in self.int_args:
            if not np.array_equal(flat[k]._data, vals):
                return dict(guard=f"argument {k} (integer) has the recorded values", line="")
        return None

    def call(self, flat: tuple) -> tuple:
        """(result, None), or (None, the guard that failed)."""
        failed = self._check(flat)
        if failed is not None:
            return None, failed
        prog = self.prog
        frame = prog.acquire()
        refs = self._fill(frame, flat)
        g = prog.forward(frame, _ENV)
        if g >= 0:
            prog.give_back(frame)
            s, kind, line = self.guard_lines[g]
            what = "the truth value" if kind == 1 else "the values"
            return None, dict(guard=f"{what} read in Python", line=line)
        ins = [flat[src] if kind == "arg" else src for kind, src, _ in self.node_inputs]
        if STATE.enabled and ins:
            res = _record_call(_Run(self, frame, flat, refs), ins)
        else:
            res = [_wrap(frame.values(prog, s).copy()) for s, _ in self.outputs]
            prog.give_back(frame)
        if self.single:
            return res[0], None
        return self.out_type(res), None


def _classify(tr, s: int, tab, t, arg_ids: dict, flat: tuple) -> tuple:
    """Where an input slot's values come from at a call: (kind, source)."""
    if t is None:
        raise _trace.Abort("an input of the recording is unaccounted for")
    d = tr.detached.get(id(t))
    if d is not None:  # detached from an input: filled as that input is
        if id(d[1]) in tr.pure:
            return "const", tr.tape_values(s, tab)
        t = d[1]
    k = tr.proxies.get(id(t), arg_ids.get(id(t)))
    if k is not None:
        return "arg", k
    if id(t) in tr.captures:
        return "cap", t
    if id(t) in tr.random:
        return "rand", tr.random[id(t)]
    if id(t) in tr.pure:  # (frozen as it entered the tape)
        return "const", tr.tape_values(s, tab)
    raise _trace.Abort("a tensor computed outside the recorded ops (e.g. through .detach(), "
                       ".data, .numpy(), integer ops or an unrecorded no_grad block) enters "
                       "the recorded computation")


def _path(path: tuple) -> str:
    out = ""
    for step in path:
        if step[0] in ("cell", "global"):
            out += step[1]
        elif step[0] == "self":
            out += "self"
        elif step[0] == "default":
            out += f"<default {step[1]}>"
        elif step[0] == "item":
            out += f"[{step[1]!r}]"
        else:
            out += f".{step[1]}"
    return out


class _Run:
    """One replayed call's frame, held by its autograd node until the node goes."""

    __slots__ = ("rec", "frame", "flat", "refs")

    def __init__(self, rec: Recording, frame, flat: tuple, refs: list):
        self.rec, self.frame, self.flat, self.refs = rec, frame, flat, refs

    def check_versions(self) -> None:
        """torch's error when an input the frame reads in place was changed since the call."""
        for t, v, version in self.refs:
            if t._version != version:
                kind = "Float" if v.dtype == np.float32 else "Double"
                raise RuntimeError(
                    f"one of the variables needed for gradient computation has been modified "
                    f"by an inplace operation: [tapegrad.{kind}Tensor {list(v.shape)}] is at "
                    f"version {t._version}; expected version {version} instead. Hint: the "
                    f"input of a compiled function (tapegrad.compile) was changed in place "
                    f"between the call and its backward.")

    def __del__(self):
        try:
            self.rec.prog.give_back(self.frame)
        except Exception:  # noqa: BLE001 -- never raise from a finalizer
            pass


def _record_call(run: _Run, ins: list) -> list:
    """The call's outputs, recorded on the inputs' tape as one Python entry (`_ReplayOp`; the
    values are copied from the frame straight into the tape)."""
    rec = run.rec
    tape = tape_for(*ins)
    in_slots = tuple(slot_in(tape, a, a._data.dtype) for a in ins)
    res, out_slots = [], []
    for k, (s, shape) in enumerate(rec.outputs):
        v = run.frame.values(rec.prog, s)
        e, view = tape.record(FUNCTION.code if k == 0 else FUNCTION_OUT.code, v.shape, v.size,
                              v.dtype == np.float32, in_slots if k == 0 else ())
        view[...] = v
        out_slots.append(e)
        res.append(_nonleaf(view, tape, e))
    tape.pyops[out_slots[0]] = _ReplayOp(run, in_slots, out_slots)
    return res


class _NodeName:
    """What names a replayed call's node (``<cls.__name__>Backward``, as for a custom
    Function): torch's ``CompiledFunctionBackward``."""


_NodeName.__name__ = _NodeName.__qualname__ = "CompiledFunction"


class _ReplayOp:
    """A replayed call's tape entry (a Python op of the eager sweep): its backward is the
    program's reverse sweep, seeded from and accumulated into the eager sweep's adjoints."""

    cls = _NodeName
    initialises = True  # (its transfer assigns an input's adjoint not yet live: no zeroing)
    __slots__ = ("run_", "in_slots", "out_slots")

    def __init__(self, run: _Run, in_slots: tuple, out_slots: list):
        self.run_, self.in_slots, self.out_slots = run, in_slots, out_slots

    def shift(self, n: int) -> None:
        """Its tape was merged into another at offset `n`."""
        self.in_slots = tuple(s + n for s in self.in_slots)
        self.out_slots = [s + n for s in self.out_slots]

    def run(self, tape, tab, adj, live, e: int) -> None:
        if not any(live[s] for s in self.out_slots):
            return
        run, rec = self.run_, self.run_.rec
        run.check_versions()
        # (eager slots, program slots) of the outputs and of the inputs
        rec.prog.backward(run.frame, _ENV, (tab, adj, live),
                          (np.array(self.out_slots, np.int64), rec.out_slots),
                          (np.array(self.in_slots, np.int64), rec.in_slots))

    def run_graph(self, g0, grads: dict) -> list:
        """create_graph: gradients with a graph of their own (see `_graph_grads`)."""
        gs = [g0 if k == 0 else grads.get(s) for k, s in enumerate(self.out_slots)]
        return list(_graph_grads(self.run_.rec, self.run_.flat, gs))


def _graph_grads(rec: Recording, flat: tuple, grads: tuple) -> tuple:
    """Gradients with a graph of their own (create_graph=True): the function run eagerly at
    the call's inputs and differentiated by the recorded reverse pass."""
    ins = [flat[src] if kind == "arg" else src for kind, src, _ in rec.node_inputs]
    with enable_grad():
        out = rec.owner.fn(*flat)
    outs = (out,) if isinstance(out, Tensor) else tuple(out)
    pairs = [(o, g) for o, g in zip(outs, grads) if g is not None]
    gs = _grad([o for o, _ in pairs], ins, [g for _, g in pairs], create_graph=True,
               allow_unused=True)
    return tuple(gs)


__all__ = ["compile", "CompiledFunction", "CompileWarning"]
