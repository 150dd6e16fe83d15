"""Tensor utilities real torch programs reach for (#14): new_*, is_tensor, numel, allclose,
isclose, equal, autograd.Variable. Expected values: torch 2.13's, by hand."""
import numpy as np
import pytest

import tapegrad as torch


def test_new_factories_take_the_tensors_dtype_unless_given_one():
    y = torch.ones(2, dtype=torch.float64)
    assert y.new_ones(2, 3).dtype == torch.float64 and tuple(y.new_ones((2,)).shape) == (2,)
    assert y.new_zeros(2, dtype=torch.int64).dtype == torch.int64
    assert y.new_full((2,), 3).tolist() == [3.0, 3.0] and y.new_full((2,), 3).dtype == y.dtype
    assert y.new_empty(4).shape == (4,)
    got = torch.ones(2, dtype=torch.int64).new_tensor([1, 7])
    assert got.dtype == torch.int64 and got.tolist() == [1, 7]
    w = y.new_ones(2, requires_grad=True)
    (w * 3).sum().backward()
    assert w.grad.tolist() == [3.0, 3.0]
    with pytest.raises(AssertionError, match="not compiled with CUDA"):
        y.new_zeros(2, device="cuda")


def test_is_tensor_numel_nelement():
    assert torch.is_tensor(torch.ones(1)) and not torch.is_tensor(1.0)
    assert torch.numel(torch.ones(2, 3)) == 6 and torch.ones(4, 5).nelement() == 20


def test_allclose_isclose_equal_as_torch():
    x = torch.ones(2)
    assert torch.allclose(x, x + 1e-9) is True and x.allclose(x + 1.0) is False
    assert torch.isclose(x, torch.tensor([1.0, 2.0])).tolist() == [True, False]
    assert torch.equal(x, x) is True and torch.equal(x, torch.ones(3)) is False
    assert torch.equal(x, torch.ones(2, dtype=torch.float64)) is True   # (promotes)
    nan = torch.tensor([float("nan")])
    assert not torch.allclose(nan, nan) and torch.allclose(nan, nan, equal_nan=True)
    with pytest.raises(RuntimeError, match="Float did not match Double"):
        torch.allclose(x, torch.ones(2, dtype=torch.float64))


def test_variable_is_a_leaf_sharing_memory():
    x = torch.ones(2)
    v = torch.autograd.Variable(x, requires_grad=True)
    assert v is not x and v.requires_grad and not x.requires_grad
    x.add_(1.0)
    assert v.tolist() == [2.0, 2.0]           # same memory
    (v * v).sum().backward()
    np.testing.assert_array_equal(v.grad.numpy(), [4.0, 4.0])


def test_autograd_grad_takes_torchs_signature():
    x = torch.ones(2, requires_grad=True)
    (g,) = torch.autograd.grad((x * 2).sum(), x, only_inputs=True)
    assert g.tolist() == [2.0, 2.0]
    y = torch.ones(1, requires_grad=True)
    # (positionally, as torch: grad_outputs, retain_graph, create_graph, only_inputs, allow_unused)
    assert torch.autograd.grad((x * 2).sum(), [x, y], None, None, False, True, True)[1] is None
    with pytest.raises(NotImplementedError, match="is_grads_batched"):
        torch.autograd.grad((x * 2).sum(), x, is_grads_batched=True)
