"""The torch functions of `ops/sorting.py`, `ops/misc.py` and `_torch_api.py`: values, dtypes,
return types, warnings and errors against torch's recorded observations
(tests/torch_ref/api_extras.py, recorded by tests/torch_ref/record_api_extras.py); gradients by
hypothesis against central finite differences; out= semantics; the random functions'
distributions; replay under `tapegrad.compile`."""
from __future__ import annotations

import json
import math
import pathlib
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tapegrad as tg
from tapegrad._compile import CompileWarning
from tapegrad.ops import misc
from tapegrad.testing import assert_gradients_close, gradgradcheck
from tests.test_torch_reference import differences
from tests.torch_ref import api_extras

DATA = pathlib.Path(__file__).resolve().parent / "data" / "torch_api_extras.json"
REFERENCE = json.loads(DATA.read_text())["observations"]

# composites whose rounding differs from torch's fused kernels in the last bits (float32 inputs,
# cdist's matrix-product form, pow-based logspace)
RTOL = {"cdist": 1e-6, "cdist|grad": 1e-7, "logspace": 1e-6, "addcmul_addcdiv_inplace": 1e-6}

# cases where tapegrad knowingly answers differently (each says why; strict: a fix must remove it)
KNOWN: dict = {}


@pytest.mark.parametrize("cid", [pytest.param(c, id=c, marks=[pytest.mark.xfail(
    reason=KNOWN[c], strict=True)] if c in KNOWN else []) for c, _ in api_extras.cases()])
def test_same_as_torch(cid):
    misc._WARNED.clear()  # (torch warns once per process: each case starts afresh)
    got = json.loads(json.dumps(api_extras.run(tg, cid)))
    diff = differences(got, REFERENCE[cid], rtol=RTOL.get(cid, 1e-9))
    assert not diff, f"{cid}:\n" + "\n".join(diff[:12])


def test_every_case_was_recorded():
    assert sorted(c for c, _ in api_extras.cases()) == sorted(REFERENCE)


# ------------------------------------------------------------------------------------------------
# gradients: hypothesis + central finite differences (float64, values away from ties and kinks)
# ------------------------------------------------------------------------------------------------
SHAPES = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3)
REAL = st.floats(-3, 3, allow_nan=False, allow_infinity=False)


def leaf(a) -> tg.Tensor:
    return tg.tensor(np.asarray(a, np.float64), requires_grad=True)


@st.composite
def distinct(draw, shape=SHAPES):
    """A float64 leaf whose elements are at least 0.1 apart (no ties for finite differences to
    cross) in a random order."""
    shape = draw(shape) if isinstance(shape, st.SearchStrategy) else shape
    n = int(np.prod(shape))
    order = draw(st.permutations(range(n)))
    base = draw(st.floats(-2, 2))
    return leaf((np.array(order, np.float64) * 0.37 + base).reshape(shape))


@st.composite
def dense(draw, shape=SHAPES, elements=REAL):
    shape = draw(shape) if isinstance(shape, st.SearchStrategy) else shape
    return leaf(draw(hnp.arrays(np.float64, shape, elements=elements)))


def dim_of(draw, x) -> int:
    return draw(st.integers(-x.ndim, x.ndim - 1))


@given(data=st.data())
def test_grad_sort_argsort_msort(data):
    x = data.draw(distinct())
    d = dim_of(data.draw, x)
    desc = data.draw(st.booleans())
    assert_gradients_close(lambda x: tg.sort(x, d, desc, stable=data.draw(st.booleans())).values, x)
    assert_gradients_close(tg.msort, x)
    # the indices sort the values
    v, i = tg.sort(x, d, desc)
    np.testing.assert_array_equal(np.take_along_axis(x.detach().numpy(), i.numpy(), d), v.detach().numpy())
    np.testing.assert_array_equal(tg.argsort(x, d, desc).numpy(), i.numpy())


