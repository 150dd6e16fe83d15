"""The gradient-testing toolkit catches planted errors, passes correct code, and reports where.

Wrong gradients are planted in custom Functions (a backward with a sign error, a missing factor,
a wrong broadcasting reduction, the gradient sent to the wrong input), and with the
straight-through trick ``value.detach() + (s - s.detach())`` (the value of `value`, the gradient
of `s`)."""
import warnings

import numpy as np
import pytest
from hypothesis import given

import tapegrad as tg
from tapegrad.testing import GradcheckError, assert_gradients_close, gradcheck, gradgradcheck
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


# -- planted errors in custom Functions -------------------------------------------------------------
class Sin(tg.autograd.Function):
    """sin with a backward that is right, or wrong in the way `ctx.bug` says."""

    @staticmethod
    def forward(ctx, x, bug):
        ctx.save_for_backward(x)
        ctx.bug = bug
        return x.sin()

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        d = x.cos()
        return {"none": g * d, "sign": -g * d, "factor": g * d * 0.5}[ctx.bug], None


class AddBias(tg.autograd.Function):
    """x + b with b broadcast over rows; `bug` = "mean" reduces the wrong way."""

    @staticmethod
    def forward(ctx, x, b, bug):
        ctx.bug = bug
        return x + b

    @staticmethod
    def backward(ctx, g):
        if ctx.bug == "mean":        # averaged over the broadcast rows instead of summed
            return g, g.mean(0), None
        return g, g.sum(0), None


def test_a_correct_function_passes():
    x, b = t([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]), t([1.0, 2.0, 3.0])
    assert gradcheck(lambda x: Sin.apply(x, "none"), (x,))
    assert gradcheck(lambda x, b: AddBias.apply(x, b, "none"), (x, b))


@pytest.mark.parametrize("bug, values", [("sign", "analytic -0.99500417, numeric 0.99500"),
                                         ("factor", "analytic 0.49750208, numeric 0.99500")])
def test_planted_function_errors_are_reported_with_values(bug, values):
    x = t([0.1, 0.2])
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda x: Sin.apply(x, bug), (x,))
    msg = str(info.value)
    assert "output 0 with respect to input 0" in msg and values in msg
    assert "worst relative error" in msg


def test_wrong_broadcast_reduction_in_a_function_is_reported_on_the_bias():
    x, b = t([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]), t([1.0, 2.0, 3.0])
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda x, b: AddBias.apply(x, b, "mean"), (x, b))
    assert "with respect to input 1" in str(info.value)
    assert "analytic 0.5, numeric 1" in str(info.value)


class Mul(tg.autograd.Function):
    """x * y whose backward sends each input the other's gradient."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return g * x, g * y          # should be g * y, g * x


def test_gradient_to_the_wrong_input_in_a_function_is_reported():
    x, y = t([2.0, 3.0]), t([5.0, 7.0])
    with pytest.raises(GradcheckError) as info:
        gradcheck(Mul.apply, (x, y))
    assert "with respect to input 0" in str(info.value)
    assert "analytic 2, numeric 5" in str(info.value)


def test_gradgradcheck_catches_a_wrong_second_derivative():
    class Square(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return 2 * x.detach() * g   # right first derivative, but detached: d2 is lost
    x = t([0.5, 1.5])
    assert gradcheck(Square.apply, (x,))
    with pytest.raises(GradcheckError):
        gradgradcheck(Square.apply, (x,))
