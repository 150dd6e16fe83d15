"""`backward`, `grad`, custom `Function`s, and the `grad_fn` objects (views of tape entries).

Python callbacks (tensor hooks, Function backwards) pause the Numba sweep at their entry (see
`engine.tape.sweep_tape`); everything between callbacks stays in Numba.
"""
from __future__ import annotations

import itertools
import os
import traceback
from typing import Any, Optional, Sequence

import numpy as np

from ._grad_mode import STATE, no_grad, set_modes
from .engine.kernels import IN_CONST, T_INS, T_IS32, T_NEED, T_NIN, T_OP
from .engine import tape as _tape_mod
from ._opdef import BY_CODE, python_op
from .engine.tape import (_FREED_MSG, GRAD_LOCK, _grad_array, adjoint, release, resolve,
                          sweep_tape)
from .tensor import Size, Tensor, _nonleaf, _wrap

__all__ = ["backward", "grad", "Function", "FunctionCtx", "detect_anomaly", "set_detect_anomaly",
           "is_anomaly_enabled", "Variable"]


def Variable(data, requires_grad: bool = False, volatile: bool = False):  # noqa: N802
    """torch's deprecated wrapper, still in many tutorials: a new tensor sharing `data`'s
    memory, a leaf that requires grad if asked. ``Variable(x, requires_grad=True)``."""
    t = data.detach()
    t.requires_grad_(requires_grad)
    return t


def _seed(i: int, t: Tensor, gradient) -> np.ndarray:
    """The float64 gradient to start from for output `t` (element i of the outputs)."""
    if not t._rg:
        raise RuntimeError(f"element {i} of tensors does not require grad and does not have a "
                           f"grad_fn")
    if gradient is None:
        if t._data.size != 1:
            raise RuntimeError("grad can be implicitly created only for scalar outputs")
        return np.ones(1)
    gd = gradient._data if isinstance(gradient, Tensor) else np.asarray(gradient)
    if gd.shape != t._data.shape:
        raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of "
                           f"{Size(gd.shape)!r} and output[{i}] has a shape of "
                           f"{Size(t._data.shape)!r}.")
    return gd.astype(np.float64)


def _slot(t: Tensor) -> int:
    """The current slot of non-leaf `t` (following tape merges)."""
    resolve(t)
    return t._slot


def backward(tensor: Tensor, gradient=None, retain_graph: Optional[bool] = None,
             create_graph: bool = False, inputs: Optional[Sequence[Tensor]] = None) -> None:
    """Compute the gradient of `tensor` w.r.t. the leaves of its graph (or only `inputs`) and
    accumulate it into their ``.grad``; see `Tensor.backward`."""
    g = _seed(0, tensor, gradient)
    if inputs is not None:
        inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        if not inputs:
            raise RuntimeError("'inputs' argument to backward() cannot be empty.")
    if tensor._tape is None:  # a leaf: its gradient is the seed itself
        if inputs is None or any(t is tensor for t in inputs):
            with GRAD_LOCK:
                _accumulate(tensor, g.reshape(tensor._data.shape).astype(tensor._data.dtype),
                            _wrap)
        return
    tape = resolve(tensor)
    if create_graph:
        _backward_graph(tape, tensor, g, inputs)
        return
    if inputs is not None:  # non-leaf inputs get their .grad as with retain_grad()
        for t in inputs:
            if t._tape is not None and not t._retains:
                t.retain_grad()
                t._retains = "once"
    try:
        run_backward(tape, [(tensor._slot, g)], bool(retain_graph), inputs)
    finally:
        for t in inputs or ():
            if t._retains == "once":
                t._retains = False
                tape.retained = [(r, s) for r, s in tape.retained if r() is not t]


def _slots_of(tape, x: Tensor) -> list:
    """The slots standing for `x` on `tape`: a non-leaf's own, or every input slot of a leaf
    (a leaf used by two computations that were merged later has one slot from each)."""
    if x._tape is not None:
        return [_slot(x)]
    return [s for t, s in tape.leaves if t is x]


