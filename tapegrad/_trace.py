"""Tracing a function for `tapegrad.compile`: an eager run on a tape of its own that also notes
what the recording depended on.

While a `Trace` is active (``STATE.trace``, per thread) every op on the function's arguments is
recorded, on the trace's tape only (outer graphs are not live: tensors from them enter as
inputs), and the trace learns, for each input slot, where its values come from at the next
call -- an argument, a tensor the function reaches through its closure or globals (a capture,
re-read at every call), a constant made inside the function (frozen), a random tensor (redrawn)
-- and which values left the tape into Python (``item()``, ``bool()``, ...): those become
guards. Anything it cannot account for (a tensor computed outside the tape, e.g. through
``.detach()`` or ``.numpy()``) makes the recording unusable: `abort` names why, and the
function then runs eagerly.
"""
from __future__ import annotations

import dis
import functools
import os
import sys
import types
from typing import Callable, Optional

import numpy as np

from ._grad_mode import STATE

_HERE = os.path.dirname(os.path.abspath(__file__))


def source_line() -> str:
    """'file:line' of the innermost frame outside tapegrad (where the user's code made a
    decision)."""
    f = sys._getframe(1)
    while f is not None and os.path.abspath(f.f_code.co_filename).startswith(_HERE):
        f = f.f_back
    if f is None:
        return "?"
    return f"{f.f_code.co_filename}:{f.f_lineno}"


class Abort(Exception):
    """The recording cannot be replayed (the reason is the message)."""


class Trace:
    """What one recording learned (see module docstring)."""

    def __init__(self, tape, proxies: dict, captures: dict):
        self.tape = tape
        self.proxies = proxies      # id(proxy tensor) -> argument index
        self.captures = captures    # id(tensor) -> (tensor, path) reachable from the function
        self.inputs: dict = {}      # input slot -> the tensor it was taken from
        self.pure: dict = {}        # id -> (tensor, frozen values): made inside, constant
        self.random: dict = {}      # id -> (tensor, redraw() -> values)
        self.alias: dict = {}       # id(bool tensor) -> (tensor, slot): a recorded comparison
        self.guards: list = []      # (slot, kind, values, source line)
        self.abort: Optional[str] = None
        self.arg_ints: dict = {}    # id -> index of integer/bool arguments (guarded by value)
        self.args: dict = {}        # id -> index of every tensor argument
        self.detached: dict = {}    # id(alias) -> (alias, the input it was detached from)
        self.int_sources: set = set()  # integer arguments that integer results came from
        self.keep: list = []        # (those results: their ids stay theirs)

    def fail(self, why: str) -> None:
        if self.abort is None:
            self.abort = why

    def tape_values(self, s: int, tab) -> np.ndarray:
        """A copy of slot s's values on the trace tape (an input: they are in the arena)."""
        from .engine.replay import _eager_values
        return _eager_values(tab, s)

    # -- hooks -------------------------------------------------------------------------------
    def slot_of(self, t) -> Optional[int]:
        """t's slot on the trace tape, if its values are computed by the recording."""
        a = self.alias.get(id(t))
        if a is not None:
            return a[1]
        if t._tape is self.tape:
            return t._slot
        if id(t) in self.proxies or id(t) in self.args or id(t) in self.captures:
            s = self.tape.input_slot(t, t._data.dtype)  # (an input at every call)
            self.inputs[s] = t  # (also when asked after the trace)
            return s
        return None

    def exit(self, t, truth: bool = False) -> None:
        """t's values leave the tape into Python (a decision may depend on them): guard them."""
        d = self.detached.get(id(t))
        if d is not None:  # (the values of the input it was detached from)
            t = d[1]
        if id(t) in self.pure or id(t) in self.arg_ints:
            return
        s = self.slot_of(t)
        if s is not None:
            vals = np.array(t._val if hasattr(t, "_val") and type(t._val) is float else t._data,
                            np.float64).reshape(-1)
            self.guards.append((s, 1 if truth else 0, vals, source_line()))
            return
        if id(t) in self.random:
            self.fail(f"the values of a random tensor are read in Python ({source_line()})")
            return
        self.fail(f"the values of a tensor computed outside the tape are read in Python "
                  f"({source_line()})")


def derived(tr: Trace, out, inputs: tuple) -> None:
    """`out`, computed off the tape from `inputs`: from constants only, it is a constant too;
    an integer one from integer arguments (or results like this one) and constants has values
    fixed by the guards on those arguments' values, and may be read freely."""
    ks = []
    for t in inputs:
        if not hasattr(t, "_data"):
            continue  # (a Python number)
        k = tr.arg_ints.get(id(t))
        if k is None and id(t) not in tr.pure:
            return
        if k is not None:
            ks.append(k)
    if not ks:  # constants only: a constant
        tr.pure[id(out)] = (out, None)
    elif out._data.dtype.kind != "f":
        tr.arg_ints[id(out)] = ks[0]
        tr.int_sources.update(ks)
        tr.keep.append(out)


