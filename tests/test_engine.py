"""Engine properties from DESIGN.md: backward is one Numba sweep (no Python per tape entry),
recording is per thread, and memory stays bounded."""
import sys
import threading

import numpy as np

import tapegrad as tg


def chain(x, n):
    y = x
    for _ in range(n // 4):
        y = (y * 1.001).sin() + x
        y = y.tanh()
    return y.sum()


def count_calls(fn) -> int:
    calls = 0

    def prof(frame, event, arg):
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1
    sys.setprofile(prof)
    try:
        fn()
    finally:
        sys.setprofile(None)
    return calls


def test_backward_python_calls_do_not_grow_with_tape_length():
    x = tg.randn(16, requires_grad=True)
    chain(x, 30_000).backward()  # compile, and grow the reused adjoint buffer, beforehand
    counts = {}
    for n in (1_000, 10_000, 30_000):
        out = chain(x, n)
        counts[n] = count_calls(out.backward)
    # a constant (amortised buffer growth may add a call or two), never one per entry
    assert max(counts.values()) - min(counts.values()) <= 8, counts
    assert max(counts.values()) < 120, counts


def test_two_threads_record_and_differentiate_independently():
    errors = []
    barrier = threading.Barrier(2)

    def worker(seed: int, power: float):
        try:
            rng = np.random.default_rng(seed)
            for _ in range(200):
                v = rng.uniform(0.5, 2.0, 8)
                x = tg.tensor(v, requires_grad=True)
                (x ** power).sum().backward()
                np.testing.assert_allclose(x.grad.numpy(), power * v ** (power - 1), rtol=1e-5)
            barrier.wait()
        except Exception as exc:  # reported below, in the main thread
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=worker, args=(s, p)) for s, p in ((1, 2.0), (2, 3.0))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_no_grad_is_per_thread():
    entered, checked = threading.Event(), threading.Event()
    seen = {}

    def quiet():
        with tg.no_grad():
            entered.set()
            checked.wait(5)
            seen["quiet"] = (tg.ones(1, requires_grad=True) * 2).requires_grad

    t = threading.Thread(target=quiet)
    t.start()
    entered.wait(5)
    seen["main"] = (tg.ones(1, requires_grad=True) * 2).requires_grad
    checked.set()
    t.join()
    assert seen == {"main": True, "quiet": False}


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def rss_growth_mb(step, warmup: int = 1_000, steps: int = 10_000) -> float:
    """RSS growth over `steps` calls of `step` after `warmup` calls (caches, pools filled)."""
    for _ in range(warmup):
        step()
    before = rss_mb()
    for _ in range(steps):
        step()
    return rss_mb() - before


def mlp_params(rng):
    return [tg.tensor(rng.standard_normal(s) * 0.3, requires_grad=True)
            for s in ((8, 16), (16,), (16, 1), (1,))]


def forward(params, x):
    w1, b1, w2, b2 = params
    return ((x @ w1 + b1).tanh() @ w2 + b2)


def sgd_step(params, x, y):
    """One step of the test MLP's training; returns the loss."""
    loss = ((forward(params, x) - y) ** 2).mean()
    loss.backward()
    with tg.no_grad():
        for p in params:
            p -= 0.01 * p.grad
            p.grad = None
    return loss


def test_memory_flat_over_a_training_loop():
    rng = np.random.default_rng(0)
    params = mlp_params(rng)
    x = tg.tensor(rng.standard_normal((32, 8)))
    y = tg.tensor(rng.standard_normal((32, 1)))
    assert rss_growth_mb(lambda: sgd_step(params, x, y)) < 10
    assert sgd_step(params, x, y).item() < 1.5


def test_memory_flat_when_evaluating_without_no_grad_while_a_graph_is_alive():
    rng = np.random.default_rng(1)
    params = mlp_params(rng)
    x = tg.tensor(rng.standard_normal((32, 8)))
    unrelated = (params[0] * 2).sum()   # a graph tensor kept alive, as in a notebook
    # forgot no_grad: each pass records a tape
    assert rss_growth_mb(lambda: forward(params, x)) < 10
    assert forward(params, x).requires_grad and unrelated.requires_grad


