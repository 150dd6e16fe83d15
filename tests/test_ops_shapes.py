"""Shape ops of issue #3 (flatten ... unbind): forward against numpy over random shapes and
arguments, gradients against the gather each op performs, torch's grad_fn names, and torch's
errors (types and messages as torch 2.13 printed them)."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tapegrad as tg
from tapegrad.testing import gradcheck

SHAPES = hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=3)


def labels(shape, first=1):
    """Distinct positive values: a value v in an op's output says it read input element v - 1."""
    return np.arange(first, first + int(np.prod(shape)), dtype=np.float64).reshape(shape)


def expected_grad(out_labels, w, n, first=1):
    """d sum(w * out) / d input for an op that copies input elements (zeros read nothing)."""
    v = out_labels.reshape(-1).astype(np.int64) - first
    keep = (v >= 0) & (v < n)
    return np.bincount(v[keep], weights=w.reshape(-1)[keep], minlength=n)


def check(tg_fn, np_fn, *arrays):
    """Forward (recorded and not) equals numpy's; the gradient is the adjoint of the gather."""
    firsts = np.cumsum([1] + [a.size for a in arrays[:-1]])
    arrays = [labels(a.shape, f) for a, f in zip(arrays, firsts)]
    want = np.asarray(np_fn(*arrays))
    plain = tg_fn(*[tg.tensor(a) for a in arrays])
    assert not plain.requires_grad
    np.testing.assert_array_equal(plain.numpy(), want)
    xs = [tg.tensor(a, requires_grad=True) for a in arrays]
    out = tg_fn(*xs)
    assert out.shape == want.shape and out.dtype is tg.float64
    np.testing.assert_array_equal(out.detach().numpy(), want)
    w = np.random.default_rng(0).standard_normal(want.shape)
    if out.numel():
        (out * tg.tensor(w)).sum().backward()
        for x, a, f in zip(xs, arrays, firsts):
            if not a.size and x.grad is None:  # torch: zeros of the empty shape
                continue
            np.testing.assert_allclose(x.grad.numpy().reshape(-1),
                                       expected_grad(want, w, a.size, f), atol=1e-12)


def dim_of(data, nd, extra=0):
    n = max(nd + extra, 1)
    return data.draw(st.integers(-n, n - 1))


@given(data=st.data(), shape=SHAPES)
def test_flatten_unflatten_squeeze_unsqueeze(data, shape):
    x = np.empty(shape)
    nd = len(shape)
    s, e = sorted((dim_of(data, nd) % max(nd, 1), dim_of(data, nd) % max(nd, 1)))
    check(lambda t: t.flatten(s, e), lambda a: a.reshape(a.shape[:s] + (-1,) + a.shape[e + 1:])
          if nd else a.reshape(1), x)
    check(lambda t: tg.flatten(t), lambda a: a.reshape(-1), x)
    if nd:
        d = dim_of(data, nd)
        n = shape[d]
        split = data.draw(st.sampled_from([(n,), (1, n), (n, 1), (-1,), (1, -1, 1)]))
        check(lambda t: t.unflatten(d, split),
              lambda a: a.reshape(a.shape[:d % nd] + tuple(n if k == -1 else k for k in split)
                                  + a.shape[d % nd + 1:]), x)
    d = dim_of(data, nd)
    check(lambda t: t.squeeze(), np.squeeze, x)
    check(lambda t: t.squeeze(d), lambda a: a.squeeze(d) if nd and a.shape[d] == 1 else a, x)
    ds = tuple(data.draw(st.sets(st.integers(0, nd - 1), max_size=nd))) if nd else ()
    check(lambda t: tg.squeeze(t, ds),
          lambda a: a.squeeze(tuple(k for k in ds if a.shape[k] == 1)), x)
    u = dim_of(data, nd, 1)
    check(lambda t: t.unsqueeze(u), lambda a: np.expand_dims(a, u), x)


