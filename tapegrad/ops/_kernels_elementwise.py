"""Hand-written adjoints of the elementwise ops with three inputs (where, lerp, clamp with tensor
bounds), the vectorized forward of erf (numpy has none; scipy is not a dependency), and the math
functions elementwise fragments call in forms that vectorize (cos/sin, exp, log, log1p, sigmoid,
softplus: libm's are calls, which keep a loop scalar).

Every input of these ops is broadcast to the output's shape: `_bmap` gives, for each flat output
index, the flat index of an input, and adjoints accumulate through it (`+=`), which sums over the
broadcast dimensions. A bool condition (`where`) is stored in the arena as 0.0/1.0 in the op's
float dtype, like any constant input, and never needs a gradient.
"""
import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from ..engine.kernels import (
    T_ADJ,
    T_FOFS,
    T_INS,
    T_IOFS,
    T_NEED,
    T_NIN,
    _values_f64,
    bindex,
)


@njit(cache=True, error_model="numpy")
def _bmap(tab, rec, s, e):
    """For each flat index of output slot `e`, the flat index of input slot `s` it reads."""
    return bindex(tab, rec, s, e)


@njit(cache=True, error_model="numpy")
def adj_where(e, tab, rec, fl, adj, live, env):
    """out = where(c, x, y) (inputs c, x, y): gx += g where c, gy += g elsewhere."""
    ins = tab[e, T_INS]
    c, x, y = rec[ins], rec[ins + 1], rec[ins + 2]
    cv = _values_f64(tab, c)
    ic = _bmap(tab, rec, c, e)
    go = tab[e, T_ADJ]
    for s, take in ((x, True), (y, False)):
        if tab[s, T_NEED]:
            idx = _bmap(tab, rec, s, e)
            gs = tab[s, T_ADJ]
            for i in range(idx.shape[0]):
                if (cv[ic[i]] != 0.0) == take:
                    adj[gs + idx[i]] += adj[go + i]
            live[s] = 1


@njit(cache=True, error_model="numpy")
def adj_lerp(e, tab, rec, fl, adj, live, env):
    """out = a + w * (b - a); w is the third input or, with two inputs, the float parameter:
    ga += g * (1 - w), gb += g * w, gw += g * (b - a)."""
    ins = tab[e, T_INS]
    a, b = rec[ins], rec[ins + 1]
    tensor_w = tab[e, T_NIN] == 3
    w = rec[ins + 2] if tensor_w else a
    wv = _values_f64(tab, w) if tensor_w else np.full(1, fl[tab[e, T_FOFS]])
    iw = _bmap(tab, rec, w, e)
    go = tab[e, T_ADJ]
    for s, sign in ((a, -1.0), (b, 1.0)):
        if tab[s, T_NEED]:
            idx = _bmap(tab, rec, s, e)
            gs = tab[s, T_ADJ]
            for i in range(idx.shape[0]):
                wi = wv[iw[i]] if tensor_w else wv[0]
                adj[gs + idx[i]] += adj[go + i] * (wi if sign > 0 else 1.0 - wi)
            live[s] = 1
    if tensor_w and tab[w, T_NEED]:
        av = _values_f64(tab, a)
        bv = _values_f64(tab, b)
        ia = _bmap(tab, rec, a, e)
        ib = _bmap(tab, rec, b, e)
        gw = tab[w, T_ADJ]
        for i in range(iw.shape[0]):
            adj[gw + iw[i]] += adj[go + i] * (bv[ib[i]] - av[ia[i]])
        live[w] = 1


@njit(cache=True, error_model="numpy")
def adj_clamp_tensor(e, tab, rec, fl, adj, live, env):
    """out = min(max(x, lo), hi) with tensor bounds (inputs x, then lo and/or hi as ints
    (has_lo, has_hi) say), torch's masks: gx where lo <= x <= hi; glo where x < lo and lo < hi
    (x < lo alone without hi); ghi where x > hi or hi < lo."""
    ins = tab[e, T_INS]
    k = tab[e, T_IOFS]
    has_lo, has_hi = rec[k] != 0, rec[k + 1] != 0
    x = rec[ins]
    lo = rec[ins + 1] if has_lo else x
    hi = rec[ins + (2 if has_lo else 1)] if has_hi else x
    xv, lv, hv = _values_f64(tab, x), _values_f64(tab, lo), _values_f64(tab, hi)
    ix, il, ih = _bmap(tab, rec, x, e), _bmap(tab, rec, lo, e), _bmap(tab, rec, hi, e)
    go = tab[e, T_ADJ]
    gx, gl, gh = tab[x, T_ADJ], tab[lo, T_ADJ], tab[hi, T_ADJ]
    nx = tab[x, T_NEED] != 0
    nl = has_lo and tab[lo, T_NEED] != 0
    nh = has_hi and tab[hi, T_NEED] != 0
    for i in range(ix.shape[0]):
        g = adj[go + i]
        xi = xv[ix[i]]
        li = lv[il[i]] if has_lo else -math.inf
        hi_ = hv[ih[i]] if has_hi else math.inf
        if nx and xi >= li and xi <= hi_:
            adj[gx + ix[i]] += g
        if nl and xi < li and (not has_hi or li < hi_):
            adj[gl + il[i]] += g
        if nh and (xi > hi_ or (has_lo and hi_ < li)):
            adj[gh + ih[i]] += g
    if nx:
        live[x] = 1
    if nl:
        live[lo] = 1
    if nh:
        live[hi] = 1