def reads(*ts) -> None:
    """A front-end bakes the values of these (index, mask, target) tensors into its record:
    while tracing they are guarded like any value that leaves the tape."""
    tr = STATE.trace
    if tr is not None:
        _exits(tr, ts)


def mark_pure(t):
    """A factory made `t` inside a traced function from Python values: a constant (frozen
    with the values it has when it enters the tape)."""
    tr = STATE.trace
    if tr is not None:
        tr.pure[id(t)] = (t, None)
    return t


def detached(alias, t) -> None:
    """`alias` (``t.detach()``, ``t.data``) has t's values: when t is an input of the function
    being traced (an argument, a capture, a constant), so is the alias."""
    tr = STATE.trace
    if tr is not None:
        i = id(t)
        if i in tr.proxies or i in tr.args or i in tr.captures or i in tr.pure:
            tr.detached[id(alias)] = (alias, t)


def mark_random(t, redraw: Callable[[], np.ndarray]) -> None:
    """`t` holds random numbers drawn inside a traced function: drawn again at every replay."""
    tr = STATE.trace
    if tr is not None:
        tr.random[id(t)] = (t, redraw)


def factory(kind: str):
    """Decorator for the public factories: their results are constants ('pure') or random
    draws ('random') of the function being traced."""
    def wrap(fn):
        def traced(*args, **kwargs):
            tr = STATE.trace
            if tr is not None:  # a constant made from a tensor's values: they leave the tape
                _exits(tr, args)
            t = fn(*args, **kwargs)
            if tr is not None and hasattr(t, "_data"):
                if kind == "random":
                    def redraw(fn=fn, args=args, kwargs=kwargs):
                        prev, STATE.trace = STATE.trace, None
                        try:
                            return fn(*args, **kwargs)._data
                        finally:
                            STATE.trace = prev
                    mark_random(t, redraw)
                else:
                    mark_pure(t)
            return t
        traced.__name__, traced.__qualname__ = fn.__name__, fn.__qualname__
        traced.__doc__, traced.__wrapped__ = fn.__doc__, fn
        traced.__module__ = fn.__module__
        return traced
    return wrap


def _exits(tr: Trace, args) -> None:
    for a in args:
        if isinstance(a, (int, float, bool, str, type(None))):
            continue
        if isinstance(a, (list, tuple)):
            _exits(tr, a)
        elif hasattr(a, "_tape") and hasattr(a, "_rg"):
            tr.exit(a)


# -- captures: the tensors and Python values a function reaches ------------------------------
_SCALARS = (int, float, bool, str, type(None))


def reachable(fn) -> tuple:
    """(tensors, values): the tensors `fn` reaches through its closure, the globals its code
    names, its defaults and its ``self`` (for bound methods and modules), with the path to
    each, ``{id: (tensor, path)}``; and the Python numbers/strings it reads directly,
    ``[(path, value)]``, which are guarded by value."""
    from .tensor import Tensor
    tensors: dict = {}
    values: list = []
    owner, target = _parts(fn)
    roots = [] if owner is None else [((("self",),), owner)]
    code = getattr(target, "__code__", None)
    if code is not None:
        for name, cell in zip(code.co_freevars, target.__closure__ or ()):
            try:
                roots.append(((("cell", name),), cell.cell_contents))
            except ValueError:  # an empty cell
                pass
        g = target.__globals__
        for name in _names(code):
            if name in g:
                roots.append(((("global", name),), g[name]))
        for i, d in enumerate(target.__defaults__ or ()):
            roots.append(((("default", i),), d))
    seen = set()
    stack = [(p, o, 0) for p, o in roots]
    while stack:
        path, obj, depth = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, Tensor):
            tensors.setdefault(id(obj), (obj, path))
        elif isinstance(obj, _SCALARS) and depth <= 1:
            values.append((path, obj))
        elif depth < 4 and len(seen) < 10000:
            kids = enumerate(obj) if type(obj) in (list, tuple) else _children(obj)
            for key, child in kids:
                # (numbers below the first level are not guarded: not walked either, nor
                # containers of numbers only, such as a long list of index tuples)
                if isinstance(child, _SCALARS):
                    if depth:
                        continue
                elif _numbers_only(child):
                    continue
                if type(key) is int:
                    key = ("item", key)
                steps = key if isinstance(key[0], tuple) else (key,)  # (a helper's)
                stack.append((path + steps, child, depth + 1))
    return tensors, values


