"""A short showcase after the seed walkthrough: a model fitted with tapegrad, a small network
trained with tapegrad.nn / optim / utils.data as PyTorch code is written, a gradient check,
what the flat tape buys (backward time vs recording time on a 10,000-entry tape), and scalar
code on the scalar fast path, and the same graph's gradient at 1,000 points as one batched
replay (`tapegrad.func.vmap`)."""
import time

import numpy as np

import tapegrad as tg
from tapegrad.testing import gradcheck


def fit_a_line() -> None:
    tg.manual_seed(0)
    x = tg.linspace(-1, 1, 64).reshape(64, 1)
    y = 3 * x - 0.5 + 0.1 * tg.randn(64, 1)
    w = tg.zeros(1, 1, requires_grad=True)
    b = tg.zeros(1, requires_grad=True)
    for step in range(201):
        loss = ((x @ w + b - y) ** 2).mean()
        loss.backward()
        with tg.no_grad():
            w -= 0.5 * w.grad
            b -= 0.5 * b.grad
        w.grad = None
        b.grad = None
        if step % 50 == 0:
            print(f"  step {step:3d}  loss {loss.item():.4f}")
    print(f"  fitted w = {w.item():.3f} (true 3), b = {b.item():.3f} (true -0.5)")


def train_a_network() -> None:
    from tapegrad import nn
    from tapegrad.utils.data import DataLoader, TensorDataset
    tg.manual_seed(0)
    x = tg.rand(512, 2) * 4 - 2
    y = ((x ** 2).sum(1) < 1.5).long()  # inside a circle or not
    model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 2))
    print("  " + repr(model).replace("\n", "\n  "))
    opt = tg.optim.Adam(model.parameters(), lr=0.02)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(15):
        for xb, yb in DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True):
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
        if epoch % 5 == 4:
            with tg.no_grad():
                acc = (model(x).argmax(1) == y).float().mean().item()
            print(f"  epoch {epoch + 1:2d}  loss {loss.item():.4f}  accuracy {acc:.3f}")


def check_a_gradient() -> None:
    x = tg.tensor([0.3, -1.2, 2.0], dtype=tg.float64, requires_grad=True)
    ok = gradcheck(lambda x: (x.sin() * x.exp() / (1 + x ** 2)).sum(), (x,))
    print(f"  gradcheck of sin(x)·exp(x)/(1+x²) against central differences: {ok}")


def second_derivatives() -> None:
    from tapegrad.func import hessian
    x = tg.tensor([0.5, 1.0, 2.0], dtype=tg.float64)
    h = hessian(lambda x: (x.sin() * x ** 2).sum())(x)
    print(f"  Hessian of sum(sin(x)·x²) at {x.tolist()} (diagonal): "
          f"{np.round(np.diag(h.numpy()), 4).tolist()}")


def tape_speed() -> None:
    x = tg.randn(16, requires_grad=True)

    def run(n):
        y = x
        for _ in range(n // 4):
            y = ((y * 1.001).sin() + x).tanh()
        return y.sum()
    run(40).backward()  # compile (cached on disk after the first time)
    record, sweep = [], []
    for _ in range(3):
        x.grad = None
        t0 = time.perf_counter()
        out = run(10_000)
        t1 = time.perf_counter()
        out.backward()
        record.append(t1 - t0)
        sweep.append(time.perf_counter() - t1)
    t_rec, t_bwd = sorted(record)[1], sorted(sweep)[1]  # medians of 3
    print(f"  recorded 10,000 ops in {1e3 * t_rec:.1f} ms; backward (one Numba sweep) took "
          f"{1e3 * t_bwd:.2f} ms = {100 * t_bwd / t_rec:.1f}% of that (medians of 3)")
    print(f"  |dx| = {np.linalg.norm(x.grad.numpy()):.4f}")


def scalar_code() -> None:
    """DESIGN's random scalar graph, written as a torch user would (benchmarks/random_graph.py)."""
    from benchmarks.random_graph import tapegrad_step
    step = tapegrad_step(2_000)
    step()  # compile (cached on disk after the first time)
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        grads = step()
        times.append(time.perf_counter() - t0)
    t = sorted(times)[2]
    print(f"  2,000 scalar ops (softplus, sums, products, softmax over stacked scalars), forward "
          f"and backward: {1e3 * t:.1f} ms = {1e6 * t / 2000:.1f} µs per op (median of 5)")
    print(f"  d(last node)/d(leaves)[:3] = {np.round(grads[:3], 6).tolist()}")


def many_points() -> None:
    """vmap(value_and_grad(f)): f recorded once, its tape replayed for all points at once."""
    from benchmarks.random_graph import _lib_ops, evaluate, graph
    from tapegrad.func import value_and_grad, vmap
    _, ops = graph(1_000)
    fns = _lib_ops(tg)
    f = vmap(value_and_grad(lambda x: evaluate(ops, list(x.unbind()), *fns)))
    xs = tg.tensor(np.random.default_rng(0).uniform(-1, 1, (1_000, 10)))
    t0 = time.perf_counter()
    f(xs)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    vals, grads = f(xs)
    t = time.perf_counter() - t0
    one_v, one_g = value_and_grad(lambda x: evaluate(ops, list(x.unbind()), *fns))(xs[7])
    print(f"  a 1,000-op scalar graph's value and gradient at 1,000 points: first call (record + "
          f"batched replay) {first:.2f} s, then {1e3 * t:.1f} ms = {1e9 * t / 1e6:.1f} ns per op "
          f"per point")
    print(f"  point 7 agrees with an eager call: "
          f"{bool(np.allclose(grads[7].numpy(), one_g.numpy(), rtol=1e-12))}; f.stats() = "
          f"{f.stats()}")


if __name__ == "__main__":
    print("\n== fit y = 3x - 0.5 by gradient descent ==")
    fit_a_line()
    print("\n== train a network (nn.Sequential, optim.Adam, DataLoader) ==")
    train_a_network()
    print("\n== property-test a gradient ==")
    check_a_gradient()
    print("\n== gradients of gradients ==")
    second_derivatives()
    print("\n== the flat tape ==")
    tape_speed()
    print("\n== scalar code ==")
    scalar_code()
    print("\n== one function at many points (vmap) ==")
    many_points()
