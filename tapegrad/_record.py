"""Recording: run an op's forward and append its tape entry. The hot path of eager mode.

`apply_unary`, `apply_binary` and `apply_kernel` are the only places that create tape entries;
each op's front-end in the `ops` package parses its arguments and calls one of them. When recording is off
(no input requires grad, or grad mode is off) they run the numpy forward and return a leaf.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from ._dtype import get_default_dtype, result_type
from ._grad_mode import STATE
from ._opdef import OPS, Op
from ._quiet import ensure
from .engine.tape import Tape, claim, resolve
from .tensor import Tensor, _nonleaf, _Scalar, _Scalar32, _wrap
from . import _scalar
from ._scalar import result

_F32 = np.dtype(np.float32)


_CONSTANTS: dict = {}


def constant(v, dt) -> np.ndarray:
    """A Python scalar as a 0-d array of the op's dtype, cached: numpy converts a Python float
    on every ufunc call (~0.3 us on a small array); a 0-d array of the right dtype costs nothing
    and gives the same result (the float is rounded to `dt` either way)."""
    # 0 and -0.0 are equal keys but different constants: the sign goes into the key
    key = (v, dt) if v else (v, dt, type(v), math.copysign(1.0, v))
    c = _CONSTANTS.get(key)
    if c is None:
        c = np.array(v, dt if np.can_cast(np.min_scalar_type(v), dt, "same_kind") else None)
        if v == v:  # NaN is unequal to itself: never found again, so not kept
            if len(_CONSTANTS) > 4096:
                _CONSTANTS.clear()
            _CONSTANTS[key] = c
    return c


def _prod(shape: tuple) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _live_tape(t: Tensor):
    """The tape `t` records on, or None for leaves and tensors whose tape was freed."""
    tp = t._tape
    if tp is None:
        return None
    if tp.into is not None:
        tp = resolve(t)
    if tp.freed:
        return None
    if tp.ok is not STATE.key:
        if STATE.trace is not None:  # tracing: other graphs enter as inputs
            return None
        claim(tp)  # another thread's graph: ours if that thread is gone, else a clear error
    return tp


def tape_for1(t: Tensor) -> Tape:
    """The tape an op on `t` alone records on (the common case, kept short)."""
    tp = t._tape
    if tp is not None and tp.ok is STATE.key:
        return tp
    tp = _live_tape(t)
    return tp if tp is not None else new_tape()


def tape_for(*ts: Tensor) -> Tape:
    """The tape an op on `ts` records on: theirs, a merge of theirs, or a new one."""
    tape = None
    for t in ts:
        tp = _live_tape(t)
        if tp is None or tp is tape:
            continue
        if tape is None:
            tape = tp
        else:  # two computations meet: merge the smaller into the larger
            small, tape = (tp, tape) if tp.n <= tape.n else (tape, tp)
            tape.absorb(small)
    return tape if tape is not None else new_tape()


def new_tape() -> Tape:
    """A tape for a computation that starts here (the trace's own while tracing)."""
    tr = STATE.trace
    return Tape() if tr is None else tr.tape


def slot_in(tape: Tape, t: Tensor, np_dtype) -> int:
    if t._tape is tape or (t._ser == tape.serial and t._tape is None):
        return t._slot
    if t._tape is not None and t._tape.into is not None:
        resolve(t)
        if t._tape is tape:
            return t._slot
    return tape.input_slot(t, np_dtype)


def entry_slot(tape: Tape, t: Tensor, dt) -> int:
    """t's slot as an input of an entry of dtype `dt` on `tape`. Every entry is homogeneous (its
    kernel works on one adjoint buffer, `engine.kernels`): a tensor that requires grad and has another
    float dtype gets a cast entry first (torch casts at the op boundary too); others (constants,
    integers) enter converted."""
    if t._rg and t._data.dtype != dt and dt.kind == "f":
        td = t._data
        t = apply_kernel(OPS["to_copy"], (t,), td.shape, dt, lambda out: _assign(td, out),
                         tape=tape)
        return t._slot
    if t._tape is tape:
        return t._slot
    return slot_in(tape, t, t._data.dtype if t._rg else dt)


def _assign(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    out[...] = x  # (a cast: numpy converts on assignment)
    return out


def float_dtype(np_dtype):
    """Ops with floating results turn integer/bool inputs into the default dtype, as torch."""
    return np_dtype if np_dtype.kind == "f" else get_default_dtype().np_dtype


def apply_unary(op: Op, x: Tensor, p0: float = 0.0, p1: float = 0.0, out_dtype=None) -> Tensor:
    """Elementwise one-input op (see `_opdef.unary` for the forward's signature)."""
    if (type(x) is _Scalar or type(x) is _Scalar32) and op.scalar is not None and \
            out_dtype is None:
        r = _scalar.unary(op, x, p0, p1)
        if r is not None:
            return r
    xd = x._data
    dt = out_dtype
    if dt is None:
        dt = xd.dtype
        if not op.keeps_int and dt.kind != "f":
            dt = float_dtype(dt)
    if x._rg and STATE.enabled:
        tape = x._tape
        if tape is None or tape.ok is not STATE.key:
            tape = tape_for1(x)
            a = slot_in(tape, x, xd.dtype)
        else:
            a = x._slot
        s, view = tape.record(op.code, xd.shape, xd.size, dt is _F32, (a,),
                              (p0, p1) if op.nfloat else ())
        if op.takes_params:
            op.forward(xd, constant(p0, dt), p1, view)
        else:
            op.forward(xd, view)
        return result(view, tape, s)
    ensure()
    res = op.forward(xd, constant(p0, dt), p1, None) if op.takes_params else op.forward(xd, None)
    return _untracked(_wrap(res if res.dtype == dt else res.astype(dt)), (x,))


def _untracked(out: Tensor, inputs: tuple) -> Tensor:
    """A result computed off the tape: while tracing, one computed from constants only is a
    constant, and an integer one from integer arguments is as good as they are (their values
    are guarded)."""
    tr = STATE.trace
    if tr is not None:
        from ._trace import derived
        derived(tr, out, inputs)
    return out


def unary_function(op: Op, doc: str) -> Callable[[Tensor], Tensor]:
    """The public function (and Tensor method) of an elementwise op without parameters.

    Its first lines repeat `apply_unary`'s recording for the common case (an input already on
    a live tape), sparing a call on the eager hot path; everything else goes to `apply_unary`."""
    code, forward = op.code, op.forward

    def fn(input: Tensor) -> Tensor:
        tape = input._tape
        if tape is not None and tape.ok is STATE.ek and type(input) is Tensor:
            xd = input._data
            shape = xd.shape
            s, view = tape.record(code, shape, xd.size, xd.dtype is _F32, (input._slot,))
            forward(xd, view)
            return _nonleaf(view, tape, s) if shape else result(view, tape, s)
        return apply_unary(op, input)
    fn.__name__ = fn.__qualname__ = op.name
    fn.__doc__ = doc
    return fn


def binary_operator(op: Op, scalar_op: Op, fallback: Callable) -> Callable:
    """`tensor (op) other` (``__add__`` ...). The common cases are recorded right here: a float
    tensor on a live tape with a Python number (`scalar_op`, the number as p0), or with a
    tensor of the same shape and dtype that is on the same tape or is a leaf already on it.
    Everything else goes to `apply_binary` / `apply_unary` / `fallback` (the full front-end)."""
    code, scode, forward, sforward = op.code, scalar_op.code, op.forward, scalar_op.forward

    def method(self: Tensor, other):
        t = type(other)
        tape = self._tape
        live = tape is not None and tape.ok is STATE.ek
        if t is Tensor:
            if live:
                da, db = self._data, other._data
                shape = da.shape
                if (other._tape is tape or (other._ser == tape.serial and other._tape is None)
                        ) and shape == db.shape and da.dtype is db.dtype:
                    s, view = tape.record(code, shape, da.size, da.dtype is _F32,
                                          (self._slot, other._slot))
                    forward(da, db, view)
                    return _nonleaf(view, tape, s) if shape else result(view, tape, s)
            return apply_binary(op, self, other)
        if t is float or t is int:
            xd = self._data
            if live:
                dt = xd.dtype
                shape = xd.shape
                s, view = tape.record(scode, shape, xd.size, dt is _F32, (self._slot,),
                                      (other, 0.0) if scalar_op.nfloat else ())
                sforward(xd, constant(other, dt), 0.0, view)
                return _nonleaf(view, tape, s) if shape else result(view, tape, s)
            if xd.dtype.kind == "f":
                return apply_unary(scalar_op, self, other, 0.0, xd.dtype)
        if (t is _Scalar or t is _Scalar32) and op.scalar is not None:  # a 0-d leaf with a
            #                                                               fast scalar
            r = _scalar.binary(op, self, other)
            if r is not None:
                return r
        return fallback(self, other)
    method.__name__ = f"__{op.name}__"
    return method


def broadcast_shapes(sa: tuple, sb: tuple) -> tuple:
    """numpy/torch broadcasting, with torch's error message."""
    n = max(len(sa), len(sb))
    pa = (1,) * (n - len(sa)) + tuple(sa)
    pb = (1,) * (n - len(sb)) + tuple(sb)
    for d in range(n - 1, -1, -1):  # torch names the last mismatching dimension
        u, v = pa[d], pb[d]
        if u != v and u != 1 and v != 1:
            raise RuntimeError(f"The size of tensor a ({u}) must match the size of tensor b ({v}) "
                               f"at non-singleton dimension {d}")
    return tuple(v if u == 1 else u for u, v in zip(pa, pb))


def apply_binary(op: Op, a: Tensor, b: Tensor) -> Tensor:
    """Elementwise two-input op with broadcasting and torch's type promotion."""
    da, db = a._data, b._data
    sha, shb = da.shape, db.shape
    if sha == shb:
        shape, size = sha, da.size
    else:
        shape = broadcast_shapes(sha, shb)
        size = _prod(shape)
    ta, tb = da.dtype, db.dtype
    dt = ta if ta is tb or ta == tb else result_type(a, b).np_dtype
    if op.float_out and dt.kind != "f":
        dt = float_dtype(dt)
    if (a._rg or b._rg) and STATE.enabled:
        tape = a._tape
        if tape is None or tape.ok is not STATE.key or (
                b._tape is not None and b._tape is not tape):
            tape = tape_for(a, b)
        if ta == dt and tb == dt:
            sa = a._slot if a._tape is tape else slot_in(tape, a, dt)
            sb = b._slot if b._tape is tape else slot_in(tape, b, dt)
        else:  # mixed dtypes: casts first
            sa, sb = entry_slot(tape, a, dt), entry_slot(tape, b, dt)
        s, view = tape.record(op.code, shape, size, dt is _F32, (sa, sb))
        op.forward(da, db, view)
        return result(view, tape, s)
    ensure()
    res = op.forward(da, db)
    return _untracked(_wrap(res if res.dtype == dt else res.astype(dt)), (a, b))


def apply_kernel(op: Op, inputs: tuple, shape: tuple, dt, compute, ints: tuple = (),
                 floats: tuple = (), tape=None, live=None) -> Tensor:
    """An op with a hand-written adjoint (or a shape-changing identity): `compute(out)` writes
    the forward value into `out` (or returns a new array when `out` is None); `ints`/`floats`
    are the record's parameters. `tape`: record there if it is live (the pieces of one split
    of a leaf go on one tape). `live`: the op is a view and this is its value, a numpy view of
    the input's memory, which becomes the result's ``_data`` (the slot gets a copy)."""
    if STATE.enabled and any(t._rg for t in inputs):
        if tape is None or tape.ok is not STATE.key:
            tape = tape_for1(inputs[0]) if len(inputs) == 1 else tape_for(*inputs)
        if op.name in ("to_copy", "snapshot"):  # (casts: their input keeps its dtype)
            sl = tuple(t._slot if t._tape is tape else slot_in(tape, t, t._data.dtype)
                       for t in inputs)
        else:
            sl = tuple(t._slot if t._tape is tape and t._data.dtype == dt else
                       entry_slot(tape, t, dt) for t in inputs)
        s, view = tape.record(op.code, shape, _prod(shape), dt == _F32, sl, floats, ints)
        compute(view)
        return result(view, tape, s) if live is None else _nonleaf(live, tape, s)
    if live is not None:
        return _untracked(_wrap(live), inputs)
    ensure()
    res = np.asarray(compute(None))
    return _untracked(_wrap(res if res.dtype == dt else res.astype(dt)), inputs)