@given(data=st.data(), shape=SHAPES)
def test_expand_repeat_movedim(data, shape):
    x = np.empty(shape)
    lead = tuple(data.draw(st.lists(st.integers(0, 2), max_size=2)))
    target = lead + tuple(data.draw(st.integers(0, 3)) if n == 1 else
                          data.draw(st.sampled_from([n, -1])) for n in shape)
    full = lead + tuple(n if k == -1 else k for k, n in zip(target[len(lead):], shape))
    check(lambda t: t.expand(*target), lambda a: np.broadcast_to(a, full), x)
    check(lambda t: tg.broadcast_to(t, full), lambda a: np.broadcast_to(a, full), x)
    check(lambda t: t.expand_as(tg.zeros(full)), lambda a: np.broadcast_to(a, full), x)
    reps = tuple(data.draw(st.lists(st.integers(0, 3), min_size=len(shape),
                                    max_size=len(shape) + 2)))
    if reps:
        check(lambda t: t.repeat(*reps), lambda a: np.tile(a, reps), x)
        check(lambda t: t.repeat(reps), lambda a: np.tile(a, reps), x)
    nd = len(shape)
    if nd:
        k = data.draw(st.integers(1, nd))
        src = data.draw(st.permutations(range(-nd, 0)))[:k]
        dst = data.draw(st.permutations(range(nd)))[:k]
        check(lambda t: t.movedim(src, dst), lambda a: np.moveaxis(a, src, dst), x)
        check(lambda t: tg.moveaxis(t, src[0], dst[0]), lambda a: np.moveaxis(a, src[0], dst[0]),
              x)


@given(data=st.data(), shape=SHAPES)
def test_flip_roll_narrow_tril_triu_diagonal(data, shape):
    x = np.empty(shape)
    nd = len(shape)
    dims = data.draw(st.sets(st.integers(0, nd - 1))) if nd else set()
    dims = tuple(d - nd if data.draw(st.booleans()) else d for d in dims)
    check(lambda t: tg.flip(t, dims), lambda a: np.flip(a, dims) if nd else a, x)
    check(lambda t: t.flip(*dims), lambda a: np.flip(a, dims) if nd else a, x)
    shift = data.draw(st.integers(-7, 7))
    check(lambda t: t.roll(shift), lambda a: np.roll(a.reshape(-1), shift).reshape(a.shape), x)
    if nd:
        rd = tuple(data.draw(st.lists(st.integers(-nd, nd - 1), min_size=1, max_size=3)))
        sh = tuple(data.draw(st.integers(-5, 5)) for _ in rd)
        check(lambda t: tg.roll(t, sh, rd), lambda a: np.roll(a, sh, rd), x)
        d = dim_of(data, nd)
        n = shape[d]
        start = data.draw(st.integers(-n, n))
        length = data.draw(st.integers(0, n - start % (n + 1) if start >= 0 else -start))
        check(lambda t: t.narrow(d, start, length),
              lambda a: np.take(a, range(start % (n + 1) if start >= 0 else start + n,
                                         (start if start >= 0 else start + n) + length), d), x)
    if nd >= 2:
        k = data.draw(st.integers(-4, 4))
        check(lambda t: t.tril(k), lambda a: np.tril(a, k), x)
        check(lambda t: tg.triu(t, diagonal=k), lambda a: np.triu(a, k), x)
        d1 = dim_of(data, nd)
        d2 = data.draw(st.integers(-nd, nd - 1).filter(lambda v: v % nd != d1 % nd))
        check(lambda t: t.diagonal(k, d1, d2), lambda a: np.diagonal(a, k, d1, d2), x)
        check(lambda t: tg.diagonal(t, dim1=d1, dim2=d2, offset=k),
              lambda a: np.diagonal(a, k, d1, d2), x)


