"""Engine properties from DESIGN.md: backward is one Numba sweep (no Python per tape entry),
recording is per thread, and memory stays bounded."""
import sys
import threading

import numpy as np

import tapegrad as tg
from tests.test_autograd import Cube


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
    # a constant (amortised buffer growth may add a call or two), never one per entry; the
    # budget covers the fixed steps (decode, kernel table, the threads' slicing check, ...)
    assert max(counts.values()) - min(counts.values()) <= 8, counts
    assert max(counts.values()) < 135, counts


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


# -- the sweep's adjoint buffers start uninitialised (each slot zeroed before its first writer) --
def _programs():
    """Graphs whose gradients reach slots through every kind of writer: kernels, seeds, a
    custom Function, a hook, a replayed call, autograd.grad of a non-leaf, retain_grad."""
    def plain(x):
        return ((x * 2).sin() + x.exp()).sum()

    def function(x):
        return Cube.apply(x.tanh()).sum() + x.sum()

    def hooked(x):
        h = x * 3
        h.register_hook(lambda g: g * 2)
        return (h * h).mean()

    def retained(x):
        h = x.cos()
        h.retain_grad()
        return (h * x).sum()

    def mixed(x):  # one slot read by elementwise ops (which assign) and others (zeroed first)
        h = x.exp()
        m = h.reshape(-1, 4)
        return (h * 2).sum() + (m[:50] @ m[:50].t()).sum() + h.sum() + (h * h).mean()

    def broadcast(x):  # a row broadcast against a matrix: its adjoint sums several terms
        m = x.reshape(-1, 4)
        return (m * m[0]).sum() + ((m + m[1].tanh()) ** 2).sum()

    def products(x):  # linear (gemm assigning), a broadcast batched matmul, a bias
        m = x.reshape(-1, 4)
        lin = tg.nn.functional.linear(m, m[:3], m[0, :3])
        return lin.sum() + (m[:40].reshape(-1, 2, 2) @ m[2:4, :2]).sum() + (lin * lin).sum()

    replayed = tg.compile(lambda x: (x.sin() * x).sum())
    return [plain, function, hooked, retained, replayed, mixed, broadcast, products]


def test_gradients_do_not_depend_on_what_the_adjoint_buffers_held_before():
    """The sweep initialises every adjoint it reads (small tapes, and large slots sharing
    segments by liveness, `share_adjoints`), whatever the reused scratch held."""
    from tapegrad.engine import tape as tape_mod
    rng = np.random.default_rng(0)
    for n in (300, 2 * tape_mod.SHARE_MIN):
        x0 = rng.uniform(-1, 1, n)
        for fn in _programs():
            want = []
            for _ in range(2):  # (the second call of the compiled one replays)
                x = tg.tensor(x0, requires_grad=True)
                fn(x).backward()
                want.append(x.grad.numpy().copy())
            # poison this thread's reused scratch buffers; the next sweep must not read them
            tape_mod._SCRATCH.bufs = tuple(np.full(1 << 18, np.nan, dt)
                                           for dt in (np.float64, np.float32))
            for w in want:
                x = tg.tensor(x0, requires_grad=True)
                fn(x).backward()
                np.testing.assert_allclose(x.grad.numpy(), w, rtol=1e-12,
                                           err_msg=f"{fn.__name__}, {n}")


def test_large_adjoints_share_segments_by_liveness():
    """A chain of elementwise ops over N elements: two segments of N for the chain (and one
    per leaf), not one per slot; a retained non-leaf keeps its own, with its gradient."""
    from tapegrad.engine import tape as tape_mod
    n = 2 * tape_mod.SHARE_MIN
    sizes = []
    real = tape_mod._scratch

    def spy(total):
        sizes.append(tuple(int(t) for t in total))
        return real(total)
    x0 = np.linspace(-1, 1, n)
    x = tg.tensor(x0, requires_grad=True)
    h = (x * 2.0).sin()  # (x's adjoint is made after h's is dead: it must not take h's)
    h.retain_grad()
    y = h
    for _ in range(8):
        y = (y * 0.5).tanh()
    tape_mod._scratch, saved = spy, tape_mod._scratch
    try:
        y.sum().backward()
    finally:
        tape_mod._scratch = saved
    assert sizes[0][0] <= 4 * n + 16  # x, h (retained), two for the chain; + the scalars
    # (one segment per slot: 12 n)
    g = np.ones(n)
    vals = [np.sin(2 * x0)]
    for _ in range(8):
        vals.append(np.tanh(vals[-1] * 0.5))
    for v in reversed(vals[1:]):
        g = g * (1 - v * v) * 0.5
    np.testing.assert_allclose(h.grad.numpy(), g, rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), g * 2 * np.cos(2 * x0), rtol=1e-12)


