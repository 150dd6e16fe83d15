"""Bad input raises torch's error type and message (in the user's terms), before any kernel runs."""
import re

import numpy as np
import pytest

import tapegrad as tg


def raises(exc, msg):
    return pytest.raises(exc, match=re.escape(msg))


def test_backward_on_non_scalar_needs_gradient():
    x = tg.ones(2, 2, requires_grad=True)
    with raises(RuntimeError, "grad can be implicitly created only for scalar outputs"):
        x.sum(0).backward()


def test_second_backward_through_freed_graph():
    x = tg.ones(2, requires_grad=True)
    y = (x * 2).sum()
    y.backward()
    with raises(RuntimeError, "Trying to backward through the graph a second time"):
        y.backward()
    with raises(RuntimeError, "Specify retain_graph=True"):
        y.backward()


def test_using_a_freed_result_in_a_new_graph_errors_only_if_backward_needs_it():
    x = tg.ones(2, requires_grad=True)
    y = x * 2
    y.sum().backward()
    z = (y * 3).sum()          # recording on top of a freed graph is fine ...
    with raises(RuntimeError, "backward through the graph a second time"):
        z.backward()           # ... differentiating through it is not
    w = y.detach() * 3         # detached: a fresh start
    assert not w.requires_grad


def test_backward_on_tensor_without_grad():
    with raises(RuntimeError, "element 0 of tensors does not require grad and does not have a "
                              "grad_fn"):
        tg.ones(2).sum().backward()


def test_gradient_shape_mismatch():
    x = tg.ones(2, 2, requires_grad=True)
    with raises(RuntimeError, "Mismatch in shape: grad_output[0] has a shape of "
                              "tapegrad.Size([2]) and output[0] has a shape of "
                              "tapegrad.Size([])."):
        (x * 2).sum().backward(tg.ones(2))


def test_broadcast_mismatch_names_the_sizes():
    with raises(RuntimeError, "The size of tensor a (3) must match the size of tensor b (2) at "
                              "non-singleton dimension 1"):
        tg.ones(2, 3) + tg.ones(3, 2)
    with raises(RuntimeError, "The size of tensor a (3)"):
        tg.ones(2, 3, requires_grad=True) * tg.ones(3, 2)


@pytest.mark.parametrize("a, b, msg", [
    ((2, 3), (2, 3), "mat1 and mat2 shapes cannot be multiplied (2x3 and 2x3)"),
    ((3,), (4,), "inconsistent tensor size, expected tensor [3] and src [4] to have the same "
                 "number of elements, but got 3 and 4 elements respectively"),
    ((2, 3), (4,), "size mismatch, got input (2), mat (2x3), vec (4)"),
    ((), (3,), "both arguments to matmul need to be at least 1D, but they are 0D and 1D"),
])
def test_matmul_shape_errors(a, b, msg):
    with raises(RuntimeError, msg):
        tg.ones(*a, requires_grad=True) @ tg.ones(*b)


def test_requires_grad_on_integer_tensor():
    msg = "Only Tensors of floating point and complex dtype can require gradients"
    with raises(RuntimeError, msg):
        tg.ones(2, dtype=tg.int64, requires_grad=True)
    with raises(RuntimeError, msg):
        tg.tensor([1, 2]).requires_grad_()


def test_requires_grad_false_on_non_leaf():
    y = tg.ones(2, requires_grad=True) * 2
    with raises(RuntimeError, "you can only change requires_grad flags of leaf variables."):
        y.requires_grad_(False)


def test_invalid_view_and_dims():
    x = tg.ones(2, 2, requires_grad=True)
    with raises(RuntimeError, "shape '[3]' is invalid for input of size 4"):
        x.view(3)
    with raises(RuntimeError, "only one dimension can be inferred"):
        x.reshape(-1, -1)
    with raises(IndexError, "Dimension out of range (expected to be in range of [-2, 1], but got 2)"):
        x.sum(2)
    with raises(IndexError, "Dimension out of range (expected to be in range of [-2, 1], but got -3)"):
        x.transpose(0, -3)
    with raises(RuntimeError, "t() expects a tensor with <= 2 dimensions, but self is 3D"):
        tg.ones(1, 1, 1).t()


def test_index_out_of_range_raises_before_any_kernel():
    x = tg.ones(2, 3, requires_grad=True)
    with raises(IndexError, "index 5 is out of bounds for dimension 1 with size 3"):
        x[0, 5]
    with raises(IndexError, "index -3 is out of bounds for dimension 0 with size 2"):
        x[-3]
    with raises(IndexError, "too many indices for tensor of dimension 2"):
        x[0, 0, 0]


def test_scalar_conversion_errors():
    x = tg.ones(2, 2)
    with raises(RuntimeError, "a Tensor with 4 elements cannot be converted to Scalar"):
        x.item()
    with raises(RuntimeError, "Boolean value of Tensor with more than one value is ambiguous"):
        bool(x)
    with raises(TypeError, "len() of a 0-d tensor"):
        len(tg.tensor(1.0))


def test_numpy_on_tensor_requiring_grad():
    x = tg.ones(2, requires_grad=True)
    with raises(RuntimeError, "Can't call numpy() on Tensor that requires grad. Use "
                              "tensor.detach().numpy() instead."):
        x.numpy()
    with raises(RuntimeError, "Can't call numpy() on Tensor that requires grad"):
        np.asarray(x)


def test_in_place_on_leaf_requiring_grad():
    x = tg.ones(2, requires_grad=True)
    with raises(RuntimeError, "a leaf Variable that requires grad is being used in an in-place "
                              "operation."):
        x += 1
    with raises(RuntimeError, "a leaf Variable that requires grad"):
        x.zero_()


def test_in_place_cast_error():
    x = tg.tensor([1, 2])
    with raises(RuntimeError, "result type Float can't be cast to the desired output type Long"):
        x.div_(2)


def test_grad_assignment_checks():
    x = tg.ones(2, requires_grad=True)
    with raises(RuntimeError, "assigned grad has data of a different size"):
        x.grad = tg.ones(3)
    with raises(TypeError, "assigned grad expected to be a Tensor or None"):
        x.grad = [1.0, 2.0]


def test_clamp_needs_a_bound():
    with raises(RuntimeError, "torch.clamp: At least one of 'min' or 'max' must not be None"):
        tg.ones(2).clamp()


def test_unsupported_numpy_dtype():
    with raises(TypeError, "can't convert np.ndarray of type numpy.complex128"):
        tg.from_numpy(np.ones(2, complex))
