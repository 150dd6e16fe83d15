"""The elementwise ops of issue #3: forwards against numpy / math, torch's grad_fn names,
dtypes and error messages, gradients at extreme inputs, ties and kinks (values typed in from what
torch 2.13 printed). Gradients at ordinary points are covered by tests/test_gradients.py."""
import math
import warnings
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tapegrad as tg

SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, max_side=4)


def arrays(lo, hi, shape=SHAPES, dtype=np.float64):
    return hnp.arrays(dtype, shape, elements=st.floats(lo, hi))


def leaf(values, dtype=tg.float64):
    return tg.tensor(values, dtype=dtype, requires_grad=True)


def grads(fn, *inputs):
    fn(*inputs).sum().backward()
    return [x.grad.tolist() if x.grad is not None else None for x in inputs]


def raises(exc, msg):
    return pytest.raises(exc, match="^" + re.escape(msg))


# ------------------------------------------------------------------------------------------------
# one input
# ------------------------------------------------------------------------------------------------
UNARY = {  # name: (numpy reference, (lo, hi) of the inputs)
    "log1p": (np.log1p, (-0.99, 1e4)), "expm1": (np.expm1, (-50, 50)),
    "log2": (np.log2, (1e-6, 1e4)), "log10": (np.log10, (1e-6, 1e4)),
    "rsqrt": (lambda x: 1 / np.sqrt(x), (1e-6, 1e4)), "square": (lambda x: x * x, (-1e4, 1e4)),
    "tan": (np.tan, (-1.5, 1.5)), "asin": (np.arcsin, (-1, 1)), "acos": (np.arccos, (-1, 1)),
    "atan": (np.arctan, (-1e4, 1e4)), "sinh": (np.sinh, (-50, 50)), "cosh": (np.cosh, (-50, 50)),
    "asinh": (np.arcsinh, (-1e4, 1e4)), "acosh": (np.arccosh, (1, 1e4)),
    "atanh": (np.arctanh, (-0.999, 0.999)), "erf": (np.vectorize(math.erf), (-6, 6)),
    "floor": (np.floor, (-10, 10)), "ceil": (np.ceil, (-10, 10)), "trunc": (np.trunc, (-10, 10)),
    "round": (np.rint, (-10, 10)),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@given(data=st.data())
def test_unary_forward_matches_numpy(name, data):
    ref, (lo, hi) = UNARY[name]
    x = data.draw(arrays(lo, hi))
    out = getattr(tg, name)(tg.tensor(x, dtype=tg.float64))
    assert out.dtype == tg.float64 and out.shape == x.shape
    np.testing.assert_allclose(out.numpy(), ref(x), rtol=1e-12, atol=0)
    method = getattr(tg.tensor(x.astype(np.float32)), name)()  # the Tensor method, float32
    assert method.dtype == tg.float32
    np.testing.assert_allclose(method.numpy(), ref(x.astype(np.float32)), rtol=2e-6, atol=1e-30)


def test_erf_matches_math_erf_closely():
    x = np.concatenate([np.linspace(-6, 6, 2001), [-1e4, -1e-300, 0.0, 1e-300, 1e4]])
    want = np.array([math.erf(v) for v in x])
    got = tg.erf(tg.tensor(x, dtype=tg.float64)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-7, atol=0)


GRAD_FN = {"log1p": "Log1PBackward0", "expm1": "Expm1Backward0", "log2": "Log2Backward0",
           "log10": "Log10Backward0", "rsqrt": "RsqrtBackward0", "square": "PowBackward0",
           "tan": "TanBackward0", "asin": "AsinBackward0", "acos": "AcosBackward0",
           "atan": "AtanBackward0", "sinh": "SinhBackward0", "cosh": "CoshBackward0",
           "asinh": "AsinhBackward0", "acosh": "AcoshBackward0", "atanh": "AtanhBackward0",
           "erf": "ErfBackward0", "sign": "SignBackward0", "floor": "FloorBackward0",
           "ceil": "CeilBackward0", "round": "RoundBackward0", "trunc": "TruncBackward0"}


@pytest.mark.parametrize("name", sorted(GRAD_FN))
def test_unary_grad_fn_names(name):
    x = leaf([1.5, 2.5] if name == "acosh" else [0.5, 0.25])
    assert type(getattr(x, name)().grad_fn).__name__ == GRAD_FN[name]


def test_two_input_grad_fn_names():
    x, y, w = leaf([0.5, 2.0]), leaf([1.5, -1.0]), leaf([0.3, 0.6])
    c = tg.tensor([True, False])
    cases = {"MaximumBackward0": tg.maximum(x, y), "MinimumBackward0": x.minimum(y),
             "FmodBackward1": x.fmod(y), "FmodBackward0": x.fmod(2.5),
             "RemainderBackward1": x % y, "RemainderBackward0": x.remainder(2),
             "Atan2Backward0": x.atan2(y), "HypotBackward0": x.hypot(y),
             "LerpBackward0": x.lerp(y, 0.3), "LerpBackward1": tg.lerp(x, y, w),
             "WhereBackward0": tg.where(c, x, 0.0), "ClampBackward0": x.clamp(y, w),
             "RoundBackward1": x.round(decimals=2)}
    for name, out in cases.items():
        assert type(out.grad_fn).__name__ == name


@pytest.mark.parametrize("name", ["floor", "ceil", "round", "trunc", "sign"])
def test_piecewise_constant_ops_have_zero_gradient(name):
    x = leaf([-1.7, -0.2, 0.4, 2.6])
    assert grads(lambda x: getattr(x, name)() * 3, x) == [[0.0] * 4]


def test_extreme_inputs_give_torchs_values_and_gradients():
    big = leaf([1e4, -1e4])
    cases = [  # (fn, values, gradients), printed by torch 2.13
        (tg.erf, [1.0, -1.0], [0.0, 0.0]),
        (tg.asinh, [9.903487555036127, -9.903487555036127], [9.99999995e-05, 9.99999995e-05]),
        (tg.atan, [1.5706963267952299, -1.5706963267952299], [9.9999999e-09, 9.9999999e-09]),
        (tg.tan, [0.3209711346238147, -0.3209711346238147], [1.103022469261699] * 2),
    ]
    for fn, vals, gs in cases:
        big.grad = None
        out = fn(big)
        np.testing.assert_allclose(out.tolist(), vals, rtol=1e-9)
        np.testing.assert_allclose(grads(fn, big)[0], gs, rtol=1e-6)
    x = leaf([1e4])
    assert grads(tg.log1p, x)[0] == pytest.approx([9.999000099990002e-05], rel=1e-12)
    x = leaf([-1e4])
    out = tg.expm1(x)
    assert out.tolist() == [-1.0]
    assert grads(tg.expm1, x)[0] == [0.0]
    tiny = leaf([1e-10])  # log1p/expm1 keep full precision near 0
    assert tg.log1p(tiny).item() == pytest.approx(9.999999999500001e-11, rel=1e-15)
    assert tg.expm1(tiny).item() == pytest.approx(1.00000000005e-10, rel=1e-15)


def test_rounding_ops_on_integers_and_bools():
    big = 2 ** 60 + 1  # would lose its last digit through float64
    i = tg.tensor([-3, 0, 2, big])
    for name in ("floor", "ceil", "round", "trunc"):
        out = getattr(i, name)()
        assert out.dtype == tg.int64 and out.tolist() == [-3, 0, 2, big]
    assert tg.sign(i).tolist() == [-1, 0, 1, 1] and tg.sign(i).dtype == tg.int64
    b = tg.tensor([True, False])
    assert tg.sign(b).tolist() == [True, False] and tg.sign(b).dtype == tg.bool
    assert tg.square(b).tolist() == [1, 0] and tg.square(b).dtype == tg.int64
    assert tg.square(tg.tensor([-3, 4])).tolist() == [9, 16]
    assert tg.erf(b).dtype == tg.float32 and tg.log1p(i[1:3]).dtype == tg.float32
    with raises(NotImplementedError, "\"floor_vml_cpu\" not implemented for 'Bool'"):
        tg.floor(b)
    with raises(NotImplementedError, "\"round_vml_cpu\" not implemented for 'Bool'"):
        b.round()
    with raises(NotImplementedError, "\"round_cpu\" not implemented for 'Long'"):
        tg.round(i, decimals=1)


def test_sign_of_nan_and_signed_zero_is_zero():
    assert tg.sign(tg.tensor([float("nan"), -0.0, 0.0, -2.5])).tolist() == [0.0, 0.0, 0.0, -1.0]


def test_round_is_half_to_even_and_takes_decimals():
    assert tg.tensor([0.5, 1.5, 2.5, -0.5, 1.25]).round().tolist() == [0.0, 2.0, 2.0, -0.0, 1.0]
    out = tg.tensor([1.25, 2.5, -14.5], dtype=tg.float64).round(decimals=-1)
    assert out.tolist() == [0.0, 0.0, -10.0]
    out = tg.round(tg.tensor([0.125, 1.15, 1234.5678], dtype=tg.float64), decimals=2)
    np.testing.assert_allclose(out.tolist(), [0.12, 1.15, 1234.57])


# ------------------------------------------------------------------------------------------------
# two inputs
# ------------------------------------------------------------------------------------------------
BINARY = {"maximum": np.maximum, "minimum": np.minimum, "fmod": np.fmod,
          "remainder": np.remainder, "atan2": np.arctan2, "hypot": np.hypot}


@pytest.mark.parametrize("name", sorted(BINARY))
@given(data=st.data())
def test_binary_forward_matches_numpy_with_broadcasting(name, data):
    sa, sb = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3,
                                                        max_side=4)).input_shapes
    a = data.draw(arrays(-100, 100, sa))
    b = data.draw(arrays(-100, 100, sb).filter(lambda v: (np.abs(v) > 1e-3).all()))
    out = getattr(tg, name)(leaf(a), tg.tensor(b, dtype=tg.float64))
    assert out.shape == np.broadcast_shapes(sa, sb)
    np.testing.assert_allclose(out.detach().numpy(), BINARY[name](a, b), rtol=1e-12, atol=1e-300)