# ------------------------------------------------------------------------------------------------
# erf's forward: a Numba ufunc over math.erf, built on first use (compiling it costs ~0.1 s the
# first time ever; later processes load it from Numba's cache)
# ------------------------------------------------------------------------------------------------
def _erf_scalar(x):
    return math.erf(x)


_ERF = None


def erf_ufunc():
    """The vectorized erf (float32 and float64; integers are cast to float64 by numpy)."""
    global _ERF
    if _ERF is None:
        from numba import vectorize
        _ERF = vectorize(["float64(float64)", "float32(float32)"], cache=True)(_erf_scalar)
    return _ERF


@njit(cache=True, inline="always", error_model="numpy")
def pow_m05(x):
    """x ** -0.5 as torch computes it (rsqrt: -inf at -0., nan at -inf)."""
    return 1.0 / np.sqrt(x)


@njit(cache=True, inline="always", error_model="numpy")
def div_floor(a, b):
    """torch's floor division of floats (remainder's backward multiplies by it): its rounding
    and its nan for an infinite dividend, where floor(a / b) gives +-inf."""
    if b == 0.0:
        return a / b
    mod = np.fmod(a, b)
    div = (a - mod) / b
    if mod != 0.0 and (b < 0.0) != (mod < 0.0):
        div -= 1.0
    if div != 0.0:
        fd = np.floor(div)
        if div - fd > 0.5:
            fd += 1.0
        return fd
    return np.copysign(0.0, a / b)


# ------------------------------------------------------------------------------------------------
# sin / cos that vectorize, for the adjoints of cos / sin: libm's are calls, so a loop over them
# stays scalar (12-26 ns an element, where numpy's float32 SIMD takes 3 ns). For |x| <= TRIG_MAX:
# reduction by pi/2 with pi/2 in four parts (the first three of 33 bits, so j * part is exact for
# j < 2 ** 17; the differences carried exactly by TwoSum), then musl's (fdlibm's) kernel
# polynomials with the reduced argument's tail: within 1 ulp in float64, as libm. Larger and
# non-finite x take libm in a second pass (an op's `fast`, see engine/codegen.py).
# ------------------------------------------------------------------------------------------------
TRIG_MAX = 65536.0
_PIO2_1 = 1.57079632673412561417e+00   # pi/2 = _PIO2_1 + _PIO2_2 + _PIO2_3 + _PIO2_3T
_PIO2_2 = 6.07710050630396597660e-11
_PIO2_3 = 2.02226624871116645580e-21
_PIO2_3T = 8.47842766036889956997e-32
_INV_PIO2 = 6.36619772367581382433e-01
_ROUND = 6755399441055744.0  # 1.5 * 2 ** 52: (t + _ROUND) - _ROUND rounds t to an integer


@njit(cache=True, inline="always", error_model="numpy")
def _two_sum(a, b):
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


@njit(cache=True, inline="always", error_model="numpy")
def _reduce_pio2(x):
    """(r, tail, quadrant): x = j * pi/2 + r + tail, |r| <~ pi/4, quadrant = j mod 4."""
    j = (x * _INV_PIO2 + _ROUND) - _ROUND
    r0 = x - j * _PIO2_1  # exact: x is within a factor 2 of j * _PIO2_1 (or j = 0)
    r1, e1 = _two_sum(r0, -(j * _PIO2_2))
    r2, e2 = _two_sum(r1, -(j * _PIO2_3))
    lo = (e1 + e2) - j * _PIO2_3T
    r = r2 + lo
    return r, (r2 - r) + lo, j - 4.0 * np.floor(j * 0.25)


@njit(cache=True, inline="always", error_model="numpy")
def _reduce_pio2_short(x):
    """`_reduce_pio2` for a float32 x (in float64): pi/2 in two parts is enough there (the
    reduced argument's error, ~1e-21, is far below a float32 ulp even where x is closest to a
    multiple of pi/2), and the result has no tail."""
    j = (x * _INV_PIO2 + _ROUND) - _ROUND
    return (x - j * _PIO2_1) - j * _PIO2_1T, j - 4.0 * np.floor(j * 0.25)


