"""Hand-written adjoints of the matmul family in `ops/linalg.py` (mm, dot, mv, vm, bmm, batched
matmul, addmm): dgemm / sgemm from numpy's OpenBLAS (`engine.blas`) accumulate straight into the
adjoint buffers, one call per (broadcast) batch element."""
import numpy as np
from numba import njit

from ..engine.kernels import (
    ENV_DGEMM,
    ENV_SGEMM,
    NO_TRANS,
    TRANS,
    T_A,
    T_ADJ,
    T_B,
    T_ICNT,
    T_INS,
    T_IOFS,
    T_IS32,
    T_NEED,
    T_SIZE,
    bcast_strides,
    gemm,
    slot_shape,
    strided_map,
    values_like,
)


@njit(cache=True, error_model="numpy")
def _mat_dims(tab, rec, s, is_left):
    """(batch shape, rows, cols) of a matmul operand; a 1-D operand is a row (left) or column."""
    sh = slot_shape(tab, rec, s)
    nd = sh.shape[0]
    if nd == 1:
        if is_left:
            return sh[:0], 1, sh[0]
        return sh[:0], sh[0], 1
    return sh[:nd - 2], sh[nd - 2], sh[nd - 1]


@njit(cache=True, error_model="numpy")
def _matmul_adjoints(e, a, b, tab, rec, adj, live, env):
    o = e
    ba, m, k = _mat_dims(tab, rec, a, True)
    bb, k2, n = _mat_dims(tab, rec, b, False)
    nbd = max(ba.shape[0], bb.shape[0])
    obatch = slot_shape(tab, rec, o)[:nbd]
    ia = strided_map(obatch, bcast_strides(obatch, ba))
    ib = strided_map(obatch, bcast_strides(obatch, bb))
    A = values_like(adj, tab, a)
    B = values_like(adj, tab, b)
    single = tab[e, T_IS32] == 1
    blas = env[ENV_SGEMM] if single else env[ENV_DGEMM]
    go, ga, gb = tab[o, T_ADJ], tab[a, T_ADJ], tab[b, T_ADJ]
    # a gradient not yet live is assigned (gemm's beta 0); where broadcast batches add into
    # one block several times, zeroed first (a @ a: the second product adds to the first)
    add_a = live[a] != 0
    add_b = live[b] != 0 or (b == a and tab[a, T_NEED] != 0)
    if ia.shape[0] != 1:  # (or no batch at all: zeros)
        if tab[a, T_NEED] and not add_a:
            adj[ga:ga + tab[a, T_SIZE]] = 0.0
        if tab[b, T_NEED] and not add_b:
            adj[gb:gb + tab[b, T_SIZE]] = 0.0
        add_a = add_b = True
    for t in range(ia.shape[0]):
        g2 = adj[go + t * m * n:go + (t + 1) * m * n]
        if tab[a, T_NEED]:
            gemm(blas, single, NO_TRANS, TRANS, m, k, n, g2,
                 B[ib[t] * k * n:(ib[t] + 1) * k * n],
                 adj[ga + ia[t] * m * k:ga + (ia[t] + 1) * m * k], add_a)
        if tab[b, T_NEED]:
            gemm(blas, single, TRANS, NO_TRANS, k, n, m,
                 A[ia[t] * m * k:(ia[t] + 1) * m * k], g2,
                 adj[gb + ib[t] * k * n:gb + (ib[t] + 1) * k * n], add_b)
    if tab[a, T_NEED]:
        live[a] = 1
    if tab[b, T_NEED]:
        live[b] = 1
    _ = k2


@njit(cache=True, error_model="numpy")
def _linear_adjoints(e, a, w, tab, rec, adj, live, env):
    """out[m, n] = a[m, k] @ w[n, k]^T (w stored transposed): ga += g @ w, gw += g^T @ a."""
    sa, sw = slot_shape(tab, rec, a), slot_shape(tab, rec, w)
    m, k, n = sa[0], sa[1], sw[0]
    single = tab[e, T_IS32] == 1
    blas = env[ENV_SGEMM] if single else env[ENV_DGEMM]
    go, ga, gw = tab[e, T_ADJ], tab[a, T_ADJ], tab[w, T_ADJ]
    g2 = adj[go:go + m * n]
    if tab[a, T_NEED]:  # (not yet live: assigned, see _matmul_adjoints)
        gemm(blas, single, NO_TRANS, NO_TRANS, m, k, n, g2, values_like(adj, tab, w),
             adj[ga:ga + m * k], live[a] != 0)
        live[a] = 1
    if tab[w, T_NEED]:
        gemm(blas, single, TRANS, NO_TRANS, n, k, m, g2, values_like(adj, tab, a),
             adj[gw:gw + n * k], live[w] != 0)
        live[w] = 1


@njit(cache=True, error_model="numpy")
def adj_addmm(e, tab, rec, fl, adj, live, env):
    """out[m, n] = bias + a[m, k] @ b[k, n], inputs (bias, a, b), bias of n or m * n values:
    the matmul's adjoints, and gbias[j] += sum_i g[i, j] (or gbias += g)."""
    ins = tab[e, T_INS]
    bias, a, b = rec[ins], rec[ins + 1], rec[ins + 2]
    if tab[e, T_ICNT] > 0 and rec[tab[e, T_IOFS]]:
        _linear_adjoints(e, a, b, tab, rec, adj, live, env)
    else:
        _matmul_adjoints(e, a, b, tab, rec, adj, live, env)
    if not tab[bias, T_NEED]:
        return
    go, gb, nb, size = tab[e, T_ADJ], tab[bias, T_ADJ], tab[bias, T_SIZE], tab[e, T_SIZE]
    if not live[bias]:
        adj[gb:gb + nb] = 0.0
    for i in range(size):
        adj[gb + i % nb] += adj[go + i]
    live[bias] = 1


@njit(cache=True, error_model="numpy")
def adj_matmul(e, tab, rec, fl, adj, live, env):
    """out[..., m, n] = a[..., m, k] @ b[..., k, n] with broadcast batch dims:
    ga += g @ b^T and gb += a^T @ g, accumulated by dgemm / sgemm straight into the
    adjoints."""
    _matmul_adjoints(e, tab[e, T_A], tab[e, T_B], tab, rec, adj, live, env)
