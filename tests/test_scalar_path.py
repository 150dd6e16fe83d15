"""The scalar fast path (`tapegrad/_scalar.py`): 0-d float64 (and float32) non-leaves computed
with Python floats, their values kept in the record floats, compact records.

Each op with a ``scalar=`` forward: the fast path is really taken, its value equals the numpy
forward's, and its gradient matches central finite differences (which run under ``no_grad``,
i.e. through the numpy path). Random scalar programs give the same values and gradients on the
fast path (0-d) as on the general path (shape (1,)). Then the places where a fast scalar must
behave as any tensor: printing, queries, in-place ops, hooks, merging tapes, create_graph."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tapegrad as tg
from tapegrad._opdef import OPS
from tapegrad.tensor import Tensor, _Scalar, _Scalar32, _Vec, _Vec32
from tapegrad.testing import gradcheck, gradgradcheck, strategies

F = tg.nn.functional
SCALAR_OPS = sorted(name for name, op in OPS.items() if op.scalar is not None)


def leaf(v: float) -> Tensor:
    return tg.tensor(v, dtype=tg.float64, requires_grad=True)


def fast(x: Tensor) -> Tensor:
    """A fast scalar standing for `x` (a recorded copy); under no_grad a plain tensor."""
    return x + 0.0


def _call(name: str, *xs):
    """The op `name` on `xs` the way a user calls it (the operators for arithmetic)."""
    op = OPS[name]
    if op.kind == "binary":
        a, b = xs
        return {"add": lambda: a + b, "sub": lambda: a - b, "mul": lambda: a * b,
                "div": lambda: a / b, "pow": lambda: a ** b}[name]()
    (x,) = xs
    if op.takes_params:
        p0 = op.extra["params"][0]
        return {"add_scalar": lambda: x + p0, "sub_scalar": lambda: x - p0,
                "rsub_scalar": lambda: p0 - x, "mul_scalar": lambda: x * p0,
                "div_scalar": lambda: x / p0, "pow_scalar": lambda: x ** p0,
                "rpow_scalar": lambda: p0 ** x,
                "softplus": lambda: F.softplus(x, p0, op.extra["params"][1])}[name]()
    if name == "neg":
        return -x
    return getattr(tg, name)(x)


def test_every_scalar_op_is_covered_by_the_calls_here():
    assert len(SCALAR_OPS) >= 30
    for name in SCALAR_OPS:
        xs = [fast(leaf(1.3)) for _ in OPS[name].domain]
        assert type(_call(name, *xs)) is _Scalar, name
        # the general path would also give a _Scalar, but reads its inputs' numpy data first
        assert all(type(x) is _Scalar for x in xs), f"{name} left the fast path"
        if OPS[name].kind == "unary" and not OPS[name].takes_params and name != "neg":
            x = fast(leaf(1.3))
            assert type(getattr(x, name)()) is _Scalar and type(x) is _Scalar, f"x.{name}()"
    x = fast(leaf(1.3))
    assert type(x.neg()) is _Scalar and type(x) is _Scalar


@pytest.mark.parametrize("name", SCALAR_OPS)
@given(data=st.data())
def test_scalar_op_value_and_gradient(name, data):
    op = OPS[name]
    vals = [data.draw(strategies.elements(d)) for d in op.domain]
    xs = [leaf(v) for v in vals]
    ins = [fast(x) for x in xs]
    out = _call(name, *ins)
    assert type(out) is _Scalar and all(type(t) is _Scalar for t in ins)  # the fast path
    with tg.no_grad():  # the numpy path
        want = _call(name, *[tg.tensor([v], dtype=tg.float64) for v in vals])
    np.testing.assert_allclose(out.item(), want.item(), rtol=1e-13, atol=1e-300)
    assert gradcheck(lambda *ins: _call(name, *[fast(t) for t in ins]), xs, atol=1e-6)


@pytest.mark.parametrize("expr, want", [
    (lambda x: tg.exp(x * 2000.0), math.inf),
    (lambda x: x / 0.0, math.inf),
    (lambda x: 1.0 / (x - 0.5), math.inf),
    (lambda x: tg.log(x - 1.0), math.nan),
    (lambda x: (x - 1.0) ** 0.5, math.nan),
    (lambda x: tg.sqrt(-x), math.nan),
    (lambda x: F.softplus(x * 2000.0, 1.0, 1e9), 1000.0),  # math.exp overflows, numpy's not
])
def test_float_errors_give_numpys_answer(expr, want):
    """Python raises where numpy answers inf/nan: the general path takes over, no exception."""
    x = leaf(0.5)
    with np.errstate(all="ignore"):
        y = expr(fast(x))
        y.backward()
    v = y.item()
    assert (math.isnan(v) and math.isnan(want)) or v == want
    assert x.grad is not None


OPS_OF_PROGRAMS = ("add", "sub", "mul", "div", "number", "exp", "tanh", "softplus", "sigmoid",
                   "softmax", "log_softmax", "leaf")


def _run(program, leaves, shape, dtype=tg.float64):
    """Run `program` on `leaves` given as tensors of `shape` (() -> fast path, (1,) -> numpy)."""
    xs = [tg.tensor(np.full(shape, v), dtype=dtype, requires_grad=True) for v in leaves]
    nodes = [x * 1.0 for x in xs]
    for kind, i, j, k, c in program:
        a, b = nodes[i % len(nodes)], nodes[j % len(nodes)]
        if kind in ("add", "sub", "mul"):
            nodes.append({"add": a + b, "sub": a - b, "mul": a * b}[kind])
        elif kind == "div":
            nodes.append(a / (1.5 + b * b))
        elif kind == "number":
            nodes.append(c - a * c if k % 2 else c / (2.0 + a * a))
        elif kind in ("exp", "tanh", "sigmoid"):
            nodes.append(getattr(tg, kind)(a * 0.5))
        elif kind == "softplus":
            nodes.append(F.softplus(a, beta=1.0 + k % 3))
        elif kind == "leaf":
            nodes.append(a * xs[k % len(xs)] + xs[j % len(xs)])
        else:
            picks = [nodes[(i + 7 * m) % len(nodes)] for m in range(2 + k % 3)] + [xs[0]]
            stacked = tg.stack(picks)  # (n,) or (n, 1)
            assert isinstance(stacked, _Vec) == (shape == ())
            nodes.extend(getattr(tg, kind)(stacked, dim=0).unbind())
    out = sum(nodes[-3:])
    out.sum().backward()
    return out.item(), [None if x.grad is None else x.grad.item() for x in xs]


_PROGRAMS = (st.lists(st.floats(-1.5, 1.5), min_size=1, max_size=4),
             st.lists(st.tuples(st.sampled_from(OPS_OF_PROGRAMS), st.integers(0, 50),
                                st.integers(0, 50), st.integers(0, 5), st.floats(-2, 2)),
                      min_size=1, max_size=25))


@given(*_PROGRAMS)
def test_programs_agree_with_the_general_path(leaves, program):
    _agree(leaves, program, tg.float64, (1e-12, 1e-12), (1e-10, 1e-12))


def _agree(leaves, program, dtype, value_tol, grad_tol):
    v0, g0 = _run(program, leaves, (), dtype)
    v1, g1 = _run(program, leaves, (1,), dtype)
    np.testing.assert_allclose(v0, v1, *value_tol)
    assert [g is None for g in g0] == [g is None for g in g1]
    np.testing.assert_allclose([g or 0.0 for g in g0], [g or 0.0 for g in g1], *grad_tol)


def test_a_fast_scalar_is_a_tensor_to_the_user():
    x = leaf(0.5)
    y = x * 3.0
    assert type(y) is _Scalar and isinstance(y, Tensor)
    assert type(y).__name__ == "Tensor"
    assert (y.shape, y.ndim, y.dtype, y.item(), float(y), f"{y:.2f}", y.requires_grad,
            y.is_leaf) == (tg.Size([]), 0, tg.float64, 1.5, 1.5, "1.50", True, False)
    assert type(y.grad_fn).__name__ == "MulBackward0"
    assert (y.dim(), y.numel(), y.size(), int(y), bool(y)) == (0, 1, tg.Size([]), 1, True)
    assert type(y) is _Scalar  # none of these needed a numpy array
    with pytest.raises(IndexError, match="Dimension specified as 0 but tensor has no dimensions"):
        y.size(0)
    assert repr(y) == "tensor(1.5000, dtype=tapegrad.float64, grad_fn=<MulBackward0>)"
    assert type(y) is Tensor  # printing needed its numpy data: now a plain tensor
    z = y * 2.0  # ... which still records (and gives a fast scalar again)
    assert type(z) is _Scalar
    z.backward()
    assert x.grad.item() == 6.0
    with pytest.raises(RuntimeError, match="Can't call numpy\\(\\) on Tensor that requires grad"):
        (x * 2.0).numpy()
    v = tg.stack([x * 1.0, x * 2.0])
    assert type(v) is _Vec and v.shape == tg.Size([2]) and len(v) == 2
    assert [t.item() for t in v] == [0.5, 1.0]
    assert v.tolist() == [0.5, 1.0]
    assert repr(v) == ("tensor([0.5000, 1.0000], dtype=tapegrad.float64, "
                       "grad_fn=<StackBackward0>)")


def test_no_grad_gives_plain_leaves():
    y = leaf(0.5) * 2.0
    with tg.no_grad():
        z = y * 3.0 + 1.0
    assert type(z) is Tensor and z.is_leaf and not z.requires_grad and z.item() == 4.0


def test_in_place_change_of_a_saved_fast_scalar_is_reported():
    x = leaf(0.5)
    y = x * 2.0
    z = y * y  # saves y's value
    with tg.no_grad():
        y.add_(1.0)
    assert y.item() == 2.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.backward()


def test_in_place_op_in_grad_mode_rebinds_a_fast_scalar():
    x = leaf(0.5)
    y = x * 2.0
    y.mul_(3.0)
    y += 1.0
    assert y.item() == 4.0 and type(y.grad_fn).__name__ == "AddBackward0"
    y.backward()
    assert x.grad.item() == 6.0


def test_hooks_retain_grad_and_detach_on_fast_scalars():
    x = leaf(0.5)
    y = x * 2.0
    y.retain_grad()
    seen = []
    y.register_hook(lambda g: seen.append(g.item()) or g * 10)
    (y * y).backward()
    assert seen == [2.0] and y.grad.item() == 20.0 and x.grad.item() == 40.0  # as torch
    d = (x * 2.0).detach()
    assert d.is_leaf and not d.requires_grad and d.item() == 1.0
    w = x * 2.0
    w.detach_()
    assert w.is_leaf and w.item() == 1.0


def test_fast_scalars_of_two_computations_merge():
    a, b = leaf(0.5), leaf(-1.5)
    ya = tg.exp(a * 1.0)  # one tape
    yb = tg.tanh(b * 1.0)  # another
    z = ya * yb + ya
    parts = tg.softmax(tg.stack([ya, yb, z]), 0).unbind()
    out = parts[0] * 3.0 + parts[2]
    assert type(out) is _Scalar
    out.backward()
    ea, tb = math.exp(0.5), math.tanh(-1.5)
    zz = ea * tb + ea
    s = [math.exp(v) for v in (ea, tb, zz)]
    p = [v / sum(s) for v in s]
    # d out / d (ya, yb, z) through the softmax, then chain rule by hand
    w = [3.0, 0.0, 1.0]
    dl = [p[i] * (w[i] - sum(w[k] * p[k] for k in range(3))) for i in range(3)]
    d_ya, d_yb = dl[0] + dl[2] * (tb + 1.0), dl[1] + dl[2] * ea
    np.testing.assert_allclose(a.grad.item(), d_ya * ea, rtol=1e-12)
    np.testing.assert_allclose(b.grad.item(), d_yb * (1.0 - tb * tb), rtol=1e-12)


def test_create_graph_through_fast_scalars():
    x = leaf(0.7)

    def f(t):
        s = fast(t)
        parts = tg.softmax(tg.stack([s, s * s, F.softplus(s)]), 0).unbind()
        return parts[1] * tg.exp(s) + s ** 3.0

    assert gradgradcheck(f, [x])
    (g,) = tg.autograd.grad(f(x), x, create_graph=True)
    assert g.requires_grad


def test_the_benchmark_graph_matches_the_numba_reference():
    from benchmarks.random_graph import flat_tape, tapegrad_step
    from benchmarks.reference import scalar_graph
    got = tapegrad_step(300, seed=3)()
    want = scalar_graph(*flat_tape(300, seed=3))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def test_anomaly_mode_names_the_line_of_a_scalar_op():
    x = leaf(0.5)
    with tg.autograd.detect_anomaly():
        y = fast(x)
        z = tg.sqrt(y - 0.5) * 0.0  # sqrt'(0) is inf, times 0: nan  # the line named
        with pytest.raises(RuntimeError, match="the line named"):
            z.backward()
    assert type(fast(x)) is _Scalar  # the fast path is back after anomaly mode


# -- float32 (torch's default dtype): the same path, every result rounded to float32 ------------
def leaf32(v: float) -> Tensor:
    return tg.tensor(v, requires_grad=True)


def test_every_scalar_op_stays_on_the_float32_fast_path():
    for name in SCALAR_OPS:
        xs = [leaf32(1.3) * 1.0 for _ in OPS[name].domain]
        assert all(type(x) is _Scalar32 for x in xs)
        out = _call(name, *xs)
        assert type(out) is _Scalar32 and out.dtype is tg.float32, name
        assert all(type(x) is _Scalar32 for x in xs), f"{name} left the fast path"


@pytest.mark.parametrize("name", SCALAR_OPS)
@given(data=st.data())
def test_float32_scalar_op_value_and_gradient(name, data):
    """The value is numpy's float32 (bit for bit for arithmetic: a float64 result rounded once;
    within an ulp for libm's functions); the float32 gradient matches the float64 one to float32
    precision, as torch's gradcheck tolerances for float32."""
    op = OPS[name]
    vals = [float(np.float32(data.draw(strategies.elements(d)))) for d in op.domain]
    xs = [leaf32(v) for v in vals]
    out = _call(name, *[x * 1.0 for x in xs])
    assert type(out) is _Scalar32
    with tg.no_grad():  # the numpy path, in float32
        want = _call(name, *[tg.tensor([v]) for v in vals]).item()
    if name in ("add", "sub", "mul", "div", "neg", "add_scalar", "sub_scalar", "rsub_scalar",
                "mul_scalar", "div_scalar", "sqrt", "abs", "relu", "clamp"):
        assert out.item() == want, (out.item(), want)
    else:
        np.testing.assert_allclose(out.item(), want, rtol=2.4e-7, atol=1e-37)
    out.backward()
    xs64 = [leaf(v) for v in vals]
    _call(name, *[x * 1.0 for x in xs64]).backward()
    for x, x64 in zip(xs, xs64):
        assert x.grad.dtype is tg.float32
        np.testing.assert_allclose(x.grad.item(), x64.grad.item(), rtol=1e-5, atol=1e-6)


