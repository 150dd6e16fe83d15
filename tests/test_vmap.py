"""`tapegrad.func.vmap`: a batched replay gives, for every lane, what a Python loop of eager calls
gives (values and gradients); lanes whose recorded decisions do not hold are computed on their
own; torch.func's signature, structures and errors."""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tapegrad as tg
from tapegrad._opdef import OPS
from tapegrad._vmap import VmapWarning
from tapegrad.func import grad, hessian, jacrev, value_and_grad, vmap
from tests.test_compile import _shuffled
from tests.test_gradients import H, draw_inputs
from tests.test_random_programs import programs, run

BATCHED = sorted(n for n, op in OPS.items() if op.kind not in ("python", "forward"))


def _lanes(x, rng, B: int, dim):
    """B versions of x (x itself and permutations of its values), stacked along `dim`."""
    vs = [x.detach()] + [_shuffled(x, rng).detach() for _ in range(B - 1)]
    return tg.stack(vs, dim=dim)


def _loop(f, args, dims, B):
    outs = []
    for b in range(B):
        outs.append(f(*[a if d is None else a.select(d, b) for a, d in zip(args, dims)]))
    if isinstance(outs[0], tuple):
        return tuple(tg.stack([o[k] for o in outs]) for k in range(len(outs[0])))
    return tg.stack(outs)


def _close(a, b, single):
    tol = dict(rtol=2e-4, atol=2e-5) if single else dict(rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), equal_nan=True, **tol)


def _weighted(fn, shape_of):
    """A scalar of fn's output (a fixed weighting: every element's adjoint differs)."""
    def loss(*xs):
        out = fn(*xs)
        w = tg.tensor(np.linspace(0.5, 1.5, out.numel()).reshape(out.shape), dtype=out.dtype)
        return (out * w).sum()
    return loss