@given(data=st.data())
def test_grad_topk_kthvalue(data):
    x = data.draw(distinct())
    d = dim_of(data.draw, x)
    n = x.shape[d]
    k = data.draw(st.integers(1, n))
    largest, srt = data.draw(st.booleans()), data.draw(st.booleans())
    assert_gradients_close(lambda x: x.topk(k, d, largest, srt).values, x)
    keep = data.draw(st.booleans())
    assert_gradients_close(lambda x: x.kthvalue(k, d, keep).values, x)
    ref = np.sort(x.detach().numpy(), axis=d)
    np.testing.assert_array_equal(x.kthvalue(k, d).values.detach().numpy(), np.take(ref, k - 1, d))


@given(data=st.data())
def test_grad_median_mode_aminmax(data):
    x = data.draw(distinct())
    d = dim_of(data.draw, x)
    keep = data.draw(st.booleans())
    assert_gradients_close(lambda x: x.median(), x)
    assert_gradients_close(lambda x: x.nanmedian(), x)
    assert_gradients_close(lambda x: x.median(d, keep).values, x)
    assert_gradients_close(lambda x: x.nanmedian(d, keep).values, x)
    assert_gradients_close(lambda x: x.mode(d, keep).values, x)
    assert_gradients_close(lambda x: tuple(tg.aminmax(x, dim=d, keepdim=keep)), x)
    a = x.detach().numpy()
    flat = np.sort(a.reshape(-1))
    assert x.median().item() == flat[(flat.size - 1) // 2]  # the lower median


def test_global_median_gradient_is_split_among_ties():
    x = leaf([3.0, 1.0, 3.0, 5.0, 3.0])
    x.median().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1 / 3, 0, 1 / 3, 0, 1 / 3])


@given(data=st.data())
def test_grad_masked_select_take_repeat_interleave(data):
    x = data.draw(dense())
    mshape = data.draw(hnp.broadcastable_shapes(x.shape, min_dims=0, max_dims=3, max_side=3))
    mask = tg.tensor(data.draw(hnp.arrays(np.bool_, mshape)))
    assert_gradients_close(lambda x: tg.masked_select(x, mask), x)
    idx = tg.tensor(data.draw(hnp.arrays(np.int64, data.draw(SHAPES),
                                         elements=st.integers(-x.numel(), x.numel() - 1))))
    assert_gradients_close(lambda x: tg.take(x, idx), x)
    d = dim_of(data.draw, x)
    reps = tg.tensor(data.draw(st.lists(st.integers(0, 3), min_size=x.shape[d],
                                        max_size=x.shape[d])))
    assert_gradients_close(lambda x: x.repeat_interleave(reps, dim=d), x)
    r = data.draw(st.integers(0, 3))
    assert_gradients_close(lambda x: tg.repeat_interleave(x, r), x)


@given(data=st.data())
def test_grad_elementwise_composites(data):
    x = data.draw(dense(elements=REAL.filter(lambda v: abs(v - round(v)) > 0.05 and abs(v) > 0.05)))
    assert_gradients_close(lambda x: tg.nan_to_num(x * 2), x)
    assert_gradients_close(tg.frac, x)
    assert_gradients_close(lambda x: tg.clamp_min(x, 0.0), x)
    assert_gradients_close(lambda x: x.clamp_max(0.0), x)
    s1, s2, s3 = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3,
                                                             max_side=3)).input_shapes
    a, b = data.draw(dense(s1)), data.draw(dense(s2))
    c = data.draw(dense(s3, elements=st.floats(0.5, 3)))
    value = data.draw(st.sampled_from([1, -0.5, 2.0]))
    assert_gradients_close(lambda a, b, c: tg.addcmul(a, b, c, value=value), a, b, c)
    assert_gradients_close(lambda a, b, c: tg.addcdiv(a, b, c, value=value), a, b, c)


def test_nan_to_num_gradient_is_zero_where_not_finite():
    x = leaf([math.nan, math.inf, -math.inf, 2.0])
    (tg.nan_to_num(x) * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 0.0, 3.0])