def test_binary_dtypes():
    f32, f64 = tg.tensor([1.5, -2.0]), tg.tensor([0.5, 3.0], dtype=tg.float64)
    i = tg.tensor([5, -7, 3])
    j = tg.tensor([2, 3, -2])
    for name in BINARY:
        fn = getattr(tg, name)
        assert fn(f32, f64).dtype == tg.float64
        assert fn(f32, tg.tensor(2.0, dtype=tg.float64)).dtype == tg.float32  # 0-d loses
    assert tg.maximum(i, j).tolist() == [5, 3, 3] and tg.maximum(i, j).dtype == tg.int64
    assert tg.minimum(i, j).tolist() == [2, -7, -2]
    assert tg.maximum(tg.tensor([1, 2]), tg.tensor([1.5, 0.0], dtype=tg.float64)).dtype == \
        tg.float64
    assert tg.fmod(i, j).tolist() == [1, -1, 1]
    assert tg.remainder(i, j).tolist() == [1, 2, -1]
    np.testing.assert_allclose(tg.fmod(i, 2.5).tolist(), [0.0, -2.0, 0.5])
    assert tg.fmod(i, 2.5).dtype == tg.float32 and tg.remainder(i, 2).dtype == tg.int64
    np.testing.assert_allclose(tg.atan2(i, j).tolist(), [1.1903, -1.1659, 2.1588], atol=1e-4)
    assert tg.atan2(i, j).dtype == tg.float32


