"""Matrix products with torch's dimension rules; one adjoint kernel (dgemm) for all of them.

`matmul` picks the op (and so torch's grad_fn name) from the operands' dimensions; `mm`, `bmm`,
`mv`, `dot` check their stricter shapes first; `outer` and `einsum` are compositions of recorded
ops (reshape, permute, sum, matmul), so their gradients need no kernel of their own.
"""
from __future__ import annotations

import math

import numpy as np

from .._dtype import c_name, torch_name
from .._opdef import kernel
from .._record import apply_kernel, broadcast_shapes
from ..tensor import Tensor
from ._util import as_tensor_arg

_FWD = "tapegrad.ops._forward_linalg:fwd_matmul"  # (replay: every product but addmm)
MM = kernel("mm", "tapegrad.ops._kernels_linalg:adj_matmul", "MmBackward0", usage="a @ b (2-D), mm(a, b)",
            replay=_FWD, initialises=True,
            test=("mm", lambda h, a, b: mm))
DOT = kernel("dot", "tapegrad.ops._kernels_linalg:adj_matmul", "DotBackward0", usage="a @ b (1-D · 1-D), dot(a, b)",
             replay=_FWD, initialises=True,
             test=("dot", lambda h, a, b: dot))
MV = kernel("mv", "tapegrad.ops._kernels_linalg:adj_matmul", "MvBackward0", usage="a @ v (2-D · 1-D), mv(a, v)",
            replay=_FWD, initialises=True,
            test=("mv", lambda h, a, b: mv))
VM = kernel("vm", "tapegrad.ops._kernels_linalg:adj_matmul", "SqueezeBackward4", usage="v @ b (1-D · 2-D)",
            replay=_FWD, initialises=True,
            test=("vm", lambda h, a, b: matmul))
BMM = kernel("bmm", "tapegrad.ops._kernels_linalg:adj_matmul", "BmmBackward0", usage="bmm(a, b) (3-D, same batch)",
             replay=_FWD, initialises=True,
             test=("bmm3", lambda h, a, b: bmm))
MATMUL_BATCHED = kernel("matmul_batched", "tapegrad.ops._kernels_linalg:adj_matmul", "UnsafeViewBackward0",
                        usage="a @ b (batched, broadcast)", test=("bmm", lambda h, a, b: matmul),
                        replay=_FWD, initialises=True)


def _addmm_inputs(h) -> tuple:
    m, k, n = (h.draw(h.st.integers(1, 3)) for _ in range(3))
    bias = h.draw(h.st.sampled_from([(n,), (1, n), (m, n)]))
    return h.tensor(bias), h.tensor((m, k)), h.tensor((k, n))


def _addmm_make(h, bias, a, b):
    """addmm itself, or F.linear's form (the weight read transposed in place)."""
    if h.flag():
        return addmm
    return lambda bias, a, b: linear_rows(a, b.t().contiguous() * 1.0, bias)


# bias + a @ b in one entry: F.linear with a bias (torch's node for it)
# ints: (1,) when b is stored transposed, (n, k) (F.linear's weight, read by gemm as it is)
ADDMM = kernel("addmm", "tapegrad.ops._kernels_linalg:adj_addmm", "AddmmBackward0",
               usage="F.linear(x, w, b), addmm(bias, a, b)",
               replay="tapegrad.ops._forward_linalg:fwd_addmm", initialises=True,
               test=(_addmm_inputs, _addmm_make))


def _shape_str(s) -> str:
    return "x".join(str(n) for n in s)


def _matmul(op, a: Tensor, b: Tensor, shape: tuple) -> Tensor:
    ad, bd = a._data, b._data
    if ad.dtype != bd.dtype:
        _different_dtypes(op, ad.dtype, bd.dtype)
    return apply_kernel(op, (a, b), shape, ad.dtype, lambda out: np.matmul(ad, bd, out=out))