@given(data=st.data())
def test_grad_scatter_and_index_family(data):
    x = data.draw(dense(hnp.array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=3)))
    d = dim_of(data.draw, x)
    dd = d % x.ndim
    # scatter with distinct positions along d (torch's gradient is defined there)
    ishape = tuple(data.draw(st.integers(1, n)) for n in x.shape)
    cols = np.stack([np.array(data.draw(st.permutations(range(x.shape[dd]))))[:ishape[dd]]
                     for _ in range(int(np.prod(ishape)) // ishape[dd])], -1)
    index = tg.tensor(np.moveaxis(cols.reshape((ishape[dd],) + tuple(
        n for k, n in enumerate(ishape) if k != dd)), 0, dd).copy())
    src = data.draw(dense(tuple(n + data.draw(st.integers(0, 1)) for n in ishape)))
    assert_gradients_close(lambda x, s: tg.scatter(x, d, index, s), x, src)
    assert_gradients_close(lambda x: x.scatter(d, index, 1.5), x)
    # index_add (repeated indices add up), index_fill, index_copy (distinct indices)
    k = data.draw(st.integers(1, 4))
    ia = tg.tensor(data.draw(st.lists(st.integers(0, x.shape[dd] - 1), min_size=k, max_size=k)))
    source = data.draw(dense(tuple(k if j == dd else n for j, n in enumerate(x.shape))))
    alpha = data.draw(st.sampled_from([1, -2.0, 0.5]))
    assert_gradients_close(lambda x, s: tg.index_add(x, d, ia, s, alpha=alpha), x, source)
    value = leaf(0.25)
    assert_gradients_close(lambda x, v: x.index_fill(d, ia, v), x, value)
    ic = tg.tensor(np.array(data.draw(st.permutations(range(x.shape[dd]))))[:data.draw(
        st.integers(1, x.shape[dd]))])
    source_c = data.draw(dense(tuple(len(ic) if j == dd else n for j, n in enumerate(x.shape))))
    assert_gradients_close(lambda x, s: x.index_copy(d, ic, s), x, source_c)


@given(data=st.data())
def test_grad_inplace_forms_inside_a_graph(data):
    x = data.draw(dense(hnp.array_shapes(min_dims=1, max_dims=2, min_side=2, max_side=3)))
    m = tg.tensor(data.draw(hnp.arrays(np.bool_, x.shape)))
    v = leaf(0.5)
    t1, t2 = data.draw(dense(x.shape)), data.draw(dense(x.shape, st.floats(0.5, 2)))

    def chain(x, v, t1, t2):
        y = x * 1
        y.addcmul_(t1, t2, value=0.5)
        y.addcdiv_(t1, t2, value=-2)
        y.clamp_min_(-10.0)
        y.scatter_(0, tg.tensor([[1] * x.shape[1]] if x.ndim == 2 else [1]), t2[:1])
        y.index_fill_(0, tg.tensor([0]), v)
        y.index_copy_(0, tg.tensor([1]), t1[:1] * 3)
        y.masked_fill_(m, v * 2)  # (last: an in-place op after masked_fill or scatter_add
        return y * y              # raises, see test_inplace_op_after_masked_fill)
    assert_gradients_close(chain, x, v, t1, t2)

    def chain_add(x, t1):
        y = x * 1
        y.index_add_(0, tg.tensor([0, 0]), t1[:1].expand(2, *x.shape[1:]), alpha=-0.5)
        return y * y
    assert_gradients_close(chain_add, x, t1)


@given(data=st.data())
def test_grad_linear_algebra_composites(data):
    x = data.draw(dense())
    d = dim_of(data.draw, x)
    n = data.draw(st.integers(0, 3))
    assert_gradients_close(lambda x: tg.diff(x, n, d), x)
    m = data.draw(dense(hnp.array_shapes(min_dims=2, max_dims=2, max_side=3)))
    assert_gradients_close(tg.trace, m)
    other = data.draw(dense(hnp.array_shapes(min_dims=0, max_dims=3, max_side=2)))
    assert_gradients_close(tg.kron, x, other)
    s1, s2 = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=1, max_dims=3,
                                                         max_side=3)).input_shapes
    nd = builtins_max(len(s1), len(s2))
    s1, s2 = (1,) * (nd - len(s1)) + s1, (1,) * (nd - len(s2)) + s2
    cd = data.draw(st.integers(-nd, nd - 1))
    s1, s2 = tuple(3 if i == cd % nd else s for i, s in enumerate(s1)), \
        tuple(3 if i == cd % nd else s for i, s in enumerate(s2))
    a, b = data.draw(dense(s1)), data.draw(dense(s2))
    assert_gradients_close(lambda a, b: tg.cross(a, b, dim=cd), a, b)
    # tensordot over a random set of matching dims
    k = data.draw(st.integers(0, x.ndim))
    y = data.draw(dense(tuple(x.shape[x.ndim - k:]) + tuple(data.draw(st.lists(
        st.integers(1, 3), max_size=2)))))
    assert_gradients_close(lambda x, y: tg.tensordot(x, y, dims=k), x, y)


def builtins_max(a, b):
    return a if a > b else b


@given(data=st.data())
def test_grad_cdist(data):
    b = data.draw(st.sampled_from([(), (2,)]))
    p_rows, r_rows, m = (data.draw(st.integers(1, 3)) for _ in range(3))
    # continuous random points: no two coordinate differences tie (p=inf) or vanish (p=1)
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 32 - 1)))
    x1, x2 = leaf(rng.standard_normal(b + (p_rows, m))), leaf(rng.standard_normal(b + (r_rows, m)))
    for p in (1.0, 2.0, 3.0, math.inf):
        assert_gradients_close(lambda x1, x2: tg.cdist(x1, x2, p=p), x1, x2)
    assert_gradients_close(lambda x1, x2: tg.cdist(x1, x2, compute_mode="use_mm_for_euclid_dist"),
                           x1, x2)


