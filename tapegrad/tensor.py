"""`Tensor`: a numpy array plus, for recorded values, a (tape, slot) reference.

Data lives in ``_data`` (a numpy array). For a tensor produced by a recorded op it is a view into
its tape's arena, so the reverse sweep reads the same memory without any conversion. Differentiable
ops are attached to the class by the `ops` package, next to their definitions.
"""
from __future__ import annotations

import functools
import math
import warnings
import weakref
from typing import Optional

import numpy as np

from . import _dtype
from ._device import CPU
from ._grad_mode import STATE
from ._printing import tensor_repr
from ._version import Poisoned
from .engine import tape as _tape_engine


class Size(tuple):
    """Shape of a tensor (a tuple), printed as ``tapegrad.Size([2, 3])``."""

    def __repr__(self) -> str:
        return f"tapegrad.Size({list(self)})"

    def numel(self) -> int:
        return math.prod(self) if self else 1


class _BuiltinMethod(functools.partial):
    """A bound method that prints like torch's C methods (``<built-in method all of Tensor ...>``).

    Used for Tensor methods that record nothing (queries, conversions); the differentiable ops
    stay plain Python methods, where this wrapper's ~0.2 us per call would show."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<built-in method {self.func.__name__} of Tensor object at {id(self.args[0]):#x}>"


class builtin_method:
    """Descriptor turning a function into a `_BuiltinMethod` when looked up on a tensor."""

    def __init__(self, fn):
        self.fn = fn
        self.__doc__ = fn.__doc__

    def __get__(self, obj, owner=None):
        return self.fn if obj is None else _BuiltinMethod(self.fn, obj)


def _leaf_check_dtype(data: np.ndarray) -> None:
    if data.dtype.kind != "f":
        raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")


class Tensor:
    """A multi-dimensional array that can record operations for reverse-mode differentiation.

    >>> import tapegrad as tg
    >>> x = tg.ones(2, 2, requires_grad=True)
    >>> (x * x).sum().backward(); x.grad
    tensor([[2., 2.],
            [2., 2.]])
    """

    # _grad/_retains are rarely set: class defaults + a lazily made __dict__ keep creation cheap;
    # _val is used by the scalar fast path only (`_Scalar` below)
    # _bs: a view's root base (`_base`); for an unbind element still on the scalar fast path,
    # (its vector, its index) -- read with getattr(t, "_bs", None), as most tensors never set it
    __slots__ = ("_data", "_tape", "_slot", "_rg", "_val", "_bs", "__dict__", "__weakref__")
    _grad = None
    _retains = False
    _ser = -1  # leaves: serial of the tape whose input slot `_slot` is (see Tape.input_slot)
    # the memory model (`_version.py`): set on the few tensors that need them
    _vc = None      # the Version shared by every tensor of this memory, made on first need
    _snap = False   # bound to a slot holding a copy of the values (not to `_data`'s memory)
    _multi = None   # an output of unbind/split/chunk: torch's node name (no in-place on it)
    _ngv = False    # a view made under no_grad of a tensor requiring grad
    _sk = False     # its unbind() elements may be 0-d scalars on the fast path (Python floats)
    __array_priority__ = 1000  # numpy defers to our reflected operators

    def __new__(cls, *args, dtype=None, requires_grad: bool = False):
        """torch's legacy constructor: ``Tensor(2, 3)`` (uninitialised) or ``Tensor(data)``,
        in the default dtype. Prefer `tapegrad.tensor`."""
        from . import factories
        if args and all(isinstance(a, (int, np.integer)) and not isinstance(a, bool)
                        for a in args):
            return factories.empty(*args, dtype=dtype, requires_grad=requires_grad)
        data = args[0] if args else []
        return factories.tensor(data, dtype=dtype or _dtype.get_default_dtype(),
                                requires_grad=requires_grad)

    def __init__(self, *args, **kwargs):
        pass

    # -- basic properties -------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    @property
    def dtype(self) -> _dtype.dtype:
        return _dtype.from_numpy_dtype(self._data.dtype)

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def data(self) -> "Tensor":
        """The values without history (shares memory), as torch's ``.data``: unlike
        ``detach()``, changes through it do not count as versions of this tensor (backward does
        not notice them, as in torch)."""
        from ._version import Version, version_of
        vc = version_of(self)
        vc.shared = True
        t = _wrap(self._data)
        t._vc = Version(vc.sk, vc)
        if STATE.trace is not None:
            from ._trace import detached
            detached(t, self)
        return t

    @data.setter
    def data(self, value: "Tensor") -> None:
        """``p.data = t``: this leaf now shares `t`'s memory (as torch's storage swap)."""
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be a Tensor, not {type(value).__name__}")
        if self._tape is not None:
            raise RuntimeError("tapegrad: .data can only be assigned on a leaf tensor (this one "
                               "was recorded by an op); use copy_() under no_grad instead")
        from ._version import version_of
        vc = version_of(value)
        vc.shared = True
        self._data, self._vc = value._data, vc

    @property
    def _base(self) -> Optional["Tensor"]:
        """The tensor whose memory this view shares (torch's ``_base``), or None."""
        b = getattr(self, "_bs", None)
        if type(b) is tuple:  # an unbind element on the fast path: its vector's root
            b = getattr(b[0], "_bs", None) or b[0]
        return b

    @property
    def _version(self) -> int:
        """How many times this memory was changed in place (shared by views and aliases)."""
        return 0 if self._vc is None else self._vc.v

    @property
    def device(self):
        """``device(type='cpu')``: tapegrad's only device."""
        return CPU

    @property
    def is_cuda(self) -> bool:
        return False

    @property
    def requires_grad(self) -> bool:
        return self._rg

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        self.requires_grad_(flag)

    @property
    def is_leaf(self) -> bool:
        """True for tensors not produced by a recorded op."""
        return self._tape is None

    @property
    def grad_fn(self):
        """The recorded op that produced this tensor (a view of its tape entry), or None."""
        if self._tape is None:
            return None
        from .engine.tape import resolve
        from .autograd import grad_fn_for
        tape = resolve(self)
        return grad_fn_for(tape, self._slot)

    @property
    def grad(self) -> Optional["Tensor"]:
        if self._tape is not None and not self._retains and self._grad is None:
            warnings.warn(
                "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its "
                ".grad attribute won't be populated during autograd.backward(). If you indeed want "
                "the .grad field to be populated for a non-leaf Tensor, use .retain_grad() on the "
                "non-leaf Tensor.", UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value: Optional["Tensor"]) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of "
                                f"type {type(value).__name__}")
            if value._data.shape != self._data.shape:
                raise RuntimeError("assigned grad has data of a different size")
            if value._data.dtype != self._data.dtype:
                raise RuntimeError("assigned grad has data of a different type")
        self._grad = value

    @property
    def retains_grad(self) -> bool:
        return self._retains

    @property
    def T(self) -> "Tensor":
        return self.permute(*range(self.ndim - 1, -1, -1))

    H = T  # (real tensors: the conjugate transpose is the transpose)

    @property
    def mT(self) -> "Tensor":  # noqa: N802 -- torch's name
        """The last two dims swapped (a view)."""
        if self.ndim < 2:
            raise RuntimeError(f"tensor.mT is only supported on matrices or batches of matrices. "
                               f"Got {self.ndim}-D tensor.")
        return self.transpose(-2, -1)

    mH = mT

    def adjoint(self) -> "Tensor":
        """The conjugate transpose of the last two dims (a view; real tensors: ``mT``)."""
        return self.mT

    # -- graph control ----------------------------------------------------------------------
    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Set whether autograd records ops on this leaf (in place); returns self."""
        if self._tape is not None and not requires_grad:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use a "
                "computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach().")
        if requires_grad:
            _leaf_check_dtype(self._data)
        self._rg = bool(requires_grad)
        return self

    def detach(self) -> "Tensor":
        """A new leaf sharing this tensor's data, with no history. Changing it in place is
        still reported to the tapes that saved this data (as torch's shared version counter)."""
        return self._alias()

    def _alias(self) -> "Tensor":
        """A leaf without grad over the same memory, sharing the version counter (a change
        through it reaches the tapes that saved these values)."""
        from ._version import version_of
        vc = version_of(self)
        vc.shared = True
        t = _wrap(self._data)
        t._vc = vc
        if STATE.trace is not None:
            from ._trace import detached
            detached(t, self)
        return t

    def detach_(self) -> "Tensor":
        """Cut this tensor from its history in place."""
        self._data  # noqa: B018 -- a fast scalar becomes a plain tensor first (see _Scalar)
        self._tape = None
        self._rg = False
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward (no-op on leaves)."""
        if self._tape is None:
            if not self._rg:
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
            return
        if not self._retains:
            from .engine.tape import resolve
            resolve(self).retained.append((weakref.ref(self), self._slot))
            self._retains = True

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient has been computed during backward; a
        returned tensor replaces the gradient. Returns a handle with ``remove()``.

        >>> import tapegrad as tg
        >>> x = tg.ones(2, requires_grad=True)
        >>> y = x * 2
        >>> h = y.register_hook(lambda g: g * 10)
        >>> y.sum().backward(); x.grad
        tensor([20., 20.])
        """
        from .autograd import register_hook
        return register_hook(self, hook)

    def backward(self, gradient: Optional["Tensor"] = None, retain_graph: Optional[bool] = None,
                 create_graph: bool = False, inputs=None) -> None:
        """Accumulate d(self)/d(leaf) into the ``.grad`` of every leaf that requires grad.

        >>> import tapegrad as tg
        >>> x = tg.tensor([1., 2.], requires_grad=True)
        >>> (x ** 2).sum().backward(); x.grad
        tensor([2., 4.])
        """
        from .autograd import backward
        backward(self, gradient, retain_graph, create_graph, inputs)

    # -- conversions ------------------------------------------------------------------------
    @builtin_method
    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The data as a numpy array (shared memory)."""
        if STATE.trace is not None:
            STATE.trace.exit(self)
        if self._rg and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        self._export()
        return self._data

    def _export(self) -> None:
        """Numpy now sees this memory: in-place ops must write it, never move the tensor."""
        vc = self._vc
        if vc is None:
            from ._version import version_of
            vc = version_of(self)
        vc.shared = True

    def __array__(self, dtype=None, copy=None):
        a = self.numpy()
        if dtype is not None and a.dtype != dtype:
            return a.astype(dtype)
        return a.copy() if copy else a

    @builtin_method
    def item(self):
        """The value of a one-element tensor as a Python number."""
        if STATE.trace is not None:
            STATE.trace.exit(self)
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to "
                               f"Scalar")
        return self._data.reshape(-1)[0].item()

    @builtin_method
    def tolist(self):
        if STATE.trace is not None:
            STATE.trace.exit(self)
        return self._data.tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        if STATE.trace is not None:
            STATE.trace.exit(self, truth=True)
        return bool(self._data.reshape(-1)[0])

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self.ndim == 0:  # (the property: a fast scalar vector answers it without numpy)
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        name = None
        if isinstance(self._tape, Poisoned):  # torch prints such a view's node as <Invalid>
            name = "Invalid"
        elif self._tape is not None:
            name = type(self.grad_fn).__name__
        return tensor_repr(self._data, self.dtype, _dtype.get_default_dtype(), name, self._rg)

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0:
            return self.item().__format__(spec)
        return repr(self)

    def __reduce__(self):
        return (_from_state, (self._data.copy(), self._rg))

    # -- queries ----------------------------------------------------------------------------
    @builtin_method
    def size(self, dim: Optional[int] = None):
        """The shape, or one dimension's length."""
        if dim is None:
            return Size(self._data.shape)
        if not self._data.ndim:
            raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
        return self._data.shape[normalize_dim(dim, self._data.ndim)]

    @builtin_method
    def dim(self) -> int:
        return self._data.ndim

    @builtin_method
    def numel(self) -> int:
        return self._data.size

    nelement = numel

    @builtin_method
    def element_size(self) -> int:
        return self._data.itemsize

    @builtin_method
    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    @builtin_method
    def is_contiguous(self, memory_format=None) -> bool:
        return bool(self._data.flags.c_contiguous)

    @builtin_method
    def stride(self, dim: Optional[int] = None):
        """Steps in elements between neighbours along each dim (a view's are its base's)."""
        d = self._data
        st = [s // d.itemsize for s in d.strides]
        for i in range(len(st) - 1, -1, -1):  # torch's stride of a size-1 dim (numpy: often 0)
            if d.shape[i] == 1 and st[i] == 0:
                st[i] = st[i + 1] * d.shape[i + 1] if i + 1 < len(st) else 1
        st = tuple(st)
        if dim is None:
            return st
        if not st:
            raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
        return st[normalize_dim(dim, len(st))]

    @builtin_method
    def storage_offset(self) -> int:
        """Where this tensor starts in its base's memory, in elements."""
        b = self._base
        if b is None:
            return 0
        return (_address(self._data) - _address(b._data)) // self._data.itemsize

    @builtin_method
    def data_ptr(self) -> int:
        """The address of the first element (views of one base share its memory)."""
        self._export()
        return _address(self._data)

class _Small(Tensor):
    """A small float64 (or float32: `_Scalar32`) non-leaf of the scalar fast path (`_scalar.py`), whose values are Python
    floats in `_val` rather than a numpy array: scalar code then costs no numpy call per op.

    Its `_data` is made on first use (a copy: the tape keeps the recorded values), and the object
    then becomes a plain `Tensor` for good (same layout, so its class can change), so every other
    code path sees an ordinary tensor. The queries scalar code asks in loops are answered
    without that."""

    __slots__ = ()
    _rg = True  # always (a non-leaf): not stored, which saves a little per op
    _snap = True  # its slot's value is in the record's floats, not in any memory of its own

    def __getattr__(self, name: str):
        if name != "_data":
            raise AttributeError(f"'Tensor' object has no attribute '{name}'")
        parent = getattr(self, "_bs", None)
        if parent is not None:  # an unbind element: a view of its vector's memory
            vec, i = parent
            data = vec._data[i, ...]
        else:
            data = np.array(self._val, self._np_dtype)
        self.__class__ = Tensor
        self._data = data
        self._rg = True
        self._snap = True  # the slot's value is in the record's floats, a copy
        del self._val  # (a plain tensor's value is its _data only)
        if parent is not None:
            del self._bs
            from ._version import attach_view
            attach_view(vec, self, ("Unbind", i))
        return data

    _np_dtype = np.dtype(np.float64)

    @property
    def dtype(self) -> _dtype.dtype:
        return _dtype.float64

    @builtin_method
    def tolist(self):
        if STATE.trace is not None:
            STATE.trace.exit(self)
        return self._val if type(self._val) is float else list(self._val)


class _Scalar(_Small):
    """0-d: `_val` is a float."""

    __slots__ = ()
    shape = property(lambda self: Size(()))
    ndim = property(lambda self: 0)

    @builtin_method
    def item(self) -> float:
        if STATE.trace is not None:
            STATE.trace.exit(self)
        return self._val

    @builtin_method
    def dim(self) -> int:
        return 0

    @builtin_method
    def size(self, dim: Optional[int] = None):
        return Size(()) if dim is None else Tensor.size(self, dim)

    @builtin_method
    def numel(self) -> int:
        return 1

    def __float__(self) -> float:
        if STATE.trace is not None:
            STATE.trace.exit(self)
        return self._val

    def __bool__(self) -> bool:
        if STATE.trace is not None:
            STATE.trace.exit(self, truth=True)
        return bool(self._val)

    def __format__(self, spec: str) -> str:
        return self._val.__format__(spec)


class _Vec(_Small):
    """1-d: `_val` is a tuple of floats (e.g. a few scalars stacked to be softmaxed)."""

    __slots__ = ()
    shape = property(lambda self: Size((len(self._val),)))
    ndim = property(lambda self: 1)

    def __len__(self) -> int:
        return len(self._val)


class _Scalar32(_Scalar):
    """A 0-d float32 of the fast path: `_val` is a float that float32 represents exactly (every
    op rounds), its record is float32 (value and adjoint)."""

    __slots__ = ()
    _np_dtype = np.dtype(np.float32)
    dtype = property(lambda self: _dtype.float32)


class _Vec32(_Vec):
    """A `_Vec` of float32 values."""

    __slots__ = ()
    _np_dtype = np.dtype(np.float32)
    dtype = property(lambda self: _dtype.float32)


# they print as what they are to a user: tensors (`isinstance(x, Tensor)` holds; only
# `type(x) is Tensor` tells them apart)
for _cls in (_Small, _Scalar, _Vec, _Scalar32, _Vec32):
    _cls.__name__ = _cls.__qualname__ = "Tensor"


def normalize_dim(dim: int, ndim: int) -> int:
    """A dim in [-ndim, ndim) as a non-negative index, with torch's IndexError otherwise."""
    lo, hi = (-ndim, ndim - 1) if ndim else (-1, 0)
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"dim must be an int, got {type(dim).__name__}")
    if dim < lo or dim > hi:
        raise IndexError(f"Dimension out of range (expected to be in range of [{lo}, {hi}], but "
                         f"got {dim})")
    return int(dim) % ndim if ndim else 0


def _address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def _wrap(data: np.ndarray) -> Tensor:
    """A leaf tensor without grad over `data` (no copy)."""
    t = object.__new__(Tensor)
    t._data = data
    t._tape = None
    t._slot = -1
    t._rg = False
    return t


def _nonleaf(data: np.ndarray, tape, slot: int) -> Tensor:
    t = object.__new__(Tensor)
    t._data = data
    t._tape = tape
    t._slot = slot
    t._rg = True
    return t


def _from_state(data: np.ndarray, rg: bool) -> Tensor:
    t = _wrap(data)
    t._rg = rg
    return t


_tape_engine.bind_wrap(_wrap)  # hooks run by the engine's sweep get tensors


def is_tensor(obj) -> bool:
    """Whether `obj` is a tapegrad tensor. ``tg.is_tensor(tg.ones(1))``."""
    return isinstance(obj, Tensor)


def numel(input: Tensor) -> int:
    """The number of elements. ``tg.numel(tg.ones(2, 3))`` is 6."""
    return input._data.size
