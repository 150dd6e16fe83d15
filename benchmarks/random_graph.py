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

import functools
import math
import random

import numpy as np

from benchmarks.harness import Config, Row, measure, measure_torch, profile_shares, ratio

N_LEAVES = 10
SOFTPLUS, SUM4, PROD, SOFTMAX = range(4)


@functools.lru_cache(maxsize=8)  # (timed first calls do not include making the graph)
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
    return tuple(leaves), tuple(ops)


def evaluate(ops: list, xs: list, softplus, softmax4):
    """The graph's last node from the leaves `xs`, with the system's softplus and a softmax of
    4 nodes returning 4 nodes (Python's `sum` and `*` for the rest)."""
    nodes = list(xs)
    for op, ins in ops:
        if op == SOFTPLUS:
            nodes.append(softplus(nodes[ins[0]]))
        elif op == SUM4:
            nodes.append(sum(nodes[i] for i in ins))
        elif op == PROD:
            nodes.append(nodes[ins[0]] * nodes[ins[1]])
        else:
            nodes.extend(softmax4([nodes[i] for i in ins]))
    return nodes[-1]


def _lib_ops(lib) -> tuple:
    """(softplus, softmax4) of tapegrad or torch."""
    return lib.nn.functional.softplus, lambda xs: lib.softmax(lib.stack(xs), dim=0).unbind()


def eager_step(lib, n_ops: int, seed: int = 0, dtype: str = "float64"):
    """Record and differentiate the graph with `lib` (tapegrad or torch); returns the leaves'
    gradients."""
    leaves, ops = graph(n_ops, seed)
    fns = _lib_ops(lib)
    dt = getattr(lib, dtype)

    def step() -> np.ndarray:
        xs = [lib.tensor(v, dtype=dt, requires_grad=True) for v in leaves]
        evaluate(ops, xs, *fns).backward()
        return np.array([x.grad.item() for x in xs])

    return step


def tapegrad_step(n_ops: int, seed: int = 0, dtype: str = "float64"):
    import tapegrad
    return eager_step(tapegrad, n_ops, seed, dtype)


def compiled_step(n_ops: int, seed: int = 0):
    """The same graph as a function of the leaves through `tapegrad.compile`: the first call
    records, later calls replay the tape forward and backward in Numba."""
    import tapegrad as tg
    leaves, ops = graph(n_ops, seed)
    fns = _lib_ops(tg)
    cf = tg.compile(lambda *xs: evaluate(ops, xs, *fns))
    xs = [tg.tensor(v, dtype=tg.float64, requires_grad=True) for v in leaves]

    def step() -> np.ndarray:
        for x in xs:
            x.grad = None
        cf(*xs).backward()
        return np.array([x.grad.item() for x in xs])
    return step


def jax_step(n_ops: int, seed: int = 0):
    """The same graph in jax: ``jit(grad)`` of the leaves (the first call compiles)."""
    import jax
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    leaves, ops = graph(n_ops, seed)
    g = jax.jit(jax.grad(lambda xs: evaluate(ops, xs, jax.nn.softplus,
                                             lambda v: list(jax.nn.softmax(jnp.stack(v))))))
    xs = [jnp.asarray(v, jnp.float64) for v in leaves]

    def step() -> np.ndarray:
        return np.array([float(v) for v in g(xs)])
    return step


def torch_step(n_ops: int, seed: int = 0):
    import torch
    return eager_step(torch, n_ops, seed)


# -- floors: how fast eager recording of this graph can be in pure Python (forward only) ----------
def _softmax4(xs: list) -> list:
    top = max(xs)
    es = [math.exp(a - top) for a in xs]
    z = sum(es)
    return [e / z for e in es]


def thin_recorder(n_ops: int, seed: int = 0):
    """DESIGN.md's floor: floats in, a list-of-tuples tape, no objects, no checks."""
    leaves, ops = graph(n_ops, seed)

    def step() -> list:
        tape, vals = [], list(leaves)
        for op, ins in ops:
            if op == SOFTPLUS:
                x = vals[ins[0]]
                vals.append(math.log1p(math.exp(x)) if x < 20 else x)
            elif op == SUM4:
                vals.append(sum(vals[i] for i in ins))
            elif op == PROD:
                vals.append(vals[ins[0]] * vals[ins[1]])
            else:
                vals.extend(_softmax4([vals[i] for i in ins]))
            tape.append((op, ins))
        return vals
    return step


