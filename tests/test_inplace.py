"""In-place ops: recorded out of place and rebound when they are part of a graph; applied to
memory otherwise, with torch's error when backward needs a value that was changed."""
import re

import numpy as np
import pytest

import tapegrad as tg

MSG = "one of the variables needed for gradient computation has been modified by an inplace " \
      "operation"


def t(values):
    return tg.tensor(values, dtype=tg.float64, requires_grad=True)


@pytest.mark.parametrize("method, args, fn, dfn", [
    ("add_", (2.0,), lambda v: v + 2, lambda v: 1.0),
    ("sub_", (2.0,), lambda v: v - 2, lambda v: 1.0),
    ("mul_", (3.0,), lambda v: 3 * v, lambda v: 3.0),
    ("div_", (4.0,), lambda v: v / 4, lambda v: 0.25),
    ("pow_", (2.0,), lambda v: v ** 2, lambda v: 2 * v),
    ("clamp_", (0.0, 1.5), lambda v: np.clip(v, 0, 1.5), lambda v: ((v > 0) & (v < 1.5)) * 1.0),
    ("relu_", (), lambda v: np.maximum(v, 0), lambda v: (v > 0) * 1.0),
    ("exp_", (), np.exp, np.exp),
    ("neg_", (), lambda v: -v, lambda v: -1.0),
])
def test_in_place_ops_on_recorded_tensors_differentiate(method, args, fn, dfn):
    v = np.array([-0.5, 0.7, 2.0])
    x = t(v)
    y = x * 1.0
    out = getattr(y, method)(*args)
    assert out is y and y._version == 1
    np.testing.assert_allclose(y.detach().numpy(), fn(v))
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.broadcast_to(dfn(v), v.shape))


def test_zero_fill_copy_in_a_graph():
    x, s = t([1.0, 2.0]), t([5.0, 6.0])
    y = x * 2
    y.copy_(s)
    (y * 3).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0] and s.grad.tolist() == [3.0, 3.0]
    z = x * 1
    z.fill_(4.0)
    assert z.tolist() == [4.0, 4.0] and z.requires_grad
    z.zero_()
    assert z.tolist() == [0.0, 0.0]


def test_values_saved_for_backward_make_backward_raise_after_an_in_place_op_in_grad_mode():
    x = t([1.0, 2.0])
    y = x.exp()
    z = y * y          # saves y (and exp saves its output, y)
    y.add_(100.0)      # torch: the saved version 0 is gone
    # (torch names the node y has now: its add_)
    with pytest.raises(RuntimeError, match=r"\[tapegrad.DoubleTensor \[2\]\], which is output 0 "
                                           r"of Add, is at version 1; expected version 0"):
        z.sum().backward()


def test_entries_recorded_after_an_in_place_op_read_the_new_values():
    x = t([1.0, 2.0])
    y = x * 1
    y.add_(100.0)      # mul by a number saves nothing: no error
    (y * y).sum().backward()
    assert x.grad.tolist() == [2 * 101.0, 2 * 102.0]


def test_a_tensor_without_grad_joins_the_graph():
    x = t([1.0, 2.0])
    a = tg.zeros(2, dtype=tg.float64)
    a += x * 3
    assert a.requires_grad and not a.is_leaf and a.grad_fn.name() == "AddBackward0"
    a.sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_changing_a_saved_value_under_no_grad_raises_at_backward():
    x = t([1.0, 2.0])
    y = x.exp()
    z = (y * 3).sum()
    with tg.no_grad():
        y.mul_(2)
    with pytest.raises(RuntimeError, match=re.escape(
            MSG + ": [tapegrad.DoubleTensor [2]], which is output 0 of Exp, is at "
            "version 1; expected version 0 instead.")):
        z.backward()


def test_changing_a_value_no_adjoint_reads_is_fine():
    x = t([1.0, 2.0])
    y = x * 2
    z = y.sum()        # the adjoints of sum and of x * 2 read no values
    with tg.no_grad():
        y.add_(1)
    z.backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_changing_a_large_leaf_referenced_by_the_tape_raises():
    w = tg.tensor(np.ones((200, 200)), requires_grad=True)   # big enough to be referenced
    z = (w * w).sum()
    with tg.no_grad():
        w.mul_(2)
    with pytest.raises(RuntimeError, match=re.escape(
            MSG + ": [tapegrad.DoubleTensor [200, 200]] is at version 1; expected version 0")):
        z.backward()


def test_leaf_and_casting_errors():
    x = t([1.0])
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in "
                                           "an in-place operation."):
        x.exp_()
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired "
                                           "output type Long"):
        tg.tensor([1, 2]).mul_(1.5)


def test_changing_a_detached_alias_is_reported_like_torchs_shared_version_counter():
    x = t([1.0, 2.0])
    y = x.exp()
    z = (y * y).sum()
    alias = y.detach()
    alias.mul_(2)                 # the same memory as y, which z's backward needs
    with pytest.raises(RuntimeError, match=re.escape(MSG)):
        z.backward()
    w = tg.tensor(np.ones((200, 200)), requires_grad=True)
    loss = (w * w).sum()
    w.data.add_(1.0)              # torch: .data is not tracked: no error, the new values are read
    loss.backward()
    assert w._version == 0 and float(w.grad[0, 0]) == 4.0
