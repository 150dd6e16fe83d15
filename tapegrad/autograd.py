"""`backward` and the `grad_fn` objects (views of tape entries, made on access)."""
from __future__ import annotations

from typing import Optional

import numpy as np

from ._kernels import IN_CONST
from ._opdef import BY_CODE
from ._tape import GRAD_LOCK, _accumulate, resolve, run_backward
from .tensor import Size, Tensor, _wrap


def backward(tensor: Tensor, gradient=None, retain_graph: Optional[bool] = None,
             create_graph: bool = False) -> None:
    """Compute the gradient of `tensor` w.r.t. the leaves of its graph; see `Tensor.backward`."""
    if create_graph:
        raise NotImplementedError("backward(create_graph=True): higher-order gradients are not "
                                  "supported yet")
    if not tensor._rg:
        raise RuntimeError("element 0 of tensors does not require grad and does not have a "
                           "grad_fn")
    if gradient is None:
        if tensor._data.size != 1:
            raise RuntimeError("grad can be implicitly created only for scalar outputs")
        g = np.ones(1)
    else:
        gd = gradient._data if isinstance(gradient, Tensor) else np.asarray(gradient)
        if gd.shape != tensor._data.shape:
            raise RuntimeError(f"Mismatch in shape: grad_output[0] has a shape of {Size(gd.shape)!r}"
                               f" and output[0] has a shape of {Size(tensor._data.shape)!r}.")
        g = gd.astype(np.float64)
    if tensor._tape is None:  # a leaf: its gradient is the seed itself
        with GRAD_LOCK:
            _accumulate(tensor, g.reshape(tensor._data.shape).astype(tensor._data.dtype), _wrap)
        return
    run_backward(resolve(tensor), [(tensor._slot, g)], bool(retain_graph))


class GradFn:
    """The backward node of a recorded op; one subclass per torch name (``MulBackward0`` ...)."""

    __slots__ = ("_tape", "_entry")

    def __init__(self, tape, entry: int):
        self._tape = tape
        self._entry = entry

    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{type(self).__name__} object at {id(self):#x}>"

    @property
    def op(self) -> str:
        """The tapegrad op name of this entry (e.g. ``'mul'``)."""
        return BY_CODE[self._tape.fields(self._entry)[0]].name

    @property
    def next_functions(self) -> tuple:
        ins = self._tape.fields(self._entry)[1]
        return tuple((_node_for_slot(self._tape, s), 0) for s in ins)

    def __eq__(self, other) -> bool:
        return (isinstance(other, GradFn) and other._tape is self._tape
                and other._entry == self._entry)

    def __hash__(self) -> int:
        return hash((id(self._tape), self._entry))


class AccumulateGrad:
    """The node that accumulates into a leaf's ``.grad`` (as in torch's ``next_functions``)."""

    __slots__ = ("variable",)

    def __init__(self, variable):
        self.variable = variable

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    next_functions = ()


_CLASSES: dict = {}


def _class(name: str) -> type:
    cls = _CLASSES.get(name)
    if cls is None:
        cls = _CLASSES[name] = type(name, (GradFn,), {"__slots__": ()})
    return cls


def grad_fn_for(tape, slot: int) -> GradFn:
    return _class(BY_CODE[tape.fields(slot)[0]].grad_fn)(tape, slot)


def _node_for_slot(tape, s: int):
    op = tape.fields(s)[0]
    if op >= 0:
        return grad_fn_for(tape, s)
    if op == IN_CONST:
        return None
    leaf = next((t for t, ls in tape.leaves if ls == s), None)
    return AccumulateGrad(leaf)