def _retained_grads(tape, tab, adj, live, kept: list, targets: set) -> None:
    """autograd.grad, as torch's: tensors with `retain_grad()` whose gradient the call computes
    (those with a path to an input) get it accumulated into their ``.grad``."""
    rec = tape.arrays()[0] if kept else None
    with GRAD_LOCK:
        for t, s in kept:
            if t is not None and live[s] and _reaches(tab, rec, s, targets):
                _accumulate(t, _grad_of(tab, adj, s, t._data), _wrap)


def _grad_of(tab, adj, s: int, like: np.ndarray) -> np.ndarray:
    """Slot s's adjoint as a gradient of `like` (its shape and dtype: a copy, off scratch)."""
    return adjoint(tab, adj, s).reshape(like.shape).astype(like.dtype)


def _reaches(tab, rec, start: int, targets: set) -> bool:
    """Whether `start` or a slot it was computed from (recursively) is in `targets`."""
    seen, stack = set(), [start]
    while stack:
        s = stack.pop()
        if s in targets:
            return True
        if s in seen or tab[s, T_OP] < 0:
            continue
        seen.add(s)
        i = int(tab[s, T_INS])
        stack.extend(rec[i:i + int(tab[s, T_NIN])].tolist())
    return False


def _seed_tensor(t: Tensor, g: np.ndarray) -> Tensor:
    from ._trace import mark_pure   # (while tracing, a seed is a constant of the recording)
    return mark_pure(_wrap(g.reshape(t._data.shape).astype(t._data.dtype)))


def _backward_graph(tape, tensor: Tensor, g: np.ndarray, inputs) -> None:
    """backward(create_graph=True): gradients accumulated into .grad are tensors on a tape."""
    from ._higher import backward_graph
    # targets first: recording the reverse pass may merge this tape into another one
    targets = [(t, s) for t, s in tape.leaves] + [(r(), s) for r, s in tape.retained]
    got = backward_graph(tape, [(tensor._slot, _seed_tensor(tensor, g))])
    wanted = None if inputs is None else {id(t) for t in inputs}
    for t, s in targets:
        if t is None or s not in got or (wanted is not None and id(t) not in wanted):
            continue
        gt = got[s] if got[s].dtype is t.dtype else got[s].to(t.dtype)
        for hook in list(t.__dict__.get("_hooks", {}).values()) if t._tape is None else ():
            new = hook(gt)
            gt = gt if new is None else new
        t._grad = gt if t._grad is None else t._grad + gt