_PIO2_1T = 6.07710050650619224932e-11  # pi/2 - _PIO2_1


@njit(cache=True, inline="always", error_model="numpy")
def _ksin(x, y):
    z = x * x
    w = z * z
    r = 8.33333333332248946124e-03 + z * (-1.98412698298579493134e-04 + z * (
        2.75573137070700676789e-06)) + z * w * (-2.50507602534068634195e-08 + z * (
            1.58969099521155010221e-10))
    v = z * x
    return x - ((z * (0.5 * y - v * r) - y) - v * -1.66666666666666324348e-01)


@njit(cache=True, inline="always", error_model="numpy")
def _kcos(x, y):
    z = x * x
    w = z * z
    r = z * (4.16666666666666019037e-02 + z * (-1.38888888888741095749e-03 + z * (
        2.48015872894767294178e-05))) + w * w * (-2.75573143513906633035e-07 + z * (
            2.08757232129817482790e-09 + z * -1.13596475577881948265e-11))
    hz = 0.5 * z
    w = 1.0 - hz
    return w + (((1.0 - w) - hz) + (z * r - x * y))


@njit(cache=True, inline="always", error_model="numpy")
def cos_small(x):
    """cos(x) for |x| <= TRIG_MAX, in float64 (see above)."""
    r, y, q = _reduce_pio2(x)
    s, c = _ksin(r, y), _kcos(r, y)
    v = c if (q == 0.0 or q == 2.0) else s
    return -v if (q == 1.0 or q == 2.0) else v


@njit(cache=True, inline="always", error_model="numpy")
def sin_small(x):
    """sin(x) for |x| <= TRIG_MAX, in float64 (see above)."""
    r, y, q = _reduce_pio2(x)
    s, c = _ksin(r, y), _kcos(r, y)
    v = s if (q == 0.0 or q == 2.0) else c
    return -v if q >= 2.0 else v


@njit(cache=True, inline="always", error_model="numpy")
def cos_small32(x):
    """`cos_small` for float32 adjoints (x a float32 value, in float64)."""
    r, q = _reduce_pio2_short(x)
    s, c = _ksin(r, 0.0), _kcos(r, 0.0)
    v = c if (q == 0.0 or q == 2.0) else s
    return -v if (q == 1.0 or q == 2.0) else v


@njit(cache=True, inline="always", error_model="numpy")
def sin_small32(x):
    """`sin_small` for float32 adjoints (x a float32 value, in float64)."""
    r, q = _reduce_pio2_short(x)
    s, c = _ksin(r, 0.0), _kcos(r, 0.0)
    v = s if (q == 0.0 or q == 2.0) else c
    return -v if q >= 2.0 else v


# ------------------------------------------------------------------------------------------------
# exp, log and log1p that vectorize (libm's are calls: a loop over them stays scalar, ~7-9 ns an
# element here, 2-4 ns these ways), for replayed forwards and adjoints (tested in test_engine).
# exp: fdlibm's (musl's): x = k ln2 + r with ln2 in two parts, a rational approximation on r,
# times 2 ** k built from bits; within 1 ulp of libm's (which rounds correctly in nearly all
# cases), equal to it in ~90% of inputs. 2 ** k is applied in two halves, so results that
# overflow, underflow or are subnormal round once, as libm's; x is clamped first (NaN passes),
# so every input gives libm's inf, 0 or NaN where libm does. log: fdlibm's (exponent and
# mantissa from the bits, subnormals scaled first, a polynomial in s = f / (2 + f)); within 1
# ulp, equal to libm's in ~96%. log1p(x) = log(1 + x) plus the rounding error of 1 + x divided
# by it: within 1 ulp. Their special values are libm's (selected at the end).
# ------------------------------------------------------------------------------------------------
@intrinsic
def _f64_bits(typingctx, x):
    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.IntType(64))
    return types.int64(types.float64), codegen


@intrinsic
def _bits_f64(typingctx, i):
    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


@intrinsic
def _mad(typingctx, a, b, c):
    """a * b + c, fused where the CPU has FMA (LLVM's fmuladd: fewer instructions; each result
    within the same bounds either way), unfused elsewhere."""
    def codegen(context, builder, sig, args):
        d = ir.DoubleType()
        fn = builder.module.declare_intrinsic("llvm.fmuladd", [d], ir.FunctionType(d, [d] * 3))
        return builder.call(fn, args)
    return types.float64(types.float64, types.float64, types.float64), codegen


_LN2_HI = 6.93147180369123816490e-01   # ln 2 = _LN2_HI + _LN2_LO, _LN2_HI with 32 trailing zeros
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e+00
_ROUND_BITS = 0x4338000000000000       # the bits of _ROUND


