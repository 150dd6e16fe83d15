"""Indexing: x[key] (basic and advanced) and x[key] = v, index_select, gather, take_along_dim,
scatter_add, masked_fill -- forward against numpy, torch's shapes / grad_fn names / errors (typed
in from what torch 2.13 printed), gradient accumulation over repeated indices."""
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tapegrad as tg
from tapegrad.testing import gradcheck

SHAPES = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)


def arr(data, shape):
    return data.draw(hnp.arrays(np.float64, shape, elements=st.floats(-5, 5)))


def raises(exc, msg):
    return pytest.raises(exc, match="^" + re.escape(msg) + "$")


def positive_steps(key):
    key = key if isinstance(key, tuple) else (key,)
    return all((k.step or 1) > 0 for k in key if isinstance(k, slice))


# ------------------------------------------------------------------------------------------------
# x[key]
# ------------------------------------------------------------------------------------------------
@given(data=st.data())
def test_basic_indexing_matches_numpy(data):
    a = arr(data, data.draw(SHAPES))
    key = data.draw(hnp.basic_indices(a.shape, allow_newaxis=True).filter(positive_steps))
    for rg in (False, True):
        out = tg.tensor(a, requires_grad=rg)[key]
        np.testing.assert_array_equal(out.detach().numpy(), a[key])


@given(data=st.data())
def test_advanced_indexing_without_ints_matches_numpy(data):
    """Without ints in the key, torch places the advanced dims exactly as numpy does."""
    a = arr(data, data.draw(SHAPES))
    n = data.draw(st.integers(1, 3))
    key = []
    for side in a.shape:
        kind = data.draw(st.sampled_from(["list", "tensor", "slice", "none"]))
        if kind == "none":
            key.append(None)
        if kind in ("list", "tensor"):
            ix = data.draw(st.lists(st.integers(-side, side - 1), min_size=n, max_size=n))
            key.append(ix if kind == "list" else tg.tensor(ix))
        else:
            key.append(slice(data.draw(st.integers(-side, side)), None, data.draw(st.integers(1, 3))))
    key = tuple(key)
    np_key = tuple(np.asarray(k._data) if isinstance(k, tg.Tensor) else k for k in key)
    expect = a[np_key]
    x = tg.tensor(a, requires_grad=True)
    out = x[key]
    np.testing.assert_array_equal(out.detach().numpy(), expect)
    # gradient: every element of x gets the number of times it was picked
    w = np.random.default_rng(0).standard_normal(expect.shape)
    (out * tg.tensor(w)).sum().backward()
    ref = np.zeros(a.size)
    np.add.at(ref, np.arange(a.size).reshape(a.shape)[np_key].ravel(), w.ravel())
    np.testing.assert_allclose(x.grad.numpy(), ref.reshape(a.shape), atol=1e-12)


@given(data=st.data())
def test_bool_masks_match_numpy(data):
    a = arr(data, data.draw(SHAPES))
    k = data.draw(st.integers(1, a.ndim))
    mask = data.draw(hnp.arrays(np.bool_, a.shape[:k]))
    x = tg.tensor(a, requires_grad=True)
    np.testing.assert_array_equal(x[tg.tensor(mask)].detach().numpy(), a[mask])
    np.testing.assert_array_equal(x[mask].detach().numpy(), a[mask])
    x[tg.tensor(mask)].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(),
                                  np.broadcast_to(mask.reshape(mask.shape + (1,) * (a.ndim - k)),
                                                  a.shape).astype(float))


