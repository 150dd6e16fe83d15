"""Forward values of the foundation ops against independent references: Python's `math` applied
element by element, and reductions / products written as explicit loops (not the numpy calls
the ops themselves use), over random shapes, broadcasting and dims."""
import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tapegrad as tg

FLOATS = st.floats(-5, 5, allow_nan=False)


def arrays(shape_st=hnp.array_shapes(min_dims=0, max_dims=3, max_side=4), elements=FLOATS):
    return hnp.arrays(np.float64, shape_st, elements=elements)


def elementwise(fn, *arrs):
    """Apply a scalar function element by element after broadcasting."""
    b = np.broadcast_arrays(*arrs)
    return np.array([fn(*vals) for vals in zip(*(a.reshape(-1) for a in b))]).reshape(b[0].shape)


UNARY = {
    "exp": math.exp, "sin": math.sin, "cos": math.cos, "tanh": math.tanh,
    "sigmoid": lambda v: 1 / (1 + math.exp(-v)), "relu": lambda v: max(v, 0.0),
    "abs": lambda v: -v if v < 0 else v, "neg": lambda v: -v,
}
POSITIVE_UNARY = {"log": math.log, "sqrt": math.sqrt, "reciprocal": lambda v: 1 / v}


@pytest.mark.parametrize("name", sorted(UNARY))
@given(a=arrays())
def test_unary_forward(name, a):
    out = getattr(tg, name)(tg.tensor(a)).numpy()
    np.testing.assert_allclose(out, elementwise(UNARY[name], a), rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("name", sorted(POSITIVE_UNARY))
@given(a=arrays(elements=st.floats(0.01, 5)))
def test_positive_unary_forward(name, a):
    out = getattr(tg, name)(tg.tensor(a)).numpy()
    np.testing.assert_allclose(out, elementwise(POSITIVE_UNARY[name], a), rtol=1e-12)


BINARY = {"add": lambda u, v: u + v, "sub": lambda u, v: u - v, "mul": lambda u, v: u * v,
          "div": lambda u, v: u / v, "pow": lambda u, v: u ** v}


@pytest.mark.parametrize("name", sorted(BINARY))
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3),
       data=st.data())
def test_binary_forward_with_broadcasting(name, shapes, data):
    lo = 0.1 if name == "pow" else -5
    a = data.draw(arrays(st.just(shapes.input_shapes[0]), st.floats(lo, 5)))
    b = data.draw(arrays(st.just(shapes.input_shapes[1]),
                         st.floats(0.1, 3) if name in ("div", "pow") else FLOATS))
    out = getattr(tg, name)(tg.tensor(a), tg.tensor(b)).numpy()
    assert out.shape == shapes.result_shape
    np.testing.assert_allclose(out, elementwise(BINARY[name], a, b), rtol=1e-12)


@given(a=arrays(), c=st.floats(-3, 3).filter(lambda v: abs(v) > 0.1))
def test_scalar_operands(a, c):
    x = tg.tensor(a)
    for got, fn in [(x + c, lambda v: v + c), (c + x, lambda v: c + v), (x - c, lambda v: v - c),
                    (c - x, lambda v: c - v), (x * c, lambda v: v * c), (x / c, lambda v: v / c),
                    (x.clamp(-1, 1), lambda v: min(max(v, -1), 1))]:
        np.testing.assert_allclose(got.numpy(), elementwise(fn, a), rtol=1e-12)


def loop_reduce(a, axes, keepdim, mean):
    """Sum (or mean) over `axes` with explicit loops over index tuples."""
    axes = sorted(set(d % a.ndim for d in axes)) if a.ndim else []
    kept = [d for d in range(a.ndim) if d not in axes]
    out_shape = tuple(a.shape[d] for d in kept)
    out = np.zeros(out_shape)
    count = math.prod(a.shape[d] for d in axes)
    for idx in itertools.product(*(range(n) for n in a.shape)):
        out[tuple(idx[d] for d in kept)] += a[idx]
    if mean:
        out = out / count
    if keepdim:
        out = out.reshape(tuple(1 if d in axes else n for d, n in enumerate(a.shape)))
    return out


@given(a=arrays(hnp.array_shapes(min_dims=1, max_dims=3, max_side=3)), data=st.data(),
       keepdim=st.booleans(), mean=st.booleans())
def test_sum_and_mean_over_dims(a, data, keepdim, mean):
    axes = data.draw(hnp.valid_tuple_axes(a.ndim, min_size=1))
    axes = tuple(d % a.ndim - (a.ndim if data.draw(st.booleans()) else 0) for d in axes)
    fn = tg.mean if mean else tg.sum
    got = fn(tg.tensor(a), dim=axes, keepdim=keepdim).numpy()
    np.testing.assert_allclose(got, loop_reduce(a, axes, keepdim, mean), rtol=1e-12, atol=1e-12)
    whole = fn(tg.tensor(a)).item()
    assert whole == pytest.approx(loop_reduce(a, range(a.ndim), False, mean).item(), rel=1e-12)


@given(data=st.data())
def test_matmul_against_loops(data):
    m, k, n = (data.draw(st.integers(1, 3)) for _ in range(3))
    a = data.draw(arrays(st.just((m, k))))
    b = data.draw(arrays(st.just((k, n))))
    want = np.array([[math.fsum(a[i, p] * b[p, j] for p in range(k)) for j in range(n)]
                     for i in range(m)])
    np.testing.assert_allclose((tg.tensor(a) @ tg.tensor(b)).numpy(), want, rtol=1e-12,
                               atol=1e-12)


@given(a=arrays(hnp.array_shapes(min_dims=1, max_dims=3, max_side=3)), data=st.data())
def test_permute_transpose_reshape(a, data):
    perm = tuple(data.draw(st.permutations(range(a.ndim))))
    got = tg.tensor(a).permute(perm).numpy()
    for idx in itertools.product(*(range(n) for n in got.shape)):
        src = [0] * a.ndim
        for out_d, in_d in enumerate(perm):
            src[in_d] = idx[out_d]
        assert got[idx] == a[tuple(src)]
    flat = [a[idx] for idx in itertools.product(*(range(n) for n in a.shape))]
    assert tg.tensor(a).reshape(-1).tolist() == flat