def test_cdist_large_uses_the_matrix_product_form_and_zero_distance_has_zero_gradient():
    rng = np.random.default_rng(0)
    a = leaf(rng.standard_normal((30, 3)))
    d = tg.cdist(a, a)  # P > 25: |a|^2 + |b|^2 - 2ab, clamped at 0
    np.testing.assert_allclose(d.detach().numpy(), np.sqrt(((a.detach().numpy()[:, None] -
                                                             a.detach().numpy()[None]) ** 2).sum(-1)),
                               atol=1e-7)
    d.sum().backward()
    assert np.isfinite(a.grad.numpy()).all()


@given(data=st.data())
def test_grad_grids_stacks_and_rotations(data):
    v, w = data.draw(dense(hnp.array_shapes(max_dims=1, max_side=3))), \
        data.draw(dense(hnp.array_shapes(max_dims=1, max_side=3)))
    ix = data.draw(st.sampled_from(["ij", "xy"]))
    assert_gradients_close(lambda v, w: tg.meshgrid(v, w, indexing=ix), v, w)
    assert_gradients_close(lambda v, w: tg.cartesian_prod(v, w), v, w)
    s1, s2 = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3,
                                                         max_side=3)).input_shapes
    a, b = data.draw(dense(s1)), data.draw(dense(s2))
    assert_gradients_close(lambda a, b: tg.broadcast_tensors(a, b), a, b)
    m = data.draw(dense(hnp.array_shapes(min_dims=2, max_dims=2, max_side=3)))
    m2 = leaf(m.detach().numpy() * 2)
    assert_gradients_close(lambda m, m2: (tg.hstack([m, m2]), tg.vstack([m, m2]),
                                          tg.dstack([m, m2]), tg.column_stack([m, m2[:, :1]])),
                           m, m2)
    x = data.draw(dense(hnp.array_shapes(min_dims=2, max_dims=3, max_side=3)))
    k = data.draw(st.integers(-5, 5))
    dims = data.draw(st.permutations(range(x.ndim)))[:2]
    assert_gradients_close(lambda x: tg.rot90(x, k, dims), x)
    np.testing.assert_array_equal(tg.rot90(x, k, dims).detach().numpy(),
                                  np.rot90(x.detach().numpy(), k, dims))