def test_torch_shapes_and_grad_fn_names():
    x = tg.tensor(np.arange(24.).reshape(2, 3, 4), requires_grad=True)
    m = tg.tensor([True, False])
    cases = [  # (key, shape, grad_fn) as torch 2.13 printed them
        (0, (3, 4), "SelectBackward0"), ((0, 1, 2), (), "SelectBackward0"),
        ((0, slice(None)), (3, 4), "SelectBackward0"), ((0, slice(1, None)), (2, 4), "SliceBackward0"),
        ((slice(1, None), 0), (1, 4), "SelectBackward0"), (Ellipsis, (2, 3, 4), "AliasBackward0"),
        ((slice(None), slice(0, 3)), (2, 3, 4), "AliasBackward0"), (slice(None), (2, 3, 4), "SliceBackward0"),
        (None, (1, 2, 3, 4), "UnsqueezeBackward0"), ((0, None), (1, 3, 4), "UnsqueezeBackward0"),
        ((None, 0), (1, 3, 4), "SelectBackward0"), ((Ellipsis, 1), (2, 3), "SelectBackward0"),
        ((slice(None), slice(None), slice(10, 20)), (2, 3, 0), "SliceBackward0"),
        ([0, 1], (2, 3, 4), "IndexBackward0"), ((0, slice(None), [0, 1]), (3, 2), "IndexBackward0"),
        ((slice(None), 0, [0, 1]), (2, 2), "IndexBackward0"),
        (([0, 1], slice(None), [0, 1]), (2, 3), "IndexBackward0"),
        ((slice(None), [0, 1], None, [0, 1]), (2, 2, 1), "IndexBackward0"),
        ((None, [0, 1], slice(None), [0, 1]), (2, 1, 3), "IndexBackward0"),
        ((slice(None), None, [0, 1]), (2, 1, 2, 4), "IndexBackward0"),
        (m, (1, 3, 4), "IndexBackward0"), (True, (1, 2, 3, 4), "IndexBackward0"),
        (False, (0, 2, 3, 4), "IndexBackward0"), ((slice(None), False), (2, 0, 3, 4), "IndexBackward0"),
        ((0, True), (1, 3, 4), "IndexBackward0"), ((None, m), (1, 1, 3, 4), "IndexBackward0"),
        (tg.tensor(1), (3, 4), "SelectBackward0"), (np.int64(1), (3, 4), "SelectBackward0"),
        ([], (0, 3, 4), "IndexBackward0"), (tg.tensor([0, 1], dtype=tg.uint8) if hasattr(tg, "uint8")
                                             else np.array([0, 1], np.uint8), (1, 3, 4), "IndexBackward0"),
        ((np.array([[1]]), np.array([[0], [1]])), (2, 1, 4), "IndexBackward0"),
        ((0, Ellipsis, None, 1), (3, 1), "SelectBackward0"), (x > 5, (18,), "IndexBackward0"),
    ]
    for key, shape, name in cases:
        out = x[key]
        assert (tuple(out.shape), type(out.grad_fn).__name__) == (shape, name), key


def test_repeated_indices_accumulate_gradients():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x[[0, 0, 2, 0]] * tg.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [7.0, 0.0, 3.0])
    y = tg.tensor(np.ones((2, 3)), requires_grad=True)
    assert gradcheck(lambda y: y[[1, 1], [2, 2]] * y[0, [0, 0]], (y,))


def test_indexing_without_grad_shares_memory_and_keeps_dtype():
    x = tg.tensor(np.arange(6).reshape(2, 3))
    v = x[1, 1:]
    assert v.dtype == tg.int64 and v.tolist() == [4, 5]
    x[1, 2] = 9
    assert v.tolist() == [4, 9]  # a view, as in torch
    assert x[[1, 0], 0].tolist() == [3, 0] and x[0, 0].shape == ()


