"""The op table: every differentiable op, registered family by family.

Each module registers its ops (`unary`/`binary`/`kernel` from `_opdef.py`: forward, adjoint,
torch's grad_fn name, test spec, usage) next to the front-ends that parse torch's arguments. It
lists its public functions in `__all__` (exported as ``tapegrad.<name>``), the Tensor methods it
provides in `METHODS`, in `QUERIES` the methods that print like torch's built-in methods, and in
`SCALAR_METHODS`/`SCALAR32_METHODS`/`VEC_METHODS` the fast-path overrides for
`_Scalar`/`_Scalar32`/`_Vec` (`_scalar.py`; `_Vec32` inherits `_Vec`'s).
Import order fixes the opcodes.
"""
from ..tensor import Tensor, _Scalar, _Scalar32, _Vec, builtin_method
from . import (elementwise, reductions, linalg, shapes, indexing, activations, compare,  # noqa: I001
               inplace, sorting, misc)

_MODULES = (elementwise, reductions, linalg, shapes, indexing, activations, compare, inplace,
            sorting, misc)

__all__ = [name for mod in _MODULES for name in mod.__all__]
globals().update({name: getattr(mod, name) for mod in _MODULES for name in mod.__all__})


def _bind() -> None:
    for mod in _MODULES:
        for name, fn in mod.METHODS.items():
            setattr(Tensor, name, fn)
        for name, fn in getattr(mod, "QUERIES", {}).items():
            setattr(Tensor, name, builtin_method(fn))
        for name, fn in getattr(mod, "SCALAR_METHODS", {}).items():
            setattr(_Scalar, name, fn)
        for name, fn in getattr(mod, "SCALAR32_METHODS", {}).items():
            setattr(_Scalar32, name, fn)
        for name, fn in getattr(mod, "VEC_METHODS", {}).items():
            setattr(_Vec, name, fn)


_bind()
