"""Workload "random graph": DESIGN.md's scalar random graph, eager, as a torch user writes it.

After A. Rogozhnikov, "Fastest autograd in the West" (2023): starting from 10 scalar leaves,
each op picks, with a seeded RNG, one of: softplus of a node; Python's `sum` of 4 nodes; the
product of 2 nodes; a softmax over 4 nodes (`stack` -> `softmax` -> `unbind`, adding 4 nodes).
Operands are drawn uniformly from all nodes so far; the last node is differentiated. Values stay
bounded (softmax outputs are most nodes). tapegrad and torch run the same code (`lib` is either
module); the reference (`reference.scalar_graph`) is a hand-written Numba forward + reverse
loop over a flat scalar tape. No Numba import here: the torch peer imports this module.
"""
from __future__ import annotations

import random

import numpy as np

from benchmarks.harness import Config, Row, measure, measure_torch, profile_shares, ratio

N_LEAVES = 10
SOFTPLUS, SUM4, PROD, SOFTMAX = range(4)


def graph(n_ops: int, seed: int = 0) -> tuple:
    """(leaf values, [(op, input node indices)]) — the same graph for every system."""
    r = random.Random(seed)
    leaves = [r.uniform(-1, 1) for _ in range(N_LEAVES)]
    n_nodes = N_LEAVES
    ops = []
    for _ in range(n_ops):
        op = r.randrange(4)
        arity = (1, 4, 2, 4)[op]
        ops.append((op, tuple(r.randrange(n_nodes) for _ in range(arity))))
        n_nodes += 4 if op == SOFTMAX else 1
    return leaves, ops


def eager_step(lib, n_ops: int, seed: int = 0):
    """Record and differentiate the graph with `lib` (tapegrad or torch); returns the leaves'
    gradients."""
    leaves, ops = graph(n_ops, seed)
    F = lib.nn.functional

    def step() -> np.ndarray:
        xs = [lib.tensor(v, dtype=lib.float64, requires_grad=True) for v in leaves]
        nodes = list(xs)
        for op, ins in ops:
            if op == SOFTPLUS:
                nodes.append(F.softplus(nodes[ins[0]]))
            elif op == SUM4:
                nodes.append(sum(nodes[i] for i in ins))
            elif op == PROD:
                nodes.append(nodes[ins[0]] * nodes[ins[1]])
            else:
                nodes.extend(lib.softmax(lib.stack([nodes[i] for i in ins]), dim=0).unbind())
        nodes[-1].backward()
        return np.array([x.grad.item() for x in xs])

    return step


def tapegrad_step(n_ops: int, seed: int = 0):
    import tapegrad
    return eager_step(tapegrad, n_ops, seed)


def torch_step(n_ops: int, seed: int = 0):
    import torch
    return eager_step(torch, n_ops, seed)


def flat_tape(n_ops: int, seed: int = 0) -> tuple:
    """The graph as arrays for the reference: one scalar entry per node (a softmax is 4 entries,
    entry k computing output k)."""
    leaves, ops = graph(n_ops, seed)
    codes, args, ks = [], [], []
    for op, ins in ops:
        padded = tuple(ins) + (0,) * (4 - len(ins))
        for k in range(4 if op == SOFTMAX else 1):
            codes.append(op)
            args.append(padded)
            ks.append(k)
    return (np.array(leaves), np.array(codes, np.int64), np.array(args, np.int64),
            np.array(ks, np.int64))


def run(cfg: Config, sizes: tuple = (2_000, 10_000)) -> list:
    """Workload "random graph": tapegrad vs torch eager vs the hand-written Numba reference."""
    from benchmarks.reference import scalar_graph as reference
    rows = []
    for n_ops in sizes:
        name = f"random scalar graph ({n_ops:,} ops)"
        reps = cfg.repeats(7, 3)
        arrays = flat_tape(n_ops)
        want = reference(*arrays)
        ref = measure(lambda: reference(*arrays), cfg.repeats(21, 5))
        tg = measure(tapegrad_step(n_ops), reps)
        th = measure_torch("benchmarks.random_graph:torch_step", dict(n_ops=n_ops), reps)
        got = tapegrad_step(n_ops)()
        err = float(np.max(np.abs(got - want) / (1 + np.abs(want))))
        notes = [f"{tg.median / n_ops * 1e9:,.0f} ns per op (forward + backward)",
                 f"gradient vs the reference: max rel. error {err:.1e}"]
        speedup = ratio(th, tg) if th else None
        if speedup is not None and speedup < 5:
            notes.append(profile_shares(tapegrad_step(n_ops), 1)
                         + " (eager recording of scalar ops is Python-bound: see DESIGN.md's "
                         "pure-Python recorder floor, ~2,500 ns per op)")
        rows.append(Row(name, "tapegrad", tg, ratio(tg, ref), ratio(tg, th) if th else None,
                        "≥ 5× faster than torch", None if th is None else speedup >= 5, notes))
        if th:
            rows.append(Row(name, "torch eager", th, ratio(th, ref), 1.0,
                            notes=[f"{th.median / n_ops * 1e9:,.0f} ns per op"]))
        rows.append(Row(name, "Numba reference (hand-written)", ref, 1.0,
                        ratio(ref, th) if th else None))
    return rows