def test_indexing_errors_match_torch():
    x = tg.tensor(np.zeros((2, 3, 4)), requires_grad=True)
    cases = [
        (lambda: x[:, ::-1], ValueError, "step must be greater than zero"),
        (lambda: x[::0], ValueError, "slice step cannot be zero"),
        (lambda: x[0, 5], IndexError, "index 5 is out of bounds for dimension 1 with size 3"),
        (lambda: x[tg.tensor([0, 5])], IndexError, "index 5 is out of bounds for dimension 0 with size 2"),
        (lambda: x[:, :, [0, 9]], IndexError, "index 9 is out of bounds for dimension 0 with size 4"),
        (lambda: x[[0, 1], [0, 9]], IndexError, "index 9 is out of bounds for dimension 1 with size 3"),
        (lambda: x[:, [-4, 2]], IndexError, "index -4 is out of bounds for dimension 0 with size 3"),
        (lambda: x[tg.tensor([0.0, 1.0])], IndexError,
         "tensors used as indices must be long, int, byte or bool tensors"),
        (lambda: x[tg.tensor([True, False, True])], IndexError, "The shape of the mask [3] at index 0 "
         "does not match the shape of the indexed tensor [2, 3, 4] at index 0"),
        (lambda: x[:, tg.tensor([True, False])], IndexError, "The shape of the mask [2] at index 0 "
         "does not match the shape of the indexed tensor [2, 3, 4] at index 1"),
        (lambda: x[[0, 1], [0, 1, 2]], IndexError,
         "shape mismatch: indexing tensors could not be broadcast together with shapes [2], [3]"),
        (lambda: x[1.5], IndexError, "only integers, slices (`:`), ellipsis (`...`), None and long "
         "or byte Variables are valid indices (got float)"),
        (lambda: x[0, 0, 0, 0], IndexError, "too many indices for tensor of dimension 3"),
        (lambda: x[:, :, tg.tensor([[True, False], [True, True]])], IndexError,
         "too many indices for tensor of dimension 3"),
        (lambda: x[0, 0, 0][0], IndexError, "invalid index of a 0-dim tensor. Use `tensor.item()` in "
         "Python or `tensor.item<T>()` in C++ to convert a 0-dim tensor to a number"),
        (lambda: x[0, 0, 0][[0]], IndexError, "too many indices for tensor of dimension 0"),
    ]
    for fn, exc, msg in cases:
        with raises(exc, msg):
            fn()
    assert x._tape is None  # nothing was recorded


# ------------------------------------------------------------------------------------------------
# x[key] = value
# ------------------------------------------------------------------------------------------------
@given(data=st.data())
def test_setitem_matches_numpy(data):
    a = arr(data, data.draw(SHAPES))
    key = data.draw(st.one_of(
        hnp.basic_indices(a.shape).filter(positive_steps),
        st.lists(st.integers(-a.shape[0], a.shape[0] - 1), min_size=1, max_size=3).map(np.array),
        hnp.arrays(np.bool_, a.shape)))
    expect = a.copy()
    expect[key] = 7.0
    x = tg.tensor(a)
    x[key] = 7.0
    np.testing.assert_array_equal(x.numpy(), expect)
    assert x._tape is None


def test_setitem_values_broadcast_and_cast():
    y = tg.zeros(3, 4)
    y[tg.tensor([True, False, True])] = tg.tensor([1.0, 2, 3, 4])
    assert y.tolist() == [[1, 2, 3, 4], [0, 0, 0, 0], [1, 2, 3, 4]]
    y[0] = tg.tensor([[[5.0, 6, 7, 8]]])  # leading 1s are dropped, as in torch
    assert y[0].tolist() == [5, 6, 7, 8]
    z = tg.zeros(3, dtype=tg.int64)
    z[0] = 2.7
    assert z.tolist() == [2, 0, 0]
    w = tg.zeros(2, 3)
    w[[1, 1]] = tg.tensor([[1.0, 1, 1], [2.0, 2, 2]])
    assert w.tolist() == [[0, 0, 0], [2, 2, 2]]


def test_setitem_errors():
    leaf = tg.ones(3, requires_grad=True)
    with raises(RuntimeError, "a view of a leaf Variable that requires grad is being used in an "
                              "in-place operation."):
        leaf[0] = 1.0
    with raises(RuntimeError, "a leaf Variable that requires grad is being used in an in-place "
                              "operation."):
        leaf[[0]] = 1.0
    y = leaf * 2
    with tg.no_grad():
        leaf[1] = 5.0
        y[0] = 3.0
    assert leaf.tolist() == [1, 5, 1] and y.tolist()[0] == 3
    z = tg.zeros(3, 4)
    with raises(RuntimeError, "shape mismatch: value tensor of shape [3, 4] cannot be broadcast to "
                              "indexing result of shape [2, 4]"):
        z[[0, 1]] = tg.ones(3, 4)
    with raises(IndexError, "index 9 is out of bounds for dimension 0 with size 3"):
        z[[0, 9]] = 1.0
    with raises(ValueError, "step must be greater than zero"):
        z[::-1] = 1.0
    with raises(TypeError, "can't assign a str to a torch.FloatTensor"):
        z[0] = "a"
    assert not z.numpy().any()