@pytest.mark.parametrize("name", BATCHED)
@settings(max_examples=3)
@given(data=st.data(), single=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_every_op_vmaps_as_a_loop_of_eager_calls(name, data, single, seed):
    op = OPS[name]
    kind, make = op.test
    inputs = draw_inputs(data, kind, op.domain)
    cast = []
    for x in inputs:  # (detached: vmap's inputs here are not part of a graph)
        y = (x.float() if single and x.dtype == tg.float64 else x).detach()
        y.__dict__.update(x.__dict__)   # (what the op's test spec keeps on its inputs)
        cast.append(y)
    inputs = cast
    fn = make(H(data), *inputs)
    rng = np.random.default_rng(seed)
    B = data.draw(st.integers(1, 4))
    dims, args = [], []
    for x in inputs:  # batched along 0, the last dim, or not at all (a shared argument)
        d = data.draw(st.sampled_from([0, -1, None])) if x.dtype.is_floating_point else None
        args.append(x if d is None else _lanes(x, rng, B, d if d == 0 else x.dim()))
        dims.append(d if d is None or d == 0 else x.dim())
    if all(d is None for d in dims):
        dims[0], args[0] = 0, _lanes(inputs[0], rng, B, 0)
    floats = tuple(i for i, x in enumerate(inputs) if x.dtype.is_floating_point)
    loss = _weighted(fn, None)
    with warnings.catch_warnings():
        warnings.simplefilter("error", VmapWarning)   # every op must replay batched
        got = vmap(fn, in_dims=tuple(dims))(*args)
        gots = vmap(grad(loss, argnums=floats), in_dims=tuple(dims))(*args)
    _close(got, _loop(fn, args, dims, B), single)
    want = _loop(lambda *xs: grad(loss, argnums=floats)(*xs), args, dims, B)
    for a, b in zip(gots, want):
        _close(a, b, single)


@pytest.mark.parametrize("name", BATCHED)
@settings(max_examples=2)
@given(data=st.data(), seed=st.integers(0, 2 ** 16))
def test_every_op_backward_through_a_batched_result_as_through_a_loop(name, data, seed):
    """Inputs that require grad: the batched result is one node; its backward (the batched
    sweep) gives the loop of eager calls' gradients, for batched and shared arguments."""
    op = OPS[name]
    kind, make = op.test
    inputs = []
    for x in draw_inputs(data, kind, op.domain):
        y = x.detach()
        y.__dict__.update(x.__dict__)
        inputs.append(y)
    fn = make(H(data), *inputs)
    rng = np.random.default_rng(seed)
    B = data.draw(st.integers(1, 3))
    dims = [data.draw(st.sampled_from([0, None])) if x.dtype.is_floating_point else None
            for x in inputs]
    dims[0] = 0 if all(d is None for d in dims) else dims[0]
    args = [x if d is None else _lanes(x, rng, B, 0) for x, d in zip(inputs, dims)]
    args = [a.detach().requires_grad_(True) if a.dtype.is_floating_point else a for a in args]
    diff = [a for a in args if a.requires_grad]
    with warnings.catch_warnings():
        warnings.simplefilter("error", VmapWarning)
        out = vmap(fn, in_dims=tuple(dims))(*args)
    ref = _loop(fn, args, dims, B)
    _close(out, ref, False)
    w = tg.tensor(np.linspace(0.5, 1.5, out.numel()).reshape(out.shape), dtype=out.dtype)
    got = tg.autograd.grad((out * w).sum(), diff, allow_unused=True, materialize_grads=True)
    want = tg.autograd.grad((ref * w).sum(), diff, allow_unused=True, materialize_grads=True)
    for a, b in zip(got, want):
        assert a.shape == b.shape
        _close(a, b, False)


@settings(max_examples=10)
@given(programs(), st.integers(0, 2 ** 16), st.integers(1, 5))
def test_random_programs_vmap(program, seed, B):
    leaves, steps = program
    f = lambda *xs: run(steps, *xs)  # noqa: E731
    rng = np.random.default_rng(seed)
    args = [_lanes(x, rng, B, 0) for x in leaves]
    dims = [0] * len(args)
    with warnings.catch_warnings():
        warnings.simplefilter("error", VmapWarning)
        vals, gs = vmap(value_and_grad(f, argnums=tuple(range(len(args)))))(*args)
    _close(vals, _loop(f, args, dims, B), False)
    want = _loop(lambda *xs: grad(f, argnums=tuple(range(len(xs))))(*xs), args, dims, B)
    for a, b in zip(gs, want):
        _close(a, b, False)


# -- the examples -------------------------------------------------------------------------
def _mlp_loss(w1, w2, x, y):
    return ((x @ w1).tanh() @ w2 - y).pow(2).mean()


def test_per_sample_gradients_of_shared_weights():
    rng = np.random.default_rng(0)
    w1, w2 = tg.tensor(rng.normal(size=(4, 5))), tg.tensor(rng.normal(size=(5, 2)))
    xs, ys = tg.tensor(rng.normal(size=(7, 4))), tg.tensor(rng.normal(size=(7, 2)))
    g1, g2 = vmap(grad(_mlp_loss, argnums=(0, 1)), in_dims=(None, None, 0, 0))(w1, w2, xs, ys)
    assert g1.shape == (7, 4, 5) and g2.shape == (7, 5, 2)
    for b in range(7):
        e1, e2 = grad(_mlp_loss, argnums=(0, 1))(w1, w2, xs[b], ys[b])
        _close(g1[b], e1, False)
        _close(g2[b], e2, False)


def test_value_and_grad_and_plain_outputs():
    f = lambda x: (x.sin() * x).sum()  # noqa: E731
    pts = tg.randn(6, 3, dtype=tg.float64)
    vals, gs = vmap(value_and_grad(f))(pts)
    _close(vals, tg.stack([f(p) for p in pts]), False)
    _close(gs, tg.stack([grad(f)(p) for p in pts]), False)
    _close(vmap(lambda x: x.exp() * 2)(pts), pts.exp() * 2, False)


def test_a_batched_call_is_one_recording_and_one_run():
    f = vmap(grad(lambda x: (x ** 3).sum()))
    f(tg.randn(50, 3))
    f(tg.randn(50, 3))
    s = f.stats()
    assert s["recordings"] == 1 and s["batched_lanes"] == 100 and s["loop_lanes"] == 0


def test_integer_inputs_per_lane_are_grouped_by_value():
    w = tg.randn(3, 4, dtype=tg.float64)
    xs = tg.randn(9, 3, dtype=tg.float64)
    ys = tg.tensor([0, 1, 2, 3, 0, 1, 2, 3, 3])

    def loss(w, x, y):
        return tg.nn.functional.cross_entropy((x @ w)[None], y[None])
    got = vmap(grad(loss), in_dims=(None, 0, 0))(w, xs, ys)
    for b in range(9):
        _close(got[b], grad(loss)(w, xs[b], ys[b]), False)


# -- lanes whose recorded decisions do not hold ----------------------------------------------
def _branchy(x):
    if x.sum() > 0:
        return (x * 2).sum()
    return (x ** 3).sum()


def test_lanes_that_take_the_other_branch_are_right():
    xs = tg.tensor([[1., 2.], [-3., 1.], [0.5, 0.5], [-1., -1.]], dtype=tg.float64)
    v = vmap(value_and_grad(_branchy))
    vals, gs = v(xs)
    for b in range(4):
        ev, eg = value_and_grad(_branchy)(xs[b])
        _close(vals[b], ev, False)
        _close(gs[b], eg, False)
    assert v.stats()["recordings"] == 2 and v.stats()["loop_lanes"] == 0


def test_item_differing_per_lane():
    f = lambda x: x * x.sum().item()  # noqa: E731
    xs = tg.randn(5, 3, dtype=tg.float64)
    _close(vmap(f)(xs), tg.stack([f(x) for x in xs]), False)


def test_many_branches_fall_back_to_the_loop_with_a_warning():
    f = lambda x: x * int(x.item() * 100)  # noqa: E731  (a different branch per lane)
    xs = tg.linspace(0, 1, 40, dtype=tg.float64)
    with pytest.warns(VmapWarning, match="recordings"):
        got = vmap(f)(xs)
    _close(got, tg.stack([f(x) for x in xs]), False)


def test_an_unreplayable_function_runs_lane_by_lane_with_a_warning():
    from tests.test_autograd import Cube
    xs = tg.randn(3, 2, dtype=tg.float64)
    with pytest.warns(VmapWarning, match="custom autograd.Function"):
        got = vmap(lambda x: Cube.apply(x))(xs)
    _close(got, xs ** 3, False)


# -- in_dims, out_dims, structures ---------------------------------------------------------------
def test_in_dims_none_negative_and_nested():
    x = tg.randn(3, 4, dtype=tg.float64)
    y = tg.randn(3, dtype=tg.float64)
    _close(vmap(lambda a, b: a * b, in_dims=(-1, None))(x, y),
           tg.stack([x[:, k] * y for k in range(4)]), False)
    d = {"a": tg.randn(2, 3, dtype=tg.float64), "b": tg.randn(3, dtype=tg.float64)}
    got = vmap(lambda p: p["a"] * p["b"], in_dims=({"a": 1, "b": 0},))(d)
    _close(got, tg.stack([d["a"][:, k] * d["b"][k] for k in range(3)]), False)


@pytest.mark.filterwarnings("ignore::tapegrad._vmap.VmapWarning")  # (a constant output: loop)
def test_out_dims_and_tuple_outputs():
    x = tg.randn(5, 3, dtype=tg.float64)
    a, b = vmap(lambda v: (v * 2, v.sum()), out_dims=(1, 0))(x)
    assert a.shape == (3, 5) and b.shape == (5,)
    _close(a, (x * 2).T, False)
    c = vmap(lambda v: (v, tg.ones(2, dtype=tg.float64)), out_dims=(0, None))(x)[1]
    assert c.shape == (2,)


@pytest.mark.filterwarnings("ignore::tapegrad._vmap.VmapWarning")
def test_an_output_that_does_not_depend_on_the_batch_is_expanded():
    got = vmap(lambda v: tg.ones(2, dtype=tg.float64) * 3)(tg.randn(4, 2))
    assert got.shape == (4, 2)


# -- randomness ----------------------------------------------------------------------------------
def test_randomness_error_same_different():
    f = lambda x: x + tg.rand(())  # noqa: E731
    x = tg.zeros(4, dtype=tg.float32)
    with pytest.raises(RuntimeError, match="randomness error mode"):
        vmap(f)(x)
    same = vmap(f, randomness="same")(x)
    assert len(set(same.tolist())) == 1
    diff = vmap(f, randomness="different")(x)
    assert len(set(diff.tolist())) == 4
    tg.manual_seed(3)
    a = vmap(f, randomness="different")(x)
    tg.manual_seed(3)
    b = vmap(f, randomness="different")(x)
    assert a.tolist() == b.tolist()


# -- composition ---------------------------------------------------------------------------------
def test_vmap_of_hessian_and_jacrev_of_vmap_and_nested_vmap():
    f = lambda x: (x.sin() * x ** 2).sum()  # noqa: E731
    xs = tg.randn(3, 2, dtype=tg.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("error", VmapWarning)   # (replayed: the double backward is recorded)
        v = vmap(hessian(f))
        _close(v(xs), tg.stack([hessian(f)(x) for x in xs]), False)
    assert v.stats()["loop_lanes"] == 0
    g = lambda x: x.sin() * 2  # noqa: E731
    _close(jacrev(vmap(g))(xs.reshape(-1)[:3]), tg.eye(3, dtype=tg.float64) * (xs.reshape(-1)[:3].cos() * 2), False)
    m = tg.randn(2, 3, 4, dtype=tg.float64)
    _close(vmap(vmap(lambda v: (v ** 2).sum()))(m), (m ** 2).sum(-1), False)


def test_vmap_inside_compile_and_backward_through_vmap():
    w = tg.randn(3, requires_grad=True, dtype=tg.float64)
    xs = tg.randn(4, 3, dtype=tg.float64)
    loss = vmap(lambda x: (x * w).sum())(xs).pow(2).sum()
    loss.backward()
    ref = w.detach().requires_grad_(True)
    (xs @ ref).pow(2).sum().backward()
    _close(w.grad, ref.grad, False)
    cf = tg.compile(lambda x: vmap(lambda v: v.exp().sum())(x))
    cf(xs)
    _close(cf(xs * 2), (xs * 2).exp().sum(1), False)


def test_blocks_and_threads_give_the_same_lanes():
    f = vmap(value_and_grad(lambda x: (x.tanh() * x).sum()), chunk_size=3)
    xs = tg.randn(20, 4, dtype=tg.float64)
    v1, g1 = f(xs)
    tg.set_num_threads(1)
    try:
        v2, g2 = vmap(value_and_grad(lambda x: (x.tanh() * x).sum()))(xs)
    finally:
        tg.set_num_threads(2)
    _close(v1, v2, False)
    _close(g1, g2, False)


# -- torch's errors ------------------------------------------------------------------------------
@pytest.mark.parametrize("call, err, msg", [
    (lambda: vmap(lambda: 1)(), ValueError, r"vmap\(<lambda>\)\(<inputs>\): got no inputs"),
    (lambda: vmap(lambda x, y: x + y)(tg.ones(3), tg.ones(4)), ValueError,
     r"same size in the mapped dimension, got sizes \[3, 4\]"),
    (lambda: vmap(lambda x: x, in_dims=[0])(tg.ones(3)), ValueError,
     r"expected `in_dims` to be int or a \(potentially nested\) tuple"),
    (lambda: vmap(lambda x, y: x, in_dims=(0,))(tg.ones(3), tg.ones(3)), ValueError,
     r"in_dims is not compatible with the structure of `inputs`"),
    (lambda: vmap(lambda x: x, in_dims=(1.5,))(tg.ones(3)), ValueError,
     r"Got in_dim=1.5 for an input but in_dim must be either an integer dimension or None"),
    (lambda: vmap(lambda x, y: x, in_dims=(0, 0))(tg.ones(3), 2.0), ValueError,
     r"the input is of type <class 'float'>. We cannot vmap over non-Tensor arguments"),
    (lambda: vmap(lambda x: x, in_dims=(1,))(tg.ones(3)), ValueError,
     r"Tensor of dimensionality 1 so expected in_dim to satisfy -1 <= in_dim < 1"),
    (lambda: vmap(lambda x: x, in_dims=(None,))(tg.ones(3)), ValueError,
     r"vmap: Expected at least one Tensor to vmap over"),
    (lambda: vmap(lambda x: x, randomness="foo"), RuntimeError,
     r"Only allowed values for randomness are 'error', 'different', or 'same'. Got foo"),
    (lambda: vmap(lambda x: x, out_dims=1)(tg.ones(3)), IndexError,
     r"Dimension out of range \(expected to be in range of \[-1, 0\], but got 1\)"),
    (lambda: vmap(lambda x: 1.0)(tg.ones(3)), ValueError,
     r"must only return Tensors, got type <class 'float'>"),
    (lambda: vmap(grad(lambda x: x * 2))(tg.ones(3, 2)), RuntimeError,
     r"Expected f\(\*args\) to return a scalar Tensor, got tensor with 1 dims"),
    (lambda: vmap(lambda x: x, out_dims=None)(tg.ones(3)), ValueError,
     r"can not return a BatchedTensor when out_dim is None"),
    (lambda: vmap(lambda x: x, chunk_size=0), ValueError,
     r"chunk_size should be None or greater than 0. \(got 0\)"),
])
@pytest.mark.filterwarnings("ignore::tapegrad._vmap.VmapWarning")
def test_torchs_errors(call, err, msg):
    with pytest.raises(err, match=msg):
        call()


def test_an_ensemble_with_stack_module_state_equals_its_models():
    from tapegrad.func import functional_call, stack_module_state
    models = [tg.nn.Linear(3, 2).double() for _ in range(4)]
    x = tg.randn(5, 3, dtype=tg.float64)
    params, buffers = stack_module_state(models)
    assert params["weight"].shape == (4, 2, 3) and params["weight"].requires_grad
    with tg.no_grad():
        got = vmap(lambda p, b, v: functional_call(models[0], (p, b), (v,)),
                   in_dims=(0, 0, None))(params, buffers, x)
    _close(got, tg.stack([m(x) for m in models]), False)
    with pytest.raises(RuntimeError, match="Expected at least one model, got 0"):
        stack_module_state([])


def test_vmap_of_jacrev_is_batched_row_by_row():
    f = lambda x, w: (x[:, None] * w).tanh().sum(0)  # noqa: E731  (R^3 x R^(3x2) -> R^2)
    xs = tg.randn(6, 3, dtype=tg.float64)
    w = tg.randn(3, 2, dtype=tg.float64)
    v = vmap(jacrev(f, argnums=(0, 1)), in_dims=(0, None))
    with warnings.catch_warnings():
        warnings.simplefilter("error", VmapWarning)
        jx, jw = v(xs, w)
    assert jx.shape == (6, 2, 3) and jw.shape == (6, 2, 3, 2)
    for b in range(6):
        ex, ew = jacrev(f, argnums=(0, 1))(xs[b], w)
        _close(jx[b], ex, False)
        _close(jw[b], ew, False)
    assert v.stats()["loop_lanes"] == 0


def test_vjp_and_jvp_inside_vmap_replay_batched():
    from tapegrad.func import jvp, vjp
    f = lambda x: x.sin() * x  # noqa: E731
    xs, vs = tg.randn(4, 3, dtype=tg.float64), tg.randn(4, 3, dtype=tg.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("error", VmapWarning)
        a = vmap(lambda x, v: vjp(f, x)[1](v)[0])(xs, vs)
        b = vmap(lambda x, v: jvp(f, (x,), (v,))[1])(xs, vs)
    _close(a, tg.stack([vjp(f, x)[1](v)[0] for x, v in zip(xs, vs)]), False)
    _close(b, (xs.cos() * xs + xs.sin()) * vs, False)


def test_a_batch_of_zero_lanes_gives_empty_outputs_as_torch():
    assert vmap(lambda x: x * 2)(tg.ones(0, 3)).shape == (0, 3)
    assert vmap(grad(lambda x: (x ** 2).sum()))(tg.ones(0, 3)).shape == (0, 3)


# -- a batched result that carries a graph -------------------------------------------------------
def test_backward_through_a_batched_result_reaches_captures_and_batched_inputs():
    w = tg.randn(3, requires_grad=True, dtype=tg.float64)
    x = tg.randn(3, 5, dtype=tg.float64, requires_grad=True)
    v = vmap(lambda a: ((a * w).tanh().sum(), a.sin() * w), in_dims=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", VmapWarning)
        s, m = v(x)
    assert type(s.grad_fn).__name__ == "BatchedReplayBackward"
    assert v.stats()["batched_lanes"] == 5 and v.stats()["loop_lanes"] == 0
    (s.pow(2).sum() + (m * 0.5).sum()).backward()
    w2, x2 = w.detach().requires_grad_(True), x.detach().requires_grad_(True)
    s2 = tg.stack([(x2[:, k] * w2).tanh().sum() for k in range(5)])
    m2 = tg.stack([x2[:, k].sin() * w2 for k in range(5)])
    (s2.pow(2).sum() + (m2 * 0.5).sum()).backward()
    _close(w.grad, w2.grad, False)
    _close(x.grad, x2.grad, False)


def test_a_graph_through_branchy_lanes_and_second_order():
    w = tg.randn(2, requires_grad=True, dtype=tg.float64)
    xs = tg.tensor([[1., 2.], [-3., 1.], [0.5, -4.]], dtype=tg.float64)

    def f(x):
        return (x * w).sum() ** 2 if x.sum() > 0 else (x * w).exp().sum()
    out = vmap(f)(xs).sum()
    g, = tg.autograd.grad(out, w, create_graph=True)
    h, = tg.autograd.grad(g.sum(), w)
    w2 = w.detach().requires_grad_(True)
    out2 = sum((x * w2).sum() ** 2 if x.sum() > 0 else (x * w2).exp().sum() for x in xs)
    g2, = tg.autograd.grad(out2, w2, create_graph=True)
    h2, = tg.autograd.grad(g2.sum(), w2)
    _close(out, out2, False)
    _close(g, g2, False)
    _close(h, h2, False)


def test_backward_through_a_batched_dropout_uses_the_forwards_masks():
    w = tg.ones(50, requires_grad=True, dtype=tg.float64)
    xs = tg.ones(4, 50, dtype=tg.float64)
    out = vmap(lambda x: tg.nn.functional.dropout(x * w, 0.5), randomness="different")(xs)
    out.sum().backward()
    kept = (out != 0).to(tg.float64).sum(0) * 2.0   # each kept element: d/dw = 1 / (1 - p)
    _close(w.grad, kept, False)


def test_lane_adjoints_start_uninitialised_and_are_zeroed_before_their_first_writer(
        monkeypatch):
    """Frames' adjoint buffers are not zeroed up front: each slot's lanes are zeroed before
    its first writer (lanes form and lane-by-lane entries, a repeated input, a shared weight
    whose per-lane gradients accumulate). Poisoned with NaN, the gradients are the eager ones."""
    from tapegrad.engine import lanes
    init = lanes.LaneFrame.__init__

    def poisoned(self, p, L):
        init(self, p, L)
        for a in self.adj:
            a.fill(np.nan)
    monkeypatch.setattr(lanes.LaneFrame, "__init__", poisoned)
    rng = np.random.default_rng(7)
    w = tg.tensor(rng.normal(size=(3, 4)), dtype=tg.float64)
    xs = tg.tensor(rng.normal(size=(5, 4)), dtype=tg.float64)

    def f(w, x):
        h = (w @ x).tanh()                     # (a matmul runs lane by lane)
        return (h * h).sum() + tg.softmax(h, 0)[1] + (x * x.exp()).sum()
    got_w, got_x = vmap(grad(f, argnums=(0, 1)), in_dims=(None, 0))(w, xs)
    for i in range(5):
        ww, xx = w.detach().requires_grad_(), xs[i].detach().requires_grad_()
        gw, gx = tg.autograd.grad(f(ww, xx), [ww, xx])
        np.testing.assert_allclose(got_w[i].numpy(), gw.numpy(), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(got_x[i].numpy(), gx.numpy(), rtol=1e-12, atol=1e-14)