def test_autograd_grad_of_a_non_leaf_reads_a_zeroed_adjoint():
    from tapegrad.engine import tape as tape_mod
    tape_mod._SCRATCH.bufs = tuple(np.full(1 << 16, np.nan, dt)
                                   for dt in (np.float64, np.float32))
    x = tg.tensor([0.5, -1.0, 2.0], requires_grad=True)
    h = x * 2
    out = (h.sin() * 3).sum()
    (gh,) = tg.autograd.grad(out, h)
    np.testing.assert_allclose(gh.numpy(), 3 * np.cos(2 * np.array([0.5, -1.0, 2.0])))


# -- the vectorized sin/cos of the trig adjoints --------------------------------------------------
def _trig_pair(cos_fn, sin_fn):
    """A Numba loop giving (cos_fn(x), sin_fn(x)) for an array x."""
    from numba import njit

    @njit
    def both(x):
        c, s = np.empty_like(x), np.empty_like(x)
        for i in range(x.shape[0]):
            c[i], s[i] = cos_fn(x[i]), sin_fn(x[i])
        return c, s
    return both


def _near_multiples_of_half_pi(dtype):
    import math
    from tapegrad.ops._kernels_elementwise import TRIG_MAX
    near = np.array([k * math.pi / 2 for k in range(1, int(TRIG_MAX / math.pi * 2))], dtype)
    return [near, np.nextafter(near, dtype(0)), -near]


def test_vectorized_cos_and_sin_are_within_an_ulp_of_libm():
    import math
    from tapegrad.ops._kernels_elementwise import TRIG_MAX, cos_small, sin_small
    both = _trig_pair(cos_small, sin_small)
    rng = np.random.default_rng(1)
    for x in [rng.uniform(-TRIG_MAX, TRIG_MAX, 20_000), rng.uniform(-4, 4, 20_000),
              rng.uniform(-1e-3, 1e-3, 1_000)] + _near_multiples_of_half_pi(np.float64):
        c, s = both(x)
        for got, f in ((c, math.cos), (s, math.sin)):
            want = np.array([f(v) for v in x])
            assert np.max(np.abs(got - want) / np.spacing(np.abs(want))) <= 1.0, f.__name__


def test_trig_gradients_beyond_the_vectorized_range_take_libm():
    for dt, rtol in ((np.float32, 1e-6), (np.float64, 1e-14)):
        x0 = np.array([1e6, -3e5, 65536.5, np.nan, np.inf, 0.5, -2.0], dt)
        x = tg.tensor(x0, requires_grad=True)
        (x.sin().sum() + x.cos().sum()).backward()
        with np.errstate(invalid="ignore"):
            want = np.cos(x0.astype(np.float64)) - np.sin(x0.astype(np.float64))
        np.testing.assert_allclose(x.grad.numpy().astype(np.float64), want, rtol=rtol,
                                   equal_nan=True)


def test_float32_vectorized_cos_and_sin_round_as_libm():
    """For float32 arguments, the short reduction's results round to the float32 that libm's
    float64 results round to (so float32 trig gradients are as exact as that rounding)."""
    from tapegrad.ops._kernels_elementwise import TRIG_MAX, cos_small32, sin_small32
    both = _trig_pair(cos_small32, sin_small32)
    rng = np.random.default_rng(3)
    for x in [rng.uniform(-TRIG_MAX, TRIG_MAX, 50_000).astype(np.float32)] + \
            _near_multiples_of_half_pi(np.float32):
        x64 = x.astype(np.float64)
        c, s = both(x64)
        np.testing.assert_array_equal(c.astype(np.float32), np.cos(x64).astype(np.float32))
        np.testing.assert_array_equal(s.astype(np.float32), np.sin(x64).astype(np.float32))


