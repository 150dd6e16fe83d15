"""The nn.functional entries built from ops (tapegrad/nn/_composites.py): gradients against
central finite differences (float64, random shapes, values away from kinks), forwards against
numpy closed forms, and their error paths."""
import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tapegrad as tg
import tapegrad.nn.functional as F
from tapegrad.testing import assert_gradients_close
from tapegrad.testing.strategies import Domain, elements, tensors

SMOOTH = elements(Domain(-3.0, 3.0))
AWAY = elements(Domain(-3.0, 3.0, kinks=(-3.0, 0.0, 3.0), gap=0.05))


def batch(min_dims=2, max_dims=4, min_side=1):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=4)


ELEMENTWISE = {
    "relu6": (F.relu6, AWAY), "selu": (F.selu, AWAY), "celu": (lambda x: F.celu(x, 1.3), AWAY),
    "mish": (F.mish, SMOOTH), "hardswish": (F.hardswish, AWAY),
    "hardsigmoid": (F.hardsigmoid, AWAY), "softsign": (F.softsign, AWAY),
    "tanhshrink": (F.tanhshrink, SMOOTH),
    "threshold": (lambda x: F.threshold(x, 0.0, 2.0), AWAY),
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
@given(data=st.data())
def test_elementwise_gradients(name, data):
    fn, el = ELEMENTWISE[name]
    x = data.draw(tensors(batch(0, 3), elements=el))
    assert_gradients_close(fn, x)


NP_FORMS = {
    "relu6": (F.relu6, lambda a: np.clip(a, 0, 6)),
    "selu": (F.selu, lambda a: 1.0507009873554805 * np.where(
        a > 0, a, 1.6732632423543772 * np.expm1(a))),
    "mish": (F.mish, lambda a: a * np.tanh(np.log1p(np.exp(a)))),
    "hardswish": (F.hardswish, lambda a: a * np.clip(a + 3, 0, 6) / 6),
    "softsign": (F.softsign, lambda a: a / (1 + np.abs(a))),
}


@pytest.mark.parametrize("name", sorted(NP_FORMS))
@given(a=hnp.arrays(np.float64, batch(0, 3), elements=st.floats(-8, 8)))
def test_elementwise_forward_matches_numpy(name, a):
    fn, ref = NP_FORMS[name]
    np.testing.assert_allclose(fn(tg.tensor(a)).numpy(), ref(a), rtol=1e-12, atol=1e-12)


@given(data=st.data())
def test_glu_softmin_prelu_gradients(data):
    shape = data.draw(batch(2, 3))
    shape = (shape[0], 2 * shape[1], *shape[2:])
    x = data.draw(tensors(shape, elements=AWAY))
    assert_gradients_close(lambda x: F.glu(x, 1), x)
    assert_gradients_close(lambda x: F.softmin(x, 1), x)
    w = data.draw(tensors((shape[1],), elements=SMOOTH))
    assert_gradients_close(lambda x, w: F.prelu(x, w), x, w)


@given(data=st.data())
def test_layer_norm_gradients(data):
    shape = data.draw(batch(1, 3, min_side=2))
    k = data.draw(st.integers(1, len(shape)))
    ns = shape[len(shape) - k:]
    x = data.draw(tensors(shape, elements=SMOOTH))
    w, b = data.draw(tensors(ns, elements=SMOOTH)), data.draw(tensors(ns, elements=SMOOTH))
    assert_gradients_close(lambda x, w, b: F.layer_norm(x, ns, w, b), x, w, b, atol=1e-4)
    assert_gradients_close(lambda x, w: F.rms_norm(x, ns, w, 1e-3), x, w, atol=1e-4)


@given(a=hnp.arrays(np.float64, batch(1, 3, min_side=2), elements=st.floats(-5, 5)))
def test_layer_norm_forward_matches_numpy(a):
    mu = a.mean(-1, keepdims=True)
    var = ((a - mu) ** 2).mean(-1, keepdims=True)
    np.testing.assert_allclose(F.layer_norm(tg.tensor(a), a.shape[-1:]).numpy(),
                               (a - mu) / np.sqrt(var + 1e-5), rtol=1e-9, atol=1e-9)


@given(data=st.data(), training=st.booleans())
def test_batch_norm_gradients(data, training):
    shape = data.draw(batch(2, 4, min_side=2))
    c = shape[1]
    x = data.draw(tensors(shape, elements=SMOOTH))
    w, b = data.draw(tensors((c,), elements=SMOOTH)), data.draw(tensors((c,), elements=SMOOTH))
    rm = tg.tensor(np.linspace(-0.5, 0.5, c))
    rv = tg.tensor(np.linspace(0.5, 2.0, c))
    assert_gradients_close(lambda x, w, b: F.batch_norm(x, rm.clone(), rv.clone(), w, b,
                                                        training=training), x, w, b, atol=1e-4)


def test_batch_norm_updates_running_statistics_as_torch_defines_them():
    a = np.arange(12.0).reshape(6, 2) ** 1.5
    rm, rv = tg.zeros(2, dtype=tg.float64), tg.ones(2, dtype=tg.float64)
    F.batch_norm(tg.tensor(a), rm, rv, training=True, momentum=0.3)
    np.testing.assert_allclose(rm.numpy(), 0.3 * a.mean(0), rtol=1e-12)
    np.testing.assert_allclose(rv.numpy(), 0.7 + 0.3 * a.var(0, ddof=1), rtol=1e-12)


@given(data=st.data())
def test_group_and_instance_norm_gradients(data):
    n, g, per = data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2)), \
        data.draw(st.integers(1, 2))
    spatial = data.draw(hnp.array_shapes(min_dims=1, max_dims=2, min_side=2, max_side=3))
    c = g * per
    x = data.draw(tensors((n, c, *spatial), elements=SMOOTH))
    w, b = data.draw(tensors((c,), elements=SMOOTH)), data.draw(tensors((c,), elements=SMOOTH))
    assert_gradients_close(lambda x, w, b: F.group_norm(x, g, w, b), x, w, b, atol=1e-4)
    assert_gradients_close(lambda x, w, b: F.instance_norm(x, weight=w, bias=b), x, w, b,
                           atol=1e-4)


