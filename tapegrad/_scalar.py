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

0-d float32 values (torch's default dtype) have the same path (`_Scalar32`, `_Vec32`): each
result is rounded to float32 (`round32`), so arithmetic gives numpy's and torch's float32 bits
(a float64 operation rounded once to float32 is the correctly rounded float32 result for
+ - * / and sqrt; transcendentals are libm's float64 ones rounded, which can differ from a
float32 libm's in the last bit). Their records are float32 slots: the value is stored as the
float64 whose low 4 bytes are its bits, so the float32 kernels read it in place, and their
adjoints are float32 as on the general path. Mixed float32/float64 operands take the general
path (torch's type promotion).
"""
from __future__ import annotations

import math
import struct
from typing import Callable, Optional

import numpy as np

from ._grad_mode import STATE
from .engine.kernels import IN_FL, compact
from ._opdef import Op
from ._version import mark_scalar_kids
from .tensor import Tensor, _Scalar, _Scalar32, _Vec, _Vec32

_F64 = np.dtype(np.float64)
_F32 = np.dtype(np.float32)
_new = object.__new__
# what a Python float forward raises where numpy returns inf/nan (the general path then runs)
FLOAT_ERRORS = (ArithmeticError, ValueError)
_PACK = struct.Struct("<f4x").pack       # float32 bits, then 4 zero bytes
_AS_F64 = struct.Struct("<d").unpack
_AS_F32 = struct.Struct("<f").unpack_from


def round32(v: float) -> tuple:
    """(`v` rounded to float32, that value as stored in a record's floats: the float64 whose low
    4 bytes are its bits, see `engine.kernels.compact`). OverflowError where float32 overflows
    (an ArithmeticError: the general path then gives numpy's inf)."""
    b = _PACK(v)
    return _AS_F32(b)[0], _AS_F64(b)[0]


_VEC_STRUCTS: dict = {}  # n -> (n float32s padded to whole float64s; as float64s; n float32s
#                                 each in a float64 of its own; n float64s)


def _vec_structs(n: int) -> tuple:
    st = _VEC_STRUCTS.get(n)
    if st is None:
        st = _VEC_STRUCTS[n] = (struct.Struct(f"<{n}f{'4x' if n & 1 else ''}"),
                                struct.Struct(f"<{(n + 1) // 2}d"),
                                struct.Struct("<" + "f4x" * n), struct.Struct(f"<{n}d"))
    return st


def pack32(vals: tuple) -> tuple:
    """(`vals` rounded to float32, those packed two to a float64 for a `_Vec32`'s record:
    `kernels.stored_floats`, so that the float32 kernels read one contiguous float32 array).
    None unless all are finite (no packed float64 is then a NaN, whose bits a copy might not
    keep)."""
    fs, f64s, _, _ = _vec_structs(len(vals))
    try:
        b = fs.pack(*vals)
    except FLOAT_ERRORS:  # (beyond float32)
        return None
    rounded = fs.unpack(b)
    if not -math.inf < sum(rounded) < math.inf:  # an inf or a nan among them (a float32 sum
        return None                               # in float64 cannot overflow)
    return rounded, f64s.unpack(b)


def each32(vals: tuple) -> tuple:
    """Float32 values, each as stored in a compact record (see `round32`)."""
    _, _, singles, f64s = _vec_structs(len(vals))
    return f64s.unpack(singles.pack(*vals))


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
    """The tensor for a value the general path recorded into `view`: a `_Scalar` (`_Scalar32`)
    when it is a 0-d float64 (float32), so that scalar code continues on the fast path, else a
    plain non-leaf."""
    dt = view.dtype
    if view.shape or (dt is not _F64 and dt is not _F32):
        t = _new(Tensor)
        t._data = view
        t._rg = True
    else:
        t = _new(_Scalar if dt is _F64 else _Scalar32)
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


_FAST = {_Scalar: _F64, _Scalar32: _F32}  # fast scalar class -> its dtype


def operand(tape, t, dt=_F64) -> Optional[tuple]:
    """(slot, value) of `t` as an input of a fast scalar op of dtype `dt` on `tape`, or None
    when the general path must take it: a fast scalar of `dt` on `tape`, or a 0-d tensor of
    `dt` on it or without a tape (a leaf or constant, entered into `tape` here)."""
    tt = type(t)
    if tt is _Scalar or tt is _Scalar32:
        return (t._slot, t._val) if t._tape is tape and _FAST[tt] is dt else None
    if tt is not Tensor:
        return None
    d = t._data
    if d.shape or d.dtype is not dt:
        return None
    if t._tape is not None:
        return (t._slot, d.item()) if t._tape is tape else None
    from ._record import slot_in
    return slot_in(tape, t, dt), d.item()


def binary(op: Op, a, b) -> Optional[_Scalar]:
    """`op(a, b)` on the fast path when both are scalars of one dtype on one live tape (at least
    one a fast scalar); None otherwise (or on a float error)."""
    if not STATE.fast:
        return None
    fa = type(a) in _FAST
    tape = a._tape if fa else b._tape
    dt = _FAST[type(a) if fa else type(b)]
    if tape.ok is not STATE.key or (a._tape is not tape and a._tape is not None) or (
            b._tape is not tape and b._tape is not None):
        tape = _common_tape(a, b)
        if tape is None:
            return None
    pa, pb = operand(tape, a, dt), operand(tape, b, dt)
    if pa is None or pb is None:
        return None
    try:
        v = op.scalar(pa[1], pb[1])
        if dt is _F32:
            v, packed = round32(v)
            return _record(tape, (op.scalar_head32, pa[0], pb[0]), (packed,), _Scalar32, v)
    except FLOAT_ERRORS:
        return None
    return _record(tape, (op.scalar_head, pa[0], pb[0]), (v,))


_HEADS: dict = {}


def _head(code: int, nin: int, nints: int, nfloats: int, is32: bool = False) -> int:
    """`compact(...)`, cached."""
    key = (code, nin, nints, nfloats, is32)
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
    if type(x) is _Scalar32:
        return _unary32(op, tape, x, p0, p1)
    try:
        v = op.scalar(x._val, p0, p1) if op.takes_params else op.scalar(x._val)
    except FLOAT_ERRORS:
        return None
    return _record(tape, (op.scalar_head, x._slot), (p0, p1, v) if op.nfloat else (v,))


_P0_32: dict = {}  # Python number -> as a float32 (numbers repeat: learning rates, constants)


def _unary32(op: Op, tape, x: _Scalar32, p0: float, p1: float) -> Optional[_Scalar32]:
    """`unary` of a float32: `p0` enters the forward as a float32 (as the general path's
    `constant`: torch's wrapped numbers), the record keeps it as given (for the adjoint)."""
    try:
        if op.takes_params:
            q = _P0_32.get(p0) if p0 else p0  # (0 and -0. are one key, but exact as they are)
            if q is None:
                if len(_P0_32) > 4096:
                    _P0_32.clear()
                q = _P0_32[p0] = round32(p0)[0]
            v = op.scalar(x._val, q, p1)
        else:
            v = op.scalar(x._val)
        b = _PACK(v)
    except FLOAT_ERRORS:
        return None
    v, packed = _AS_F32(b)[0], _AS_F64(b)[0]
    return _record(tape, (op.scalar_head32, x._slot), (p0, p1, packed) if op.nfloat else (packed,),
                   _Scalar32, v)


def operator(op: Op, number_op: Op, generic: Callable, reflected: bool = False,
             cls: type = _Scalar) -> Callable:
    """A fast scalar's ``__add__``-style method (`cls`: `_Scalar`, or `_Scalar32`, whose results
    are rounded): `op` with another scalar, `number_op` (the number as p0) with a Python
    number. Two scalars of one tape are the hottest case of scalar code, so that one is
    recorded inline (`binary` + `_record` without their generality); anything else goes to
    `unary`/`binary` and then to `generic` (the Tensor method)."""
    is32 = cls is _Scalar32
    f2, head2 = op.scalar, op.scalar_head32 if is32 else op.scalar_head

    def method(self, other):
        tape = self._tape
        t = type(other)
        if tape.ok is STATE.fk:
            if t is cls and not reflected:
                if other._tape is tape:
                    try:
                        v = stored = f2(self._val, other._val)
                        if is32:
                            b = _PACK(v)
                            v, stored = _AS_F32(b)[0], _AS_F64(b)[0]
                    except FLOAT_ERRORS:
                        return generic(self, other)
                    s = tape.n
                    tape.n = s + 1
                    tape.pend += (head2, self._slot, other._slot)
                    tape.fpend.append(stored)
                    if not s & 1023:
                        tape._flush()
                    r = _new(cls)
                    r._val = v
                    r._tape = tape
                    r._slot = s
                    return r
            elif t is float or t is int:
                r = unary(number_op, self, other, 0.0)
                return generic(self, other) if r is None else r
        if t is cls or t is Tensor:
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
    if type(x) is _Vec32:
        p = pack32(vals)
        if p is None:
            return None
        return _record(tape, (code, 1, x._slot, IN_FL, 1, 1, n, 3, 1, n, 1, len(p[1])), p[1],
                       _Vec32, p[0])
    return _record(tape, (code, 1, x._slot, IN_FL, 0, 1, n, 3, 1, n, 1, n), vals, _Vec, vals)


_STACK_TAILS: dict = {}  # n -> a stack record's words after its inputs


def stack_of(tensors, code: int) -> Optional[_Vec]:
    """`stack` (dim 0) of fast scalars of one dtype on one live tape (and 0-d leaves of that
    dtype), as a `_Vec` (`_Vec32`)."""
    if not STATE.fast or not tensors:
        return None
    tape = None
    slots = []
    vals = []
    cls = type(tensors[0])
    for t in tensors if cls in _FAST else ():  # the common case: fast scalars of one tape
        if type(t) is not cls:
            break
        if tape is None:
            tape = t._tape
        elif t._tape is not tape:
            break
        slots.append(t._slot)
        vals.append(t._val)
    if cls not in _FAST or len(slots) < len(tensors) or tape is None or \
            tape.ok is not STATE.key:  # leaves, ...
        fast = [type(t) for t in tensors if type(t) in _FAST]
        if not fast or not all([isinstance(t, Tensor) for t in tensors]):
            return None
        cls = fast[0]
        tape = _common_tape(*tensors)
        if tape is None:
            return None
        ps = [operand(tape, t, _FAST[cls]) for t in tensors]
        if None in ps:
            return None
        slots = [p[0] for p in ps]
        vals = [p[1] for p in ps]
    n = len(slots)
    vals = tuple(vals)  # (a list would stay tracked by the garbage collector)
    if cls is _Scalar32:
        p = pack32(vals)
        if p is None:
            return None
        return _record(tape, (code, n, *slots, IN_FL, 1, 1, n, n + 1, 0) + (1,) * n +
                       (len(p[1]),), p[1], _Vec32, vals)
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
    is32 = type(x) is _Vec32
    head = _head(code, 1, 1, 1, is32)
    cls = _Scalar32 if is32 else _Scalar
    out = []
    mark_scalar_kids(x)
    for i in range(n):
        pend += (head, a, i)
        r = _new(cls)
        r._val = vals[i]
        r._tape = tape
        r._slot = s + i
        r._bs = (x, i)  # a view of x: its memory, if it ever needs one, is x's
        out.append(r)
    tape.fpend += each32(vals) if is32 else vals
    if (s >> 10) != ((s + n) >> 10):
        tape._flush()
    return tuple(out)