# -- the vectorized exp, log and log1p of replayed forwards and adjoints --------------------------
def _loop(fn):
    """A Numba loop applying `fn` to each element of a float64 array (with the kernels' error
    model: fn is inlined)."""
    from numba import njit

    @njit(error_model="numpy")
    def each(x):
        out = np.empty_like(x)
        for i in range(x.shape[0]):
            out[i] = fn(x[i])
        return out
    return each


def _assert_within_an_ulp_of(got, want, name):
    """Within 1 ulp where libm's result is finite and nonzero (subnormal ones: within the
    subnormals' spacing); libm's inf, 0 and NaN exactly."""
    regular = np.isfinite(want) & (want != 0)
    ulps = np.abs(got[regular] - want[regular]) / np.spacing(np.abs(want[regular]))
    assert ulps.max() <= 1.0, (name, ulps.max())
    np.testing.assert_array_equal(got[~regular], want[~regular], err_msg=name)


_SPECIAL = [0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 5e-324, -5e-324, 1e-310, 2.0 ** -1022,
            709.78, 709.79, -745.13, -745.14, -708.4, 1e300, -1e300, 2.0 ** -60]


def test_vectorized_exp_is_within_an_ulp_of_libm_and_agrees_at_its_limits():
    import math
    from tapegrad.ops._kernels_elementwise import exp_vec
    rng = np.random.default_rng(4)
    x = np.concatenate([rng.uniform(-750, 712, 30_000), rng.uniform(-1, 1, 30_000),
                        rng.uniform(-746, -700, 10_000), _SPECIAL])


    def libm(v):
        try:
            return math.exp(v)
        except OverflowError:
            return math.inf
    _assert_within_an_ulp_of(_loop(exp_vec)(x), np.array([libm(v) for v in x]), "exp")


def test_vectorized_log_and_log1p_are_within_an_ulp_of_libm():
    import math
    from tapegrad.ops._kernels_elementwise import log1p_vec, log_vec
    rng = np.random.default_rng(5)
    x = np.concatenate([np.exp(rng.uniform(-745, 709, 30_000)), rng.uniform(0.5, 2, 30_000),
                        rng.uniform(0.999, 1.001, 10_000), _SPECIAL])

    def libm(f, v):
        try:
            return f(v)
        except ValueError:   # (math's domain errors: libm's -inf at 0, NaN below)
            return -math.inf if v == 0 or (f is math.log1p and v == -1) else math.nan
    _assert_within_an_ulp_of(_loop(log_vec)(x), np.array([libm(math.log, v) for v in x]), "log")
    u = np.concatenate([rng.uniform(0, 1, 30_000), np.exp(rng.uniform(-745, 0, 30_000)),
                        rng.uniform(1, 1e6, 10_000), _SPECIAL, [-0.5, -1 + 1e-12, -2.0]])
    _assert_within_an_ulp_of(_loop(log1p_vec)(u), np.array([libm(math.log1p, v) for v in u]),
                             "log1p")


def test_vectorized_softplus_is_within_two_ulps_of_libms_formula():
    """softplus_vec (the replayed forward of softplus and logsigmoid) against libm's
    max(t, 0) + log1p(exp(-|t|)), itself rounded twice."""
    import math
    from tapegrad.ops._kernels_elementwise import softplus_vec
    rng = np.random.default_rng(6)
    t = np.concatenate([rng.uniform(-5, 5, 30_000), rng.uniform(-800, 800, 10_000),
                        [0.0, -0.0, math.log(math.sqrt(2) - 1), -math.log(math.sqrt(2) - 1),
                         np.inf, -np.inf, np.nan]])
    got = _loop(softplus_vec)(t)
    want = np.array([max(v, 0.0) + math.log1p(math.exp(-abs(v))) if v == v else v for v in t])
    regular = np.isfinite(want) & (want != 0)
    assert (np.abs(got[regular] - want[regular]) / np.spacing(want[regular])).max() <= 2.0
    np.testing.assert_array_equal(got[~regular], want[~regular])