@given(data=st.data(), pad=st.booleans())
def test_embedding_gradient(data, pad):
    num, dim = data.draw(st.integers(2, 5)), data.draw(st.integers(1, 3))
    idx_shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=2, max_side=4))
    idx = tg.tensor(data.draw(hnp.arrays(np.int64, idx_shape, elements=st.integers(0, num - 1))))
    w = data.draw(tensors((num, dim), elements=SMOOTH))
    assert_gradients_close(lambda w: F.embedding(idx, w), w)
    y = F.embedding(idx, w, 1 if pad else None)
    np.testing.assert_array_equal(y.detach().numpy(), w.detach().numpy()[idx.numpy()])
    g = tg.randn(*y.shape, dtype=tg.float64)
    got, = tg.autograd.grad(y, w, g)
    want, = tg.autograd.grad(F.embedding(idx, w), w, g)
    want = want.numpy().copy()
    if pad:  # torch's padding_idx: the row is looked up but never trained
        want[1] = 0
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12)


@given(data=st.data())
def test_bilinear_gradients(data):
    lead = data.draw(hnp.array_shapes(min_dims=0, max_dims=2, max_side=3))
    i1, i2, o = (data.draw(st.integers(1, 3)) for _ in range(3))
    x1 = data.draw(tensors((*lead, i1), elements=SMOOTH))
    x2 = data.draw(tensors((*lead, i2), elements=SMOOTH))
    w = data.draw(tensors((o, i1, i2), elements=SMOOTH))
    b = data.draw(tensors((o,), elements=SMOOTH))
    assert_gradients_close(F.bilinear, x1, x2, w, b)
    want = np.einsum("...i,kij,...j->...k", x1.detach().numpy(), w.detach().numpy(),
                     x2.detach().numpy()) + b.detach().numpy()
    np.testing.assert_allclose(F.bilinear(x1, x2, w, b).detach().numpy(), want, rtol=1e-12,
                               atol=1e-12)


NONZERO = elements(Domain(0.2, 3.0))


@given(data=st.data())
def test_distance_gradients(data):
    shape = data.draw(batch(2, 3))
    x1 = data.draw(tensors(shape, elements=NONZERO))
    x2 = data.draw(tensors(shape, elements=NONZERO))
    assert_gradients_close(lambda a: F.normalize(a, dim=1), x1)
    assert_gradients_close(lambda a, b: F.cosine_similarity(a, b, dim=1), x1, x2)
    x3 = data.draw(tensors(shape, elements=SMOOTH))
    assert_gradients_close(lambda a, b: F.pairwise_distance(a, b + 5.0), x1, x3)


