"""`Parameter`: a leaf tensor that a `Module` registers when it is assigned as an attribute."""
from __future__ import annotations

from typing import Optional

import numpy as np

from .. import _dtype
from .._printing import tensor_repr
from ..tensor import Tensor, _leaf_check_dtype, _wrap


def _rebuild(data: np.ndarray, requires_grad: bool) -> "Parameter":
    return Parameter(_wrap(data), requires_grad)


class Parameter(Tensor):
    """A tensor that is a module parameter: it shares `data`'s memory (and version counter) and
    requires grad by default; ops on it give plain tensors.

    >>> import tapegrad as tg
    >>> tg.nn.Parameter(tg.ones(2))
    Parameter containing:
    tensor([1., 1.], requires_grad=True)
    """

    def __new__(cls, data: Optional[Tensor] = None, requires_grad: bool = True):
        from ..factories import empty
        if data is None:
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter: data must be a Tensor, not {type(data).__name__}")
        from .._version import version_of
        vc = version_of(data)
        vc.shared = True
        t = object.__new__(cls)
        t._data = data._data
        t._tape = None
        t._slot = -1
        t._rg = False
        t._vc = vc
        if requires_grad:
            _leaf_check_dtype(t._data)
            t._rg = True
        return t

    def __repr__(self) -> str:
        body = tensor_repr(self._data, self.dtype, _dtype.get_default_dtype(), None, self._rg)
        return "Parameter containing:\n" + body

    __str__ = __repr__

    def __reduce_ex__(self, proto):
        return (_rebuild, (self._data.copy(), self._rg))

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        p = _rebuild(self._data.copy(), self._rg)
        memo[id(self)] = p
        return p


class Buffer(Tensor):
    """torch's ``nn.Buffer(data, persistent=True)``: marks a tensor to register as a buffer
    when assigned to a module attribute (the module stores `data` itself)."""

    def __new__(cls, data: Tensor, *, persistent: bool = True):
        if not isinstance(data, Tensor):
            raise TypeError(f"Buffer: data must be a Tensor, not {type(data).__name__}")
        t = object.__new__(cls)
        t._data, t._tape, t._slot, t._rg = data._data, None, -1, data._rg
        t._vc = data._vc
        t.persistent = persistent
        t._src = data
        return t