def _numbers_only(obj, depth: int = 2) -> bool:
    """Whether obj is a list or tuple of numbers (or of such lists, `depth` levels down)."""
    if type(obj) not in (tuple, list):
        return False
    for x in obj:
        if type(x) not in _SCALAR_TYPES and not (depth and _numbers_only(x, depth - 1)):
            return False
    return True


_SCALAR_TYPES = frozenset(_SCALARS)


def _names(code) -> set:
    """The global names `code` (and code nested in it) loads: not attribute names (``x.t()``)."""
    names = {i.argval for i in dis.get_instructions(code)
             if i.opname in ("LOAD_GLOBAL", "LOAD_NAME")}
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            names |= _names(c)
    return names


def _children(obj):
    if isinstance(obj, (list, tuple)):
        return [(("item", i), v) for i, v in enumerate(obj)]
    if isinstance(obj, functools.partial):  # its bound arguments (the function: `reachable`)
        return [(("attr", "args"), obj.args), (("attr", "keywords"), obj.keywords)]
    if isinstance(obj, dict):
        return [(("item", k), v) for k, v in obj.items() if isinstance(k, (str, int))]
    if isinstance(obj, types.FunctionType) and _users(obj):
        return _function_children(obj)
    if isinstance(obj, (types.ModuleType, type, types.FunctionType, types.BuiltinFunctionType,
                        np.ndarray)) or callable(obj) and not hasattr(obj, "__dict__"):
        return []
    d = getattr(obj, "__dict__", None)
    if isinstance(d, dict):
        return [(("attr", k), v) for k, v in d.items()]
    return []


def _users(f) -> bool:
    """Whether `f` is walked: a function made at run time (a lambda, a closure), or one of the
    user's own module-level helpers -- not a library's."""
    if f.__name__ == "<lambda>" or "<locals>" in f.__qualname__:
        return True
    name = f.__code__.co_filename
    return not (name.startswith(_HERE) or "site-packages" in name or name.startswith("<frozen")
                or name.startswith(sys.prefix) or name.startswith(sys.base_prefix))


def _function_children(f) -> list:
    """What a helper function reads: its closure cells, defaults and the globals it names."""
    out = [(("attr", "__closure__"), (("item", i), ("attr", "cell_contents")), c)
           for i, c in enumerate(f.__closure__ or ())]
    kids = []
    for key, inner, cell in out:
        try:
            kids.append(((key,) + inner, cell.cell_contents))
        except ValueError:  # an empty cell
            pass
    g = f.__globals__
    kids += [((("attr", "__globals__"), ("item", n)), g[n]) for n in _names(f.__code__) if n in g]
    kids += [((("attr", "__defaults__"), ("item", i)), d) for i, d in enumerate(f.__defaults__ or ())]
    return kids


def _parts(fn) -> tuple:
    """(the object behind `fn` or None, the Python function whose code runs): for a bound
    method its ``self``; for an object with ``forward`` (a module) the object; for a
    ``functools.partial`` the partial itself (its bound arguments) and its function; for a
    wrapper naming the function it calls in ``_tg_captures_of`` (`vmap`'s), that one's."""
    inner = getattr(fn, "_tg_captures_of", None)
    if inner is not None:
        return _parts(inner)
    if isinstance(fn, types.FunctionType):
        return None, fn
    if isinstance(fn, types.MethodType):
        return fn.__self__, fn.__func__
    if isinstance(fn, functools.partial):
        return fn, fn.func if isinstance(fn.func, types.FunctionType) else None
    f = getattr(fn, "forward", None)
    if isinstance(f, types.MethodType):
        return fn, f.__func__
    return fn, None


def resolve_path(fn, path: tuple):
    """The object at `path` (from `reachable`) now; raises LookupError when it is gone."""
    owner, func = _parts(fn)
    obj = None
    for step in path:
        kind = step[0]
        try:
            if kind == "self":
                obj = owner
            elif kind == "cell":
                obj = func.__closure__[func.__code__.co_freevars.index(step[1])].cell_contents
            elif kind == "global":
                obj = func.__globals__[step[1]]
            elif kind == "default":
                obj = func.__defaults__[step[1]]
            elif kind == "item":
                obj = obj[step[1]]
            else:
                obj = getattr(obj, step[1])
        except (KeyError, IndexError, AttributeError, ValueError, TypeError) as err:
            raise LookupError(path) from err
    return obj
