"""dtypes (torch names over numpy dtypes), the default dtype, and torch's type promotion."""
from __future__ import annotations

import builtins

import numpy as np


class dtype:
    """A tapegrad dtype; prints as ``tapegrad.float32``. ``np_dtype`` is the numpy equivalent."""

    __slots__ = ("name", "np_dtype", "is_floating_point", "itemsize", "_cat")

    def __init__(self, name: str, np_dtype, cat: int):
        self.name = name
        self.np_dtype = np.dtype(np_dtype)
        self.is_floating_point = cat == 2
        self.itemsize = self.np_dtype.itemsize
        self._cat = cat  # 0 bool, 1 integer, 2 floating

    def __repr__(self) -> str:
        return f"tapegrad.{self.name}"

    @property
    def torch_name(self) -> str:
        """torch's scalar-type name, used in its messages (``Float``, ``Long`` ...)."""
        return torch_name(self.np_dtype)

    def __reduce__(self):
        return (_by_name, (self.name,))


# torch's scalar-type names and the C type names some of its messages use, by numpy dtype name
_TORCH_NAMES = {"float32": "Float", "float64": "Double", "int64": "Long", "int32": "Int",
                "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}
_C_NAMES = {"float32": "float", "float64": "double", "int64": "long int", "int32": "int",
            "int16": "short int", "int8": "signed char", "uint8": "unsigned char", "bool": "bool"}


def torch_name(np_dtype) -> str:
    """torch's name of a numpy dtype in error messages: ``float32`` -> ``Float``."""
    n = np.dtype(np_dtype).name
    return _TORCH_NAMES.get(n, n)


def legacy_type_name(np_dtype) -> str:
    """torch's legacy type name of a CPU tensor (``x.type()``, some messages):
    ``float32`` -> ``'tapegrad.FloatTensor'``."""
    return f"tapegrad.{torch_name(np_dtype)}Tensor"


def from_legacy_type_name(name: str) -> "dtype":
    """The dtype of a legacy type name (``'torch.DoubleTensor'`` or ``'tapegrad.DoubleTensor'``)."""
    short = name.rsplit(".", 1)[-1]
    for n, t in _TORCH_NAMES.items():
        if short == f"{t}Tensor":
            return as_dtype(n)
    raise ValueError(f"invalid type: '{name}'")


def c_name(np_dtype) -> str:
    """The C type name torch's matmul messages use: ``int64`` -> ``long int``."""
    n = np.dtype(np_dtype).name
    return _C_NAMES.get(n, n)


float32 = dtype("float32", np.float32, 2)
float64 = dtype("float64", np.float64, 2)
int64 = dtype("int64", np.int64, 1)
int32 = dtype("int32", np.int32, 1)
bool_ = dtype("bool", np.bool_, 0)
float = float32  # noqa: A001  (torch.float is float32)
double = float64
long = int64
int = int32  # noqa: A001

ALL = (float32, float64, int64, int32, bool_)
_BY_NP = {d.np_dtype: d for d in ALL}
_DEFAULT = [float32]


def _by_name(name: str) -> dtype:
    return {d.name: d for d in ALL}[name]


def get_default_dtype() -> dtype:
    """The floating dtype factories use when none is given (float32 unless changed)."""
    return _DEFAULT[0]


def set_default_dtype(d: dtype) -> None:
    """Set the default floating dtype (float32 or float64).

    >>> import tapegrad as tg
    >>> tg.set_default_dtype(tg.float64); tg.ones(1).dtype
    tapegrad.float64
    >>> tg.set_default_dtype(tg.float32)
    """
    d = as_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _DEFAULT[0] = d


def as_dtype(d) -> dtype:
    """Accept a tapegrad dtype, a numpy dtype/type, or Python's float/int/bool."""
    if isinstance(d, dtype):
        return d
    if d is builtins.float:
        return _DEFAULT[0]
    if d is builtins.int:
        return int64
    if d is builtins.bool:
        return bool_
    try:
        nd = np.dtype(d)
    except TypeError:
        raise TypeError(f"cannot interpret {d!r} as a tapegrad dtype") from None
    if nd.kind == "f" and nd.itemsize < 4:
        raise TypeError(f"dtype {nd} is not supported by tapegrad (use float32 or float64)")
    got = _BY_NP.get(nd)
    if got is None:
        if nd.kind in "iu":
            return int64
        raise TypeError(f"dtype {nd} is not supported by tapegrad")
    return got


def from_numpy_dtype(nd) -> dtype:
    return as_dtype(nd)


def scalar_dtype(x) -> dtype:
    """The dtype torch gives a Python/numpy scalar when it meets a tensor."""
    if isinstance(x, (builtins.bool, np.bool_)):
        return bool_
    if isinstance(x, (builtins.int, np.integer)):
        return int64
    return _DEFAULT[0]


def result_type(*operands) -> dtype:
    """torch's promotion: the highest category (bool < int < float) wins; within it, tensors with
    dims beat 0-d tensors, which beat Python scalars (a Python float gives the default dtype)."""
    groups: tuple = ([], [], [])  # dtypes of: dimensioned tensors, 0-d tensors, Python scalars
    for x in operands:
        d = getattr(x, "dtype", None)
        if isinstance(d, dtype):
            groups[0 if x.ndim else 1].append(d)
        else:
            groups[2].append(scalar_dtype(x))
    top = max(d._cat for grp in groups for d in grp)
    for grp in groups:
        members = [d for d in grp if d._cat == top]
        if members:
            return max(members, key=lambda d: d.itemsize)
    raise TypeError("no operands to promote")
