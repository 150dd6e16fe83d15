"""Workload "elementwise": forward + backward of a 10-op expression on 10^6 and 10^7 floats.

    f(x, y) = sum(log(exp(tanh(sin(x * y) * 0.5 + y) * x) + 1))

(9 elementwise ops and the sum), d f / dx and d f / dy. tapegrad and torch run the same code
(`expr` with the library as namespace), jax as ``jit(value_and_grad)``, HIPS autograd as
``value_and_grad``; the reference (`numpy_step`) is the expression and its gradient derived by
hand in numpy. A ``np.copyto`` of one array of the same size gives the machine's achievable
bandwidth; each system's effective bandwidth counts only the compulsory traffic (x, y read, dx,
dy written: 4 arrays). In float64 and float32 (where numpy's transcendentals are SIMD: a
reference three times faster). No Numba import here: the torch peer imports this module.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from benchmarks.harness import (Config, Row, Timing, measure, measure_torch, peer,
                                profile_shares, ratio)

DTYPES = ("float64", "float32")
N_OPS = 10


def inputs(n: int, seed: int = 0, dtype: str = "float64") -> tuple:
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, n).astype(dtype), rng.uniform(-1, 1, n).astype(dtype)


def expr(m, x, y):
    """The expression; `m` provides sin, tanh, exp, log, sum (tapegrad, torch, jax.numpy, ...)."""
    t = x * y
    t = m.sin(t)
    t = t * 0.5
    t = t + y
    t = m.tanh(t)
    t = t * x
    t = m.exp(t)
    t = t + 1.0
    t = m.log(t)
    return m.sum(t)


# -- tapegrad and torch ---------------------------------------------------------------------------
def eager_step(lib, n: int, seed: int = 0, dtype: str = "float64") -> Callable[[], np.ndarray]:
    """Forward + backward with `lib`; the callable returns [f, dx[:4], dy[:4]] for the check."""
    x0, y0 = inputs(n, seed, dtype)

    def step() -> np.ndarray:
        x = lib.tensor(x0, requires_grad=True)
        y = lib.tensor(y0, requires_grad=True)
        f = expr(lib, x, y)
        f.backward()
        return np.concatenate([[f.item()], x.grad.numpy()[:4], y.grad.numpy()[:4]])
    return step


def tapegrad_step(n: int, seed: int = 0, dtype: str = "float64"):
    import tapegrad
    return eager_step(tapegrad, n, seed, dtype)


def torch_step(n: int, seed: int = 0, dtype: str = "float64"):
    import torch
    return eager_step(torch, n, seed, dtype)


# -- the reference: numpy, gradient by hand -------------------------------------------------------
def numpy_step(n: int, seed: int = 0, dtype: str = "float64") -> Callable[[], np.ndarray]:
    x, y = inputs(n, seed, dtype)

    def step() -> np.ndarray:
        t1 = x * y
        t = np.sin(t1)
        t *= 0.5
        t += y
        t5 = np.tanh(t)
        t = t5 * x
        t7 = np.exp(t)
        t8 = t7 + 1.0
        f = float(np.log(t8).sum())
        # backward: g6 = d f / d(t5 * x) = t7 / t8
        g6 = np.divide(t7, t8, out=t7)
        gx = t5 * g6
        g4 = np.multiply(g6, x, out=g6)
        t5 *= t5
        np.subtract(1.0, t5, out=t5)
        g4 *= t5                                   # d f / d(0.5 sin(x y) + y)
        gy = g4.copy()
        np.cos(t1, out=t1)
        g4 *= t1
        g4 *= 0.5                                  # d f / d(x y)
        gx += g4 * y
        gy += g4 * x
        return np.concatenate([[f], gx[:4], gy[:4]])
    return step


# -- jax and HIPS autograd ------------------------------------------------------------------------
def jax_step(n: int, seed: int = 0, dtype: str = "float64"):
    jax = peer("jax")
    x, y = (jax.numpy.asarray(a) for a in inputs(n, seed, dtype))
    vg = jax.jit(jax.value_and_grad(lambda x, y: expr(jax.numpy, x, y), argnums=(0, 1)))

    def step():
        f, (gx, gy) = vg(x, y)
        gx.block_until_ready()
        gy.block_until_ready()
        return np.concatenate([[float(f)], np.asarray(gx[:4]), np.asarray(gy[:4])])
    return step


def autograd_step(n: int, seed: int = 0, dtype: str = "float64"):
    autograd = peer("autograd")
    x, y = inputs(n, seed, dtype)
    vg = autograd.value_and_grad(lambda xy: expr(autograd.numpy, xy[0], xy[1]))

    def step():
        f, (gx, gy) = vg((x, y))
        return np.concatenate([[float(f)], gx[:4], gy[:4]])
    return step


# -- the workload ---------------------------------------------------------------------------------
def _two_threads(step, reps: int):
    """`step` timed with tapegrad on two threads (None on a one-core machine or when the
    benchmarks already run with two or more)."""
    import numba
    import tapegrad
    old = tapegrad.get_num_threads()
    if old >= 2 or numba.config.NUMBA_NUM_THREADS < 2:
        return None
    tapegrad.set_num_threads(2)
    try:
        return measure(step, reps)
    finally:
        tapegrad.set_num_threads(old)


def copy_timing(n: int, repeats: int, dtype: str) -> Timing:
    src = inputs(n, 0, dtype)[0]
    dst = np.empty_like(src)
    return measure(lambda: np.copyto(dst, src), repeats, warmup=2)


def run(cfg: Config, sizes: tuple = (10**6, 10**7), dtypes: tuple = DTYPES) -> list:
    """Workload "elementwise": tapegrad vs peers vs the numpy reference, plus np.copyto."""
    rows = []
    for dtype in dtypes:
        for n in sizes:
            rows += _run_one(cfg, n, dtype)
    return rows


def _run_one(cfg: Config, n: int, dtype: str) -> list:
    rows = []
    item = np.dtype(dtype).itemsize
    big = n >= 10**7
    reps = cfg.repeats(7, 3) if big else cfg.repeats(21, 7)
    short = "f64" if dtype == "float64" else "f32"
    name = f"elementwise 10 ops, fwd+bwd ({n:.0e} × {short})".replace("e+0", "e")
    cp = copy_timing(n, reps * 3, dtype)
    copy_bw = 2 * n * item / cp.median
    ref = measure(numpy_step(n, 0, dtype), reps)

    def bw(t: Timing) -> str:
        eff = 4 * n * item / t.median
        return (f"{eff / 1e9:.2f} GB/s effective (x, y in, dx, dy out) = "
                f"{eff / copy_bw:.0%} of np.copyto's; {t.median / cp.median:.0f} copies' time")

    tg_fn = tapegrad_step(n, 0, dtype)
    tg = measure(tg_fn, reps)
    th = measure_torch("benchmarks.elementwise:torch_step", dict(n=n, dtype=dtype), reps)
    want = ref.result
    err = float(np.max(np.abs(tg.result - want) / (1 + np.abs(want))))
    r_ref = ratio(tg, ref)
    notes = [bw(tg), f"f and gradient samples vs the reference: max rel. error {err:.1e}"]
    if r_ref > 1.2:
        notes.append(profile_shares(tg_fn, 2))
    notes.append("compute-bound, not bandwidth-bound: sin, tanh, exp, log, cos dominate "
                 "(the reference reaches a few % of copy bandwidth)")
    rows.append(Row(name, "tapegrad", tg, r_ref, ratio(tg, th), "≤ 1.2× reference",
                    r_ref <= 1.2, notes))
    t2 = _two_threads(tg_fn, reps)
    if t2 is not None:  # (the numpy reference has one thread whatever the setting)
        r2 = ratio(t2, ref)
        rows.append(Row(name, "tapegrad, 2 threads", t2, r2, ratio(t2, th), "≤ 1.2× reference",
                        r2 <= 1.2, ["long elementwise adjoints in two slices at once",
                                    f"{ratio(t2, tg):.2f}× the one-thread time"]))
    if th is not None:
        rows.append(Row(name, "torch eager", th, ratio(th, ref), 1.0, notes=[bw(th)]))
    for label, mod, make in (("jax jit(value_and_grad)", "jax", jax_step),
                             ("HIPS autograd", "autograd", autograd_step)):
        if peer(mod) is not None:
            t = measure(make(n, 0, dtype), reps)
            rows.append(Row(name, label, t, ratio(t, ref), ratio(t, th), notes=[bw(t)]))
    rows.append(Row(name, "numpy by hand (reference)", ref, 1.0, ratio(ref, th),
                    notes=[bw(ref)]))
    rows.append(Row(name, "np.copyto of one array (bandwidth)", cp, ratio(cp, ref),
                    ratio(cp, th), notes=[f"{copy_bw / 1e9:.2f} GB/s (read + write)"]))
    return rows