@given(data=st.data())
def test_grad_std_var_mean(data):
    x = data.draw(distinct(hnp.array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=3)))
    d = dim_of(data.draw, x)
    c = data.draw(st.sampled_from([0, 1]))
    keep = data.draw(st.booleans())
    assert_gradients_close(lambda x: tg.std_mean(x, d, keepdim=keep, correction=c), x)
    assert_gradients_close(lambda x: tg.var_mean(x, d, keepdim=keep, correction=c), x)


@settings(max_examples=10)
@given(data=st.data())
def test_second_derivatives_through_the_composites(data):
    x = data.draw(distinct(hnp.array_shapes(min_dims=2, max_dims=2, min_side=2, max_side=3)))
    other = leaf(x.detach().numpy()[::-1].copy() + 0.05)
    index = tg.tensor(np.argsort(x.detach().numpy(), axis=0)[:1])
    mask = x.detach() > x.detach().mean()
    for fn in (lambda x: tg.sort(x, 0).values ** 2, lambda x: x.topk(1, 0).values.exp(),
               lambda x: x.median(0).values * x.sum(), lambda x: tg.cdist(x, other) ** 2,
               lambda x: tg.scatter(x, 0, index, x[:1] ** 2), lambda x: tg.nan_to_num(x) ** 3,
               lambda x: tg.index_add(x, 0, tg.tensor([0, 0]), x[:2] ** 2),
               lambda x: tg.masked_select(x, mask) ** 2):
        assert gradgradcheck(fn, (x,))


def test_inplace_op_after_masked_fill():
    x = leaf([1.0, 2.0, 3.0])
    y = x * 1
    y.masked_fill_(tg.tensor([True, False, False]), 0.0)
    y.add_(1)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0, 1.0])


# ------------------------------------------------------------------------------------------------
# out=
# ------------------------------------------------------------------------------------------------
def test_out_writes_memory_every_alias_sees_and_counts_a_version():
    base = tg.zeros(2, 3)
    row = base[1]
    alias = base.detach()
    r = tg.mul(tg.ones(3), 4, out=row)
    assert r is row and base.tolist() == [[0, 0, 0], [4, 4, 4]] and alias.tolist() == base.tolist()
    assert base._version == 1


def test_out_resizing_an_empty_tensor_is_silent_and_a_full_one_warns():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        o = tg.matmul(tg.ones(2, 3), tg.ones(3, 4), out=tg.empty(0))
    assert tuple(o.shape) == (2, 4) and o.tolist() == [[3.0] * 4] * 2
    with pytest.warns(UserWarning, match=r"^An output with one or more elements was resized since "
                                         r"it had shape \[5\], which does not match the required "
                                         r"output shape \[2, 4\]"):
        tg.matmul(tg.ones(2, 3), tg.ones(3, 4), out=tg.zeros(5))


def test_out_refuses_a_graph_but_not_no_grad():
    w = tg.ones(2, requires_grad=True)
    msg = ("exp(): functions with out=... arguments don't support automatic differentiation, but "
           "one of the arguments requires grad.")
    with pytest.raises(RuntimeError, match="^" + msg.replace("(", r"\(").replace(")", r"\)")
                       .replace(".", r"\.") + "$"):
        tg.exp(w, out=tg.zeros(2))
    with pytest.raises(RuntimeError, match=r"^cat\(\): functions with out"):
        tg.cat([tg.ones(1), w], out=tg.zeros(3))  # (tensors inside a list count too)
    with tg.no_grad():
        o = tg.exp(w, out=tg.zeros(2))
    np.testing.assert_allclose(o.numpy(), np.exp([1.0, 1.0]), rtol=1e-6)
    assert o.grad_fn is None


