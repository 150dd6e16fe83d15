"""Workloads on a long chain of small elementwise ops: "chain" and "backward share".

The chain on 16-element float32 tensors, per 4 ops: ``y = y*1.001; y = y.sin(); y = y + x;
y = y.tanh()``, then ``y.sum().backward()``. Per-op overhead, not arithmetic, decides its speed.
"""
from __future__ import annotations

import time
from typing import Callable

import numpy as np

from benchmarks.harness import Config, Row, measure, measure_parts, measure_torch, ratio

SIZE = 16


def inputs(seed: int = 0) -> np.ndarray:
    """The chain's x (the same in every system and interpreter)."""
    return np.random.default_rng(seed).standard_normal(SIZE).astype(np.float32)


def chain_step(lib, n_ops: int, seed: int = 0) -> Callable[[], np.ndarray]:
    """Forward + backward of the chain with `lib` (tapegrad or torch: the same code runs on
    both); the callable returns x.grad."""
    x0 = inputs(seed)

    def step() -> np.ndarray:
        x = lib.tensor(x0, requires_grad=True)
        forward(x, n_ops).backward()
        return x.grad.numpy()

    return step


def forward(x, n_ops: int):
    """The chain itself, on any tensor library's x; returns the sum to differentiate."""
    y = x
    for _ in range(n_ops // 4):
        y = y * 1.001
        y = y.sin()
        y = y + x
        y = y.tanh()
    return y.sum()


def tapegrad_chain(n_ops: int, seed: int = 0) -> Callable[[], np.ndarray]:
    import tapegrad
    return chain_step(tapegrad, n_ops, seed)


def torch_chain(n_ops: int, seed: int = 0) -> Callable[[], np.ndarray]:
    """The same in torch eager (run in-process or by the torch peer)."""
    import torch
    return chain_step(torch, n_ops, seed)


def _check(name: str, got, want: np.ndarray) -> str:
    err = float(np.max(np.abs(np.asarray(got, np.float64) - want) / (1.0 + np.abs(want))))
    verdict = "matches" if err < 1e-3 else "DOES NOT MATCH"
    return f"{name} gradient {verdict} the reference (max rel. error {err:.1e})"


def run(cfg: Config, n_ops: int = 4000) -> list:
    """Workload "chain": tapegrad vs torch eager vs the hand-written Numba reference."""
    from benchmarks import reference
    reps = cfg.repeats(21, 5)
    ref = measure(reference.chain(inputs(), n_ops), cfg.repeats(51, 11))
    tg = measure(tapegrad_chain(n_ops), reps)
    th = measure_torch("benchmarks.chain:torch_chain", dict(n_ops=n_ops), reps)
    name = f"chain ({n_ops} ops, {SIZE} × f32)"
    per_op = f"{tg.median / n_ops * 1e9:,.0f} ns per op (forward + backward)"
    rows = [Row(name, "tapegrad", tg, ratio(tg, ref), ratio(tg, th), "≤ 0.33× torch",
                None if th is None else ratio(tg, th) <= 1 / 3,
                [per_op, _check("tapegrad", tg.result, ref.result),
                 f"{ratio(tg, ref):.1f}× the Numba reference (the practical limit)"])]
    if th is not None:
        rows.append(Row(name, "torch eager", th, ratio(th, ref), 1.0,
                        notes=[f"{th.median / n_ops * 1e9:,.0f} ns per op",
                               _check("torch", th.result, ref.result)]))
    rows.append(Row(name, "Numba reference (hand-written)", ref, 1.0, ratio(ref, th),
                    notes=[f"{ref.median / n_ops * 1e9:,.1f} ns per op"]))
    return rows


def tapegrad_split(n_ops: int, seed: int = 0) -> Callable[[], dict]:
    """Record the chain (and its sum) on one tape, then backward; {part: seconds}."""
    import tapegrad as tg
    x0 = inputs(seed)

    def step() -> dict:
        x = tg.tensor(x0, requires_grad=True)
        t0 = time.perf_counter()
        s = forward(x, n_ops)
        t1 = time.perf_counter()
        s.backward()
        t2 = time.perf_counter()
        return {"record": t1 - t0, "backward": t2 - t1}

    return step


def backward_share(cfg: Config, n_ops: int = 10_000) -> list:
    """Workload "backward share": recording a 10k-entry tape vs sweeping it backwards."""
    parts = measure_parts(tapegrad_split(n_ops), cfg.repeats(21, 5))
    rec, bwd = parts["record"], parts["backward"]
    name = f"backward share ({n_ops // 1000}k-op tape)"
    share = ratio(bwd, rec)
    return [Row(name, "tapegrad record", rec, 1.0,
                notes=[f"{rec.median / n_ops * 1e9:,.0f} ns per recorded op"]),
            Row(name, "tapegrad backward", bwd, share, None, "≤ 0.10× record", share <= 0.10,
                [f"{bwd.median / n_ops * 1e9:,.0f} ns per swept entry"])]
