"""The optimizers' update kernels: one fused loop per parameter over flat (1-d, C-contiguous)
arrays, writing the parameter and its state in place; no temporaries.

Each kernel follows the operation order of torch's single-tensor implementation
(``torch/optim/<name>.py``), so that results agree with torch's to rounding:
``a.add(b, alpha=s)`` is ``a + s * b``, ``a.addcmul(t1, t2, value=s)`` is ``a + s * t1 * t2``,
``a.addcdiv(t1, t2, value=s)`` is ``a + s * t1 / t2`` (in that order) and ``a.lerp(b, w)`` is
torch's two-sided formula (`_lerp`). torch's CPU kernels fuse some of these into FMAs and its
sqrt is not always correctly rounded, so results agree to a few ulps, not bit for bit.

The hyper-parameters arrive in one small array ``h`` of the parameter's dtype (the caller
rounds them as torch casts a Python number for a float32 tensor, so a float32 update is computed
in float32, as torch's), flags as 0/1; one array costs less to dispatch than a dozen scalars.
They are read into locals before the loop, so a flag is a loop-invariant branch that LLVM turns
into a select; a flag that decides whether a state array is stored picks one of two loops (a
conditional store would not vectorize). ``maximize`` is a gradient sign: ``g * -1`` is exactly
``-g``. ``error_model="numpy"``: a division by zero gives inf/nan as torch's, and without
Python's zero check the loops vectorize.

The caller checks every shape and dtype beforehand: a kernel indexes ``p.size`` elements of
every array it uses and checks nothing. An unused state array (no momentum ...) is passed as
``p`` itself and never touched.

Each kernel has a group form (``sgd_group`` ...) that updates many parameters in one call: a
Python call of a kernel costs ~1 µs of dispatch (unboxing its arrays) and the bookkeeping around
it more, which for small parameters is most of a step. The group form gets an int64 table, one
row per parameter (`T_P` ...: the addresses of the parameter's, its gradient's and its state's
C-ordered memory, their common size, the row of ``h`` to use), views each address as an array
of that size inside Numba (``carray``) and runs the single-parameter kernel on them, in row
order. ``like`` (an empty array of the parameters' dtype) picks the float32 or float64
compilation; one table holds one dtype. The caller (`optimizer._Plan`) fills the table only from
arrays it validated and keeps alive over the call.
"""
from __future__ import annotations

import numba
import numpy as np
from numba import carray

from ..engine.kernels import ptr_like

_JIT = dict(cache=True, error_model="numpy")

# the columns of a group kernel's table: addresses of the parameter, its gradient and up to three
# state arrays (an unused one: the parameter's), the arrays' size, the row of h
T_P, T_G, T_S0, T_S1, T_S2, T_SIZE, T_H = range(7)
TAB_W = 7


@numba.njit(**_JIT)
def address(a) -> int:  # pragma: no cover -- compiled
    """The address of `a`'s first element: ~0.4 µs, where ``a.ctypes.data`` and
    ``a.__array_interface__`` take ~3 µs in Python."""
    return a.ctypes.data


@numba.njit(inline="always", **_JIT)
def _view(like, tab, i, col):
    """Row i's array in column `col` (`T_P` ...), of like's dtype."""
    return carray(ptr_like(like, tab[i, col]), tab[i, T_SIZE])


@numba.njit(inline="always", **_JIT)
def _lerp(a, b, w, omw, w_big):
    """torch's lerp(a, b, w): exact at both ends (from a when w < 0.5, else from b); ``omw`` is
    1 - w in the arrays' dtype (a literal 1 would promote a float32 update to float64)."""
    if w_big:
        return b - (b - a) * omw
    return a + w * (b - a)


# SGD's h: gradient sign (-1 to maximize), weight_decay, momentum, 1 - dampening, first step,
# nesterov, -lr
SGD_H = 7


