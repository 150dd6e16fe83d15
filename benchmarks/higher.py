"""Workload "higher order": a Hessian-vector product of a 2-layer MLP loss (1,000 parameters) and
the full Hessian of a 50-parameter function, with `autograd.grad(create_graph=True)` in both
tapegrad and torch (the same code; `lib` is either module). No Numba import here: the torch peer
imports this module."""
from __future__ import annotations

import numpy as np

from benchmarks.harness import Config, Row, measure, measure_torch, ratio


def _data(seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return dict(X=rng.standard_normal((32, 20)), Y=rng.standard_normal((32, 5)),
                W1=rng.standard_normal((20, 40)) * 0.3, W2=rng.standard_normal((40, 5)) * 0.3,
                V1=rng.standard_normal((20, 40)), V2=rng.standard_normal((40, 5)),
                x=rng.uniform(-1, 1, 50), A=rng.standard_normal((50, 50)) * 0.1)


def hvp_step(lib, seed: int = 0):
    """d/dW (grad(loss) . v) for the MLP loss; returns the product, flattened."""
    d = _data(seed)
    X, Y = lib.tensor(d["X"]), lib.tensor(d["Y"])
    V1, V2 = lib.tensor(d["V1"]), lib.tensor(d["V2"])

    def step() -> np.ndarray:
        W1 = lib.tensor(d["W1"], requires_grad=True)
        W2 = lib.tensor(d["W2"], requires_grad=True)
        loss = (((X @ W1).tanh() @ W2 - Y) ** 2).mean()
        g1, g2 = lib.autograd.grad(loss, (W1, W2), create_graph=True)
        h1, h2 = lib.autograd.grad((g1 * V1).sum() + (g2 * V2).sum(), (W1, W2))
        return np.concatenate([h1.detach().numpy().ravel(), h2.detach().numpy().ravel()])
    return step


def hessian_step(lib, seed: int = 0):
    """The 50 x 50 Hessian of f(x) = sum(sin(x) x^2) + x.A.x, row by row."""
    d = _data(seed)
    A = lib.tensor(d["A"])

    def step() -> np.ndarray:
        x = lib.tensor(d["x"], requires_grad=True)
        f = (x.sin() * x ** 2).sum() + (x @ (A @ x))
        g, = lib.autograd.grad(f, x, create_graph=True)
        rows = [lib.autograd.grad(g[i], x, retain_graph=True)[0].detach().numpy()
                for i in range(50)]
        return np.stack(rows)
    return step


def tapegrad_hvp(seed: int = 0):
    import tapegrad
    return hvp_step(tapegrad, seed)


def torch_hvp(seed: int = 0):
    import torch
    return hvp_step(torch, seed)


def tapegrad_hessian(seed: int = 0):
    import tapegrad
    return hessian_step(tapegrad, seed)


def torch_hessian(seed: int = 0):
    import torch
    return hessian_step(torch, seed)


def run(cfg: Config) -> list:
    """Workload "higher order": tapegrad vs torch, create_graph both ways."""
    rows = []
    for name, ours, theirs in (("HVP of a 2-layer MLP loss (1,000 params)", tapegrad_hvp,
                                "benchmarks.higher:torch_hvp"),
                               ("full Hessian, 50 params", tapegrad_hessian,
                                "benchmarks.higher:torch_hessian")):
        tg = measure(ours(), cfg.repeats(11, 3))
        th = measure_torch(theirs, {}, cfg.repeats(11, 3))
        notes = []
        if th is not None and th.result is not None:
            err = float(np.max(np.abs(np.asarray(th.result) - ours()())))
            notes.append(f"max abs difference to torch's result: {err:.1e}")
        rows.append(Row(name, "tapegrad", tg, None, ratio(tg, th) if th else None,
                        notes=notes))
        if th:
            rows.append(Row(name, "torch eager", th, None, 1.0))
    return rows
