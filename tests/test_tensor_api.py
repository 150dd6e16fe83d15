"""Factories, dtypes and promotion, numpy interop, and the autograd rules of torch
(expected values are torch 2.13's results for the same calls)."""
import numpy as np
import pytest

import tapegrad as tg


def test_factories_dtypes_and_values():
    assert tg.ones(2, 3).dtype is tg.float32
    assert tg.zeros((2, 3), dtype=tg.float64).dtype is tg.float64
    assert tg.arange(5).dtype is tg.int64
    assert tg.arange(0, 1, 0.25).tolist() == [0.0, 0.25, 0.5, 0.75]
    assert tg.linspace(0, 1, 5).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert tg.full((2,), 3).dtype is tg.int64
    assert tg.full((2,), 3.0).dtype is tg.float32
    assert tg.eye(2, 3).tolist() == [[1, 0, 0], [0, 1, 0]]
    assert tg.empty(3).shape == (3,)
    assert tg.ones_like(tg.zeros(2, dtype=tg.float64)).dtype is tg.float64
    assert tg.zeros_like(tg.ones(2)).tolist() == [0.0, 0.0]
    assert tg.full_like(tg.ones(2), 7).tolist() == [7.0, 7.0]
    assert tg.rand(3).numpy().min() >= 0


def test_tensor_dtype_inference():
    assert tg.tensor(np.array([1.0, 2.0])).dtype is tg.float64
    assert tg.tensor(np.float32(2.0)).dtype is tg.float32
    assert tg.tensor([1, 2.5]).dtype is tg.float32
    assert tg.tensor([True, False]).dtype is tg.bool
    assert tg.tensor([[1, 2]]).dtype is tg.int64


def test_manual_seed_reproduces():
    tg.manual_seed(3)
    a = tg.randn(4)
    tg.manual_seed(3)
    assert a.tolist() == tg.randn(4).tolist()


def test_default_dtype_roundtrip():
    try:
        tg.set_default_dtype(tg.float64)
        assert tg.ones(1).dtype is tg.float64
        assert tg.get_default_dtype() is tg.float64
        assert repr(tg.tensor([1.5])) == "tensor([1.5000])"
    finally:
        tg.set_default_dtype(tg.float32)
    with pytest.raises(TypeError, match="only floating-point types"):
        tg.set_default_dtype(tg.int64)


@pytest.mark.parametrize("expr, dtype", [
    ("tg.ones(2) + tg.tensor(1., dtype=tg.float64)", "float32"),
    ("tg.ones(2, dtype=tg.int64) * 2.5", "float32"),
    ("tg.tensor([1, 2]) / 2", "float32"),
    ("tg.tensor([True]) + tg.tensor([True])", "bool"),
    ("tg.tensor([1, 2]) + True", "int64"),
    ("tg.ones(2, dtype=tg.int32) + tg.tensor(1., dtype=tg.float64)", "float64"),
    ("tg.ones(2) * tg.ones(2, dtype=tg.float64)", "float64"),
    ("tg.tensor([1, 2]).sum()", "int64"),
])
def test_type_promotion_as_torch(expr, dtype):
    assert eval(expr).dtype.name == dtype