@given(*_PROGRAMS)
def test_float32_programs_agree_with_the_general_path(leaves, program):
    _agree(leaves, program, tg.float32, (1e-5, 1e-6), (1e-4, 1e-5))


def test_a_float32_fast_scalar_is_a_float32_tensor_to_the_user():
    x = leaf32(0.1)
    y = x * 3.0
    assert type(y) is _Scalar32 and y.dtype is tg.float32
    assert y.item() == float(np.float32(0.1) * np.float32(3.0))  # float32 arithmetic
    assert repr(y) == "tensor(0.3000, grad_fn=<MulBackward0>)"
    assert type(y) is Tensor and y._data.dtype == np.float32  # printing made its array
    v = tg.stack([x * 1.0, x * 2.0, x * 3.0])
    assert type(v) is _Vec32 and v.dtype is tg.float32
    parts = tg.softmax(v, dim=0).unbind()
    assert all(type(p) is _Scalar32 for p in parts)
    (parts[0] * 2.0 + parts[2]).backward()
    assert x.grad.dtype is tg.float32


def test_float32_scalar_graph_has_no_float64_adjoints():
    from tapegrad.engine.tape import resolve
    x = leaf32(0.5)
    y = tg.softmax(tg.stack([x * 2.0, x.exp(), F.softplus(x)]), 0).unbind()[1] * x
    tape = resolve(y)
    _, _, _, (n64, n32) = tape.decode()
    assert n64 == 0 and n32 > 0


def test_float32_overflow_takes_numpys_answer():
    x = leaf32(0.5)
    y = (x * 1e30) * 1e10  # beyond float32: numpy's inf, not an exception
    assert math.isinf(y.item())
    z = x.exp() * 3e38
    assert math.isinf(z.item())
    (y + z).backward()
    assert x.grad is not None


def test_mixed_float32_and_float64_scalars_promote_as_torch():
    a, b = leaf32(0.5), leaf(0.25)
    c = a * 2.0 + b * 1.0
    assert c.dtype is tg.float64
    c.backward()
    assert a.grad.dtype is tg.float32 and a.grad.item() == 2.0 and b.grad.item() == 1.0
