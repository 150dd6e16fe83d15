"""The op table: every differentiable op, registered family by family.

Each module registers its ops (`unary`/`binary`/`kernel` from `_opdef.py`: forward, adjoint,
torch's grad_fn name, test spec, usage) next to the front-ends that parse torch's arguments, and
lists the Tensor methods it provides (`METHODS`; `QUERIES` print like torch's built-in methods).
Import order fixes the opcodes.
"""
from ..tensor import Tensor, builtin_method
from . import elementwise, reductions, linalg, shapes, compare  # noqa: I001 (order = opcodes)
from .compare import all, any, eq, ge, gt, le, lt, ne  # noqa: A004
from .elementwise import (abs, add, clamp, cos, div, exp, log, mul, neg, pow, reciprocal, relu,  # noqa: A004
                          rsub, sigmoid, sin, sqrt, sub, tanh)
from .linalg import matmul, mm
from .reductions import mean, sum  # noqa: A004
from .shapes import clone, contiguous, permute, reshape, t, to, transpose

_MODULES = (elementwise, reductions, linalg, shapes, compare)


def _bind() -> None:
    for mod in _MODULES:
        for name, fn in mod.METHODS.items():
            setattr(Tensor, name, fn)
        for name, fn in getattr(mod, "QUERIES", {}).items():
            setattr(Tensor, name, builtin_method(fn))


_bind()
