"""Matrix products with torch's dimension rules; one adjoint kernel (dgemm) for all cases."""
from __future__ import annotations

import numpy as np

from .._dtype import result_type
from .._opdef import REAL, kernel
from .._record import apply_kernel, broadcast_shapes
from ..tensor import Tensor
from ._util import as_tensor_arg

# ------------------------------------------------------------------------------------------------
# linear algebra
# ------------------------------------------------------------------------------------------------
MM = kernel("mm", "adj_matmul", "MmBackward0", (REAL, REAL), usage="a @ b (2-D), mm(a, b)",
    test=("mm", lambda h, a, b: mm))
DOT = kernel("dot", "adj_matmul", "DotBackward0", (REAL, REAL),
             usage="a @ b (1-D · 1-D)",
    test=("dot", lambda h, a, b: matmul))
MV = kernel("mv", "adj_matmul", "MvBackward0", (REAL, REAL), usage="a @ v (2-D · 1-D)",
    test=("mv", lambda h, a, b: matmul))
VM = kernel("vm", "adj_matmul", "SqueezeBackward4", (REAL, REAL),
            usage="v @ b (1-D · 2-D)",
    test=("vm", lambda h, a, b: matmul))
BMM = kernel("matmul_batched", "adj_matmul", "UnsafeViewBackward0", (REAL, REAL),
             usage="a @ b (batched, broadcast)",
    test=("bmm", lambda h, a, b: matmul))


def _shape_str(s) -> str:
    return "x".join(str(n) for n in s)


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product with torch's dimension rules (1-D, 2-D, batched with broadcasting)."""
    a, b = as_tensor_arg(input, "input"), as_tensor_arg(other)
    sa, sb = a._data.shape, b._data.shape
    if not sa or not sb:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are "
                           f"{len(sa)}D and {len(sb)}D")
    k1 = sa[-1]
    k2 = sb[0] if len(sb) == 1 else sb[-2]
    if k1 != k2:
        if len(sa) == 1 and len(sb) == 1:
            raise RuntimeError(f"inconsistent tensor size, expected tensor [{sa[0]}] and src "
                               f"[{sb[0]}] to have the same number of elements, but got {sa[0]} "
                               f"and {sb[0]} elements respectively")
        if len(sa) == 2 and len(sb) == 1:
            raise RuntimeError(f"size mismatch, got input ({sa[0]}), mat ({_shape_str(sa)}), vec "
                               f"({sb[0]})")
        left = sa if len(sa) > 1 else (1,) + sa
        right = sb if len(sb) > 1 else sb + (1,)
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied "
                           f"({_shape_str((int(np.prod(left[:-1])), left[-1]))} and "
                           f"{_shape_str(right[-2:])})")
    batch = broadcast_shapes(sa[:-2], sb[:-2])
    shape = batch + sa[-2:-1] + sb[-1:] if len(sb) > 1 else batch + sa[-2:-1]
    if len(sa) == 1 and len(sb) > 1:
        shape = batch + sb[-1:]
    op = {(1, 1): DOT, (2, 2): MM, (2, 1): MV, (1, 2): VM}.get((len(sa), len(sb)), BMM)
    dt = a._data.dtype if a._data.dtype == b._data.dtype else result_type(a, b).np_dtype
    ad, bd = a._data, b._data
    return apply_kernel(op, (a, b), shape, dt, lambda out: np.matmul(ad, bd, out=out))


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """2-D matrix product."""
    for name, t in (("self", input), ("mat2", mat2)):
        if t.ndim != 2:
            raise RuntimeError(f"{name} must be a matrix")
    return matmul(input, mat2)


__all__ = ['matmul', 'mm']
METHODS = dict(matmul=matmul, mm=mm, __matmul__=matmul,
               __rmatmul__=lambda self, other: matmul(other, self))