@given(data=st.data(), shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3))
def test_cat_stack(data, shape):
    nd = len(shape)
    d = dim_of(data, nd)
    sizes = data.draw(st.lists(st.integers(0, 3), min_size=1, max_size=4))
    xs = [np.empty(shape[:d % nd] + (k,) + shape[d % nd + 1:]) for k in sizes]
    check(lambda *ts: tg.cat(ts, d), lambda *a: np.concatenate(a, d), *xs)
    check(lambda *ts: tg.concat(list(ts), dim=d), lambda *a: np.concatenate(a, d), *xs)
    check(lambda *ts: tg.concatenate(ts, axis=d), lambda *a: np.concatenate(a, d), *xs)
    check(lambda *ts: tg.cat(ts + (tg.zeros(0, dtype=tg.float64),), d),  # torch's legacy rule
          lambda *a: np.concatenate(a, d), *xs)
    s = dim_of(data, nd, 1)
    ys = [np.empty(shape) for _ in sizes]
    check(lambda *ts: tg.stack(ts, s), lambda *a: np.stack(a, s), *ys)
    zs = [np.empty(()) for _ in sizes]  # the fast path (0-d tensors on one tape)
    check(lambda *ts: tg.stack([t * 1.0 for t in ts], s % 1 - 1), lambda *a: np.stack(a), *zs)


