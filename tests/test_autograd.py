"""autograd.grad, backward(inputs=), tensor hooks and custom Functions: behaviour and messages
as torch (expected values are closed forms)."""
import re

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.testing import GradcheckError, gradcheck


def t(values):
    return tg.tensor(values, dtype=tg.float64, requires_grad=True)


# -- autograd.grad ---------------------------------------------------------------------------------
def test_grad_returns_gradients_without_touching_dot_grad():
    x, y = t([1.0, 2.0]), t([3.0, 4.0])
    gx, gy = tg.autograd.grad((x * y).sum(), (x, y))
    assert gx.tolist() == [3.0, 4.0] and gy.tolist() == [1.0, 2.0]
    assert x.grad is None and y.grad is None


def test_grad_with_grad_outputs_non_leaf_inputs_and_several_outputs():
    x = t([1.0, 2.0])
    h = x * 3
    out1, out2 = h ** 2, h.sum()
    gh, = tg.autograd.grad((out1, out2), h, grad_outputs=(tg.tensor([1.0, 0.5]), None))
    np.testing.assert_allclose(gh.numpy(), 2 * np.array([3.0, 6.0]) * [1.0, 0.5] + 1.0)


def test_grad_unused_input():
    x, z = t([1.0]), t([2.0])
    with pytest.raises(RuntimeError, match=re.escape(
            "One of the differentiated Tensors appears to not have been used in the graph. Set "
            "allow_unused=True if this is the desired behavior.")):
        tg.autograd.grad((x * 2).sum(), (x, z))
    gx, gz = tg.autograd.grad((x * 2).sum(), (x, z), allow_unused=True)
    assert gx.tolist() == [2.0] and gz is None
    _, gz = tg.autograd.grad((x * 2).sum(), (x, z), materialize_grads=True)
    assert gz.tolist() == [0.0]


def test_grad_frees_the_graph_unless_retained():
    x = t([1.0])
    y = (x * x).sum()
    tg.autograd.grad(y, x, retain_graph=True)
    tg.autograd.grad(y, x)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        tg.autograd.grad(y, x)


# -- backward(inputs=) ------------------------------------------------------------------------------
def test_backward_inputs_accumulates_only_there():
    x, y = t([1.0, 2.0]), t([3.0, 4.0])
    h = x * y
    (h * 2).sum().backward(inputs=[x, h])
    assert x.grad.tolist() == [6.0, 8.0] and y.grad is None
    assert h.grad.tolist() == [2.0, 2.0] and not h.retains_grad


# -- hooks --------------------------------------------------------------------------------------------
def test_non_leaf_hook_sees_and_replaces_the_gradient():
    x = t([1.0, 2.0])
    h = x * x
    seen = []
    h.register_hook(lambda g: seen.append(g.tolist()))
    h.register_hook(lambda g: g * 10)
    (h * 3).sum().backward()
    assert seen == [[3.0, 3.0]]
    assert x.grad.tolist() == [60.0, 120.0]  # 10 * 3 * 2x


def test_leaf_hook_and_removal():
    x = t([1.0, 2.0])
    handle = x.register_hook(lambda g: g + 1)
    (x * 2).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]
    handle.remove()
    x.grad = None
    (x * 2).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_hook_on_tensor_without_grad():
    with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that doesn't "
                                           "require gradient"):
        tg.ones(2).register_hook(lambda g: g)


def test_hook_returning_a_wrong_shape():
    x = t([1.0, 2.0])
    h = x * 2
    h.register_hook(lambda g: tg.ones(3))
    with pytest.raises(RuntimeError, match=re.escape("hook returned a gradient of shape [3] but "
                                                     "expected shape [2]")):
        h.sum().backward()


def test_hooks_on_a_merged_graph_still_fire():
    x = t([1.0])
    a, b = x * 2, x * 3          # two graphs ...
    a.register_hook(lambda g: g * 100)
    (a * b).sum().backward()     # ... merged here
    assert x.grad.tolist() == [100 * 3 * 2 + 2 * 3]