@njit(cache=True, inline="always", error_model="numpy")
def exp_vec(x):
    """exp(x) in float64 as a loop body that vectorizes (see above)."""
    v = np.float64(x)
    v = -746.0 if v < -746.0 else (710.0 if v > 710.0 else v)
    kr = _mad(v, _INV_LN2, _ROUND)
    k = kr - _ROUND
    hi = _mad(-k, _LN2_HI, v)   # (exact either way)
    lo = k * _LN2_LO
    r = hi - lo
    t = r * r
    p = _mad(t, _mad(t, _mad(t, _mad(t, 4.13813679705723846039e-08, -1.65339022054652515390e-06),
                             6.61375632143793436117e-05), -2.77777777770155933842e-03),
             1.66666666666666019037e-01)
    c = _mad(-t, p, r)
    y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi)
    ki = _f64_bits(kr) - _ROUND_BITS
    k1 = ki >> 1
    return (y * _bits_f64((k1 + 1023) << 52)) * _bits_f64((ki - k1 + 1023) << 52)


@njit(cache=True, inline="always", error_model="numpy")
def _log_poly(z, w):
    """fdlibm's log polynomial in z = s * s, w = z * z: its even and odd halves."""
    t1 = w * _mad(w, _mad(w, 1.531383769920937332e-01, 2.222219843214978396e-01),
                  3.999999999940941908e-01)
    t2 = z * _mad(w, _mad(w, _mad(w, 1.479819860511658591e-01, 1.818357216161805012e-01),
                          2.857142874366239149e-01), 6.666666666666735130e-01)
    return t1, t2


@njit(cache=True, inline="always", error_model="numpy")
def log_vec(x):
    """log(x) in float64 as a loop body that vectorizes (see above)."""
    v = np.float64(x)
    sub = v < 2.2250738585072014e-308
    bits = _f64_bits(v * 18014398509481984.0 if sub else v)  # (times 2 ** 54)
    hx = (bits >> 32) + (0x3ff00000 - 0x3fe6a09e)
    k = (hx >> 20) - 0x3ff - (54 if sub else 0)
    hx = (hx & 0x000fffff) + 0x3fe6a09e
    f = _bits_f64((hx << 32) | (bits & 0xffffffff)) - 1.0   # mantissa in [sqrt(2)/2, sqrt(2))
    hfsq = 0.5 * f * f
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1, t2 = _log_poly(z, w)
    dk = np.float64(k)
    r = s * (hfsq + t2 + t1) + dk * _LN2_LO - hfsq + f + dk * _LN2_HI
    if (v > 0.0) & (v < np.inf):
        return r
    return -np.inf if v == 0.0 else (v if v >= 0.0 else np.nan)


@njit(cache=True, inline="always", error_model="numpy")
def log1p_vec(x):
    """log1p(x) in float64 as a loop body that vectorizes (see above)."""
    v = np.float64(x)
    w = 1.0 + v
    c = (v - (w - 1.0)) / w
    return log_vec(w) + (c if (w > 0.0) & (w < np.inf) else 0.0)


@njit(cache=True, inline="always", error_model="numpy")
def sigmoid_vec(t):
    """1 / (1 + exp(-t)) from one exp of -|t| (never overflows; NaN stays NaN), as a loop body
    that vectorizes: a helper, not an expression, because an exp repeated on both sides of a
    conditional expression is inlined once per side and the loop then stays scalar."""
    e = exp_vec(-t if t >= 0.0 else t)
    return 1.0 / (1.0 + e) if t >= 0.0 else e / (1.0 + e)


_SQRT2_M1 = 0.41421356237309503  # sqrt(2) - 1


@njit(cache=True, inline="always", error_model="numpy")
def softplus_vec(t):
    """log(1 + exp(t)) = max(t, 0) + log1p(u), u = exp(-|t|) in (0, 1], as a loop body that
    vectorizes: fdlibm's log1p on that range needs no bits (u > sqrt(2) - 1: 1 + u = 2 (1 + f),
    f exact, the rounding of 1 + u carried in c; else f = u), then `log_vec`'s polynomial.
    NaN stays NaN; within 2 ulps of libm's max(t, 0) + log1p(exp(-|t|)) (itself rounded at
    each step)."""
    u = exp_vec(-abs(t))
    big = u > _SQRT2_M1
    w = 1.0 + u
    f = (0.5 * w - 1.0) if big else u
    c = ((u - (w - 1.0)) / w) if big else 0.0
    k = 1.0 if big else 0.0
    hfsq = 0.5 * f * f
    s = f / (2.0 + f)
    z = s * s
    w2 = z * z
    t1, t2 = _log_poly(z, w2)
    lp = k * _LN2_HI - ((hfsq - (s * (hfsq + t2 + t1) + (k * _LN2_LO + c))) - f)
    return (t if t > 0.0 else 0.0) + lp