def test_maximum_and_minimum_propagate_nan():
    a, b = tg.tensor([1.0, float("nan")]), tg.tensor([float("nan"), 0.0])
    assert all(math.isnan(v) for v in tg.maximum(a, b).tolist() + tg.minimum(a, b).tolist())


def test_maximum_splits_the_gradient_on_ties():
    a, b = leaf([1.0, 2.0]), leaf([1.0, 3.0])
    assert grads(tg.maximum, a, b) == [[0.5, 0.0], [0.5, 1.0]]
    a, b = leaf([1.0, 2.0]), leaf([1.0, 3.0])
    assert grads(tg.minimum, a, b) == [[0.5, 1.0], [0.5, 0.0]]


def test_modulo_semantics_and_gradients():
    assert tg.tensor([-7, 7]).fmod(3).tolist() == [-1, 1]
    assert tg.tensor([-7, 7]).remainder(3).tolist() == [2, 1]
    assert (tg.tensor([-7.0, 7.0]) % -2).tolist() == [-1.0, -1.0]
    assert (10 % tg.tensor([3, -4])).tolist() == [1, -2]
    assert tg.remainder(tg.tensor([5.0, -7.0]), -2).tolist() == [-1.0, -1.0]
    a = leaf([3.0, -1e4, 1e4])
    b = leaf([4.0, 1e4, -1e-4])
    ga, gb = grads(tg.fmod, a, b)  # torch: fmod's d/db is -trunc(a / b)
    assert ga == [1.0, 1.0, 1.0]
    np.testing.assert_allclose(gb, [0.0, 1.0, 1e8])
    a, b = leaf([3.0, -1e4, 1e4]), leaf([4.0, 1e4, -1e-4])
    ga, gb = grads(tg.remainder, a, b)
    np.testing.assert_allclose(gb, [0.0, 1.0, 1e8])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # torch is silent: nan is the answer
        assert all(math.isnan(v) for v in tg.fmod(tg.tensor([5.0, -7.0]), 0).tolist())