def test_out_on_the_wrapped_functions_matches_without_out():
    x = tg.tensor([[1.0, -2.0], [3.0, 0.5]])
    for name in ("exp", "abs", "sqrt", "neg", "tanh", "sigmoid", "floor", "sin"):
        fn = getattr(tg, name)
        o = tg.empty(0)
        np.testing.assert_array_equal(fn(x, out=o).numpy(), fn(x).numpy())
    assert tg.arange(4, out=tg.empty(0, dtype=tg.float64)).tolist() == [0.0, 1.0, 2.0, 3.0]
    assert tg.where(x > 0, x, tg.tensor(0.0), out=tg.empty(0)).tolist() == [[1.0, 0.0],
                                                                            [3.0, 0.5]]


def test_factories_accept_torch_placeholders():
    assert tg.zeros(2, layout=tg.strided, pin_memory=False).tolist() == [0.0, 0.0]
    assert tg.ones_like(tg.zeros(2), memory_format=tg.preserve_format).tolist() == [1.0, 1.0]
    assert tg.ones(3).clone(memory_format=tg.contiguous_format).tolist() == [1.0] * 3
    with pytest.raises(RuntimeError, match="strided"):
        tg.zeros(2, layout=tg.layout("sparse_coo"))


# ------------------------------------------------------------------------------------------------
# random functions: distributions, generators, replays
# ------------------------------------------------------------------------------------------------
def test_random_functions_follow_their_distributions_and_generators():
    tg.manual_seed(0)
    n = tg.normal(tg.full((20000,), 2.0), tg.full((20000,), 0.5))
    assert abs(n.mean().item() - 2.0) < 0.02 and abs(n.std().item() - 0.5) < 0.02
    b = tg.bernoulli(tg.full((20000,), 0.3))
    assert set(b.unique().tolist()) <= {0.0, 1.0} and abs(b.mean().item() - 0.3) < 0.02
    p = tg.tensor([0.1, 0.0, 0.6, 0.3])
    m = tg.multinomial(p, 20000, replacement=True)
    freq = np.bincount(m.numpy(), minlength=4) / 20000
    np.testing.assert_allclose(freq, p.numpy(), atol=0.02)
    rows = tg.multinomial(tg.tensor([[1.0, 1.0, 1.0, 0.0]] * 200), 3)
    assert all(sorted(r) == [0, 1, 2] for r in rows.tolist())  # distinct, never the zero weight
    perm = tg.randperm(50)
    assert sorted(perm.tolist()) == list(range(50)) and perm.tolist() != list(range(50))
    g1, g2 = tg.Generator().manual_seed(7), tg.Generator().manual_seed(7)
    for fn in (lambda g: tg.randperm(10, generator=g), lambda g: tg.normal(0.0, 1.0, (3,), generator=g),
               lambda g: tg.bernoulli(tg.full((5,), 0.5), generator=g),
               lambda g: tg.multinomial(tg.ones(5), 3, generator=g)):
        assert fn(g1).tolist() == fn(g2).tolist()


def test_rng_state_round_trip_and_seeds():
    tg.manual_seed(123)
    assert tg.initial_seed() == 123
    s = tg.get_rng_state()
    a = tg.randn(4)
    tg.set_rng_state(s)
    assert tg.randn(4).tolist() == a.tolist() and tg.initial_seed() == 123
    seed = tg.seed()
    assert tg.initial_seed() == seed


