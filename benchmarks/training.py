"""Workload "training": what a PyTorch training script spends its time on, written once with
`lib` = tapegrad or torch (torch.nn layers, torch.optim, a DataLoader).

- a training step of an ``nn.Sequential`` MLP 784-256-256-10 (float32, batch 64) with
  ``CrossEntropyLoss`` and SGD (momentum 0.9) or Adam: zero_grad, forward, backward, step;
  tapegrad eager, tapegrad with the model compiled (``tapegrad.compile(model)``), torch eager;
- LeNet-5 (conv 1-6-5, max pool, conv 6-16-5, max pool, 3 linear layers) on 28x28 inputs
  (float32, batch 32), SGD;
- the optimizer step alone: Adam over 1M float32 parameters in 50 tensors (torch: its default
  single-tensor loop and its foreach kernels);
- one shuffled epoch of a ``DataLoader`` over an MNIST-sized ``TensorDataset``.

No Numba import here: the torch peer imports this module.
"""
from __future__ import annotations

import importlib
from typing import Callable

import numpy as np

from benchmarks.harness import Config, Row, measure, measure_torch, ratio

BATCH = 64
LENET_BATCH = 32


def _lib(name: str):
    return importlib.import_module(name)


def _mlp(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                         nn.Linear(256, 10))


def _lenet(lib):
    nn = lib.nn
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                         nn.Linear(84, 10))


def _same_init(lib, model, seed: int = 0) -> None:
    """The same parameter values in both libraries (their generators differ)."""
    rng = np.random.default_rng(seed)
    with lib.no_grad():
        for p in model.parameters():
            fan_in = p.shape[1] * int(np.prod(p.shape[2:])) if p.dim() > 1 else p.shape[0]
            vals = rng.uniform(-1, 1, tuple(p.shape)) / np.sqrt(fan_in)
            p.copy_(lib.tensor(vals.astype(np.float32)))


def train_step(lib_name: str, model: str = "mlp", opt: str = "sgd",
               compiled: bool = False) -> Callable[[], float]:
    """One training step (zero_grad, forward, loss, backward, step); returns the loss."""
    lib = _lib(lib_name)
    net = _mlp(lib) if model == "mlp" else _lenet(lib)
    _same_init(lib, net)
    rng = np.random.default_rng(1)
    n = BATCH if model == "mlp" else LENET_BATCH
    shape = (n, 784) if model == "mlp" else (n, 1, 28, 28)
    x = lib.tensor(rng.standard_normal(shape).astype(np.float32))
    y = lib.tensor(rng.integers(0, 10, n).astype(np.int64))
    optimizer = (lib.optim.SGD(net.parameters(), lr=0.01, momentum=0.9) if opt == "sgd"
                 else lib.optim.Adam(net.parameters(), lr=1e-3))
    loss_fn = lib.nn.CrossEntropyLoss()
    fwd = lib.compile(net) if compiled else net

    def step() -> float:
        optimizer.zero_grad()
        loss = loss_fn(fwd(x), y)
        loss.backward()
        optimizer.step()
        return loss.item()
    return step


def adam_step(lib_name: str, foreach: bool = False) -> Callable[[], None]:
    """Adam's step alone over 50 x 20k float32 parameters with fixed gradients."""
    lib = _lib(lib_name)
    rng = np.random.default_rng(0)
    ps = []
    for _ in range(50):
        p = lib.tensor(rng.standard_normal(20_000).astype(np.float32), requires_grad=True)
        p.grad = lib.tensor(rng.standard_normal(20_000).astype(np.float32))
        ps.append(p)
    kw = {"foreach": True} if foreach else {}
    opt = lib.optim.Adam(ps, lr=1e-3, **kw)
    opt.step()
    return opt.step


