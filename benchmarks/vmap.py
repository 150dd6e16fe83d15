"""Workload "vmap": one function and its gradient at many points, as a batched replay.

tapegrad's `tapegrad.func.vmap(value_and_grad(f))` (record once, replay the tape for all lanes)
against jax's ``jit(vmap(value_and_grad(f)))`` (in-process, when importable) and torch.func's
``vmap(grad_and_value(f))`` (torch peer), on the same inputs:

* DESIGN.md's random scalar graph (`random_graph`) as a function of its 10 leaves, over 1,000
  input sets (1,000 ops) and over 10,000 (100 ops); the time to the first result (recording +
  first batched replay, against jax's compile + first run); ns per op per lane, 1 and 2 threads.
* per-sample gradients of the MLP of `mlp` (float32, batch 64, integer labels), as torch.func's
  tutorial writes them: ``vmap(grad(loss), in_dims=(None, 0, 0))(params, x, y)``.
No Numba import here: the torch peer imports this module.
"""
from __future__ import annotations

import time

import numpy as np

from benchmarks import THREADS as _THREADS
from benchmarks.harness import Config, Row, Timing, measure, measure_torch, peer, ratio
from benchmarks.random_graph import _lib_ops, evaluate, graph

SIZES = ((1_000, 1_000), (100, 10_000))
THREADS = int(_THREADS)


def _points(B: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, (B, 10))


# -- the random graph ---------------------------------------------------------------------------
def graph_step(lib_name: str, n_ops: int, B: int, seed: int = 0):
    """The graph's value and gradient at B points with tapegrad's or torch's vmap; the
    callable returns the gradients (B, 10)."""
    import importlib
    lib = importlib.import_module(lib_name)
    func = importlib.import_module(f"{lib_name}.func")
    _, ops = graph(n_ops, seed)
    fns = _lib_ops(lib)
    X = lib.tensor(_points(B), dtype=lib.float64)
    if lib_name == "torch":
        vg = func.vmap(func.grad_and_value(lambda x: evaluate(ops, list(x.unbind()), *fns)))
        return lambda: vg(X)[0].numpy()
    vg = func.vmap(func.value_and_grad(lambda x: evaluate(ops, list(x.unbind()), *fns)))
    return lambda: vg(X)[1].numpy()


def torch_graph_step(n_ops: int, B: int, seed: int = 0):
    return graph_step("torch", n_ops, B, seed)


def jax_graph_step(n_ops: int, B: int, seed: int = 0):
    """jit(vmap(value_and_grad)) of the same graph; the first call compiles."""
    jax = peer("jax")
    jnp = jax.numpy
    _, ops = graph(n_ops, seed)
    f = lambda x: evaluate(ops, list(x), jax.nn.softplus,  # noqa: E731
                           lambda v: list(jax.nn.softmax(jnp.stack(v))))
    vg = jax.jit(jax.vmap(jax.value_and_grad(f)))
    X = jnp.asarray(_points(B))

    def step() -> np.ndarray:
        return np.asarray(vg(X)[1].block_until_ready())
    return step


def _first(make) -> tuple:
    """(seconds to build and make the first call, the step)."""
    t0 = time.perf_counter()
    step = make()
    step()
    return time.perf_counter() - t0, step


# -- per-sample gradients of the MLP ------------------------------------------------------------
def per_sample_step(lib_name: str, dtype: str = "float32", batch: int = 64, seed: int = 0):
    """Per-sample gradients of the MLP's six parameters; the callable returns W1's (B, 256, 784)."""
    import importlib
    from benchmarks.mlp import init, loss_of
    lib = importlib.import_module(lib_name)
    func = importlib.import_module(f"{lib_name}.func")
    params, x0, y0 = init(dtype, batch, seed)
    ps = [lib.tensor(p) for p in params]
    X, Y = lib.tensor(x0), lib.tensor(y0)

    def loss1(ps, x, y):  # (torch.func's tutorial: one sample as a batch of one)
        return loss_of(lib, ps, x[None], y[None])
    g = func.vmap(func.grad(loss1), in_dims=(None, 0, 0))
    return lambda: g(ps, X, Y)[0].numpy()


def torch_per_sample_step(dtype: str = "float32", batch: int = 64, seed: int = 0):
    return per_sample_step("torch", dtype, batch, seed)