def _different_dtypes(op, da, db) -> None:
    """torch's error for matrix products of different dtypes (no promotion), in the words of
    the kernel torch would run: dot, addmv, mm (folding batches) or bmm."""
    if op is DOT:
        raise RuntimeError(f"dot : expected both vectors to have same dtype, but found "
                           f"{torch_name(da)} and {torch_name(db)}")
    if op is MV:
        raise RuntimeError(f"addmv input tensors must have the same dtype, but got "
                           f"{torch_name(db)}, {torch_name(da)}, and {torch_name(db)}")
    if op is BMM:
        raise RuntimeError(f"expected scalar type {torch_name(da)} but found {torch_name(db)}")
    raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {c_name(da)} != "
                       f"{c_name(db)}")


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product with torch's dimension rules (1-D, 2-D, batched with broadcasting).

    >>> import tapegrad as tg
    >>> (tg.ones(2, 3) @ tg.ones(3)).tolist()
    [3.0, 3.0]
    """
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
                           f"({_shape_str((math.prod(left[:-1]), left[-1]))} and "
                           f"{_shape_str(right[-2:])})")
    batch = broadcast_shapes(sa[:-2], sb[:-2])
    shape = batch + sa[-2:-1] + sb[-1:] if len(sb) > 1 else batch + sa[-2:-1]
    if len(sa) == 1 and len(sb) > 1:
        shape = batch + sb[-1:]
    op = {(1, 1): DOT, (2, 2): MM, (2, 1): MV, (1, 2): VM}.get((len(sa), len(sb)),
                                                               MATMUL_BATCHED)
    if a._data.dtype != b._data.dtype:  # (torch folds batches into mm / mv, else runs bmm)
        _different_dtypes(op if op is not MATMUL_BATCHED else (
            MV if len(sb) == 1 else (MM if len(sb) == 2 else BMM)), a._data.dtype, b._data.dtype)
    return _matmul(op, a, b, shape)


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """beta * input + alpha * (mat1 @ mat2), `input` broadcast to the product's shape.

    >>> import tapegrad as tg
    >>> tg.addmm(tg.ones(3), tg.ones(2, 4), tg.ones(4, 3)).tolist()
    [[5.0, 5.0, 5.0], [5.0, 5.0, 5.0]]
    """
    return _addmm(input, mat1, mat2, beta, alpha, False)


def linear_rows(input: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    """bias + input @ weight.T for a matrix `input`: one addmm entry that reads `weight` as it
    is stored (gemm transposes it), so no copy of weight.T is made (F.linear's hot path)."""
    return _addmm(bias, input, weight, 1, 1, True)


def _addmm(input: Tensor, mat1: Tensor, mat2: Tensor, beta, alpha, trans: bool) -> Tensor:
    for name, t in (("mat1", mat1), ("mat2", mat2)):
        if t.ndim != 2:
            raise RuntimeError(f"{name} must be a matrix, got {t.ndim}-D tensor")
    (m, k), (k2, n) = mat1.shape, mat2.shape[::-1] if trans else mat2.shape
    if k != k2:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({m}x{k} and {k2}x{n})")
    bias = as_tensor_arg(input, "input")
    bd, ad, cd = bias._data, mat1._data, mat2._data
    if beta != 1 or alpha != 1 or bd.shape not in ((n,), (1, n), (m, n)) or not (
            bd.dtype == ad.dtype == cd.dtype and bd.dtype.kind == "f"):
        # the general case, by its parts
        return bias * beta + matmul(mat1, mat2.t() if trans else mat2) * alpha

    def compute(out):
        prod = np.matmul(ad, cd.T if trans else cd, out=out)
        return np.add(prod, bd, out=prod)
    return apply_kernel(ADDMM, (bias, mat1, mat2), (m, n), ad.dtype, compute,
                        (1,) if trans else ())


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """2-D matrix product."""
    for name, t in (("self", input), ("mat2", mat2)):
        if t.ndim != 2:
            raise RuntimeError(f"{name} must be a matrix")
    return matmul(input, mat2)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched matrix product of two 3-D tensors with the same batch size (no broadcasting).

    >>> import tapegrad as tg
    >>> tg.bmm(tg.ones(4, 2, 3), tg.ones(4, 3, 5)).shape
    tapegrad.Size([4, 2, 5])
    """
    for name, t in (("batch1", input), ("batch2", mat2)):
        if t.ndim != 3:
            raise RuntimeError(f"{name} must be a 3D tensor")
    (b, m, k), (b2, k2, n) = input.shape, mat2.shape
    if (b2, k2) != (b, k):
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{b}, {k}] but got: [{b2}, {k2}].")
    return _matmul(BMM, input, mat2, (b, m, n))


def mv(input: Tensor, vec: Tensor) -> Tensor:
    """Matrix-vector product."""
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {input.ndim}, {vec.ndim}")
    return matmul(input, vec)


def dot(input: Tensor, tensor: Tensor) -> Tensor:
    """Inner product of two 1-D tensors."""
    if input.ndim != 1 or tensor.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {tensor.ndim}D "
                           f"tensors")
    return matmul(input, tensor)


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """Outer product of two 1-D tensors (as torch: a column times a row, MulBackward0)."""
    for name, t in (("self", input), ("vec2", vec2)):
        if t.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {t.ndim}-D")
    return input.reshape(-1, 1) * vec2


# ------------------------------------------------------------------------------------------------
# einsum: reduced to permute / reshape / sum / matmul, pairwise from the left
# ------------------------------------------------------------------------------------------------
def einsum(equation: str, *operands) -> Tensor:
    """Einstein summation over letters a-z/A-Z (no ellipsis, no letter repeated within one
    operand). Contractions run as (batched) matrix products.

    >>> import tapegrad as tg
    >>> tg.einsum("ij,jk->ik", tg.ones(2, 3), tg.ones(3, 4)).shape
    tapegrad.Size([2, 4])
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    lhs, arrow, out = equation.replace(" ", "").partition("->")
    subs = lhs.split(",")
    if len(subs) != len(operands):
        more = "more" if len(operands) > len(subs) else "fewer"
        raise RuntimeError(f"einsum(): {more} operands were provided than specified in the "
                           f"equation")
    if "." in equation:
        raise NotImplementedError("einsum(): ellipsis ('...') is not supported yet")
    letters = "".join(subs)
    if not arrow:  # implicit output: the letters seen once, in alphabetical order
        out = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    sizes: dict = {}
    for i, (s, t) in enumerate(zip(subs, operands)):
        if not isinstance(t, Tensor):
            raise TypeError(f"einsum(): operand {i} is not a Tensor")
        if len(s) != t.ndim:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({len(s)}) "
                               f"does not match the number of dimensions ({t.ndim}) for operand "
                               f"{i} and no ellipsis was given")
        if len(set(s)) != len(s):
            raise NotImplementedError(f"einsum(): a subscript repeated within one operand "
                                      f"({s!r}) is not supported yet")
        for c, n in zip(s, t.shape):
            if sizes.setdefault(c, n) != n:
                raise RuntimeError(f"einsum(): subscript {c} has size {n} for operand {i} which "
                                   f"does not broadcast with previously seen size {sizes[c]}")
    for c in out:
        if c not in sizes:
            raise RuntimeError(f"einsum(): output subscript {c} does not appear in the equation "
                               f"for any input operand")
    acc, acc_sub = operands[0], subs[0]
    for k in range(1, len(operands)):
        later = set(out).union(*subs[k + 1:])
        acc, acc_sub = _contract(acc, acc_sub, operands[k], subs[k], later, sizes)
    return _finish(acc, acc_sub, out)


