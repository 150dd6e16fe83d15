"""Threads, stressed (bounded time): graphs from shared leaves in eight threads at once; a
non-leaf shared between threads (a clear error, never a crash or a wrong number); a graph built
in a thread that has ended, used in another."""
import threading

import numpy as np
import pytest

import tapegrad as tg

THREADS, STEPS = 8, 150


def run_threads(target) -> list:
    """Run target(i) in THREADS threads at once; the exceptions they raised."""
    errors, start = [], threading.Barrier(THREADS)

    def wrapped(i):
        try:
            start.wait()
            target(i)
        except Exception as exc:  # noqa: BLE001 -- reported in the main thread
            errors.append(exc)
    ts = [threading.Thread(target=wrapped, args=(i,)) for i in range(THREADS)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    assert not any(t.is_alive() for t in ts), "a thread hung"
    return errors


def test_graphs_from_shared_leaves_in_many_threads_give_exact_gradients():
    w = tg.tensor([1.0, 2.0, -1.0], dtype=tg.float64, requires_grad=True)
    x = tg.tensor([[0.5, -1.0, 2.0]] * 4, dtype=tg.float64)

    def work(i):
        for _ in range(STEPS):
            y = (x * w).tanh() * float(i + 1)   # each thread its own tape, same leaves
            y.sum().backward()
            g, = tg.autograd.grad(((w * float(i)) ** 2).sum(), w)
            np.testing.assert_allclose(g.numpy(), 2 * float(i) ** 2 * w.detach().numpy())

    assert not run_threads(work)
    want = STEPS * sum(i + 1 for i in range(THREADS)) * (
        x.numpy() * (1 - np.tanh(x.numpy() * w.detach().numpy()) ** 2)).sum(0)
    np.testing.assert_allclose(w.grad.numpy(), want, rtol=1e-12)


def test_a_non_leaf_shared_between_threads_raises_a_clear_error():
    x = tg.tensor([1.0, 2.0, 3.0], dtype=tg.float64, requires_grad=True)
    y = x * 2 + 1   # its graph is recorded in this thread

    def work(i):
        w = tg.tensor([float(i)] * 3, dtype=tg.float64, requires_grad=True)
        for _ in range(20):
            with pytest.raises(RuntimeError, match="graph is being recorded in thread "
                                                   "'MainThread'"):
                tg.autograd.grad((y * w).sum(), x, retain_graph=True)
            with pytest.raises(RuntimeError, match="records and differentiates a graph in the "
                                                   "thread that made it"):
                y.sum().backward(retain_graph=True)
        assert (y.detach() * w).sum().item() == pytest.approx(15.0 * i)

    assert not run_threads(work)
    (y * 3).sum().backward()   # the owner still can
    assert x.grad.tolist() == [6.0, 6.0, 6.0]


def test_a_graph_from_a_thread_that_ended_is_this_threads():
    made = {}
    t = threading.Thread(target=lambda: made.update(
        x=(x := tg.tensor([1.0, 2.0], dtype=tg.float64, requires_grad=True)), y=x.exp()))
    t.start()
    t.join()
    (made["y"] * 2).sum().backward()
    np.testing.assert_allclose(made["x"].grad.numpy(), 2 * np.exp([1.0, 2.0]))


def _long_expression(x0, y0):
    x, y = tg.tensor(x0, requires_grad=True), tg.tensor(y0, requires_grad=True)
    f = ((x * y).sin() * 0.5 + y).tanh() * x
    g = (f.exp() + 1).log() + x / y - y ** 2 + x.sigmoid() * y.relu() + tg.maximum(x, y)
    (g.sum() + (x * x).mean() + (x * y[:1]).sum()).backward()  # (a broadcast: not sliced)
    return x.grad.numpy().copy(), y.grad.numpy().copy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_long_elementwise_adjoints_run_in_slices_on_threads_with_the_same_bits(
        dtype, monkeypatch):
    from tapegrad.engine import tape as tape_mod
    if __import__("numba").config.NUMBA_NUM_THREADS < 2:
        pytest.skip("a machine with one core")
    rng = np.random.default_rng(0)
    n = tape_mod.SLICE_MIN + 1001  # (slices that do not end on a round number)
    x0, y0 = rng.uniform(0.5, 1.5, n).astype(dtype), rng.uniform(0.5, 1.5, n).astype(dtype)
    before = tg.get_num_threads()
    sliced = []
    run = tape_mod._run_sliced
    monkeypatch.setattr(tape_mod, "_run_sliced", lambda *a: sliced.append(a[7]) or run(*a))
    try:
        tg.set_num_threads(1)
        want = _long_expression(x0, y0)
        assert not sliced
        tg.set_num_threads(2)
        got = _long_expression(x0, y0)
    finally:
        tg.set_num_threads(before)
    assert len(sliced) >= 15
    for w, g in zip(want, got):
        np.testing.assert_array_equal(w, g)


def test_a_backward_inside_the_engines_workers_does_not_wait_on_them():
    """A backward run by a worker of the engine's pool (a function vmap records again in a
    block, say) runs its long entries in that thread: submitting slices to the pool it
    occupies could wait forever."""
    from tapegrad.engine import tape as tape_mod
    from tapegrad.engine.threads import executor
    n = tape_mod.SLICE_MIN + 5

    def job():
        x = tg.tensor(np.full(n, 2.0, np.float32), requires_grad=True)
        (x * x).sum().backward()
        return float(x.grad.sum())
    workers = max(2, tg.get_num_threads())
    results = [f.result(timeout=120) for f in [executor(workers).submit(job)
                                               for _ in range(2 * workers)]]
    assert results == [4.0 * n] * (2 * workers)