@numba.njit(**_JIT)
def sgd(p, g, buf, h):  # pragma: no cover -- compiled
    """torch's SGD; ``buf``: the momentum buffer (on the first step it takes the gradient as it
    is, as torch's clone)."""
    sign, wd, momentum, damp1 = h[0], h[1], h[2], h[3]
    first, nesterov, neg_lr = h[4] != 0, h[5] != 0, h[6]
    use_wd = wd != 0
    if momentum == 0:  # (each loop stores unconditionally: a conditional store would not
        for i in range(p.size):  # vectorize)
            gi = g[i] * sign
            if use_wd:
                gi = gi + wd * p[i]
            p[i] = p[i] + neg_lr * gi
        return
    for i in range(p.size):
        gi = g[i] * sign
        if use_wd:
            gi = gi + wd * p[i]
        b = gi if first else buf[i] * momentum + damp1 * gi
        buf[i] = b
        p[i] = p[i] + neg_lr * (gi + momentum * b if nesterov else b)


# Adam's h: gradient sign, weight_decay (coupled; 0 for AdamW), decay (AdamW's
# 1 - lr * weight_decay, else 1), w1 = 1 - beta1, 1 - w1, w1 >= 0.5, beta2, 1 - beta2, amsgrad,
# -lr / (1 - beta1 ** step), (1 - beta2 ** step) ** 0.5, eps
ADAM_H = 12


@numba.njit(inline="always", **_JIT)
def _adam_moments(pi, gi, m, v, i, wd, w1, omw1, w1_big, beta2, omb2):
    """Adam's gradient (with coupled weight decay) into both moments; returns them."""
    if wd != 0:
        gi = gi + wd * pi
    mi = _lerp(m[i], gi, w1, omw1, w1_big)
    m[i] = mi
    vi = v[i] * beta2 + omb2 * gi * gi
    v[i] = vi
    return mi, vi


@numba.njit(**_JIT)
def adam(p, g, m, v, vmax, h):  # pragma: no cover -- compiled
    """torch's Adam and AdamW (m: exp_avg, v: exp_avg_sq, vmax: max_exp_avg_sq)."""
    sign, wd, decay, w1, omw1, w1_big = h[0], h[1], h[2], h[3], h[4], h[5] != 0
    beta2, omb2, amsgrad, neg_step, bc2_sqrt, eps = h[6], h[7], h[8] != 0, h[9], h[10], h[11]
    if not amsgrad:
        for i in range(p.size):
            pi = p[i] * decay  # (decay 1: exact)
            mi, vi = _adam_moments(pi, g[i] * sign, m, v, i, wd, w1, omw1, w1_big, beta2, omb2)
            p[i] = pi + neg_step * mi / (np.sqrt(vi) / bc2_sqrt + eps)
        return
    for i in range(p.size):
        pi = p[i] * decay
        mi, vi = _adam_moments(pi, g[i] * sign, m, v, i, wd, w1, omw1, w1_big, beta2, omb2)
        vi = np.maximum(vmax[i], vi)  # (nan wins, as in torch.maximum)
        vmax[i] = vi
        p[i] = pi + neg_step * mi / (np.sqrt(vi) / bc2_sqrt + eps)


# RMSprop's h: gradient sign, weight_decay, alpha, 1 - alpha, 1 - (1 - alpha),
# 1 - alpha >= 0.5, eps, centered, momentum, -lr
RMSPROP_H = 10


@numba.njit(inline="always", **_JIT)
def _rms_grad(p, g, i, sign, wd):
    gi = g[i] * sign
    return gi + wd * p[i] if wd != 0 else gi