def test_compiled_sort_guards_the_values_it_ordered():
    @tg.compile
    def f(x):
        return (tg.sort(x).values * tg.arange(3.0)).sum()

    for seed in range(3):  # (new values may order differently: each call re-records)
        a = np.random.default_rng(seed).standard_normal(3).astype(np.float32)
        x = tg.tensor(a, requires_grad=True)
        y = f(x)
        y.backward()
        np.testing.assert_allclose(y.item(), (np.sort(a) * np.arange(3)).sum(), rtol=1e-5)
        g = np.zeros(3)
        g[np.argsort(a)] = np.arange(3)
        np.testing.assert_allclose(x.grad.numpy(), g)
    y = f(tg.tensor(a, requires_grad=True))  # the same values: replayed
    assert f.stats()["replays"] == 1


def test_compiled_function_redraws_its_normal_samples():
    @tg.compile
    def f(x):
        return (x * tg.normal(0.0, 1.0, (3,))).sum()

    x = tg.ones(3, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompileWarning)  # (nothing runs eagerly)
        values = {f(x).item() for _ in range(4)}
    assert len(values) == 4 and f.stats()["replays"] == 3


def test_compiled_nan_to_num_replays_without_re_recording():
    @tg.compile
    def f(x):
        return (tg.nan_to_num(x, nan=0.0, posinf=1.0) * x.isfinite()).sum() + tg.where(
            tg.isnan(x), 0.0, x).sum()

    with warnings.catch_warnings():
        warnings.simplefilter("error", CompileWarning)  # (nothing runs eagerly)
        for v in ([1.0, math.nan, 2.0], [3.0, 4.0, math.inf], [math.nan, -1.0, 0.5]):
            x = tg.tensor(v, dtype=tg.float64)
            want = np.nan_to_num(np.array(v), nan=0.0, posinf=1.0)
            want = (want * np.isfinite(v)).sum() + np.where(np.isnan(v), 0.0, v).sum()
            assert f(x).item() == pytest.approx(want)
    stats = f.stats()
    assert stats["replays"] >= 1, stats


# ------------------------------------------------------------------------------------------------
# legacy constructors and torch-level queries
# ------------------------------------------------------------------------------------------------
def test_legacy_constructors():
    assert tuple(tg.FloatTensor(2, 3).shape) == (2, 3) and tg.FloatTensor(2, 3).dtype == tg.float32
    assert tg.LongTensor([1.9, -1.9]).tolist() == [1, -1]
    assert tg.DoubleTensor([[1, 2]]).dtype == tg.float64
    assert isinstance(tg.zeros(1), tg.FloatTensor) and not isinstance(tg.zeros(1), tg.LongTensor)
    x = tg.tensor(2.0, dtype=tg.float64, requires_grad=True) * 3  # (a fast-path scalar)
    assert isinstance(x, tg.DoubleTensor) and not isinstance(x, tg.FloatTensor)
    assert tg.zeros(2, dtype=tg.int64).type(tg.FloatTensor).dtype == tg.float32


def test_inference_mode_as_decorator_and_context():
    x = tg.ones(2, requires_grad=True)

    @tg.inference_mode()
    def f():
        return x * 2
    assert not f().requires_grad and tg.is_grad_enabled()
    with tg.inference_mode():
        assert (x * 2).grad_fn is None
        with tg.inference_mode(False):
            assert (x * 2).grad_fn is not None
    assert not tg.is_inference_mode_enabled()


def test_set_printoptions_and_threads():
    try:
        tg.set_printoptions(precision=1, linewidth=20)
        # (what torch 2.13 prints with these options)
        assert repr(tg.tensor([1.26, 2.0, 3.0, 4.0, 5.0])) == ("tensor([1.3, 2.0,\n"
                                                               "        3.0, 4.0,\n"
                                                               "        5.0])")
        with pytest.warns(UserWarning, match="sci_mode"):
            tg.set_printoptions(sci_mode=False)
    finally:
        tg.set_printoptions(profile="default")
    assert repr(tg.tensor([1.26])) == "tensor([1.2600])"
    with pytest.raises(RuntimeError, match="^set_num_threads expects a positive integer$"):
        tg.set_num_threads(0)
