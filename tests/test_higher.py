"""Higher-order gradients (create_graph=True): the recorded reverse pass equals the fast Numba
sweep for every op it supports, its derivatives match finite differences of the first
derivative (gradgradcheck), and third derivatives of compositions match closed forms."""
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tapegrad as tg
from tapegrad._higher import supported
from tapegrad._opdef import OPS
from tapegrad.testing import gradgradcheck

from .test_gradients import H, draw_inputs

HIGHER = sorted(n for n, op in OPS.items() if supported(op) and op.kind != "python"
                and n not in ("to_copy",))  # float32 round trip: too coarse for differences
FEW = max(3, settings().max_examples // 5)  # second derivatives are costlier


def _weighted_sum(out):
    w = tg.tensor(np.linspace(0.5, 1.5, out.numel()).reshape(out.shape))
    return (out * w).sum()


@pytest.mark.parametrize("name", HIGHER)
@given(data=st.data())
def test_recorded_reverse_pass_equals_the_sweep(name, data):
    op = OPS[name]
    inputs = draw_inputs(data, op.test[0], op.domain)
    fn = op.test[1](H(data), *inputs)
    fast = tg.autograd.grad(_weighted_sum(fn(*inputs)), inputs, allow_unused=True)
    slow = tg.autograd.grad(_weighted_sum(fn(*inputs)), inputs, create_graph=True,
                            allow_unused=True)
    for a, b in zip(fast, slow):
        if a is None or b is None:
            assert a is None and (b is None or not b.detach().numpy().any())
            continue
        np.testing.assert_allclose(b.detach().numpy(), a.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", HIGHER)
@settings(max_examples=FEW)
@given(data=st.data())
def test_second_derivatives_match_finite_differences(name, data):
    op = OPS[name]
    inputs = draw_inputs(data, op.test[0], op.domain)
    fn = op.test[1](H(data), *inputs)
    assert gradgradcheck(fn, inputs, atol=1e-4, rtol=1e-3)


def test_third_derivative_of_a_composition():
    x = tg.tensor([0.3, 1.1], dtype=tg.float64, requires_grad=True)
    y = (x.sin() * x.exp()).sum()
    g1, = tg.autograd.grad(y, x, create_graph=True)
    g2, = tg.autograd.grad(g1.sum(), x, create_graph=True)
    g3, = tg.autograd.grad(g2.sum(), x)
    v = np.array([0.3, 1.1])
    # d^3/dx^3 e^x sin x = 2 e^x (cos x - sin x)
    np.testing.assert_allclose(g3.numpy(), 2 * np.exp(v) * (np.cos(v) - np.sin(v)), rtol=1e-12)


def test_hessian_vector_product_of_an_mlp_loss_matches_differences_of_the_gradient():
    rng = np.random.default_rng(0)
    X = tg.tensor(rng.standard_normal((8, 3)))
    y = tg.tensor(rng.standard_normal((8, 1)))
    w1 = tg.tensor(rng.standard_normal((3, 4)) * 0.5, requires_grad=True)
    w2 = tg.tensor(rng.standard_normal((4, 1)) * 0.5, requires_grad=True)
    v1, v2 = rng.standard_normal((3, 4)), rng.standard_normal((4, 1))

    def loss(w1, w2):
        return (((X @ w1).tanh() @ w2 - y) ** 2).mean()

    g1, g2 = tg.autograd.grad(loss(w1, w2), (w1, w2), create_graph=True)
    h1, h2 = tg.autograd.grad((g1 * tg.tensor(v1)).sum() + (g2 * tg.tensor(v2)).sum(), (w1, w2))
    eps = 1e-6

    def grads_at(t):
        a = tg.tensor(w1.detach().numpy() + t * v1, requires_grad=True)
        b = tg.tensor(w2.detach().numpy() + t * v2, requires_grad=True)
        return [g.numpy() for g in tg.autograd.grad(loss(a, b), (a, b))]
    plus, minus = grads_at(eps), grads_at(-eps)
    np.testing.assert_allclose(h1.numpy(), (plus[0] - minus[0]) / (2 * eps), rtol=1e-5,
                               atol=1e-8)
    np.testing.assert_allclose(h2.numpy(), (plus[1] - minus[1]) / (2 * eps), rtol=1e-5,
                               atol=1e-8)


def test_backward_with_create_graph_leaves_differentiable_grads():
    x = tg.tensor([1.0, 2.0], dtype=tg.float64, requires_grad=True)
    (x ** 4).sum().backward(create_graph=True)
    assert x.grad.requires_grad and x.grad.tolist() == [4.0, 32.0]
    x.grad.sum().backward()          # accumulates 12 x^2 into the same .grad, as torch
    assert x.grad.tolist() == [4.0 + 12.0, 32.0 + 48.0]


def test_custom_function_backward_is_differentiated_with_create_graph():
    class Square(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return 2 * x * g
    x = tg.tensor([3.0], dtype=tg.float64, requires_grad=True)
    g, = tg.autograd.grad(Square.apply(x).sum(), x, create_graph=True)
    h, = tg.autograd.grad(g.sum(), x)
    assert g.item() == 6.0 and h.item() == 2.0


def test_unsupported_case_names_itself():
    x = tg.tensor([1.0, 0.0], dtype=tg.float64, requires_grad=True)
    y = x.cumprod(0).sum()
    with pytest.raises(NotImplementedError, match=re.escape(
            "create_graph=True: the backward of CumprodBackward0 with a zero in its input cannot "
            "be differentiated yet")):
        tg.autograd.grad(y, x, create_graph=True)


def test_prod_second_derivative_with_a_zero():
    x = tg.tensor([2.0, 0.0, 3.0], dtype=tg.float64, requires_grad=True)
    g, = tg.autograd.grad(x.prod(), x, create_graph=True)
    assert g.tolist() == [0.0, 6.0, 0.0]
    # d/dx_j of (d prod / d x_1) = product of the elements other than x_1 and x_j
    h, = tg.autograd.grad(g[1], x)
    assert h.tolist() == [3.0, 0.0, 2.0]


THIRD_ORDER = {  # one op per family: (function, input shapes)
    "unary": (lambda x: x.sin() * x.exp(), ((3,),)),
    "binary": (lambda x, y: x / (y * y + 1.0), ((2, 3), (3,))),
    "reduction": (lambda x: x.var(0) + x.prod(1).sum() + x.logsumexp(0), ((2, 3),)),
    "matmul": (lambda a, b: (a @ b).tanh(), ((2, 3), (3, 2))),
    "softmax": (lambda x: x.log_softmax(1) * x.softmax(0), ((2, 3),)),
    "views and gathers": (lambda x: x[:, 1:] * x[[0, 1, 1], 0].sum(), ((2, 3),)),
    "loss": (lambda x, y: tg.nn.functional.mse_loss(x.exp(), y), ((2, 2), (2, 2))),
}


@pytest.mark.parametrize("family", sorted(THIRD_ORDER))
def test_third_derivatives_match_finite_differences(family):
    fn, shapes = THIRD_ORDER[family]
    rng = np.random.default_rng(1)
    xs = [tg.tensor(rng.uniform(0.2, 1.0, s), requires_grad=True) for s in shapes]

    def first(*xs):  # a vector-Jacobian product, itself differentiable to second order
        out = fn(*xs)
        w = tg.tensor(np.linspace(0.5, 1.5, out.numel()).reshape(out.shape))
        return tg.autograd.grad((out * w).sum(), xs, create_graph=True)
    # gradgradcheck of the first derivative: third derivatives against differences of second
    assert gradgradcheck(first, xs, atol=1e-4, rtol=1e-3)


@pytest.mark.parametrize("name", HIGHER)
@settings(max_examples=2)
@given(data=st.data())
def test_float32_inputs_keep_their_dtype_through_create_graph(name, data):
    op = OPS[name]
    inputs = []
    for x in draw_inputs(data, op.test[0], op.domain):
        x32 = x.float().detach().requires_grad_()
        x32.__dict__.update(x.__dict__)   # arguments some specs attach (index_put's key)
        inputs.append(x32)
    fn = op.test[1](H(data), *inputs)
    grads = tg.autograd.grad(_weighted_sum(fn(*inputs)), inputs, create_graph=True,
                             allow_unused=True)
    assert all(g is None or g.dtype is tg.float32 for g in grads)