# ------------------------------------------------------------------------------------------------
# index_select, gather, take_along_dim, scatter_add, masked_fill
# ------------------------------------------------------------------------------------------------
@given(data=st.data())
def test_index_select_matches_numpy(data):
    a = arr(data, data.draw(SHAPES))
    dim = data.draw(st.integers(-a.ndim, a.ndim - 1))
    ix = np.array(data.draw(st.lists(st.integers(0, a.shape[dim] - 1), max_size=4)), np.int64)
    x = tg.tensor(a, requires_grad=True)
    out = x.index_select(dim, tg.tensor(ix, dtype=tg.int64))
    np.testing.assert_array_equal(out.detach().numpy(), np.take(a, ix, axis=dim))
    assert out.grad_fn.name() == "IndexSelectBackward0"
    out.sum().backward()
    counts = np.bincount(ix, minlength=a.shape[dim]).astype(float)
    shape = [1] * a.ndim
    shape[dim] = -1
    np.testing.assert_array_equal(x.grad.numpy(), np.broadcast_to(counts.reshape(shape), a.shape))


@given(data=st.data())
def test_gather_and_take_along_dim_match_numpy(data):
    a = arr(data, data.draw(SHAPES))
    dim = data.draw(st.integers(-a.ndim, a.ndim - 1))
    shape = list(a.shape)
    shape[dim] = data.draw(st.integers(1, 4))
    ix = data.draw(hnp.arrays(np.int64, tuple(shape), elements=st.integers(0, a.shape[dim] - 1)))
    x = tg.tensor(a, requires_grad=True)
    expect = np.take_along_axis(a, ix, axis=dim)
    out = x.gather(dim, tg.tensor(ix))
    np.testing.assert_array_equal(out.detach().numpy(), expect)
    np.testing.assert_array_equal(tg.take_along_dim(x, tg.tensor(ix), dim).detach().numpy(), expect)
    flat = tg.take_along_dim(x, tg.tensor(ix.ravel()[:3]))
    np.testing.assert_array_equal(flat.detach().numpy(), a.ravel()[ix.ravel()[:3]])
    assert out.grad_fn.name() == flat.grad_fn.name() == "GatherBackward0"
    # index smaller than input in the other dims
    small = ix[tuple(slice(0, 1) if d != dim % a.ndim else slice(None) for d in range(a.ndim))]
    np.testing.assert_array_equal(x.gather(dim, tg.tensor(small)).detach().numpy(),
                                  np.take_along_axis(a[tuple(slice(0, 1) if d != dim % a.ndim
                                                             else slice(None)
                                                             for d in range(a.ndim))], small, dim))


def test_take_along_dim_broadcasts_input_and_indices():
    x = tg.tensor([[1.0, 2.0, 3.0]], requires_grad=True)  # (1, 3) against indices (2, 1)
    out = tg.take_along_dim(x, tg.tensor([[2], [0]]), 1)
    assert out.tolist() == [[3.0], [1.0]]
    out.sum().backward()
    assert x.grad.tolist() == [[1.0, 0.0, 1.0]]
    assert gradcheck(lambda x: tg.take_along_dim(x, tg.tensor([[2, 2], [0, 1]]), 1),
                     (tg.tensor(np.ones((1, 3)), requires_grad=True),))


@given(data=st.data())
def test_scatter_add_matches_numpy(data):
    a = arr(data, data.draw(SHAPES))
    d = data.draw(st.integers(0, a.ndim - 1))
    ishape = tuple(data.draw(st.integers(1, n)) for n in a.shape)
    ix = data.draw(hnp.arrays(np.int64, ishape, elements=st.integers(0, a.shape[d] - 1)))
    src = arr(data, tuple(n + 1 for n in a.shape))
    expect = a.copy()
    coords = list(np.indices(ishape))
    part = src[tuple(slice(0, n) for n in ishape)]
    coords[d] = ix
    np.add.at(expect, tuple(coords), part)
    x, s = tg.tensor(a, requires_grad=True), tg.tensor(src, requires_grad=True)
    out = x.scatter_add(d, tg.tensor(ix), s)
    np.testing.assert_allclose(out.detach().numpy(), expect, atol=1e-12)
    assert out.grad_fn.name() == "ScatterAddBackward0"
    w = np.random.default_rng(1).standard_normal(a.shape)
    (out * tg.tensor(w)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), w)
    gs = np.zeros_like(src)
    gs[tuple(slice(0, n) for n in ishape)] = w[tuple(coords)]
    np.testing.assert_array_equal(s.grad.numpy(), gs)


