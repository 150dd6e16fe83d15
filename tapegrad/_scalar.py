"""The scalar fast path: eager code on 0-d float64 tensors (scalar graphs, loss arithmetic).

In scalar code the numpy call of every op (~0.5 us on a 0-d array) and the arena view of every
result cost far more than the arithmetic. So a 0-d float64 non-leaf is a `_Scalar`
(`tensor.py`): its value is a Python float, and an op on such tensors computes with Python floats
(the op's ``scalar=`` forward in its registration) and appends its record with the value in the
record's floats (address ``IN_FL``, see `engine.kernels.decode`), so the Numba sweep reads it there;
no numpy call, no arena slot. A 0-d value's record takes the compact form (`engine.kernels.compact`:
op and counts packed in one word, then the inputs), as converting each int of a record costs
~13 ns; opcodes, parameters and adjoint kernels are the general path's, so to the sweep an op is
the same op on either path.

A few scalars stacked into a vector (to be softmaxed and unbound again) stay Python floats too
(`_Vec`). Anything else -- or a float error such as ``math.exp(1000.0)``, which numpy answers
with inf -- takes the general path, which turns the operand into a plain tensor on first use of
its ``_data``.
"""
from __future__ import annotations

import math
from typing import Callable, Optional

import numpy as np

from ._grad_mode import STATE
from .engine.kernels import IN_FL, compact
from ._opdef import Op
from ._version import mark_scalar_kids
from .tensor import Tensor, _Scalar, _Vec

_F64 = np.dtype(np.float64)
_new = object.__new__
# what a Python float forward raises where numpy returns inf/nan (the general path then runs)
FLOAT_ERRORS = (ArithmeticError, ValueError)


def _record(tape, words: tuple, floats: tuple, cls=_Scalar, val=None):
    """Append a record whose value is in its floats (`words`: a compact record for a `_Scalar`,
    whose value is the last float; a full one with address IN_FL for a `_Vec` of value `val`)
    and return the tensor of its slot."""
    s = tape.n
    tape.n = s + 1
    tape.pend += words
    tape.fpend += floats
    if not s & 1023:
        tape._flush()
    t = _new(cls)
    t._val = floats[-1] if val is None else val
    t._tape = tape
    t._slot = s
    return t


def result(view: np.ndarray, tape, slot: int) -> Tensor:
    """The tensor for a value the general path recorded into `view`: a `_Scalar` when it is a
    0-d float64 (so that scalar code continues on the fast path), else a plain non-leaf."""
    if view.shape or view.dtype is not _F64:
        t = _new(Tensor)
        t._data = view
        t._rg = True
    else:
        t = _new(_Scalar)
        t._val = view.item()
    t._tape = tape
    t._slot = slot
    return t


def _common_tape(*ts):
    """The live tape the tensors `ts` (at least one a `_Scalar`) record on, merging their tapes
    if they are on several (as the general path would); None if one of them is a non-leaf of a
    freed tape (the general path then handles it)."""
    from ._record import tape_for
    from .engine.tape import resolve
    taped = [t for t in ts if t._tape is not None]
    tape = tape_for(*taped)
    for t in taped:
        if resolve(t) is not tape:
            return None
    return tape


def operand(tape, t) -> Optional[tuple]:
    """(slot, value) of `t` as an input of a fast scalar op on `tape`, or None when the general
    path must take it: a `_Scalar` on `tape`, or a 0-d float64 tensor on it or without a tape
    (a leaf or constant, entered into `tape` here)."""
    tt = type(t)
    if tt is _Scalar:
        return (t._slot, t._val) if t._tape is tape else None
    if tt is not Tensor:
        return None
    d = t._data
    if d.shape or d.dtype is not _F64:
        return None
    if t._tape is not None:
        return (t._slot, d.item()) if t._tape is tape else None
    from ._record import slot_in
    return slot_in(tape, t, _F64), d.item()


def binary(op: Op, a, b) -> Optional[_Scalar]:
    """`op(a, b)` on the fast path when both are scalars of one live tape (at least one a
    `_Scalar`); None otherwise (or on a float error)."""
    if not STATE.fast:
        return None
    tape = a._tape if type(a) is _Scalar else b._tape
    if tape.ok is not STATE.key or (a._tape is not tape and a._tape is not None) or (
            b._tape is not tape and b._tape is not None):
        tape = _common_tape(a, b)
        if tape is None:
            return None
    pa, pb = operand(tape, a), operand(tape, b)
    if pa is None or pb is None:
        return None
    try:
        v = op.scalar(pa[1], pb[1])
    except FLOAT_ERRORS:
        return None
    return _record(tape, (op.scalar_head, pa[0], pb[0]), (v,))


_HEADS: dict = {}


def _head(code: int, nin: int, nints: int, nfloats: int) -> int:
    """`compact(...)`, cached."""
    key = (code, nin, nints, nfloats)
    h = _HEADS.get(key)
    if h is None:
        h = _HEADS[key] = compact(*key)
    return h