def test_atan2_and_hypot_at_extremes():
    a = leaf([3.0, -1e4, 1e4])
    b = leaf([4.0, 1e4, -1e-4])
    out = tg.hypot(a, b)
    np.testing.assert_allclose(out.tolist(), [5.0, 14142.13562373095, 1e4])
    ga, gb = grads(tg.hypot, a, b)
    np.testing.assert_allclose(ga, [0.6, -0.7071067811865476, 1.0])
    np.testing.assert_allclose(gb, [0.8, 0.7071067811865476, -1e-8])
    a, b = leaf([3.0, -1e4, 1e4]), leaf([4.0, 1e4, -1e-4])
    np.testing.assert_allclose(tg.atan2(a, b).tolist(),
                               [0.6435011087932844, -0.7853981633974483, 1.5707963267948966])
    ga, gb = grads(tg.atan2, a, b)
    np.testing.assert_allclose(ga, [0.16, 5e-05, -1e-12])
    np.testing.assert_allclose(gb, [-0.12, 5e-05, -1e-4])


def test_two_input_errors():
    x = tg.ones(2)
    for name in ("maximum", "minimum", "atan2", "hypot"):
        with raises(TypeError, f"{name}(): argument 'other' (position 2) must be Tensor, not int"):
            getattr(tg, name)(x, 2)
        with raises(TypeError,
                    f"{name}(): argument 'input' (position 1) must be Tensor, not float"):
            getattr(tg, name)(2.0, x)
    with raises(TypeError, "maximum(): argument 'other' (position 2) must be Tensor, not list"):
        tg.maximum(x, [1.0, 2.0])
    with raises(NotImplementedError, "\"hypot_cpu\" not implemented for 'Long'"):
        tg.hypot(tg.tensor([1, 2]), tg.tensor([3, 4]))
    with raises(NotImplementedError, "\"fmod_cpu\" not implemented for 'Bool'"):
        tg.fmod(tg.tensor([True]), tg.tensor([True]))
    with raises(NotImplementedError, "\"remainder_cpu\" not implemented for 'Bool'"):
        tg.remainder(tg.tensor([True]), tg.tensor([True]))
    with raises(RuntimeError, "ZeroDivisionError"):
        tg.remainder(tg.tensor([5, -7]), 0)
    with raises(RuntimeError, "ZeroDivisionError"):
        tg.fmod(tg.tensor([5, -7]), tg.tensor([1, 0]))
    with raises(TypeError, "fmod() received an invalid combination of arguments - got (Tensor, "
                           "str), but expected one of:\n * (Tensor input, Tensor other, *, "
                           "Tensor out = None)\n * (Tensor input, Number other, *, "
                           "Tensor out = None)\n"):
        tg.fmod(x, "a")
    with raises(RuntimeError, "The size of tensor a (2) must match the size of tensor b (3) at "
                              "non-singleton dimension 0"):
        tg.maximum(x, tg.ones(3))