def grad(outputs, inputs, grad_outputs=None, retain_graph: Optional[bool] = None,
         create_graph: bool = False, only_inputs: bool = True,
         allow_unused: Optional[bool] = None, is_grads_batched: bool = False,
         materialize_grads: bool = False) -> tuple:
    """The gradients of `outputs` w.r.t. `inputs`, returned (not accumulated into ``.grad``);
    torch's signature (`only_inputs` is ignored, as torch does).

    >>> import tapegrad as tg
    >>> x = tg.tensor([1., 2.], requires_grad=True)
    >>> tg.autograd.grad((x ** 2).sum(), x)
    (tensor([2., 4.]),)
    """
    if is_grads_batched:
        raise NotImplementedError("autograd.grad(is_grads_batched=True): batched gradients "
                                  "are not supported yet")
    outputs = (outputs,) if isinstance(outputs, Tensor) else tuple(outputs)
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = (grad_outputs,) * len(outputs) if grad_outputs is None else (grad_outputs,)
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(f"grad requires one grad_output per output: got {len(grad_outputs)} "
                           f"grad_outputs and {len(outputs)} outputs")
    for t in inputs:
        if not t._rg:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    seeds = [_seed(i, t, g) for i, (t, g) in enumerate(zip(outputs, grad_outputs))]
    from ._record import tape_for
    taped = [t for t in outputs if t._tape is not None]
    if any(resolve(t).freed for t in taped):
        raise RuntimeError(_FREED_MSG)
    tape = tape_for(*taped) if taped else None
    result = [None] * len(inputs)
    if tape is not None and create_graph:
        from ._higher import backward_graph
        # slots first: recording the reverse pass may merge this tape into another one
        wanted = [_slots_of(tape, x) for x in inputs]
        got = backward_graph(tape, [(_slot(t), go if isinstance(go, Tensor) else _seed_tensor(t, g))
                                    for t, g, go in zip(outputs, seeds, grad_outputs)
                                    if t._tape is not None])
        for k, slots in enumerate(wanted):
            for s in slots:
                if s in got:
                    result[k] = got[s] if result[k] is None else result[k] + got[s]
            if result[k] is not None and result[k].dtype is not inputs[k].dtype:
                result[k] = result[k].to(inputs[k].dtype)  # as torch: the input's dtype
    elif tape is not None:
        roots = [(_slot(t) if t._tape is not None else -1, g) for t, g in zip(outputs, seeds)]
        wanted = [_slots_of(tape, x) for x in inputs]
        kept = [(ref(), s) for ref, s in tape.retained]
        tab, adj, live = sweep_tape(tape, [(s, g) for s, g in roots if s >= 0],
                                    final=not retain_graph,
                                    keep=[s for w in wanted for s in w] + [s for _, s in kept])
        try:
            for k, x in enumerate(inputs):
                found = [adjoint(tab, adj, s) for s in wanted[k] if live[s]]
                if found:
                    result[k] = _wrap(np.sum(found, axis=0).reshape(x._data.shape)
                                      .astype(x._data.dtype))
            _retained_grads(tape, tab, adj, live, kept, {s for w in wanted for s in w})
        finally:
            release(adj)
        if not retain_graph:
            tape.free()
    for k, x in enumerate(inputs):  # a leaf output differentiated w.r.t. itself
        for t, g in zip(outputs, seeds):
            if t is x and t._tape is None:
                g = _wrap(g.reshape(x._data.shape).astype(x._data.dtype))
                result[k] = g if result[k] is None else result[k] + g
    for k, x in enumerate(inputs):
        if result[k] is None:
            if materialize_grads:
                result[k] = _wrap(np.zeros_like(x._data))
            elif not allow_unused:
                raise RuntimeError("One of the differentiated Tensors appears to not have been "
                                   "used in the graph. Set allow_unused=True if this is the "
                                   "desired behavior.")
    return tuple(result)


# ------------------------------------------------------------------------------------------------
# custom Functions: forward in Python, backward a Python callback at their tape entry
# ------------------------------------------------------------------------------------------------
FUNCTION = python_op("function", "FunctionBackward", "MyFunction.apply(x, ...)")
FUNCTION_OUT = python_op("function_output", "FunctionBackward",
                         "(further outputs of a Function)")


class FunctionCtx:
    """The `ctx` of a custom Function: ``save_for_backward``, ``saved_tensors``,
    ``needs_input_grad``, ``mark_non_differentiable``, ``set_materialize_grads``."""

    def __init__(self, needs_input_grad: tuple):
        self.needs_input_grad = needs_input_grad
        self._saved: tuple = ()
        self._non_diff: set = set()
        self.materialize_grads = True

    def save_for_backward(self, *tensors) -> None:
        self._saved = tensors

    @property
    def saved_tensors(self) -> tuple:
        return self._saved

    def mark_non_differentiable(self, *tensors) -> None:
        self._non_diff.update(id(t) for t in tensors)

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = bool(value)