def loader_epoch(lib_name: str) -> Callable[[], None]:
    """One shuffled epoch over 60000 x 784 float32 images and int64 labels, batch 64."""
    lib = _lib(lib_name)
    data = importlib.import_module(f"{lib_name}.utils.data")
    rng = np.random.default_rng(0)
    ds = data.TensorDataset(lib.from_numpy(rng.random((60000, 784), dtype=np.float32)),
                            lib.from_numpy(rng.integers(0, 10, 60000).astype(np.int64)))
    loader = data.DataLoader(ds, batch_size=BATCH, shuffle=True)

    def epoch() -> None:
        for _ in loader:
            pass
    return epoch


def _first_losses(model: str, opt: str) -> tuple:
    """tapegrad's and torch's losses over the first 3 steps (the same init): a correctness
    note for the rows."""
    def three(fn):
        return [fn() for _ in range(3)]
    tg = three(train_step("tapegrad", model, opt))
    th = measure_torch("benchmarks.training:_three_losses", dict(model=model, opt=opt), 1, 0)
    return tg, (None if th is None else th.result)


def _three_losses(model: str, opt: str) -> Callable[[], list]:
    def run() -> list:
        step = train_step("torch", model, opt)
        return [step() for _ in range(3)]
    return run


def _loss_note(model: str, opt: str) -> str:
    tg, th = _first_losses(model, opt)
    if th is None:
        return f"first 3 losses {['%.6f' % v for v in tg]} (torch missing)"
    err = max(abs(a - b) / abs(b) for a, b in zip(tg, th))
    return (f"first 3 losses {'match' if err < 1e-4 else 'DIFFER FROM'} torch's "
            f"(max relative difference {err:.1e})")


def run(cfg: Config) -> list:
    """Workload "training": tapegrad vs torch on torch.nn / torch.optim / DataLoader code."""
    rows = []
    reps, warm = cfg.repeats(40, 12), 5
    for model, opt, goal in (("mlp", "sgd", 1.0), ("mlp", "adam", 1.0), ("lenet", "sgd", 1.5)):
        title = ("MLP 784-256-256-10" if model == "mlp" else "LeNet-5 28x28") + \
            f" + {'SGD momentum' if opt == 'sgd' else 'Adam'} step (f32, batch " \
            f"{BATCH if model == 'mlp' else LENET_BATCH})"
        th = measure_torch("benchmarks.training:train_step",
                           dict(lib_name="torch", model=model, opt=opt), reps, warm)
        note = _loss_note(model, opt)
        for label, compiled in (("tapegrad", False), ("tapegrad.compile(model)", True)):
            t = measure(train_step("tapegrad", model, opt, compiled), reps, warm)
            r = ratio(t, th)
            rows.append(Row(title, label, t, None, r, f"≤ {goal:g}× torch",
                            None if r is None else r <= goal, [note] if not compiled else []))
        if th is not None:
            rows.append(Row(title, "torch eager", th, None, 1.0))
    t = measure(adam_step("tapegrad"), reps, warm)
    th = measure_torch("benchmarks.training:adam_step", dict(lib_name="torch"), reps, warm)
    thf = measure_torch("benchmarks.training:adam_step", dict(lib_name="torch", foreach=True),
                        reps, warm)
    r = ratio(t, thf)
    rows.append(Row("Adam step, 50 x 20k float32 parameters", "tapegrad", t, None, ratio(t, th),
                    "≤ 1× torch foreach", None if r is None else r <= 1.0,
                    [] if r is None else [f"{r:.3g}× torch's foreach step"]))
    for label, tt in (("torch (default)", th), ("torch foreach", thf)):
        if tt is not None:
            rows.append(Row("Adam step, 50 x 20k float32 parameters", label, tt, None,
                            ratio(tt, th)))
    er = cfg.repeats(5, 2)
    t = measure(loader_epoch("tapegrad"), er, 1)
    th = measure_torch("benchmarks.training:loader_epoch", dict(lib_name="torch"), er, 1)
    r = ratio(t, th)
    rows.append(Row("DataLoader epoch, 60000 x 784 f32, batch 64, shuffled", "tapegrad", t,
                    None, r, "≤ 1× torch", None if r is None else r <= 1.0))
    if th is not None:
        rows.append(Row("DataLoader epoch, 60000 x 784 f32, batch 64, shuffled", "torch", th,
                        None, 1.0))
    return rows