def test_memory_flat_when_every_steps_detached_loss_is_kept():
    """losses.append(loss.detach()), in float32 (torch's default): a kept 0-d loss must not pin
    the arena chunk it was computed in (it did: ~130 KB per step here, before 0-d values got
    chunks of their own)."""
    rng = np.random.default_rng(2)
    params = [p.float().detach().requires_grad_() for p in mlp_params(rng)]
    x = tg.tensor(rng.standard_normal((32, 8)), dtype=tg.float32)
    y = tg.tensor(rng.standard_normal((32, 1)), dtype=tg.float32)
    losses = []
    # what stays per step: the 0-d tensor, its view and a 256-byte chunk (~1 KB)
    assert rss_growth_mb(lambda: losses.append(sgd_step(params, x, y).detach()), 500) < 25
    assert losses[-1].item() < losses[0].item()


def test_memory_flat_over_hessian_vector_products_with_create_graph():
    rng = np.random.default_rng(3)
    w = tg.tensor(rng.standard_normal((8, 4)) * 0.3, requires_grad=True)
    x = tg.tensor(rng.standard_normal((16, 8)))
    v = tg.tensor(rng.standard_normal((8, 4)))

    def step():
        loss = ((x @ w).tanh() ** 2).mean()
        g, = tg.autograd.grad(loss, w, create_graph=True)
        hv, = tg.autograd.grad((g * v).sum(), w)
        with tg.no_grad():
            w.sub_(0.01 * hv)
        return hv

    assert rss_growth_mb(step, warmup=300) < 10
    assert np.isfinite(step().numpy()).all()


def test_matmul_adjoint_without_blas_matches_blas(monkeypatch):
    import tapegrad.engine.tape as tape_mod
    rng = np.random.default_rng(5)
    a0, b0 = rng.standard_normal((3, 2, 4)), rng.standard_normal((4, 5))

    def grads():
        a = tg.tensor(a0, requires_grad=True)
        b = tg.tensor(b0, requires_grad=True)
        ((a @ b) ** 2).sum().backward()
        return a.grad.numpy(), b.grad.numpy()
    with_blas = grads()
    monkeypatch.setattr(tape_mod, "_ENV", np.zeros_like(tape_mod._ENV))  # dgemm address 0: loops
    without = grads()
    for x, y in zip(with_blas, without):
        np.testing.assert_allclose(x, y, rtol=1e-12)


def test_memory_of_dead_tapes_is_reused_only_when_nothing_refers_to_it():
    from tapegrad.engine import tape as _tape
    x = tg.ones(3000, requires_grad=True)
    y = x * 2.0 + 1.0  # y's data is a view into its tape's arena: that chunk stays y's
    y.sum().backward()  # frees the tape
    kept = y.detach().numpy().copy()
    for k in range(30):  # later tapes, of the same sizes, take the pooled memory
        w = tg.full((3000,), float(k), requires_grad=True)
        (w * 5.0 - 7.0).sum().backward()
    np.testing.assert_array_equal(y.detach().numpy(), kept)
    assert 0 < _tape._POOL.nbytes <= _tape._POOL_MAX


def test_a_final_backward_frees_large_values_no_adjoint_reads_first():
    """(x.sin() * 2).sum(): sin's and mul's results are read by no adjoint, and nothing holds
    them: they are freed before the adjoint buffers are made (torch frees such intermediates
    too), while values a tensor still holds, or an adjoint reads, stay."""
    x = tg.randn(2_000_000, requires_grad=True)
    kept = x.cos()                      # held by the user
    big_chunks = []

    def hook(g):                        # runs during the sweep, after the freeing
        from tapegrad.engine.tape import resolve
        tape = resolve(kept)
        big_chunks.append(len({c.ctypes.data for c in tape.chunks if c.nbytes > 1 << 22}))
    loss = (x.sin() * 2 + kept * 0).sum()
    loss.register_hook(hook)
    loss.backward()
    assert big_chunks == [2]            # x (referenced) and kept; sin, mul, add, mul freed
    np.testing.assert_allclose(kept.detach().numpy(), np.cos(x.detach().numpy()))
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.cos(x.detach().numpy()), rtol=1e-5)