class Function:
    """A differentiable op written in Python: subclass with static ``forward(ctx, *args)`` and
    ``backward(ctx, *grad_outputs)``, call with ``apply``.

    >>> import tapegrad as tg
    >>> class Cube(tg.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x ** 3
    ...     @staticmethod
    ...     def backward(ctx, g):
    ...         x, = ctx.saved_tensors
    ...         return 3 * x ** 2 * g
    >>> x = tg.tensor([1., 2.], requires_grad=True)
    >>> Cube.apply(x).sum().backward(); x.grad
    tensor([ 3., 12.])
    """

    @staticmethod
    def forward(ctx: FunctionCtx, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def backward(ctx: FunctionCtx, *grad_outputs: Any) -> Any:
        raise NotImplementedError("You must implement either the backward or vjp method for "
                                  "your custom autograd.Function to use it with backward mode AD.")

    @classmethod
    def apply(cls, *args: Any) -> Any:
        from ._record import slot_in, tape_for
        record = STATE.enabled
        needs = tuple(isinstance(a, Tensor) and a._rg and record for a in args)
        ctx = FunctionCtx(needs)
        with no_grad():
            out = cls.forward(ctx, *args)
        single = isinstance(out, Tensor)
        outs = (out,) if single else tuple(out)
        diff_ins = [a for a, n in zip(args, needs) if n]
        if not diff_ins:
            return out
        tape = tape_for(*diff_ins)
        in_slots = tuple(slot_in(tape, a, a._data.dtype) for a in diff_ins)
        results, first = [], None
        for k, o in enumerate(outs):
            if not isinstance(o, Tensor) or o._data.dtype.kind != "f" or id(o) in ctx._non_diff:
                results.append(o)
                continue
            od = o._data
            s, view = tape.record(FUNCTION.code if first is None else FUNCTION_OUT.code,
                                  od.shape, od.size, od.dtype == np.float32,
                                  in_slots if first is None else ())
            view[...] = od
            if first is None:
                first = s
            results.append(_nonleaf(view, tape, s))
        if first is None:
            return out
        out_slots = [r._slot if isinstance(r, Tensor) and r._tape is tape else None
                     for r in results]
        tape.pyops[first] = _PyOp(cls, ctx, args, needs, in_slots, out_slots,
                                  [r._data.shape if isinstance(r, Tensor) else () for r in results])
        return results[0] if single else tuple(results)


class _PyOp:
    """A Function's backward, waiting at its tape entry (held by the tape until it is freed)."""

    def run_graph(self, g0, grads: dict) -> list:
        """create_graph: call backward with recorded gradients; one per input slot."""
        gs = [g0 if k == 0 else grads.get(s) for k, s in enumerate(self.out_slots)]
        res = self.cls.backward(self.ctx, *gs)
        res = res if isinstance(res, tuple) else (res,)
        return [g for g, need in zip(res, self.needs) if need]

    __slots__ = ("cls", "ctx", "args", "needs", "in_slots", "out_slots", "shapes")

    def __init__(self, cls, ctx, args, needs, in_slots, out_slots, shapes):
        self.cls, self.ctx, self.args, self.needs = cls, ctx, args, needs
        self.in_slots, self.out_slots, self.shapes = in_slots, out_slots, shapes

    def shift(self, n: int) -> None:
        """Its tape was merged into another at offset `n`: its slots move with it."""
        self.in_slots = tuple(s + n for s in self.in_slots)
        self.out_slots = [None if s is None else s + n for s in self.out_slots]

    def run(self, tape, tab, adj, live, e: int) -> None:
        if not any(live[s] for s in self.out_slots if s is not None):
            return  # no output reached: torch does not call backward either
        name = f"{self.cls.__name__}Backward"
        grads = []
        for s, shape in zip(self.out_slots, self.shapes):
            if s is None or (not live[s] and not self.ctx.materialize_grads):
                grads.append(None)
                continue
            dt = np.float32 if tab[s, T_IS32] else np.float64
            g = adjoint(tab, adj, s) if live[s] else np.zeros(int(np.prod(shape)))
            grads.append(_wrap(g.reshape(shape).astype(dt)))
        with no_grad():
            res = self.cls.backward(self.ctx, *grads)
        res = res if isinstance(res, tuple) else (res,)
        if len(res) != len(self.args):
            raise RuntimeError(f"function {name} returned an incorrect number of gradients "
                               f"(expected {len(self.args)}, got {len(res)})")
        slots = iter(self.in_slots)
        for k, (a, need, g) in enumerate(zip(self.args, self.needs, res)):
            if not need:
                continue
            s = next(slots)
            if g is None or not tab[s, T_NEED]:
                continue
            arr = _grad_array(g, a._data.shape,
                              f"Function {name} (at index {k})")
            adjoint(tab, adj, s)[:] += arr.reshape(-1)
            live[s] = 1


_HANDLES = itertools.count()


class RemovableHandle:
    """Returned by `Tensor.register_hook`; ``remove()`` unregisters the hook."""

    def __init__(self, registry: dict, key: int):
        self._registry, self._key = registry, key

    def remove(self) -> None:
        self._registry.pop(self._key, None)


def register_hook(t: Tensor, hook) -> RemovableHandle:
    """See `Tensor.register_hook`."""
    if not t._rg:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    key = next(_HANDLES)
    if t._tape is None:
        registry = t.__dict__.setdefault("_hooks", {})
    else:
        tape = resolve(t)
        registry = tape.hooks.setdefault(t._slot, {})
    registry[key] = hook
    return RemovableHandle(registry, key)


class GradFn:
    """The backward node of a recorded op; one subclass per torch name (``MulBackward0`` ...)."""

    __slots__ = ("_tape", "_entry")

    def __init__(self, tape, entry: int):
        self._tape = tape
        self._entry = entry

    def name(self) -> str:
        n = type(self).__name__
        return "torch::autograd::CopySlices" if n == "CopySlices" else n  # (torch's C++ name)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} object at {id(self):#x}>"

    @property
    def op(self) -> str:
        """The tapegrad op name of this entry (e.g. ``'mul'``)."""
        return BY_CODE[self._tape.fields(self._entry)[0]].name

    @property
    def next_functions(self) -> tuple:
        ins = self._tape.fields(self._entry)[1]
        nodes = [_node_for_slot(self._tape, s) for s in ins]
        if BY_CODE[self._tape.fields(self._entry)[0]].name == "addmm" and self._reads_t():
            nodes[2] = _Transposed(nodes[2])  # F.linear: torch's graph has weight.t() there
        return tuple((n, 0) for n in nodes)

    def _reads_t(self) -> bool:
        """An addmm that reads its weight transposed in place (its int flag)."""
        rec = self._tape.arrays()[0]
        tab = self._tape.table()
        from .engine.kernels import T_ICNT, T_IOFS
        return bool(tab[self._entry, T_ICNT] and rec[tab[self._entry, T_IOFS]])

    def __eq__(self, other) -> bool:
        return (isinstance(other, GradFn) and other._tape is self._tape
                and other._entry == self._entry)

    def __hash__(self) -> int:
        return hash((id(self._tape), self._entry))


class _Transposed:
    """torch's ``TBackward0`` between F.linear's addmm and its weight (tapegrad reads the
    weight transposed in place, without an entry of its own)."""

    __slots__ = ("_next",)

    def __init__(self, node):
        self._next = node

    def name(self) -> str:
        return "TBackward0"

    @property
    def next_functions(self) -> tuple:
        return ((self._next, 0),)

    def __repr__(self) -> str:
        return f"<TBackward0 object at {id(self):#x}>"


_Transposed.__name__ = _Transposed.__qualname__ = "TBackward0"


class AccumulateGrad:
    """The node that accumulates into a leaf's ``.grad`` (as in torch's ``next_functions``)."""

    __slots__ = ("variable",)

    def __init__(self, variable):
        self.variable = variable

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {id(self):#x}>"

    next_functions = ()


_CLASSES: dict = {}


def _class(name: str) -> type:
    cls = _CLASSES.get(name)
    if cls is None:
        cls = _CLASSES[name] = type(name, (GradFn,), {"__slots__": ()})
    return cls


# ops whose pieces come from one call and share one node in torch (unbind, split, chunk)
_PIECES = ("unbind", "split", "split_sizes")


def grad_fn_for(tape, slot: int) -> GradFn:
    code, ins = tape.fields(slot)[:2]
    while code >= 0 and BY_CODE[code].transparent:  # internal copies show their input's node
        slot = ins[0]
        code, ins = tape.fields(slot)[:2]
    if code < 0:
        return _node_for_slot(tape, slot)
    op = BY_CODE[code]
    if op.kind == "python":  # torch names a custom Function's node <Class>Backward
        first = max((e for e in tape.pyops if e <= slot), default=None)
        if first is not None:
            return _class(f"{tape.pyops[first].cls.__name__}Backward")(tape, slot)
    if op.name in _PIECES:
        slot = _first_piece(tape, slot)
    return _class(op.grad_fn)(tape, slot)


def _first_piece(tape, slot: int) -> int:
    """The first piece of the call that made piece `slot`: each piece is one record, and a call's
    pieces are consecutive records of one op on one input, the first at offset 0 (its first
    int); so all pieces of a call get one (equal) node, as in torch."""
    from .engine.kernels import T_IOFS, T_INS, T_OP
    rec, _, tab, _ = tape.decode()

    def key(s):
        return tab[s, T_OP], rec[tab[s, T_INS]]

    while slot > 0 and rec[tab[slot, T_IOFS]] != 0 and key(slot - 1) == key(slot):
        slot -= 1
    return slot


def _node_for_slot(tape, s: int):
    op, ins = tape.fields(s)[:2]
    while op >= 0 and BY_CODE[op].transparent:
        s = ins[0]
        op, ins = tape.fields(s)[:2]
    if op >= 0:
        return grad_fn_for(tape, s)
    if op == IN_CONST:
        return None
    leaf = next((t for t, ls in tape.leaves if ls == s), None)
    return AccumulateGrad(leaf)


# ------------------------------------------------------------------------------------------------
# anomaly mode: the user's source line of every recorded op, and the op whose backward made NaN
# ------------------------------------------------------------------------------------------------
_plain_record = _tape_mod.Tape.record


def _record_traced(self, *args, **kwargs):
    s, view = _plain_record(self, *args, **kwargs)
    self.traces[s] = _user_frame()
    return s, view


def _user_frame() -> str:
    """The innermost stack frame outside tapegrad, as 'file:line in function: code'."""
    root = os.path.dirname(os.path.abspath(__file__))
    for frame in reversed(traceback.extract_stack()):
        if not os.path.abspath(frame.filename).startswith(root):
            return f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}\n    {frame.line}'
    return "  (inside tapegrad)"


def is_anomaly_enabled() -> bool:
    return STATE.anomaly


def set_detect_anomaly(mode: bool, check_nan: bool = True) -> None:
    """Anomaly mode on/off (for this thread): ops record the user's source line, and a backward
    that produces NaN raises naming the op and that line (`check_nan` is accepted, as torch's;
    the check is always made). Slow: use it for debugging.

    >>> import tapegrad as tg
    >>> tg.autograd.set_detect_anomaly(True); tg.autograd.set_detect_anomaly(False)
    """
    set_modes(STATE.enabled, bool(mode))  # (also stops the scalar fast path: no source lines)
    # recording is traced while any thread asks for it (the cheap path is restored after)
    _tape_mod.Tape.record = _record_traced if mode else _plain_record


class detect_anomaly:
    """Context manager for anomaly mode (see `set_detect_anomaly`).

    >>> import tapegrad as tg
    >>> x = tg.tensor([0.0], requires_grad=True)
    >>> with tg.autograd.detect_anomaly():
    ...     y = x.sqrt() * 0
    ...     y.sum().backward()  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    RuntimeError: Function 'SqrtBackward0' returned nan values in its 0th output. ...
    """

    def __init__(self, check_nan: bool = True):
        self.check_nan = check_nan  # (accepted as torch's; NaN checks are always on)

    def __enter__(self):
        self._prev = is_anomaly_enabled()
        set_detect_anomaly(True)
        return self

    def __exit__(self, *exc):
        set_detect_anomaly(self._prev)
        return False


def run_backward(tape: Tape, roots: list, retain_graph: bool, only=None) -> None:
    """`Tensor.backward`: sweep, then accumulate into the `.grad` of leaves (running their hooks)
    and of tensors with `retain_grad()`; with `only`, just into those tensors."""
    tab, adj, live = sweep_tape(tape, roots, final=not retain_graph,
                                keep=[s for _, s in tape.retained])
    wanted = None if only is None else {id(t) for t in only}

    try:
        with GRAD_LOCK:
            for t, s in tape.leaves:
                if live[s] and t._rg and (wanted is None or id(t) in wanted):
                    g = _grad_of(tab, adj, s, t._data)
                    for hook in list(t.__dict__.get("_hooks", {}).values()):
                        new = hook(_wrap(g))
                        if new is not None:
                            g = _grad_array(new, t._data.shape, "hook").astype(t._data.dtype)
                    _accumulate(t, g, _wrap)
            for ref, s in tape.retained:
                t = ref()
                if t is not None and live[s] and (wanted is None or id(t) in wanted):
                    _accumulate(t, _grad_of(tab, adj, s, t._data), _wrap)
    finally:
        release(adj)
    if not retain_graph:
        tape.free()


def _accumulate(t, g: np.ndarray, wrap) -> None:
    if t._grad is None:
        t._grad = wrap(g)
    else:
        t._grad._data += g
