"""Comparisons and boolean reductions: bool results, no gradient, no tape."""
from __future__ import annotations

import builtins

import numpy as np

from .._grad_mode import STATE
from .._opdef import forward_op
from .._record import broadcast_shapes, entry_slot, float_dtype
from .._dtype import result_type, torch_name
from ..tensor import Tensor, _wrap
from .reductions import _dims

# recorded only while a function is traced for tapegrad.compile (their 0/1 results feed `where`
# and the guards of `if`s); no gradient
_OPS = {name: forward_op(name, f"1.0 if x {sym} y else 0.0", f"x {sym} y")
        for name, sym in (("eq", "=="), ("ne", "!="), ("lt", "<"), ("le", "<="), ("gt", ">"),
                          ("ge", ">="))}

# ------------------------------------------------------------------------------------------------
# comparisons and boolean reductions (no gradient)
# ------------------------------------------------------------------------------------------------
def _compare(fn, name):
    def cmp(input: Tensor, other) -> Tensor:
        o = other._data if isinstance(other, Tensor) else other
        if isinstance(other, Tensor) and other._data.shape != input._data.shape:
            broadcast_shapes(input._data.shape, other._data.shape)
        res = _wrap(np.asarray(fn(input._data, o)))
        if STATE.trace is not None:
            _record(_OPS[name], input, other, res)
        return res
    cmp.__name__ = fn.__name__
    cmp.__doc__ = f"Elementwise comparison ({fn.__name__}); a bool tensor, no gradient."
    return cmp


eq, ne, lt = _compare(np.equal, "eq"), _compare(np.not_equal, "ne"), _compare(np.less, "lt")
le, gt = _compare(np.less_equal, "le"), _compare(np.greater, "gt")
ge = _compare(np.greater_equal, "ge")


def _record(op, input: Tensor, other, res: Tensor) -> None:
    """While tracing: a comparison of recorded values becomes an entry (its result, 0/1 in the
    operands' float dtype, stands for the bool tensor `res`)."""
    tr = STATE.trace
    if not builtins.any(isinstance(t, Tensor) and tr.slot_of(t) is not None
                        for t in (input, other)):
        return  # (constants only: the result is a constant too)
    from ..factories import tensor
    if not isinstance(other, Tensor):
        other = tensor(other)
    dt = float_dtype(result_type(input, other).np_dtype)
    tape = tr.tape
    ins = tuple(entry_slot(tape, t, dt) for t in (input, other))
    rd = res._data
    s, view = tape.record(op.code, rd.shape, rd.size, dt == np.float32, ins)
    view[...] = rd
    tr.alias[id(res)] = (res, s)


def all(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """True where all elements (along `dim`) are nonzero."""
    axes = None if dim is None else _dims(dim, input.ndim)
    return _wrap(np.asarray(np.all(input._data, axis=axes, keepdims=keepdim)))


def any(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """True where any element (along `dim`) is nonzero."""
    axes = None if dim is None else _dims(dim, input.ndim)
    return _wrap(np.asarray(np.any(input._data, axis=axes, keepdims=keepdim)))


def isclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:
    """Elementwise ``|input - other| <= atol + rtol * |other|``; a bool tensor.
    ``tg.isclose(x, y)``."""
    _same_dtype(input, other)
    return _wrap(np.asarray(np.isclose(input._data, other._data, rtol=rtol, atol=atol,
                                       equal_nan=equal_nan)))


def allclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    """Whether `isclose` holds everywhere (a Python bool). ``tg.allclose(x, y)``."""
    return bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


def equal(input: Tensor, other: Tensor) -> bool:
    """Same shape and the same values (a Python bool). ``tg.equal(x, y)``."""
    a, b = input._data, other._data
    return a.shape == b.shape and bool(np.array_equal(a, b))


def _same_dtype(a: Tensor, b: Tensor) -> None:
    if a._data.dtype != b._data.dtype:  # (torch: no promotion here)
        raise RuntimeError(f"{torch_name(a._data.dtype)} did not match "
                           f"{torch_name(b._data.dtype)}")
    broadcast_shapes(a._data.shape, b._data.shape)


__all__ = ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'all', 'any', 'isclose', 'allclose', 'equal']
QUERIES = dict(eq=eq, ne=ne, lt=lt, le=le, gt=gt, ge=ge, all=all, any=any, isclose=isclose,
               allclose=allclose, equal=equal)
METHODS = dict(__eq__=eq, __ne__=ne, __lt__=lt, __le__=le, __gt__=gt, __ge__=ge)
