"""The gradient-testing toolkit catches planted errors, passes correct code, and reports where.

Wrong gradients are planted with the straight-through trick: ``value.detach() + (s - s.detach())``
has the value of `value` and the gradient of `s`."""
import warnings

import numpy as np
import pytest
from hypothesis import given

import tapegrad as tg
from tapegrad.testing import GradcheckError, assert_gradients_close, gradcheck
from tapegrad.testing.strategies import (POSITIVE, broadcastable_shapes, dims, elements, shapes,
                                         tensors)


def with_gradient_of(value, surrogate):
    return value.detach() + (surrogate - surrogate.detach())


def t(values, **kw):
    return tg.tensor(values, dtype=tg.float64, requires_grad=True, **kw)


def test_correct_functions_pass():
    x, y = t([0.3, -1.2, 2.0]), t([[1.0, 2.0, 3.0], [0.5, 0.4, 0.2]])
    assert gradcheck(lambda x, y: (x.sin() * y).sum(0), (x, y))
    assert_gradients_close(lambda x, y: (x @ y.T).exp(), x, y)


def test_sign_error_is_reported_with_elements_and_values():
    x = t([0.5, 1.0])
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda x: with_gradient_of(x.sin(), -x.sin()), (x,))
    msg = str(info.value)
    assert "output 0 with respect to input 0" in msg
    assert "2 of 4 elements differ" in msg
    # d sin(x0)/dx0 = cos(0.5): analytic carries the wrong sign
    assert (f"d output[0] / d input[0]: analytic {-np.cos(0.5):.8g}, numeric "
            f"{np.cos(0.5):.5f}") in msg
    assert "worst relative error: 2" in msg


def test_missing_factor_is_reported():
    x = t([1.0, 2.0, 3.0])
    with pytest.raises(GradcheckError, match=r"analytic 3, numeric 6"):
        gradcheck(lambda x: with_gradient_of((x ** 2).sum(), (x ** 2 / 2).sum()), (x,))


def test_wrong_broadcast_reduction_is_reported_on_the_broadcast_input():
    x, b = t([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), t([0.1, 0.2, 0.3])
    # the gradient of b averaged over the broadcast rows instead of summed
    wrong = lambda x, b: with_gradient_of(x + b, x + b / 2)  # noqa: E731
    assert gradcheck(lambda x, b: (x + b), (x, b))
    with pytest.raises(GradcheckError, match="with respect to input 1") as info:
        gradcheck(lambda x, b: wrong(x, b).sum(), (x, b))
    assert "analytic 1, numeric 2" in str(info.value)


def test_gradient_sent_to_the_wrong_input_is_reported():
    x, y = t([2.0]), t([5.0])
    swapped = lambda x, y: with_gradient_of((x * y).sum(), (x * x / 2 + y * y / 2).sum())  # noqa
    with pytest.raises(GradcheckError) as info:
        gradcheck(swapped, (x, y))
    assert "with respect to input 0" in str(info.value)
    assert "analytic 2, numeric 5" in str(info.value)


def test_raise_exception_false_returns_false():
    x = t([1.0])
    assert gradcheck(lambda x: with_gradient_of(x * 3, x * 2), (x,), raise_exception=False) is False


def test_assert_helper_raises_assertion_error_with_the_report():
    x = t([1.0, 2.0])
    with pytest.raises(AssertionError, match="worst relative error"):
        assert_gradients_close(lambda x: with_gradient_of(x.exp(), x), x)


def test_float32_inputs_warn():
    x = tg.tensor([0.5], requires_grad=True)
    with pytest.warns(UserWarning, match="Input #0 requires gradient and is not a double precision"):
        gradcheck(lambda x: x * 2, (x,), atol=1e-2, rtol=1e-2)


@given(tensors(elements=elements(POSITIVE)))
def test_strategies_compose_with_given(x):
    assert x.dtype is tg.float64 and x.requires_grad
    assert (x.numpy(force=True) >= 0.1).all()
    assert_gradients_close(lambda x: (x.log() * x).sum(), x)


@given(broadcastable_shapes(3))
def test_broadcastable_shapes_broadcast(shs):
    np.broadcast_shapes(*shs)


@given(shapes(), dims(3), dims(0))
def test_dims_are_valid(shape, d, d0):
    assert -3 <= d < 3 and d0 in (0, -1)


def test_no_warning_for_float64():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert gradcheck(lambda x: x * 2, (t([1.0]),))