# ------------------------------------------------------------------------------------------------
# lerp, where, clamp with tensor bounds
# ------------------------------------------------------------------------------------------------
@given(data=st.data())
def test_lerp_forward_and_gradients_with_broadcasting(data):
    shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3,
                                                        max_side=3)).input_shapes
    a, b, w = (data.draw(arrays(-10, 10, s)) for s in shapes)
    ta, tb, tw = leaf(a), leaf(b), leaf(w)
    out = tg.lerp(ta, tb, tw)
    np.testing.assert_allclose(out.detach().numpy(), a + w * (b - a), rtol=1e-12, atol=1e-12)
    out.sum().backward()
    shape = out.shape

    def unbroadcast(g, s):  # sum the gradient back onto an input's shape
        return np.broadcast_to(g, shape).sum(axis=tuple(range(len(shape) - len(s)))).sum(
            axis=tuple(d for d, n in enumerate(s) if n == 1), keepdims=True).reshape(s)
    np.testing.assert_allclose(ta.grad.numpy(), unbroadcast(1 - w, a.shape), atol=1e-12)
    np.testing.assert_allclose(tb.grad.numpy(), unbroadcast(w, b.shape), atol=1e-12)
    np.testing.assert_allclose(tw.grad.numpy(), unbroadcast(b - a, w.shape), atol=1e-12)
    c = data.draw(st.floats(-2, 2))
    ta.grad = tb.grad = None
    out = ta.lerp(tb, c)
    shape = out.shape  # without the weight's dims
    np.testing.assert_allclose(out.detach().numpy(), a + c * (b - a), rtol=1e-12, atol=1e-12)
    out.sum().backward()
    np.testing.assert_allclose(tb.grad.numpy(), unbroadcast(np.full(shape, c), b.shape),
                               atol=1e-12)


def test_lerp_is_exact_at_both_ends_and_checks_dtypes():
    a, b = tg.tensor([0.1, 1e8]), tg.tensor([0.7, -3.3])
    assert tg.lerp(a, b, 1.0).tolist() == b.tolist()
    assert tg.lerp(a, b, 0).tolist() == a.tolist()
    assert tg.tensor([1.0, 2.0]).lerp(tg.tensor([3.0, 4.0]), 0.25).tolist() == [1.5, 2.5]
    with raises(NotImplementedError, "\"lerp_kernel_scalar\" not implemented for 'Long'"):
        tg.lerp(tg.tensor([1, 2]), tg.tensor([3, 4]), 0.5)
    with raises(RuntimeError, "expected dtype float for `weight` but got dtype double"):
        tg.lerp(tg.ones(2), tg.ones(2), tg.tensor(0.3, dtype=tg.float64))
    with raises(RuntimeError, "expected dtype double for `end` but got dtype float"):
        tg.lerp(tg.ones(2, dtype=tg.float64), tg.ones(2), 2)
    with raises(RuntimeError, "expected dtype float for `weight` but got dtype long int"):
        tg.lerp(tg.ones(2), tg.ones(2), tg.tensor([1, 2]))
    with raises(TypeError, "lerp() received an invalid combination of arguments - got (Tensor, "
                           "float, Tensor), but expected one of:"):
        tg.lerp(tg.ones(2), 1.0, tg.ones(2))


@given(data=st.data())
def test_where_forward_and_gradients_with_broadcasting(data):
    sc, sx, sy = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3,
                                                            max_side=3)).input_shapes
    c = data.draw(hnp.arrays(np.bool_, sc))
    x, y = data.draw(arrays(-10, 10, sx)), data.draw(arrays(-10, 10, sy))
    tx, ty = leaf(x), leaf(y)
    out = tg.where(tg.tensor(c), tx, ty)
    np.testing.assert_array_equal(out.detach().numpy(), np.where(c, x, y))
    (out * 2).sum().backward()
    shape = out.shape
    for t, mask in ((tx, c), (ty, ~c)):
        g = np.broadcast_to(np.where(mask, 2.0, 0.0), shape)
        g = g.sum(axis=tuple(range(len(shape) - t.ndim)))
        g = g.sum(axis=tuple(d for d, n in enumerate(t.shape) if n == 1), keepdims=True)
        np.testing.assert_allclose(t.grad.numpy(), g.reshape(t.shape))