@given(data=st.data(), reduction=st.sampled_from(["mean", "sum", "none", "batchmean"]))
def test_kl_div_and_huber_gradients(data, reduction):
    shape = data.draw(batch(1, 3))
    x = data.draw(tensors(shape, elements=SMOOTH))
    t = data.draw(tensors(shape, elements=elements(Domain(0.05, 1.0))))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # reduction='mean' warns (tested below)
        assert_gradients_close(lambda x, t: F.kl_div(x, t, reduction=reduction), x, t)
    d = data.draw(tensors(shape, elements=SMOOTH))
    if reduction != "batchmean":
        assert_gradients_close(lambda x: F.huber_loss(x, d.detach() + 0.01, reduction, 0.7),
                               x, atol=1e-4)


def test_kl_div_mean_warns_as_torch():
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
        F.kl_div(tg.zeros(2, 2), tg.ones(2, 2) / 2)


def test_kl_div_is_zero_where_the_target_is_zero():
    logp = tg.log_softmax(tg.tensor([[0.1, 0.2, 0.7]], dtype=tg.float64), 1)
    t = tg.tensor([[0.0, 0.5, 0.5]], dtype=tg.float64)
    got = F.kl_div(logp, t, reduction="sum").item()
    lp = logp.numpy()[0]
    assert math.isclose(got, 0.5 * (math.log(0.5) - lp[1]) + 0.5 * (math.log(0.5) - lp[2]),
                        rel_tol=1e-12)


def test_channel_dropout_zeroes_whole_channels():
    tg.manual_seed(3)
    y = F.dropout2d(tg.ones(4, 8, 3, 3), 0.5)
    per_channel = y.numpy().reshape(32, 9)
    assert set(np.unique(per_channel)) <= {0.0, 2.0}
    assert all(len(set(row)) == 1 for row in per_channel)
    assert 0 < (per_channel[:, 0] == 0).sum() < 32
    assert F.dropout2d(tg.ones(2, 3, 2, 2), 0.5, training=False).numpy().min() == 1.0


@pytest.mark.parametrize("call, err, msg", [
    (lambda: F.layer_norm(tg.zeros(2, 3), (4,)), RuntimeError,
     "Given normalized_shape=[4], expected input with shape [*, 4], but got input of size[2, 3]"),
    (lambda: F.layer_norm(tg.zeros(2, 3), (3,), tg.ones(2)), RuntimeError,
     "Expected weight to be of same shape as normalized_shape"),
    (lambda: F.batch_norm(tg.zeros(2, 3), tg.zeros(4), tg.ones(3)), RuntimeError,
     "running_mean should contain 3 elements not 4"),
    (lambda: F.batch_norm(tg.zeros(1, 3), None, None, training=True), ValueError,
     "Expected more than 1 value per channel when training"),
    (lambda: F.group_norm(tg.zeros(2, 3, 4), 2), RuntimeError,
     "Expected number of channels in input to be divisible by num_groups"),
    (lambda: F.embedding(tg.tensor([3]), tg.zeros(3, 2)), IndexError, "index out of range"),
    (lambda: F.embedding(tg.tensor([1.0]), tg.zeros(3, 2)), RuntimeError,
     "to have one of the following scalar types: Long, Int; but got tapegrad.FloatTensor"),
    (lambda: F.glu(tg.zeros(2, 3)), RuntimeError,
     "Halving dimension must be even, but dimension 1 is size 3"),
    (lambda: F.prelu(tg.zeros(2, 3), tg.ones(2)), RuntimeError,
     "Mismatch of parameter numbers and input channel size"),
    (lambda: F.bilinear(tg.zeros(2, 3), tg.zeros(2, 2), tg.zeros(1, 3, 3)), RuntimeError,
     "bilinear(): input dimensions do not match"),
    (lambda: F.dropout2d(tg.zeros(2), 0.5), RuntimeError, "dropout2d: Expected 3D or 4D input"),
    (lambda: F.huber_loss(tg.zeros(2), tg.zeros(2), delta=0.0), RuntimeError,
     "huber_loss does not support non-positive values for delta."),
])
def test_errors(call, err, msg):
    with pytest.raises(err) as info:
        call()
    assert msg in str(info.value)