@given(data=st.data(), shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=4))
def test_split_chunk_unbind(data, shape):
    x = labels(shape)
    nd = len(shape)
    d = dim_of(data, nd)
    n = shape[d]
    k = data.draw(st.integers(1 if n else 0, 5))
    cuts = list(range(k, n, k)) if k else []
    cuts_list = sorted(data.draw(st.lists(st.integers(0, n), max_size=3)))
    sections = [b - a for a, b in zip([0] + cuts_list, cuts_list + [n])]
    chunks = data.draw(st.integers(1, 5))
    size = -(-n // chunks)
    cases = [
        (lambda t: t.split(k, d), np.split(x, cuts, d) if n else [x]),
        (lambda t: tg.split(t, sections, d), np.split(x, cuts_list, d)),
        (lambda t: t.chunk(chunks, d), np.split(x, list(range(size, n, size)), d) if n
         else [x] * chunks),
        (lambda t: t.unbind(d), [np.take(x, i, d) for i in range(n)]),
        (lambda t: tuple(t.movedim(d, 0)), [np.take(x, i, d) for i in range(n)]),
    ]
    w = np.random.default_rng(1).standard_normal(x.shape)
    for fn, want in cases:
        assert [p.shape for p in fn(tg.tensor(x))] == [q.shape for q in want]
        t = tg.tensor(x, requires_grad=x.size > 0)  # (an empty leaf can't start a tape yet)
        pieces = fn(t)
        assert isinstance(pieces, tuple)
        assert len(pieces) == len(want)
        for p, q in zip(pieces, want):
            np.testing.assert_array_equal(p.detach().numpy(), q)
        # weight each piece by the matching piece of w
        ws = fn(tg.tensor(w))
        total = sum(((p * q).sum() for p, q in zip(pieces, ws) if p.numel()), tg.tensor(0.0))
        if total.requires_grad:  # the pieces cover x: the gradient reassembles w
            total.backward()
            np.testing.assert_array_equal(t.grad.numpy(), w)


def test_iteration_gives_differentiable_rows():
    x = tg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    a, b = x
    (a * 2 + b * 3).sum().backward()
    assert x.grad.tolist() == [[2.0, 2.0], [3.0, 3.0]]


def test_scalar_stack_softmax_unbind_roundtrip():
    """The scalar benchmark's pattern: leaves -> stack -> ops -> unbind -> backward."""
    xs = [tg.tensor(v, dtype=tg.float64, requires_grad=True) for v in (0.5, -1.0, 2.0)]
    ys = [x * x for x in xs]
    z = tg.stack(ys) * tg.tensor([1.0, 2.0, 3.0], dtype=tg.float64)
    u = z.unbind()
    assert type(u) is tuple and [type(t.grad_fn).__name__ for t in u] == ["UnbindBackward0"] * 3
    assert type(z.grad_fn).__name__ == "MulBackward0"
    (u[0] + u[2] * 2).backward()
    assert [x.grad.item() for x in xs] == [1.0, 0.0, 24.0]
    # leaves straight into stack (general path), and a float32 mix
    s = tg.stack(xs)
    assert type(s.grad_fn).__name__ == "StackBackward0" and s.tolist() == [0.5, -1.0, 2.0]
    assert tg.stack([tg.tensor(1.0), tg.tensor(2)]).dtype is tg.float32
    assert tg.stack([tg.tensor(1), tg.tensor(2)]).dtype is tg.int64


@pytest.mark.parametrize("fn, name", [
    (lambda x: x.flatten(), "ViewBackward0"), (lambda x: x.unflatten(1, (3, 1)), "ViewBackward0"),
    (lambda x: x.squeeze(), "SqueezeBackward0"), (lambda x: x.squeeze(0), "SqueezeBackward1"),
    (lambda x: x.squeeze((0, 1)), "SqueezeBackward2"),
    (lambda x: x.unsqueeze(0), "UnsqueezeBackward0"), (lambda x: x.expand(2, 2, 3, 4),
                                                       "ExpandBackward0"),
    (lambda x: tg.broadcast_to(x, (2, 3, 4)), "ExpandBackward0"),
    (lambda x: x.movedim(0, 2), "PermuteBackward0"), (lambda x: x.repeat(1, 1, 2),
                                                      "RepeatBackward0"),
    (lambda x: x.flip(0), "FlipBackward0"), (lambda x: x.roll(1), "RollBackward0"),
    (lambda x: x.narrow(1, 0, 2), "SliceBackward0"), (lambda x: x.tril(), "TrilBackward0"),
    (lambda x: x.triu(1), "TriuBackward0"), (lambda x: x.diagonal(), "DiagonalBackward0"),
    (lambda x: tg.cat([x, x]), "CatBackward0"), (lambda x: tg.stack([x, x]), "StackBackward0"),
    (lambda x: x.split(2, 1)[1], "SplitBackward0"), (lambda x: x.chunk(2, 1)[0], "SplitBackward0"),
    (lambda x: x.split([1, 2], 1)[0], "SplitWithSizesBackward0"),
    (lambda x: x.unbind(1)[2], "UnbindBackward0"),
])
def test_grad_fn_names_and_gradcheck(fn, name):
    x = tg.tensor(np.linspace(-1, 1, 24).reshape(2, 3, 4), requires_grad=True)
    assert type(fn(x).grad_fn).__name__ == name
    assert gradcheck(fn, (x,))


def test_no_op_cases_and_integer_inputs():
    x = tg.tensor(np.ones((2, 3)), requires_grad=True)
    assert x.flatten(1, 1) is x and tg.tensor([1.0]).flatten().shape == (1,)
    assert tg.tensor(2.0).flatten().shape == (1,)
    i = tg.arange(6).reshape(2, 3)
    assert i.tril().tolist() == [[0, 0, 0], [3, 4, 0]] and i.tril().dtype is tg.int64
    assert tg.cat([i, i.float()]).dtype is tg.float32
    assert i.flip(0).tolist() == [[3, 4, 5], [0, 1, 2]]
    assert i.expand(2, 2, 3).dtype is tg.int64
    assert [t.tolist() for t in i.unbind(1)] == [[0, 3], [1, 4], [2, 5]]
    assert tg.ones(0, 2).unbind() == ()
    y = tg.ones(1, 3).expand(2, 3)
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor "
                                           "refers to a single memory location"):
        y.add_(1)  # torch: an expanded view shares memory between elements


x3 = tg.zeros(2, 3, 4)
s0 = tg.tensor(1.0)
v3 = tg.zeros(3)


