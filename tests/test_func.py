"""tapegrad.func against closed forms (what torch.func returns for the same calls)."""
import numpy as np
import pytest

import tapegrad as tg
from tapegrad import func as F

V = np.array([0.4, 1.3])


def x():
    return tg.tensor(V, dtype=tg.float64)


def f(x):
    return (x.sin() * x ** 2).sum()


def test_grad_and_value_and_grad():
    g = F.grad(f)(x())
    np.testing.assert_allclose(g.numpy(), np.cos(V) * V ** 2 + 2 * V * np.sin(V), rtol=1e-12)
    assert not g.requires_grad
    value, g2 = F.value_and_grad(f)(x())
    assert value.item() == pytest.approx(np.sum(np.sin(V) * V ** 2))
    np.testing.assert_allclose(g2.numpy(), g.numpy())


def test_argnums_and_has_aux():
    def h(a, b):
        return (a * b).sum(), a.shape

    (value, aux), (ga, gb) = F.value_and_grad(h, argnums=(0, 1), has_aux=True)(x(), x() * 2)
    assert aux == (2,)
    np.testing.assert_allclose(ga.numpy(), 2 * V)
    np.testing.assert_allclose(gb.numpy(), V)


def test_vjp_and_jvp():
    out, vjp_fn = F.vjp(lambda x: x.exp() * x, x())
    (g,) = vjp_fn(tg.tensor([1.0, 2.0], dtype=tg.float64))
    np.testing.assert_allclose(g.numpy(), np.exp(V) * (V + 1) * [1, 2], rtol=1e-12)
    out, jv = F.jvp(lambda x: x.exp() * x, (x(),), (tg.tensor([3.0, 0.5], dtype=tg.float64),))
    np.testing.assert_allclose(jv.numpy(), np.exp(V) * (V + 1) * [3.0, 0.5], rtol=1e-12)
    np.testing.assert_allclose(out.numpy(), np.exp(V) * V)


def test_jacobian_and_hessian():
    J = F.jacrev(lambda x: x.exp() * x.sum())(x())
    want = np.diag(np.exp(V) * V.sum()) + np.exp(V)[:, None] * np.ones((1, 2))
    np.testing.assert_allclose(J.numpy(), want, rtol=1e-12)
    H = F.hessian(f)(x())
    np.testing.assert_allclose(H.numpy(),
                               np.diag(-np.sin(V) * V ** 2 + 4 * V * np.cos(V) + 2 * np.sin(V)),
                               rtol=1e-12, atol=1e-14)
    assert F.jacobian is F.jacrev


def test_grad_of_grad_composes():
    d2 = F.grad(lambda x: F.grad(lambda y: (y ** 4).sum())(x).sum())(x())
    np.testing.assert_allclose(d2.numpy(), 12 * V ** 2, rtol=1e-12)


def test_non_scalar_output_is_refused():
    with pytest.raises(RuntimeError, match="Expected f\\(\\*args\\) to return a scalar Tensor"):
        F.grad(lambda x: x * 2)(x())