def test_where_dtypes_scalars_and_errors():
    c = tg.tensor([True, False])
    x = tg.tensor([1.5, 2.5], dtype=tg.float64, requires_grad=True)
    out = tg.where(c, x, 0)
    assert out.dtype == tg.float64 and out.tolist() == [1.5, 0.0]
    assert grads(lambda x: tg.where(c, x, 0), x) == [[1.0, 0.0]]
    x.grad = None
    assert grads(lambda x: x.where(tg.tensor([False, True]), -1.0), x) == [[0.0, 1.0]]
    assert tg.where(c, 1.0, 0).dtype == tg.float32
    assert tg.where(c, 1, 0).tolist() == [1, 0] and tg.where(c, 1, 0).dtype == tg.int64
    assert tg.where(c, tg.tensor([1, 2], dtype=tg.int32), 2.5).dtype == tg.float32
    assert tg.where(c, True, False).dtype == tg.bool
    assert tg.where(c, tg.ones(3, 1), tg.zeros(2)).shape == (3, 2)
    idx = tg.where(tg.tensor([[True, False], [True, True]]))
    assert [t.tolist() for t in idx] == [[0, 1, 1], [0, 0, 1]]
    with raises(RuntimeError, "where expected condition to be a boolean tensor, but got a tensor "
                              "with dtype Long"):
        tg.where(tg.tensor([1, 0]), x, x)
    with raises(RuntimeError, "The size of tensor a (2) must match the size of tensor b (3) at "
                              "non-singleton dimension 0"):
        tg.where(c, tg.ones(3), tg.ones(2))
    with raises(TypeError, "where() received an invalid combination of arguments - got (Tensor, "
                           "str, Tensor), but expected one of:"):
        tg.where(c, "a", tg.ones(2))


def test_clamp_with_tensor_bounds_matches_torch():
    # torch 2.13's gradients, including a crossed pair of bounds (min > max gives max)
    x = leaf([0.3, -0.5, 0.7, 2.0, 0.5, 0.5, 5.0])
    lo = leaf([0.0, 0.0, 1.0, 3.0, 0.5, 3.0, 3.0])
    hi = leaf([1.0, 1.0, 2.0, 1.0, 0.5, 1.0, 1.0])
    out = tg.clamp(x, lo, hi)
    assert out.tolist() == [0.3, 0.0, 1.0, 1.0, 0.5, 1.0, 1.0]
    assert grads(tg.clamp, x, lo, hi) == [[1, 0, 0, 0, 1, 0, 0], [0, 1, 1, 0, 0, 0, 0],
                                          [0, 0, 0, 1, 0, 1, 1]]
    x, lo = leaf([0.3, -0.5, 0.7, 2.0, 0.5]), leaf([0.0, 0.0, 1.0, 3.0, 0.5])
    assert grads(lambda x, lo: x.clamp(min=lo), x, lo) == [[1, 0, 0, 0, 1], [0, 1, 1, 1, 0]]
    x, hi = leaf([0.3, -0.5, 0.7, 2.0, 0.5]), leaf([1.0, 1.0, 2.0, 1.0, 0.5])
    assert grads(lambda x, hi: x.clamp(max=hi), x, hi) == [[1, 1, 1, 0, 1], [0, 0, 0, 1, 0]]
    x, lo, hi = leaf([0.5, 1.5]), leaf([1.0, 1.0]), leaf([1.0, 1.0])  # min == max
    assert grads(tg.clamp, x, lo, hi) == [[0, 0], [0, 0], [0, 1]]


@given(data=st.data())
def test_clamp_with_tensor_bounds_forward_broadcasts(data):
    shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3,
                                                        max_side=3)).input_shapes
    x, lo, hi = (data.draw(arrays(-5, 5, s)) for s in shapes)
    out = tg.tensor(x).clamp(tg.tensor(lo), tg.tensor(hi))
    np.testing.assert_array_equal(out.numpy(), np.minimum(np.maximum(x, lo), hi))
    np.testing.assert_array_equal(tg.clamp(tg.tensor(x), max=tg.tensor(hi)).numpy(),
                                  np.minimum(x, hi))