def test_shape_queries():
    x = tg.ones(2, 3)
    assert x.size() == (2, 3) and x.size(1) == 3 and x.size(-1) == 3
    assert (x.dim(), x.ndim, x.numel(), len(x)) == (2, 2, 6, 2)
    assert x.T.shape == (3, 2)
    assert x.tolist() == [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    assert [r.tolist() for r in x] == [[1.0, 1.0, 1.0]] * 2


def test_scalar_conversions():
    assert tg.tensor(3).item() == 3 and isinstance(tg.tensor(3).item(), int)
    assert float(tg.tensor(2.5)) == 2.5
    assert bool(tg.tensor([1]))
    assert int(tg.tensor([7])) == 7


def test_numpy_interop_shares_memory():
    a = np.zeros(3)
    t = tg.from_numpy(a)
    a[0] = 5
    assert t.tolist() == [5.0, 0.0, 0.0]
    t.numpy()[1] = 2
    assert a[1] == 2
    assert np.asarray(t) is a or np.shares_memory(np.asarray(t), a)
    assert tg.as_tensor(a).numpy() is a
    assert tg.tensor(a).numpy() is not a
    np.testing.assert_array_equal(np.ones(2) + tg.ones(2), [2.0, 2.0])
    assert isinstance(np.ones(2) + tg.ones(2), tg.Tensor)


def test_reductions_shapes():
    x = tg.ones(2, 3)
    assert x.sum(0).tolist() == [2.0, 2.0, 2.0]
    assert x.mean(dim=(0, 1), keepdim=True).shape == (1, 1)
    assert x.sum(-1, keepdim=True).shape == (2, 1)
    assert tg.tensor([[1.0, 2], [3, 4]]).clamp(min=2).tolist() == [[2, 2], [3, 4]]
    assert tg.tensor([1, 5]).clamp(0, 3).tolist() == [1, 3]


def test_casts():
    assert tg.tensor([1.0, 2.0]).double().dtype is tg.float64
    assert tg.tensor([1.5, -2.5]).long().tolist() == [1, -2]
    y = tg.tensor([1.0, 2.0], requires_grad=True).double()
    assert y.grad_fn.name() == "ToCopyBackward0"
    y.sum().backward()


def test_grad_accumulates_and_can_be_reset():
    w = tg.ones(2, requires_grad=True)
    for _ in range(3):
        (w * w).sum().backward()
    assert w.grad.tolist() == [6.0, 6.0]
    w.grad = None
    assert w.grad is None
    (w * 3).sum().backward()
    assert w.grad.tolist() == [3.0, 3.0]
    w.grad.zero_()
    assert w.grad.tolist() == [0.0, 0.0]


def test_retain_grad_on_non_leaf():
    a = tg.ones(2, requires_grad=True)
    b = a * 2
    b.retain_grad()
    (b * b).sum().backward()
    assert b.grad.tolist() == [4.0, 4.0]
    assert a.grad.tolist() == [8.0, 8.0]
    assert b.retains_grad and not b.is_leaf and a.is_leaf


def test_autograd_grad_fills_retained_grads_on_its_paths_as_torch():
    """torch's retain_grad hook also runs in autograd.grad, for the tensors whose gradient the
    call computes: those with a path to an input (b's branch does not reach x)."""
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = tg.tensor([3.0, 4.0], requires_grad=True)
    a, b = x * 2, y * 3
    a.retain_grad()
    b.retain_grad()
    loss = (a * a).sum() + (b * b).sum()
    (gx,) = tg.autograd.grad(loss, x, retain_graph=True)
    assert gx.tolist() == [8.0, 16.0] and x.grad is None
    assert a.grad.tolist() == [4.0, 8.0]       # d loss / d a = 2 a
    assert b._grad is None
    (ga,) = tg.autograd.grad(loss, a, retain_graph=True)  # (a is the input: accumulated)
    assert ga.tolist() == [4.0, 8.0] and a.grad.tolist() == [8.0, 16.0]
    loss.backward()
    assert a.grad.tolist() == [12.0, 24.0] and b.grad.tolist() == [18.0, 24.0]


def test_non_leaf_grad_access_warns():
    b = tg.ones(2, requires_grad=True) * 2
    with pytest.warns(UserWarning, match="not a leaf Tensor"):
        assert b.grad is None


def test_leaf_rules_and_detach():
    x = tg.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    y = x.reshape(2, 2).t()
    assert y.tolist() == [[1.0, 3.0], [2.0, 4.0]]
    assert y.grad_fn.name() == "TBackward0"
    assert (y.is_leaf, x.is_leaf) == (False, True)
    d = y.detach()
    assert d.is_leaf and not d.requires_grad and np.shares_memory(d.numpy(), y._data)
    y.detach_()
    assert y.is_leaf and y.grad_fn is None


def test_next_functions_walk_the_graph():
    x = tg.ones(2, requires_grad=True)
    y = (x * 2).exp()
    (fn, _), = y.grad_fn.next_functions
    assert fn.name() == "MulBackward0"
    (leaf, _), = fn.next_functions
    assert leaf.name() == "torch::autograd::AccumulateGrad" and leaf.variable is x


def test_grad_mode_contexts_and_decorators():
    x = tg.ones(2, requires_grad=True)
    with tg.no_grad():
        assert not (x * 2).requires_grad
        with tg.enable_grad():
            assert (x * 2).requires_grad
    assert tg.is_grad_enabled()

    @tg.no_grad()
    def f():
        return x * 2
    assert not f().requires_grad
    tg.set_grad_enabled(False)
    assert not tg.is_grad_enabled()
    tg.set_grad_enabled(True)
    with tg.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert tg.is_grad_enabled()


def test_in_place_updates_under_no_grad():
    w = tg.ones(3, requires_grad=True)
    (w * 2).sum().backward()
    with tg.no_grad():
        w -= 0.5 * w.grad
        w *= 2
        w /= 4
        w += 1
    assert w.tolist() == [1.0, 1.0, 1.0] and w.requires_grad and w.is_leaf
    w.grad.zero_()
    with tg.no_grad():
        w.fill_(3.0)
        w.copy_(tg.tensor([1.0, 2.0, 3.0]))
    assert w.tolist() == [1.0, 2.0, 3.0]


def test_retain_graph_allows_a_second_backward():
    x = tg.ones(2, requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.tolist() == [4.0, 4.0]


def test_graphs_that_meet_are_merged():
    x = tg.ones(2, requires_grad=True)
    a = x * 2          # one computation
    b = x.exp()        # another, started independently
    c = (a * b).sum()  # they meet
    c.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.e + 2 * np.e, rtol=1e-6)
    # `a` was recorded on the tape that got merged; backward freed the merged graph
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        a.sum().backward()


def test_merged_graph_with_retain_graph_differentiates_each_part():
    x = tg.ones(2, requires_grad=True)
    a = x * 2
    b = x.exp()
    (a * b).sum().backward(retain_graph=True)
    x.grad = None
    a.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_gradient_argument_for_non_scalar_output():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    (x * x).backward(tg.tensor([1.0, 10.0]))
    assert x.grad.tolist() == [2.0, 40.0]


def test_float32_gradients_are_float32():
    x = tg.ones(2, requires_grad=True)
    (x * 3).sum().backward()
    assert x.grad.dtype is tg.float32


def test_legacy_constructor():
    assert tg.Tensor([1, 2]).dtype is tg.float32
    assert tg.Tensor([1, 2]).tolist() == [1.0, 2.0]
    assert tg.Tensor(2, 3).shape == (2, 3)


def test_constant_that_later_requires_grad_gets_its_gradient():
    x = tg.tensor([1.0, 2.0])
    w = tg.ones(2, requires_grad=True)
    y = w * x                    # x enters the tape as a constant
    x.requires_grad_()
    z = (y * x).sum()            # now x must be differentiated (through this use only, as torch)
    z.backward()
    assert x.grad.tolist() == [1.0, 2.0]
    assert w.grad.tolist() == [1.0, 4.0]


def test_comparisons_and_boolean_reductions():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    assert x.gt(2).tolist() == [False, False, True]
    assert (x >= 2).tolist() == [False, True, True]
    assert (x == tg.tensor([1.0, 0.0, 3.0])).tolist() == [True, False, True]
    assert (x != 2).tolist() == [True, False, True]
    assert x.lt(tg.tensor([[2.0], [4.0]])).tolist() == [[True, False, False], [True, True, True]]
    assert x.le(1).dtype is tg.bool and not x.le(1).requires_grad
    assert bool((x > 0).all()) and not bool((x > 2).all()) and bool((x > 2).any())
    assert tg.tensor([[True, False], [True, True]]).all(dim=1).tolist() == [False, True]
    assert tg.tensor([[True, False], [False, False]]).any(0, keepdim=True).tolist() == [[True, False]]


def test_python_scalars_and_zero_dim_tensors_in_ops():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    s = tg.tensor(3.0, requires_grad=True)
    y = (2 - x) * s + 1 / x - x ** 2 + 2 ** x
    y.sum().backward()
    # d/dx: -s - 1/x^2 - 2x + 2^x ln 2 ; d/ds: sum(2 - x)
    expected = -3.0 - 1.0 / np.array([1.0, 4.0]) - 2 * np.array([1.0, 2.0]) \
        + 2.0 ** np.array([1.0, 2.0]) * np.log(2.0)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-6)
    assert s.grad.item() == pytest.approx(1.0)
    assert s.grad.shape == ()


def test_randint_takes_torchs_two_argument_form():
    """``randint(high, size)`` (torch's tutorials' form) is 0 <= x < high of that size."""
    x = tg.randint(10, (16,))
    assert x.shape == (16,) and x.dtype == tg.int64
    assert 0 <= int(x.min()) and int(x.max()) < 10
    assert tg.randint(3, 5, (2, 2)).shape == (2, 2) and tg.randint(5, size=(3,)).shape == (3,)
