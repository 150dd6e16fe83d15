"""Recording: run an op's forward and append its tape entry. The hot path of eager mode.

`apply_unary`, `apply_binary` and `apply_kernel` are the only places that create tape entries;
each op's front-end in `ops.py` parses its arguments and calls one of them. When recording is off
(no input requires grad, or grad mode is off) they run the numpy forward and return a leaf.
"""
from __future__ import annotations

import numpy as np

from ._dtype import get_default_dtype, result_type
from ._grad_mode import STATE
from ._opdef import Op
from ._tape import Tape, resolve
from .tensor import Tensor, _nonleaf, _wrap

_F32 = np.dtype(np.float32)


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
    return None if tp.freed else tp


def tape_for1(t: Tensor) -> Tape:
    """The tape an op on `t` alone records on (the common case, kept short)."""
    tp = t._tape
    if tp is not None and tp.into is None and not tp.freed:
        return tp
    tp = _live_tape(t)
    return tp if tp is not None else Tape()


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
    return tape if tape is not None else Tape()


def slot_in(tape: Tape, t: Tensor, np_dtype) -> int:
    if t._tape is tape:
        return t._slot
    if t._tape is not None and t._tape.into is not None:
        resolve(t)
        if t._tape is tape:
            return t._slot
    return tape.input_slot(t, np_dtype)


def float_dtype(np_dtype):
    """Ops with floating results turn integer/bool inputs into the default dtype, as torch."""
    return np_dtype if np_dtype.kind == "f" else get_default_dtype().np_dtype


def apply_unary(op: Op, x: Tensor, p0: float = 0.0, p1: float = 0.0, out_dtype=None) -> Tensor:
    """Elementwise one-input op (see `_opdef.unary` for the forward's signature)."""
    xd = x._data
    dt = out_dtype
    if dt is None:
        dt = xd.dtype
        if not op.keeps_int and dt.kind != "f":
            dt = float_dtype(dt)
    if x._rg and STATE.enabled:
        tape = x._tape
        if tape is None or tape.into is not None or tape.freed:
            tape = tape_for1(x)
            a = slot_in(tape, x, xd.dtype)
        else:
            a = x._slot
        s, view = tape.record(op.code, xd.shape, xd.size, dt is _F32, a, -1,
                              (p0, p1) if op.nfloat else ())
        if op.takes_params:
            op.forward(xd, p0, p1, view)
        else:
            op.forward(xd, view)
        return _nonleaf(view, tape, s)
    res = op.forward(xd, p0, p1, None) if op.takes_params else op.forward(xd, None)
    return _wrap(res if res.dtype == dt else res.astype(dt))


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
    shape = da.shape if da.shape == db.shape else broadcast_shapes(da.shape, db.shape)
    dt = da.dtype if da.dtype == db.dtype else result_type(a, b).np_dtype
    if op.extra.get("float_out"):
        dt = float_dtype(dt)
    if (a._rg or b._rg) and STATE.enabled:
        tape = a._tape
        if tape is None or tape.into is not None or tape.freed or (
                b._tape is not None and b._tape is not tape):
            tape = tape_for(a, b)
        sa = a._slot if a._tape is tape else slot_in(tape, a, dt if da.dtype.kind != "f" else da.dtype)
        sb = b._slot if b._tape is tape else slot_in(tape, b, dt if db.dtype.kind != "f" else db.dtype)
        size = da.size if da.shape == shape else (db.size if db.shape == shape else _prod(shape))
        s, view = tape.record(op.code, shape, size, dt is _F32, sa, sb)
        op.forward(da, db, out=view)
        return _nonleaf(view, tape, s)
    res = op.forward(da, db)
    return _wrap(res if res.dtype == dt else res.astype(dt))


def apply_kernel(op: Op, inputs: tuple, shape: tuple, dt, compute, ints: tuple = (),
                 floats: tuple = ()) -> Tensor:
    """An op with a hand-written adjoint (or a shape-changing identity): `compute(out)` writes
    the forward value into `out` (or returns a new array when `out` is None); `ints`/`floats`
    are the record's parameters."""
    if STATE.enabled and any(t._rg for t in inputs):
        tape = tape_for(*inputs)
        sl = [slot_in(tape, t, t._data.dtype if t._data.dtype.kind == "f" else dt) for t in inputs]
        s, view = tape.record(op.code, shape, _prod(shape), dt == _F32, sl[0],
                              sl[1] if len(sl) > 1 else -1, floats, ints)
        compute(view)
        return _nonleaf(view, tape, s)
    res = np.asarray(compute(None))
    return _wrap(res if res.dtype == dt else res.astype(dt))
