"""Numba forwards of the matmul family in `ops/linalg.py` (mm, dot, mv, vm, bmm, batched
matmul, addmm): what a replayed program (`engine/replay.py`) runs to compute their entries at new
inputs, through the same dgemm / sgemm (`engine.blas`) and batch broadcasting as the adjoints in
`_kernels_linalg`.

Each ``fwd_*(e, tab, rec, fl, w, env)`` reads only the entry's input and output shapes; `w`
only types the values (the entry's dtype).
"""
from numba import njit

from ..engine.kernels import (
    ENV_DGEMM,
    ENV_SGEMM,
    NO_TRANS,
    TRANS,
    T_A,
    T_B,
    T_ICNT,
    T_INS,
    T_IOFS,
    T_IS32,
    T_SIZE,
    bcast_strides,
    gemm_acc,
    slot_shape,
    strided_map,
    values_like,
)
from ._kernels_linalg import _mat_dims


@njit(cache=True, error_model="numpy")
def _matmul_acc(e, a, b, tab, rec, w, env):
    """out[..., m, n] += a[..., m, k] @ b[..., k, n] for each batch element of the output,
    the operands' batch dims broadcast as np.matmul (1-D operands: a row / a column)."""
    ba, m, k = _mat_dims(tab, rec, a, True)
    bb, _, n = _mat_dims(tab, rec, b, False)
    if m == 0 or n == 0 or k == 0:  # nothing to add (and BLAS rejects leading dims of 0)
        return
    obatch = slot_shape(tab, rec, e)[:max(ba.shape[0], bb.shape[0])]
    ia = strided_map(obatch, bcast_strides(obatch, ba))
    ib = strided_map(obatch, bcast_strides(obatch, bb))
    A, B, C = values_like(w, tab, a), values_like(w, tab, b), values_like(w, tab, e)
    single = tab[e, T_IS32] == 1
    blas = env[ENV_SGEMM] if single else env[ENV_DGEMM]
    for t in range(ia.shape[0]):
        gemm_acc(blas, single, NO_TRANS, NO_TRANS, m, n, k,
                 A[ia[t] * m * k:(ia[t] + 1) * m * k], B[ib[t] * k * n:(ib[t] + 1) * k * n],
                 C[t * m * n:(t + 1) * m * n])


@njit(cache=True, error_model="numpy")
def fwd_matmul(e, tab, rec, fl, w, env):
    """out = a @ b (inputs (a, b)), for every op of the family but addmm."""
    values_like(w, tab, e)[:] = 0
    _matmul_acc(e, tab[e, T_A], tab[e, T_B], tab, rec, w, env)


@njit(cache=True, error_model="numpy")
def fwd_addmm(e, tab, rec, fl, w, env):
    """out[m, n] = bias + a[m, k] @ b[k, n], inputs (bias, a, b), bias of n or m * n values
    (the bias is gemm's beta term)."""
    ins = tab[e, T_INS]
    bias = rec[ins]
    out, bv, nb = values_like(w, tab, e), values_like(w, tab, bias), tab[bias, T_SIZE]
    for i in range(tab[e, T_SIZE]):
        out[i] = bv[i % nb]
    a, b = rec[ins + 1], rec[ins + 2]
    if tab[e, T_ICNT] > 0 and rec[tab[e, T_IOFS]]:  # b stored transposed (n, k): F.linear
        sa, sb = slot_shape(tab, rec, a), slot_shape(tab, rec, b)
        m, k, n = sa[0], sa[1], sb[0]
        if m and n and k:
            single = tab[e, T_IS32] == 1
            gemm_acc(env[ENV_SGEMM] if single else env[ENV_DGEMM], single, NO_TRANS, TRANS,
                     m, n, k, values_like(w, tab, a), values_like(w, tab, b), out)
        return
    _matmul_acc(e, a, b, tab, rec, w, env)