def jax_per_sample_step(dtype: str = "float32", batch: int = 64, seed: int = 0):
    jax = peer("jax")
    jnp = jax.numpy
    from benchmarks.mlp import init
    params, x0, y0 = init(dtype, batch, seed)
    ps = [jnp.asarray(p) for p in params]

    def loss1(ps, x, y):
        h = x[None]
        for k in (0, 2):
            h = jax.nn.relu(h @ ps[k].T + ps[k + 1])
        z = h @ ps[4].T + ps[5]
        return -jax.nn.log_softmax(z)[0, y]
    g = jax.jit(jax.vmap(jax.grad(loss1), in_axes=(None, 0, 0)))
    X, Y = jnp.asarray(x0), jnp.asarray(y0)
    return lambda: np.asarray(g(ps, X, Y)[0].block_until_ready())


def _threads(step, n: int, reps: int) -> Timing:
    import tapegrad
    old = tapegrad.get_num_threads()
    tapegrad.set_num_threads(n)
    try:
        return measure(step, reps)
    finally:
        tapegrad.set_num_threads(old)


def run(cfg: Config) -> list:
    rows = []
    jax = peer("jax")
    for n_ops, B in SIZES:
        name = f"vmap: random graph ({n_ops:,} ops × {B:,} points), value and gradient"
        reps = cfg.repeats(9, 3)
        t_first, step = _first(lambda: graph_step("tapegrad", n_ops, B))
        tg = _threads(step, THREADS, reps)   # (the peers' thread count: a fair ratio)
        two = _threads(step, 2, reps)
        jx = jx_first = None
        if jax is not None:
            jx_first, jstep = _first(lambda: jax_graph_step(n_ops, B))
            jx = measure(jstep, reps)
            err = float(np.max(np.abs(step() - jstep())))
        th = measure_torch("benchmarks.vmap:torch_graph_step", dict(n_ops=n_ops, B=B),
                           cfg.repeats(5, 2))
        lane_ns = tg.median / n_ops / B * 1e9
        notes = [f"{lane_ns:.2f} ns per op per lane with {THREADS} thread(s) (as the peers), "
                 f"{two.median / n_ops / B * 1e9:.2f} with 2 ({tg.median / two.median:.2f}× "
                 f"faster" + (f"; {ratio(two, jx):.2f}× jax's time)" if jx else ")"),
                 f"first result (record + first batched replay): {t_first:.2f} s"]
        r = ratio(tg, jx)
        if jx is not None:
            notes += [f"jax: {jx.median / n_ops / B * 1e9:.2f} ns per op per lane; its compile "
                      f"+ first run {jx_first:.2f} s: tapegrad's first result is "
                      f"1/{jx_first / t_first:.0f} of it (goal ≤ 1/20)",
                      f"gradients vs jax: max abs difference {err:.1e}"]
        notes.append("the reference column of these rows is jax jit(vmap)")
        rows.append(Row(name, "tapegrad.func.vmap", tg, r, ratio(tg, th),
                        "≤ 0.5× jax jit(vmap)", None if r is None else r <= 0.5, notes))
        if jx is not None:
            rows.append(Row(name, "jax jit(vmap(value_and_grad))", jx, 1.0, ratio(jx, th)))
        if th is not None:
            rows.append(Row(name, "torch.func.vmap(grad_and_value)", th, ratio(th, jx), 1.0,
                            notes=[f"{th.median / n_ops / B * 1e9:.1f} ns per op per lane"]))
    name = "vmap: per-sample gradients, MLP 784-256-256-10, float32, batch 64"
    reps = cfg.repeats(9, 3)
    t_first, step = _first(lambda: per_sample_step("tapegrad"))
    tg = _threads(step, THREADS, reps)
    th = measure_torch("benchmarks.vmap:torch_per_sample_step", {}, reps)
    jx = None
    if jax is not None:
        jx = measure(jax_per_sample_step(), reps)
    notes = [f"first result {t_first:.2f} s (one recording per label value: 10)"]
    rows.append(Row(name, "tapegrad.func.vmap(grad)", tg, ratio(tg, jx), ratio(tg, th),
                    notes=notes))
    if th is not None:
        rows.append(Row(name, "torch.func.vmap(grad)", th, ratio(th, jx), 1.0))
    if jx is not None:
        rows.append(Row(name, "jax jit(vmap(grad))", jx, 1.0, ratio(jx, th)))
    return rows