def unary(op: Op, x: _Scalar, p0: float = 0.0, p1: float = 0.0) -> Optional[_Scalar]:
    """`op(x)` (`p0`, `p1`: its float parameters) on the fast path; None when it does not
    apply (or on a float error)."""
    if not STATE.fast:
        return None
    tape = x._tape
    if tape.ok is not STATE.key:
        tape = _common_tape(x)
        if tape is None:
            return None
    try:
        v = op.scalar(x._val, p0, p1) if op.takes_params else op.scalar(x._val)
    except FLOAT_ERRORS:
        return None
    return _record(tape, (op.scalar_head, x._slot), (p0, p1, v) if op.nfloat else (v,))


def operator(op: Op, number_op: Op, generic: Callable, reflected: bool = False) -> Callable:
    """A `_Scalar`'s ``__add__``-style method: `op` with another scalar, `number_op` (the number
    as p0) with a Python number. Two scalars of one tape are the hottest case of scalar code, so
    that one is recorded inline (`binary` + `_record` without their generality); anything else
    goes to `unary`/`binary` and then to `generic` (the Tensor method)."""
    f2, head2 = op.scalar, op.scalar_head

    def method(self, other):
        tape = self._tape
        t = type(other)
        if tape.ok is STATE.fk:
            if t is _Scalar and not reflected:
                if other._tape is tape:
                    try:
                        v = f2(self._val, other._val)
                    except FLOAT_ERRORS:
                        return generic(self, other)
                    s = tape.n
                    tape.n = s + 1
                    tape.pend += (head2, self._slot, other._slot)
                    tape.fpend.append(v)
                    if not s & 1023:
                        tape._flush()
                    r = _new(_Scalar)
                    r._val = v
                    r._tape = tape
                    r._slot = s
                    return r
            elif t is float or t is int:
                r = unary(number_op, self, other, 0.0)
                return generic(self, other) if r is None else r
        if t is _Scalar or t is Tensor:
            r = binary(op, other, self) if reflected else binary(op, self, other)
            if r is not None:
                return r
        elif (t is float or t is int) and tape.ok is not STATE.key and \
                _common_tape(self) is not None:
            return method(self, other)
        return generic(self, other)
    method.__name__ = f"__{'r' if reflected else ''}{op.name}__"
    return method


def softmax_of(x: _Vec, is_log: bool, code: int) -> Optional[_Vec]:
    """(log_)softmax of a `_Vec` (its only dim), in Python floats, recorded with the general
    path's record (ints: outer, n, inner)."""
    tape = x._tape
    if tape.ok is not STATE.fk:
        return None
    xs = x._val
    top = max(xs)
    if not -math.inf < top < math.inf:  # +-inf or nan among the inputs: numpy's answer
        return None
    # map over bound float methods: no Python frame per element (a - top == a + -top exactly)
    try:
        if is_log:
            lz = top + math.log(sum(map(math.exp, map((-top).__add__, xs))))
            vals = tuple(map((-lz).__add__, xs))
        else:
            es = list(map(math.exp, map((-top).__add__, xs)))
            vals = tuple(map(sum(es).__rtruediv__, es))
    except FLOAT_ERRORS:
        return None
    n = len(xs)
    return _record(tape, (code, 1, x._slot, IN_FL, 0, 1, n, 3, 1, n, 1, n), vals, _Vec, vals)


_STACK_TAILS: dict = {}  # n -> a stack record's words after its inputs


def stack_of(tensors, code: int) -> Optional[_Vec]:
    """`stack` (dim 0) of `_Scalar`s on one live tape (and 0-d float64 leaves), as a `_Vec`."""
    if not STATE.fast:
        return None
    tape = None
    slots = []
    vals = []
    for t in tensors:  # the common case: all fast scalars of one tape
        if type(t) is not _Scalar:
            break
        if tape is None:
            tape = t._tape
        elif t._tape is not tape:
            break
        slots.append(t._slot)
        vals.append(t._val)
    if len(slots) < len(tensors) or tape is None or tape.ok is not STATE.key:  # leaves, ...
        if not any([type(t) is _Scalar for t in tensors]) or not all(
                [isinstance(t, Tensor) for t in tensors]):
            return None
        tape = _common_tape(*tensors)
        if tape is None:
            return None
        ps = [operand(tape, t) for t in tensors]
        if None in ps:
            return None
        slots = [p[0] for p in ps]
        vals = [p[1] for p in ps]
    n = len(slots)
    vals = tuple(vals)  # (a list would stay tracked by the garbage collector)
    tail = _STACK_TAILS.get(n)
    if tail is None:
        tail = _STACK_TAILS[n] = (IN_FL, 0, 1, n, n + 1, 0) + (1,) * n + (n,)
    return _record(tape, (code, n, *slots, *tail), vals, _Vec, vals)


def unbind_of(x: _Vec, code: int) -> Optional[tuple]:
    """The elements of a `_Vec` as `_Scalar`s (the general path's unbind records)."""
    tape = x._tape
    if tape.ok is not STATE.fk:
        return None
    a = x._slot
    vals = x._val
    n = len(vals)
    s = tape.n
    tape.n = s + n
    pend = tape.pend
    head = _head(code, 1, 1, 1)
    out = []
    mark_scalar_kids(x)
    for i in range(n):
        pend += (head, a, i)
        r = _new(_Scalar)
        r._val = vals[i]
        r._tape = tape
        r._slot = s + i
        r._bs = (x, i)  # a view of x: its memory, if it ever needs one, is x's
        out.append(r)
    tape.fpend += vals
    if (s >> 10) != ((s + n) >> 10):
        tape._flush()
    return tuple(out)