def test_clamp_tensor_bounds_dtypes_nan_and_errors():
    i = tg.tensor([1, 5, 3])
    assert i.clamp(tg.tensor([2.0, 2, 2]), tg.tensor([4, 4, 4])).dtype == tg.float32
    assert i.clamp(tg.tensor(2)).tolist() == [2, 5, 3]
    assert tg.tensor([1.0, 2.0]).clamp(tg.tensor(2.0, dtype=tg.float64)).dtype == tg.float32
    out = tg.clamp(tg.tensor([1.0, 2.0]), tg.tensor([float("nan"), 0.0]),
                   tg.tensor([3.0, float("nan")]))
    assert all(math.isnan(v) for v in out.tolist())
    assert tg.clamp(tg.ones(2), tg.zeros(3, 1)).shape == (3, 2)
    with raises(RuntimeError, "The size of tensor a (2) must match the size of tensor b (3) at "
                              "non-singleton dimension 0"):
        tg.clamp(tg.ones(2), tg.ones(3))
    with raises(TypeError, "clamp() received an invalid combination of arguments - got (Tensor, "
                           "max=float, min=Tensor), but expected one of:"):
        tg.clamp(tg.ones(2), min=tg.zeros(2), max=1.0)
    with raises(RuntimeError, "torch.clamp: At least one of 'min' or 'max' must not be None"):
        tg.clamp(tg.ones(2))
    # numeric bounds keep working (and keep their own op)
    x = leaf([-2.0, 0.5, 3.0])
    out = x.clamp(-1, 1)
    assert out.tolist() == [-1.0, 0.5, 1.0] and type(out.grad_fn).__name__ == "ClampBackward1"


@pytest.mark.parametrize("p", [2, 3, -1, -2, 2.0, 0.5, -0.5, 1.5])
@given(data=st.data())
def test_small_powers_take_their_fast_path_with_the_same_values_and_gradients(p, data):
    """x ** 2, 3, -1, -2 are multiplications (as torch's), not pow: values as numpy's power to
    a few ulps, gradients against finite differences, float32 and the replay alike."""
    from tapegrad.testing import gradcheck, strategies as tst
    from tapegrad.engine.replay import check_forward
    x = data.draw(tst.tensors(tst.shapes(), elements=tst.elements(tst.Domain(0.2, 3.0))))
    x.requires_grad_()
    assert gradcheck(lambda x: x ** p, (x,))
    for dt in (np.float64, np.float32):
        xd = x.detach().numpy().astype(dt)
        y = tg.tensor(xd, requires_grad=True) ** p
        np.testing.assert_allclose(y.detach().numpy(), np.power(xd, dt(p)), rtol=4e-7 if dt ==
                                   np.float32 else 1e-15)
        assert check_forward(y._tape) == []


def test_sigmoid_and_silu_at_extremes_are_torchs():
    """torch computes 1 / (1 + exp(-x)) and x / (1 + exp(-x)): where exp(-x) overflows float32
    they give (-)0, not the float64 value's denormal (values printed by torch 2.13)."""
    x = [-100.0, -90.0, -88.0, -50.0, 0.0, 100.0, float("inf"), -float("inf")]
    s32 = tg.sigmoid(tg.tensor(x)).numpy()
    np.testing.assert_array_equal(s32[:2], [0.0, 0.0])
    np.testing.assert_allclose(s32[2:], [6.0546e-39, 1.9287e-22, 0.5, 1.0, 1.0, 0.0], rtol=1e-4)
    s64 = tg.sigmoid(tg.tensor(x, dtype=tg.float64)).numpy()
    np.testing.assert_allclose(s64[:2], [3.7201e-44, 8.1940e-40], rtol=1e-4)
    silu = tg.nn.functional.silu(tg.tensor(x)).numpy()
    assert silu[0] == 0.0 and np.signbit(silu[0])
    np.testing.assert_allclose(silu[2:6], [-5.3280e-37, -9.6437e-21, 0.0, 100.0], rtol=1e-4)
    assert np.isnan(silu[7])