@pytest.mark.parametrize("call, exc, msg", [
    (lambda: x3.flatten(2, 0), RuntimeError,
     "flatten() has invalid args: start_dim cannot come after end_dim"),
    (lambda: x3.flatten(3), IndexError,
     "Dimension out of range (expected to be in range of [-3, 2], but got 3)"),
    (lambda: x3.unflatten(-2, (2, 2)), RuntimeError,
     "unflatten: Provided sizes [2, 2] don't multiply up to the size of dim 1 (3) in the input "
     "tensor"),
    (lambda: x3.unflatten(1, ()), RuntimeError, "unflatten: sizes must be non-empty"),
    (lambda: x3.unflatten(1, (-1, -1)), RuntimeError,
     "unflatten got an unexpected error:\nonly one dimension can be inferred"),
    (lambda: x3.squeeze((0, 0)), RuntimeError, "dim 0 appears multiple times in the list of dims"),
    (lambda: s0.squeeze(1), IndexError,
     "Dimension out of range (expected to be in range of [-1, 0], but got 1)"),
    (lambda: x3.unsqueeze(-5), IndexError,
     "Dimension out of range (expected to be in range of [-4, 3], but got -5)"),
    (lambda: v3.expand(2), RuntimeError,
     "The expanded size of the tensor (2) must match the existing size (3) at non-singleton "
     "dimension 0.  Target sizes: [2].  Tensor sizes: [3]"),
    (lambda: v3.expand(-1, 3), RuntimeError,
     "The expanded size of the tensor (-1) isn't allowed in a leading, non-existing dimension 0"),
    (lambda: x3.expand(3, 4), RuntimeError,
     "expand(torch.FloatTensor{[2, 3, 4]}, size=[3, 4]): the number of sizes provided (2) must "
     "be greater or equal to the number of dimensions in the tensor (3)"),
    (lambda: v3.expand_as(x3), RuntimeError,
     "The expanded size of the tensor (4) must match the existing size (3) at non-singleton "
     "dimension 2.  Target sizes: [2, 3, 4].  Tensor sizes: [3]"),
    (lambda: x3.movedim((0, 1), (2,)), RuntimeError,
     "movedim: Invalid source or destination dims: source ([0, 1] dims) should contain the same "
     "number of dims as destination ([2] dims)"),
    (lambda: x3.movedim((0, -3), (1, 2)), RuntimeError,
     "movedim: repeated dim in `source` ([0, -3])"),
    (lambda: x3.movedim((0, 1), (-1, 2)), RuntimeError,
     "movedim: repeated dim in `destination` ([-1, 2])"),
    (lambda: x3.repeat(2), RuntimeError, "Number of dimensions of repeat dims can not be smaller "
     "than number of dimensions of tensor"),
    (lambda: x3.repeat(2, 2, -1), RuntimeError,
     "Trying to create tensor with negative dimension -4: [4, 6, -4]"),
    (lambda: v3.repeat(), TypeError, 'repeat() missing 1 required positional arguments: '
     '"repeats"'),
    (lambda: x3.flip(0, 0), RuntimeError, "dim 0 appears multiple times in the list of dims"),
    (lambda: x3.roll(1, (0, 1)), RuntimeError, "shifts and dimensions must align. shifts: 1, "
     "dims:2"),
    (lambda: x3.roll((1, 2)), RuntimeError, "shifts and dimensions must align. shifts: 2, dims:0"),
    (lambda: x3.roll((), ()), RuntimeError, "`shifts` required"),
    (lambda: s0.roll(1, 0), IndexError, "Dimension specified as 0 but tensor has no dimensions"),
    (lambda: x3.narrow(1, 2, 2), RuntimeError, "start (2) + length (2) exceeds dimension size "
     "(3)."),
    (lambda: x3.narrow(1, -1, 3), RuntimeError, "start (2) + length (3) exceeds dimension size "
     "(3)."),
    (lambda: x3.narrow(1, -4, 1), IndexError,
     "start out of range (expected to be in range of [-3, 3], but got -4)"),
    (lambda: x3.narrow(1, 0, -1), RuntimeError, "narrow(): length must be non-negative."),
    (lambda: s0.narrow(0, 0, 1), RuntimeError, "narrow() cannot be applied to a 0-dim tensor."),
    (lambda: v3.tril(), RuntimeError, "tril: input tensor must have at least 2 dimensions"),
    (lambda: s0.triu(), RuntimeError, "triu: input tensor must have at least 2 dimensions"),
    (lambda: x3.tril(True), TypeError,
     "tril(): argument 'diagonal' (position 1) must be int, not bool"),
    (lambda: x3.diagonal(0, 1, -2), RuntimeError,
     "diagonal dimensions cannot be identical 1, -2"),
    (lambda: v3.diagonal(), IndexError,
     "Dimension out of range (expected to be in range of [-1, 0], but got 1)"),
    (lambda: tg.cat([]), ValueError, "torch.cat(): expected a non-empty list of Tensors"),
    (lambda: tg.cat([x3, v3]), RuntimeError,
     "Tensors must have same number of dimensions: got 3 and 1"),
    (lambda: tg.cat([x3, x3[:, :2]], 0), RuntimeError,
     "Sizes of tensors must match except in dimension 0. Expected size 3 but got size 2 for "
     "tensor number 1 in the list."),
    (lambda: tg.cat([s0, s0]), RuntimeError,
     "zero-dimensional tensor (at position 0) cannot be concatenated"),
    (lambda: tg.cat(x3), TypeError,
     "cat(): argument 'tensors' (position 1) must be tuple of Tensors, not Tensor"),
    (lambda: tg.cat([x3, 3]), TypeError, "expected Tensor as element 1 in argument 0, but got int"),
    (lambda: tg.cat([x3, x3], 3), IndexError,
     "Dimension out of range (expected to be in range of [-3, 2], but got 3)"),
    (lambda: tg.stack([]), RuntimeError, "stack expects a non-empty TensorList"),
    (lambda: tg.stack([x3, v3]), RuntimeError,
     "stack expects each tensor to be equal size, but got [2, 3, 4] at entry 0 and [3] at entry 1"),
    (lambda: tg.stack([s0, s0], 1), IndexError,
     "Dimension out of range (expected to be in range of [-1, 0], but got 1)"),
    (lambda: tg.stack(x3), TypeError,
     "stack(): argument 'tensors' (position 1) must be tuple of Tensors, not Tensor"),
    (lambda: x3.split(0, 1), RuntimeError,
     "split_size can only be 0 if dimension size is 0, but got dimension size of 3"),
    (lambda: x3.split(-1, 1), RuntimeError,
     "split expects split_size be non-negative, but got split_size=-1"),
    (lambda: x3.split([1, 1], -2), RuntimeError,
     "split_with_sizes expects split_sizes to sum exactly to 3 (input tensor's size at dimension "
     "-2), but got split_sizes=[1, 1]"),
    (lambda: x3.split([4, -1], 1), RuntimeError,
     "split_with_sizes expects split_sizes have only non-negative entries, but got "
     "split_sizes=[4, -1]"),
    (lambda: s0.split(1), RuntimeError, "split expects at least a 1-dimensional tensor"),
    (lambda: x3.chunk(0), RuntimeError, "chunk expects `chunks` to be greater than 0, got: 0"),
    (lambda: s0.chunk(1), RuntimeError, "chunk expects at least a 1-dimensional tensor"),
    (lambda: x3.unbind(3), IndexError,
     "Dimension out of range (expected to be in range of [-3, 2], but got 3)"),
    (lambda: s0.unbind(), IndexError, "Dimension specified as 0 but tensor has no dimensions"),
])
def test_errors_match_torch(call, exc, msg):
    with pytest.raises(exc) as info:
        call()
    assert str(info.value) == msg


def test_pieces_of_one_call_share_one_grad_fn_as_in_torch():
    x = tg.randn(3, 2, requires_grad=True)  # a leaf: its pieces still go on one tape
    a, b, c = x.unbind()
    a2, _, _ = x.unbind()
    assert a.grad_fn == b.grad_fn == c.grad_fn and a.grad_fn != a2.grad_fn
    assert type(a.grad_fn).__name__ == "UnbindBackward0"
    assert a.grad_fn.next_functions[0][0].variable is x
    p, q = x.split(2)
    r, s = x.chunk(2)
    assert p.grad_fn == q.grad_fn and r.grad_fn == s.grad_fn and p.grad_fn != r.grad_fn
    rows = list(x * 2.0)
    assert rows[0].grad_fn == rows[2].grad_fn
    (a.sum() + q.sum() * 2 + x.unbind(1)[1].sum()).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1, 2], [0, 1], [2, 3]])