# -- custom Functions ---------------------------------------------------------------------------------
class Cube(tg.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return 3 * x ** 2 * g


class ScaleShift(tg.autograd.Function):
    """y = a * x + b with a Python number `a`; two outputs to test multi-output functions."""

    @staticmethod
    def forward(ctx, x, a, b):
        ctx.a = a
        ctx.flags = ctx.needs_input_grad
        return x * a + b, x * 0 + 1

    @staticmethod
    def backward(ctx, g, g_ones):
        return g * ctx.a, None, g.sum(0) if g.ndim > 1 else g


def test_function_inside_a_larger_graph_matches_finite_differences():
    x = t([0.5, -1.0, 2.0])
    assert gradcheck(lambda x: (Cube.apply(x.sin()) * x).exp(), (x,))
    y = Cube.apply(x)
    assert y.grad_fn.name() == "CubeBackward"


def test_function_with_non_tensor_args_and_two_outputs():
    x, b = t([[1.0, 2.0], [3.0, 4.0]]), t([0.5, 0.5])
    y, ones = ScaleShift.apply(x, 3.0, b)
    assert y.tolist() == [[3.5, 6.5], [9.5, 12.5]]
    (y.sum() + ones.sum()).backward()
    assert x.grad.tolist() == [[3.0, 3.0], [3.0, 3.0]] and b.grad.tolist() == [2.0, 2.0]
    assert gradcheck(lambda x, b: ScaleShift.apply(x, 3.0, b)[0], (x, b))


def test_needs_input_grad_and_no_grad():
    x, c = t([1.0]), tg.tensor([2.0])
    seen = {}

    class Probe(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x, c):
            seen["needs"] = ctx.needs_input_grad
            return x * c

        @staticmethod
        def backward(ctx, g):
            return g, None
    Probe.apply(x, c).sum().backward()
    assert seen["needs"] == (True, False) and x.grad.tolist() == [1.0]
    with tg.no_grad():
        assert not Probe.apply(x, c).requires_grad


def test_mark_non_differentiable():
    class ArgmaxToo(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            idx = tg.tensor([float(np.argmax(x.detach().numpy()))])
            ctx.mark_non_differentiable(idx)
            return x * 2, idx

        @staticmethod
        def backward(ctx, g, g_idx):
            return g * 2
    x = t([1.0, 5.0])
    y, idx = ArgmaxToo.apply(x)
    assert y.requires_grad and not idx.requires_grad
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_function_backward_errors():
    class TooMany(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return g, g

    class WrongShape(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.sum()

        @staticmethod
        def backward(ctx, g):
            return tg.ones(3)
    x = t([1.0, 2.0])
    with pytest.raises(RuntimeError, match=re.escape(
            "function TooManyBackward returned an incorrect number of gradients (expected 1, "
            "got 2)")):
        TooMany.apply(x).sum().backward()
    with pytest.raises(RuntimeError, match=re.escape(
            "Function WrongShapeBackward (at index 0) returned a gradient of shape [3] but "
            "expected shape [2]")):
        WrongShape.apply(x).backward()


def test_backward_python_calls_grow_only_with_callbacks():
    import sys
    x = t([0.5, 1.5])

    def chain(n, with_fn):
        y = x
        for k in range(n):
            y = (y * 1.001).sin()
            if with_fn and k == n // 2:
                y = Cube.apply(y)
        return y.sum()

    def calls(out):
        n = 0

        def prof(frame, event, arg):
            nonlocal n
            n += event in ("call", "c_call")
        sys.setprofile(prof)
        try:
            out.backward()
        finally:
            sys.setprofile(None)
        return n
    chain(2000, True).backward()
    short, long = calls(chain(200, True)), calls(chain(2000, True))
    assert abs(long - short) <= 8, (short, long)


def test_planted_function_errors_are_caught_by_gradcheck():
    class WrongSign(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.sin()

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return -g * x.cos()
    with pytest.raises(GradcheckError, match="with respect to input 0"):
        gradcheck(WrongSign.apply, (t([0.3, 0.9]),))


# -- anomaly mode, and adjoints at poles ------------------------------------------------------------
def nan_producing_step(x):
    y = x.sqrt() * 0          # d sqrt / dx at 0 is inf; times a zero gradient: nan
    return y.sum()


def test_anomaly_mode_names_the_op_and_the_source_line():
    x = t([0.0, 1.0])
    with tg.autograd.detect_anomaly():
        assert tg.autograd.is_anomaly_enabled()
        z = nan_producing_step(x)
        with pytest.raises(RuntimeError) as info:
            z.backward()
    msg = str(info.value)
    assert msg.startswith("Function 'SqrtBackward0' returned nan values in its 0th output.")
    assert "test_autograd.py" in msg and "y = x.sqrt() * 0" in msg
    assert not tg.autograd.is_anomaly_enabled()


def test_without_anomaly_mode_nan_flows_as_in_torch():
    x = t([0.0, 1.0])
    nan_producing_step(x).backward()
    assert np.isnan(x.grad.numpy()[0]) and x.grad.numpy()[1] == 0.0


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_adjoints_at_poles_are_inf_as_torch_not_an_error():
    # torch 2.13: sqrt'(0) = inf, log'(0) = inf, d(a/b)/da at b=0 = inf, d/db = -inf
    x = t([0.0, 1.0])
    x.sqrt().sum().backward()
    assert x.grad.tolist() == [np.inf, 0.5]
    x.grad = None
    x.log().sum().backward()
    assert x.grad.tolist() == [np.inf, 1.0]
    a, b = t([1.0, 2.0]), t([0.0, 1.0])
    (a / b).sum().backward()
    assert a.grad.tolist() == [np.inf, 1.0] and b.grad.tolist() == [-np.inf, -2.0]