@given(data=st.data())
def test_masked_fill_matches_numpy(data):
    shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_side=3)).input_shapes
    a = arr(data, shapes[0])
    mask = data.draw(hnp.arrays(np.bool_, shapes[1]))
    x = tg.tensor(a, requires_grad=True)
    out = x.masked_fill(tg.tensor(mask), -1e4)
    np.testing.assert_array_equal(out.detach().numpy(), np.where(mask, -1e4, a))
    assert out.grad_fn.name() == "MaskedFillBackward0"
    out.sum().backward()
    full = np.broadcast_shapes(a.shape, mask.shape)
    ref = np.zeros(full)
    ref += ~np.broadcast_to(mask, full)
    np.testing.assert_array_equal(x.grad.numpy(), ref.sum(axis=tuple(range(len(full) - a.ndim)))
                                  .sum(axis=tuple(i for i, n in enumerate(a.shape) if n == 1
                                                  and full[len(full) - a.ndim + i] != 1),
                                       keepdims=True) if a.ndim else ref.sum())


def test_masked_fill_with_tensor_value_and_dtypes():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    v = tg.tensor(5.0, requires_grad=True)
    out = x.masked_fill(tg.tensor([True, False, True]), v)
    assert out.tolist() == [5.0, 2.0, 5.0] and out.grad_fn.name() == "MaskedFillBackward1"
    (out * tg.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert x.grad.tolist() == [0.0, 2.0, 0.0] and v.grad.item() == 4.0
    ints = tg.ones(3, dtype=tg.int64).masked_fill(tg.tensor([True, False, True]), 2.5)
    assert ints.dtype == tg.int64 and ints.tolist() == [2, 1, 2]
    inf = tg.tensor([1.0, 2.0], requires_grad=True).masked_fill(tg.tensor([True, False]), float("inf"))
    inf.sum().backward()
    assert np.isinf(inf.tolist()[0])


def test_gather_family_errors_match_torch():
    x = tg.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    L = tg.tensor
    cases = [
        (lambda: x.index_select(0, L([5])), IndexError, "index out of range in self"),
        (lambda: x.index_select(0, L([-1])), IndexError, "index out of range in self"),
        (lambda: x.index_select(0, L([[0]])), IndexError, "index_select(): Index is supposed to be a vector"),
        (lambda: x.index_select(0, L([0.0])), RuntimeError, "index_select(): Expected dtype int32 or int64 for index"),
        (lambda: x.index_select(2, L([0])), IndexError, "Dimension out of range (expected to be in range of [-2, 1], but got 2)"),
        (lambda: x.index_select(0, [0]), TypeError, "index_select(): argument 'index' (position 2) must be Tensor, not list"),
        (lambda: x.gather(1, L([[0], [0], [0], [0]])), RuntimeError, "Size does not match at dimension 0 expected index [4, 1] to be no larger than self [3, 4] apart from dimension 1"),
        (lambda: x.gather(1, L([[5]])), RuntimeError, "index 5 is out of bounds for dimension 1 with size 4"),
        (lambda: x.gather(1, L([[-1]])), RuntimeError, "index -1 is out of bounds for dimension 1 with size 4"),
        (lambda: x.gather(1, L([0])), RuntimeError, "Index tensor must have the same number of dimensions as input tensor"),
        (lambda: x.gather(1, L([[0.0]])), RuntimeError, "gather(): Expected dtype int32/int64 for index"),
        (lambda: x.scatter_add(0, L([[0, 1], [2, 2]]), tg.ones(1, 3, dtype=tg.float64)), RuntimeError, "Expected index [2, 2] to be no larger than self [3, 4] apart from dimension 0 and to be no larger size than src [1, 3]"),
        (lambda: x.scatter_add(0, L([[0, 1], [2, 9]]), tg.ones(2, 2, dtype=tg.float64)), RuntimeError, "index 9 is out of bounds for dimension 0 with size 3"),
        (lambda: x.scatter_add(0, L([[0, 1]]), tg.ones(2, 2)), RuntimeError, "scatter(): Expected self.dtype to be equal to src.dtype"),
        (lambda: x.scatter_add(0, L([[0, 1]]), 1.0), TypeError, "scatter_add(): argument 'src' (position 3) must be Tensor, not float"),
        (lambda: x.scatter_add(0, L([0, 1]), tg.ones(2, dtype=tg.float64)), RuntimeError, "Index tensor must have the same number of dimensions as self tensor"),
        (lambda: x.scatter_add(0, L([[0.0]]), tg.ones(2, 2, dtype=tg.float64)), RuntimeError, "scatter(): Expected dtype int32/int64 for index"),
        (lambda: x.masked_fill(L([True, False]), 0.0), RuntimeError, "The size of tensor a (4) must match the size of tensor b (2) at non-singleton dimension 1"),
        (lambda: x.masked_fill(L([1, 0, 1, 0]), 0.0), RuntimeError, "masked_fill_ only supports boolean masks, but got mask with dtype long int"),
        (lambda: x.masked_fill(L([True, False, True, False]), L([2.0])), RuntimeError, "masked_fill_ only supports a 0-dimensional value tensor, but got tensor with 1 dimension(s)."),
        (lambda: tg.take_along_dim(x, L([[0, 1]]), 0), RuntimeError, "The size of tensor a (4) must match the size of tensor b (2) at non-singleton dimension 1"),
        (lambda: tg.take_along_dim(x, L([[[0]]]), 1), RuntimeError, "torch.take_along_dim(): input and indices should have the same number of dimensions, but got 2 dimensions for input, and 3 dimensions for indices"),
        (lambda: tg.take_along_dim(x, L([[0.0]]), 1), RuntimeError, "torch.take_along_dim(): dtype of indices should be Long but got Float"),
        (lambda: tg.take_along_dim(x, L([[0]], dtype=tg.int32), 1), RuntimeError, "torch.take_along_dim(): dtype of indices should be Long but got Int"),
        (lambda: tg.take_along_dim(x, L([[0], [9], [2]]), 1), RuntimeError, "index 9 is out of bounds for dimension 1 with size 4"),
    ]
    for fn, exc, msg in cases:
        with raises(exc, msg):
            fn()
    assert x._tape is None


def test_zero_dim_inputs():
    s = tg.tensor(2.0, dtype=tg.float64, requires_grad=True)
    assert s.index_select(0, tg.tensor([0])).shape == ()
    assert s.gather(0, tg.tensor([0, 0])).tolist() == [2.0, 2.0]
    assert s[None].shape == (1,) and s[...].grad_fn.name() == "AliasBackward0"
    assert s[True].shape == (1,)
    s.gather(0, tg.tensor([0, 0])).sum().backward()
    assert s.grad.item() == 2.0


def test_setitem_in_a_graph_is_recorded():
    x = tg.tensor([1.0, 2.0, 3.0], dtype=tg.float64, requires_grad=True)
    v = tg.tensor(10.0, dtype=tg.float64, requires_grad=True)
    y = x * 2
    before = y * 4                   # saves nothing of y
    y[1] = v                         # recorded: y is rebound to a CopySlices result
    assert y.tolist() == [2.0, 10.0, 6.0] and y.grad_fn.name() == "torch::autograd::CopySlices"
    (y * tg.tensor([1.0, 2.0, 3.0], dtype=tg.float64) + before).sum().backward()
    # d/dx: through y (position 1 overwritten) 2*[1, 0, 3] + through `before` 8
    assert x.grad.tolist() == [2.0 + 8.0, 8.0, 6.0 + 8.0]
    assert v.grad.item() == 2.0
    w = x * 2
    saved = w * w                    # saves w at version 0
    w[1] = v
    with pytest.raises(RuntimeError, match="output 0 of CopySlices, is at version 1; expected "
                                           "version 0"):
        (w + saved).sum().backward()
    z = tg.zeros(3, dtype=tg.float64)
    z[0] = v                         # a tensor without grad joins the graph
    assert z.requires_grad and z.grad_fn.name() == "torch::autograd::CopySlices"


def test_setitem_under_no_grad_on_a_saved_value_raises_at_backward():
    x = tg.tensor([1.0, 2.0], dtype=tg.float64, requires_grad=True)
    y = x.exp()
    z = (y * y).sum()
    with tg.no_grad():
        y[0] = 0.0
    with pytest.raises(RuntimeError, match="one of the variables needed for gradient "
                                            "computation has been modified by an inplace operation"):
        z.backward()