@numba.njit(**_JIT)
def rmsprop(p, g, sq, gavg, buf, h):  # pragma: no cover -- compiled
    """torch's RMSprop (sq: square_avg, gavg: grad_avg when centered, buf: momentum_buffer);
    avg = sqrt(square_avg [- grad_avg ** 2]) + eps."""
    sign, wd, alpha, oma, omoma, oma_big = h[0], h[1], h[2], h[3], h[4], h[5] != 0
    eps, centered, momentum, neg_lr = h[6], h[7] != 0, h[8], h[9]
    n = p.size
    if centered and momentum > 0:
        for i in range(n):
            gi = _rms_grad(p, g, i, sign, wd)
            s = sq[i] * alpha + oma * gi * gi
            sq[i] = s
            ga = _lerp(gavg[i], gi, oma, omoma, oma_big)
            gavg[i] = ga
            b = buf[i] * momentum + gi / (np.sqrt(s - ga * ga) + eps)
            buf[i] = b
            p[i] = p[i] + neg_lr * b
    elif centered:
        for i in range(n):
            gi = _rms_grad(p, g, i, sign, wd)
            s = sq[i] * alpha + oma * gi * gi
            sq[i] = s
            ga = _lerp(gavg[i], gi, oma, omoma, oma_big)
            gavg[i] = ga
            # addcmul(ga, ga, value=-1): (-1 * ga) * ga is exactly -(ga * ga)
            p[i] = p[i] + neg_lr * gi / (np.sqrt(s - ga * ga) + eps)
    elif momentum > 0:
        for i in range(n):
            gi = _rms_grad(p, g, i, sign, wd)
            s = sq[i] * alpha + oma * gi * gi
            sq[i] = s
            b = buf[i] * momentum + gi / (np.sqrt(s) + eps)
            buf[i] = b
            p[i] = p[i] + neg_lr * b
    else:
        for i in range(n):
            gi = _rms_grad(p, g, i, sign, wd)
            s = sq[i] * alpha + oma * gi * gi
            sq[i] = s
            p[i] = p[i] + neg_lr * gi / (np.sqrt(s) + eps)


# Adagrad's h: gradient sign, weight_decay, eps, -lr / (1 + (step - 1) * lr_decay)
ADAGRAD_H = 4


@numba.njit(**_JIT)
def adagrad(p, g, acc, h):  # pragma: no cover -- compiled
    """torch's Adagrad, dense gradients (acc: the running sum of squares, ``sum``)."""
    sign, wd, eps, neg_clr = h[0], h[1], h[2], h[3]
    use_wd = wd != 0
    for i in range(p.size):
        gi = g[i] * sign
        if use_wd:
            gi = gi + wd * p[i]
        s = acc[i] + gi * gi
        acc[i] = s
        p[i] = p[i] + neg_clr * gi / (np.sqrt(s) + eps)


# -- the group forms (see the module docstring): one call per dtype of a parameter group ------
@numba.njit(**_JIT)
def sgd_group(tab, like, h):  # pragma: no cover -- compiled
    for i in range(tab.shape[0]):
        sgd(_view(like, tab, i, T_P), _view(like, tab, i, T_G), _view(like, tab, i, T_S0),
            h[tab[i, T_H]])


@numba.njit(**_JIT)
def adam_group(tab, like, h):  # pragma: no cover -- compiled
    for i in range(tab.shape[0]):
        adam(_view(like, tab, i, T_P), _view(like, tab, i, T_G), _view(like, tab, i, T_S0),
             _view(like, tab, i, T_S1), _view(like, tab, i, T_S2), h[tab[i, T_H]])


@numba.njit(**_JIT)
def rmsprop_group(tab, like, h):  # pragma: no cover -- compiled
    for i in range(tab.shape[0]):
        rmsprop(_view(like, tab, i, T_P), _view(like, tab, i, T_G), _view(like, tab, i, T_S0),
                _view(like, tab, i, T_S1), _view(like, tab, i, T_S2), h[tab[i, T_H]])


@numba.njit(**_JIT)
def adagrad_group(tab, like, h):  # pragma: no cover -- compiled
    for i in range(tab.shape[0]):
        adagrad(_view(like, tab, i, T_P), _view(like, tab, i, T_G), _view(like, tab, i, T_S0),
                h[tab[i, T_H]])