class _Node:
    """What any eager library returns per op: an object with a value, a tape and a slot."""

    __slots__ = ("val", "tape", "slot", "__dict__", "__weakref__")

    def _new(self, v: float, rec: tuple) -> "_Node":
        tape = self.tape
        r = _Node.__new__(_Node)
        r.val, r.tape, r.slot = v, tape, len(tape.vals)
        tape.vals.append(v)
        tape.recs += rec
        return r

    def __add__(self, o):
        return self._new(self.val + o.val, (1, self.slot, o.slot))

    def __radd__(self, c):
        return self._new(self.val + c, (2, self.slot))

    def __mul__(self, o):
        return self._new(self.val * o.val, (3, self.slot, o.slot))

    def softplus(self):
        x = self.val
        return self._new(math.log1p(math.exp(x)) if x < 20 else x, (4, self.slot))


class _Tape:
    def __init__(self):
        self.vals, self.recs = [], []


def object_recorder(n_ops: int, seed: int = 0):
    """The floor with what a tensor library cannot avoid: one object per value (operator
    dispatch on it) and a flat int tape converted to int64 for a compiled sweep."""
    leaves, ops = graph(n_ops, seed)

    def step() -> np.ndarray:
        tape = _Tape()
        nodes = []
        for v in leaves:
            r = _Node.__new__(_Node)
            r.val, r.tape, r.slot = v, tape, len(tape.vals)
            tape.vals.append(v)
            nodes.append(r)
        for op, ins in ops:
            if op == SOFTPLUS:
                nodes.append(nodes[ins[0]].softplus())
            elif op == SUM4:
                nodes.append(sum(nodes[i] for i in ins))
            elif op == PROD:
                nodes.append(nodes[ins[0]] * nodes[ins[1]])
            else:
                picks = [nodes[i] for i in ins]
                first = picks[0]
                stacked = first._new(0.0, (5, *(p.slot for p in picks)))
                for k, v in enumerate(_softmax4([p.val for p in picks])):
                    nodes.append(first._new(v, (6, stacked.slot, k)))
        return np.fromiter(tape.recs, np.int64, len(tape.recs))
    return step


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
    from benchmarks.reference import c_scalar_graph, scalar_graph as reference
    c_ref = c_scalar_graph()
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
        t32 = measure(tapegrad_step(n_ops, 0, "float32"), reps)  # torch's default dtype
        got32 = tapegrad_step(n_ops, 0, "float32")()
        err32 = float(np.max(np.abs(got32 - want) / (1 + np.abs(want))))
        r32 = ratio(t32, tg)
        rows.append(Row(name, "tapegrad float32", t32, ratio(t32, ref),
                        ratio(t32, th) if th else None, "≤ 1.2× tapegrad float64", r32 <= 1.2,
                        [f"{r32:.2f}× the float64 step of the same run",
                         f"gradient vs the float64 reference: max rel. error {err32:.1e}"]))
        import time
        t0 = time.perf_counter()
        cstep = compiled_step(n_ops)
        first = cstep()
        t_first = time.perf_counter() - t0
        cerr = float(np.max(np.abs(first - want) / (1 + np.abs(want))))
        ct = measure(cstep, cfg.repeats(21, 5))
        r = ratio(ct, ref)
        cr = measure(lambda: c_ref(*arrays), cfg.repeats(21, 5)) if c_ref else None
        rows.append(Row(name, "tapegrad.compile (replay)", ct, r, ratio(ct, th) if th else None,
                        "≤ 1.5× reference", r <= 1.5,
                        [f"{ct.median / n_ops * 1e9:,.0f} ns per op (forward + backward)",
                         f"first call (record): {t_first / tg.median:.2f}× eager's step",
                         f"vs the C reference: {ratio(ct, cr):.1f}×" if cr else "no C compiler",
                         f"gradient vs the reference: max rel. error {cerr:.1e}"]))
        if th:
            rows.append(Row(name, "torch eager", th, ratio(th, ref), 1.0,
                            notes=[f"{th.median / n_ops * 1e9:,.0f} ns per op"]))
        rows.append(Row(name, "Numba reference (hand-written)", ref, 1.0,
                        ratio(ref, th) if th else None))
        if cr is not None:
            rows.append(Row(name, "C reference (hand-written, cc -O2)", cr, ratio(cr, ref),
                            ratio(cr, th) if th else None))
        for label, floor in (("floor: pure-Python recorder, forward only", thin_recorder),
                             ("floor: + an object per value, int64 tape, forward only",
                              object_recorder)):
            fl = measure(floor(n_ops), reps)
            rows.append(Row(name, label, fl, ratio(fl, ref), ratio(fl, th) if th else None,
                            notes=[f"{fl.median / n_ops * 1e9:,.0f} ns per op"]))
    return rows