def _finish(t: Tensor, sub: str, out: str) -> Tensor:
    """Sum the letters not in `out`, then order the rest as `out`."""
    gone = tuple(i for i, c in enumerate(sub) if c not in out)
    if gone:
        t = t.sum(gone)
        sub = "".join(c for c in sub if c in out)
    perm = tuple(sub.index(c) for c in out)
    return t.permute(perm) if perm != tuple(range(len(perm))) else t


def _contract(a: Tensor, sa: str, b: Tensor, sb: str, keep: set, sizes: dict):
    """a (letters sa) times b (sb), summing shared letters not in `keep`: one matmul."""
    a, sa = _sum_private(a, sa, sb, keep)
    b, sb = _sum_private(b, sb, sa, keep)
    batch = [c for c in sa if c in sb and c in keep]
    contracted = [c for c in sa if c in sb and c not in keep]
    free_a = [c for c in sa if c not in sb]
    free_b = [c for c in sb if c not in sa]

    def size(cs):
        return math.prod([sizes[c] for c in cs]) if cs else 1
    a3 = _arrange(a, sa, batch + free_a + contracted).reshape(
        size(batch), size(free_a), size(contracted))
    b3 = _arrange(b, sb, batch + contracted + free_b).reshape(
        size(batch), size(contracted), size(free_b))
    c = (a3 @ b3).reshape(tuple(sizes[c] for c in batch + free_a + free_b))
    return c, "".join(batch + free_a + free_b)


def _sum_private(t: Tensor, sub: str, other: str, keep: set):
    """Sum out letters that occur only in this operand and are not needed later."""
    gone = tuple(i for i, c in enumerate(sub) if c not in other and c not in keep)
    if not gone:
        return t, sub
    return t.sum(gone), "".join(c for i, c in enumerate(sub) if i not in gone)


def _arrange(t: Tensor, sub: str, order: list) -> Tensor:
    perm = tuple(sub.index(c) for c in order)
    return t.permute(perm) if perm != tuple(range(len(perm))) else t


__all__ = ["matmul", "mm", "addmm", "bmm", "mv", "dot", "outer", "einsum"]
METHODS = dict(matmul=matmul, mm=mm, addmm=addmm, bmm=bmm, mv=mv, dot=dot, outer=outer, __matmul__=matmul,
               __rmatmul__=lambda self, other: matmul(other, self))
