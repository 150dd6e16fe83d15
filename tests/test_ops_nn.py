"""Activations and tapegrad.nn.functional: forwards against numpy closed forms, torch's
errors, extreme inputs (+-1e4), and values typed in from torch 2.13."""
import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tapegrad as tg
import tapegrad.nn.functional as F
from tapegrad.testing import gradcheck

ERF = np.vectorize(math.erf)
SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, max_side=4)
ARR = hnp.arrays(np.float64, SHAPES, elements=st.floats(-30, 30))


def t64(a, rg=False):
    return tg.tensor(np.asarray(a, np.float64), requires_grad=rg)


def sig(x):
    return np.exp(-np.logaddexp(0, -x))


ACTIVATIONS = {
    "relu": (F.relu, lambda x: np.maximum(x, 0)),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    "elu": (lambda x: F.elu(x, 0.7), lambda x: np.where(x > 0, x, 0.7 * (np.exp(x) - 1))),
    "gelu": (F.gelu, lambda x: 0.5 * x * (1 + ERF(x / np.sqrt(2)))),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"),
                  lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))),
    "silu": (F.silu, lambda x: x * sig(x)),
    "softplus": (lambda x: F.softplus(x, beta=2, threshold=5),
                 lambda x: np.where(2 * x > 5, x, np.log1p(np.exp(2 * x)) / 2)),
    "logsigmoid": (F.logsigmoid, lambda x: np.log(sig(x))),
    "hardtanh": (lambda x: F.hardtanh(x, -2.0, 0.5), lambda x: np.clip(x, -2.0, 0.5)),
    "sigmoid": (F.sigmoid, sig),
    "tanh": (F.tanh, np.tanh),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@given(a=ARR)
def test_activation_forward_matches_numpy(name, a):
    fn, ref = ACTIVATIONS[name]
    with np.errstate(over="ignore"):
        np.testing.assert_allclose(fn(t64(a)).detach().numpy(), ref(a), rtol=1e-12, atol=1e-12)


def _softmax_np(a, d):
    e = np.exp(a - a.max(axis=d, keepdims=True))
    return e / e.sum(axis=d, keepdims=True)


@given(a=hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=4, max_side=4),
                    elements=st.floats(-50, 50)), data=st.data())
def test_softmax_and_log_softmax_match_numpy_over_any_dim(a, data):
    d = data.draw(st.integers(-a.ndim, a.ndim - 1))
    ref = _softmax_np(a, d)
    np.testing.assert_allclose(tg.softmax(t64(a), d).detach().numpy(), ref, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(t64(a).log_softmax(d).detach().numpy(), np.log(ref), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(F.log_softmax(t64(a), dim=d).detach().numpy(), np.log(ref), rtol=1e-12,
                               atol=1e-12)


def test_softmax_dtype_argument_casts_first_and_grad_fns():
    x = tg.tensor([[1.0, 2.0]], dtype=tg.float64, requires_grad=True)
    y = F.log_softmax(x, dim=1, dtype=tg.float32)
    assert y.dtype == tg.float32 and type(y.grad_fn).__name__ == "LogSoftmaxBackward0"
    assert type(x.softmax(-1).grad_fn).__name__ == "SoftmaxBackward0"
    assert tg.softmax(tg.tensor(2.0), 0).item() == 1.0  # 0-d, as torch


def test_softmax_without_dim_warns_like_torch():
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        out = F.softmax(tg.zeros(2, 2))
    np.testing.assert_allclose(out.detach().numpy(), 0.5)


def test_activation_grad_fn_names():
    x = t64([0.3, -0.2], rg=True)
    names = {F.leaky_relu(x): "LeakyReluBackward0", F.elu(x): "EluBackward0",
             F.gelu(x): "GeluBackward0", F.gelu(x, approximate="tanh"): "GeluBackward0",
             F.silu(x): "SiluBackward0", F.softplus(x): "SoftplusBackward0",
             F.logsigmoid(x): "LogSigmoidBackward0", F.hardtanh(x): "HardtanhBackward0"}
    for y, name in names.items():
        assert type(y.grad_fn).__name__ == name


EXTREME = [-1e4, -50.0, 0.0, 50.0, 1e4]


def test_extreme_inputs_give_finite_values_and_gradients():
    a = np.array(EXTREME)
    for fn, ref, dref in [
            (F.softplus, np.maximum(a, 0) + np.log1p(np.exp(-np.abs(a))), sig(a)),
            (F.logsigmoid, -(np.maximum(-a, 0) + np.log1p(np.exp(-np.abs(a)))), 1 - sig(a)),
            (F.silu, a * sig(a), sig(a) * (1 + a * (1 - sig(a)))),
            (F.gelu, 0.5 * a * (1 + ERF(a / np.sqrt(2))),
             0.5 * (1 + ERF(a / np.sqrt(2))) + a * np.exp(-a * a / 2) / np.sqrt(2 * np.pi))]:
        x = t64(a, rg=True)
        y = fn(x)
        y.sum().backward()
        np.testing.assert_allclose(y.detach().numpy(), ref, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(x.grad.detach().numpy(), dref, rtol=1e-12, atol=1e-12)
    x = t64([[1e4, -1e4, 0.0]], rg=True)
    y = F.log_softmax(x, 1)
    np.testing.assert_array_equal(y.detach().numpy(), [[0.0, -2e4, -1e4]])
    (y * t64([[1.0, 2.0, 3.0]])).sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), [[1 - 6.0, 2.0, 3.0]])


def test_float32_activations_stay_float32():
    x = tg.tensor([-1.0, 0.5])
    for fn in (F.gelu, F.silu, F.softplus, F.elu, F.logsigmoid, lambda x: F.softmax(x, 0)):
        assert fn(x).dtype == tg.float32
    np.testing.assert_allclose(F.gelu(x).detach().numpy(), [-0.15865526, 0.34573123], rtol=1e-6)


@pytest.mark.parametrize("fn, msg", [
    (F.leaky_relu, '"leaky_relu_cpu" not implemented for \'Long\''),
    (F.elu, '"elu_cpu" not implemented for \'Long\''),
    (F.gelu, '"GeluKernelImpl" not implemented for \'Long\''),
    (F.silu, '"silu_cpu" not implemented for \'Long\''),
    (F.softplus, '"softplus_cpu" not implemented for \'Long\''),
    (F.logsigmoid, '"log_sigmoid_cpu" not implemented for \'Long\''),
    (lambda x: F.softmax(x, 0), '"softmax_lastdim_kernel_impl" not implemented for \'Long\''),
])
def test_integer_inputs_raise_like_torch(fn, msg):
    with pytest.raises(NotImplementedError) as e:
        fn(tg.tensor([1, -2]))
    assert str(e.value) == msg


def test_activation_errors_and_integer_hardtanh():
    with pytest.raises(RuntimeError, match="^approximate argument must be either none or tanh.$"):
        F.gelu(tg.ones(2), approximate="foo")
    with pytest.raises(ValueError, match="^min_val cannot be greater than max_val$"):
        F.hardtanh(tg.ones(2), 1.0, -1.0)
    y = F.hardtanh(tg.tensor([1, -2]))
    assert y.dtype == tg.int64 and y.tolist() == [1, -1]
    with pytest.raises(IndexError, match="Dimension out of range"):
        tg.softmax(tg.ones(2), 1)


# ------------------------------------------------------------------------------------------------
# classification losses
# ------------------------------------------------------------------------------------------------

def _nll_np(logp, t, w, ignore, reduction):
    """Closed form: -w[t] * logp[n, t, ...] with the class axis 1 (0 for 1-D input)."""
    logp = logp[None] if logp.ndim == 1 else logp
    t = np.asarray(t).reshape(logp.shape[:1] + logp.shape[2:])
    keep = t != ignore
    tc = np.where(keep, t, 0)
    picked = np.take_along_axis(logp, tc[:, None], axis=1)[:, 0]
    ww = (w[tc] if w is not None else np.ones(tc.shape)) * keep
    loss = -picked * ww
    if reduction == "none":
        return loss
    return loss.sum() / ww.sum() if reduction == "mean" else loss.sum()


@st.composite
def classification(draw):
    nd = draw(st.integers(1, 4))
    shape = draw(hnp.array_shapes(min_dims=nd, max_dims=nd, max_side=4))
    x = draw(hnp.arrays(np.float64, shape, elements=st.floats(-20, 20)))
    c = shape[1] if nd >= 2 else shape[0]
    tshape = shape[:1] + shape[2:] if nd >= 2 else ()
    t = np.array(draw(hnp.arrays(np.int64, tshape, elements=st.integers(-1, c - 1))))
    t.reshape(-1)[0] = max(t.reshape(-1)[0], 0)
    w = draw(st.none() | hnp.arrays(np.float64, (c,), elements=st.floats(0.5, 2)))
    return x, t, w, draw(st.sampled_from(["mean", "sum", "none"]))


@given(case=classification())
def test_nll_loss_and_cross_entropy_match_closed_form(case):
    x, t, w, red = case
    wt = None if w is None else t64(w)
    out = F.nll_loss(t64(x), tg.tensor(t), wt, ignore_index=-1, reduction=red)
    ref = _nll_np(x, t, w, -1, red)
    np.testing.assert_allclose(out.detach().numpy(), ref.reshape(out.shape), rtol=1e-12, atol=1e-12)
    assert out.shape == (t.shape if red == "none" else ())
    cdim = 1 if x.ndim >= 2 else 0
    logp = np.log(_softmax_np(x, cdim))
    ce = F.cross_entropy(t64(x), tg.tensor(t), wt, ignore_index=-1, reduction=red)
    np.testing.assert_allclose(ce.detach().numpy(), _nll_np(logp, t, w, -1, red).reshape(ce.shape),
                               rtol=1e-10, atol=1e-10)


def test_nll_loss_grad_fn_names_follow_torch():
    def gf(x, t, red="mean"):
        return type(F.nll_loss(x, t, reduction=red).grad_fn).__name__
    x2, x3, x4 = (tg.zeros(*s, requires_grad=True) for s in ((2, 3), (2, 3, 4), (2, 3, 2, 2)))
    assert gf(x2, tg.tensor([0, 1])) == "NllLossBackward0"
    assert gf(x3, tg.zeros(2, 4, dtype=tg.int64)) == "NllLoss2DBackward0"
    assert gf(x3, tg.zeros(2, 4, dtype=tg.int64), "none") == "ViewBackward0"
    assert gf(x4, tg.zeros(2, 2, 2, dtype=tg.int64), "none") == "NllLoss2DBackward0"
    ce = F.cross_entropy(x2, tg.tensor([0, 1]))
    assert type(ce.grad_fn).__name__ == "NllLossBackward0"


def test_cross_entropy_label_smoothing_and_extremes_match_torch():
    # values printed by torch 2.13 for the same call
    x = t64([[1e4, -1e4, 0.5], [0.25, 2.0, -1.0]], rg=True)
    w = t64([0.5, 2.0, 1.5])
    loss = F.cross_entropy(x, tg.tensor([1, 2]), weight=w, label_smoothing=0.3)
    loss.backward()
    assert loss.item() == pytest.approx(9572.544302837276, rel=1e-12)
    np.testing.assert_allclose(x.grad.detach().numpy(), [
        [0.49999999999999994, -0.45714285714285713, -0.04285714285714286],
        [0.044552432395362995, 0.2814472991992878, -0.32599973159465073]], rtol=1e-10, atol=1e-15)
    x.grad = None
    loss = F.cross_entropy(x, tg.tensor([1, -100]), weight=w, label_smoothing=0.3,
                           reduction="none")
    loss.sum().backward()
    np.testing.assert_allclose(loss.detach().numpy(), [33499.925, 0.0], rtol=1e-12)
    np.testing.assert_allclose(x.grad.detach().numpy(), [[1.75, -1.6, -0.15], [0, 0, 0]], rtol=1e-10)


def test_cross_entropy_probability_targets_match_torch():
    # values printed by torch 2.13 for the same calls
    x = t64([[1e4, -1e4, 0.5], [0.25, 2.0, -1.0]], rg=True)
    y = t64([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]], rg=True)
    loss = F.cross_entropy(x, y, weight=t64([0.5, 2.0, 1.5]), label_smoothing=0.3)
    loss.backward()
    assert loss.item() == pytest.approx(9575.481912050982, rel=1e-13)
    np.testing.assert_allclose(x.grad.detach().numpy(), [
        [0.6475, -0.31, -0.33749999999999997],
        [-0.14674133274557657, 0.20648246910280366, -0.05974113635722697]], rtol=1e-10)
    np.testing.assert_allclose(y.grad.detach().numpy(), [
        [0.0, 14000.0, 5249.737499999999],
        [0.34155895712477574, 0.14123582849910304, 1.6809268713743273]], rtol=1e-10)
    none = F.cross_entropy(x, y, reduction="none")
    np.testing.assert_allclose(none.detach().numpy(), [10999.75, 1.9517654692844328], rtol=1e-12)
    assert type(none.grad_fn).__name__ == "NegBackward0"
    assert F.cross_entropy(x, y, reduction="sum").item() == pytest.approx(11001.701765469285,
                                                                           rel=1e-13)
    assert F.cross_entropy(t64([0.3, -1.0, 2.0]), t64([0.1, 0.6, 0.3])).item() == \
        pytest.approx(2.17902076654506, rel=1e-13)


@st.composite
def soft_classification(draw):
    nd = draw(st.integers(1, 3))
    shape = draw(hnp.array_shapes(min_dims=nd, max_dims=nd, max_side=3))
    x = draw(hnp.arrays(np.float64, shape, elements=st.floats(-5, 5)))
    y = draw(hnp.arrays(np.float64, shape, elements=st.floats(0, 1)))
    c = shape[1] if nd >= 2 else shape[0]
    w = draw(st.none() | hnp.arrays(np.float64, (c,), elements=st.floats(0.5, 2)))
    return (x, y, w, draw(st.sampled_from(["mean", "sum", "none"])),
            draw(st.sampled_from([0.0, 0.25])))


@given(case=soft_classification())
def test_cross_entropy_probability_targets_closed_form_and_gradients(case):
    x, y, w, red, eps = case
    cdim = 1 if x.ndim >= 2 else 0
    c = x.shape[cdim]
    wt = None if w is None else t64(w)
    ys = y * (1 - eps) + eps / c
    wb = np.ones(c) if w is None else w
    wb = wb.reshape([c if d == cdim else 1 for d in range(x.ndim)])
    per = -(np.log(_softmax_np(x, cdim)) * ys * wb).sum(cdim)
    ref = per if red == "none" else per.sum() / (per.size if red == "mean" else 1)
    out = F.cross_entropy(t64(x), t64(y), wt, reduction=red, label_smoothing=eps)
    np.testing.assert_allclose(out.detach().numpy(), ref, rtol=1e-10, atol=1e-10)
    assert gradcheck(lambda a, b: F.cross_entropy(a, b, wt, reduction=red, label_smoothing=eps),
                     [t64(x, rg=True), t64(y, rg=True)])


def test_nll_loss_all_ignored_mean_is_nan_with_zero_grad():
    x = tg.zeros(2, 3, dtype=tg.float64, requires_grad=True)
    loss = F.nll_loss(x, tg.tensor([-100, -100]))
    loss.backward()
    assert math.isnan(loss.item()) and x.grad.abs().sum().item() == 0


@pytest.mark.parametrize("call, exc, msg", [
    (lambda: F.cross_entropy(tg.zeros(3, 4), tg.tensor([0, 1, 5])), IndexError,
     "Target 5 is out of bounds."),
    (lambda: F.nll_loss(tg.zeros(3, 4), tg.tensor([0, 1, -2])), IndexError,
     "Target -2 is out of bounds."),
    (lambda: F.nll_loss(tg.zeros(3, 4), tg.tensor([0, 1])), ValueError,
     "Expected input batch_size (3) to match target batch_size (2)."),
    (lambda: F.nll_loss(tg.zeros(3, 4), tg.tensor([0.0, 1, 2])), RuntimeError,
     "expected target dtype to be Long or Byte, but got Float"),
    (lambda: F.nll_loss(tg.zeros(3, 2, 2), tg.zeros(3, 3, dtype=tg.int64)), RuntimeError,
     "Expected target size [3, 2], got [3, 3]"),
    (lambda: F.nll_loss(tg.zeros(3, 4), tg.tensor([0, 1, 2]), reduction="foo"), ValueError,
     "foo is not a valid value for reduction"),
    (lambda: F.nll_loss(tg.zeros(3, 4), tg.tensor([0, 1, 2]), weight=tg.ones(3)), RuntimeError,
     ("weight tensor should be defined either for all 4 classes or no classes but got weight "
      "tensor of shape: [3]")),
    (lambda: F.cross_entropy(tg.zeros(3, 4), tg.tensor([0, 1, 2]), label_smoothing=1.5),
     RuntimeError, "label_smoothing must be between 0.0 and 1.0. Got: 1.5"),
    (lambda: F.cross_entropy(tg.zeros(3, 4), tg.zeros(3, 2)), RuntimeError,
     "0D or 1D target tensor expected, multi-target not supported"),
    (lambda: F.cross_entropy(tg.zeros(3, 4), tg.zeros(3, 4), ignore_index=1), RuntimeError,
     "ignore_index is not supported for floating point target"),
    (lambda: F.one_hot(tg.tensor([0, 3]), 3), RuntimeError,
     "Class values must be smaller than num_classes."),
    (lambda: F.one_hot(tg.tensor([0, -1])), RuntimeError, "Class values must be non-negative."),
    (lambda: F.one_hot(tg.tensor([0.0, 1])), RuntimeError,
     "one_hot is only applicable to index tensor of type LongTensor."),
    (lambda: F.one_hot(tg.tensor([], dtype=tg.int64)), RuntimeError,
     "Can not infer total number of classes from empty tensor."),
    (lambda: F.dropout(tg.ones(2), 1.5), ValueError,
     "dropout probability has to be between 0 and 1, but got 1.5"),
    (lambda: F.linear(tg.ones(3, 4), tg.ones(2, 3)), RuntimeError,
     "mat1 and mat2 shapes cannot be multiplied (3x4 and 3x2)"),
    (lambda: F.binary_cross_entropy(tg.tensor([1.5]), tg.tensor([1.0])), RuntimeError,
     "all elements of input should be between 0 and 1"),
    (lambda: F.binary_cross_entropy(tg.rand(2, 3), tg.rand(3)), ValueError,
     ("Using a target size (tapegrad.Size([3])) that is different to the input size "
      "(tapegrad.Size([2, 3])) is deprecated. Please ensure they have the same size.")),
    (lambda: F.binary_cross_entropy_with_logits(tg.rand(2, 3), tg.rand(3)), ValueError,
     "Target size (tapegrad.Size([3])) must be the same as input size (tapegrad.Size([2, 3]))"),
    (lambda: F.mse_loss(tg.rand(2, 3), tg.rand(4)), RuntimeError,
     "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1"),
    (lambda: F.smooth_l1_loss(tg.rand(2), tg.rand(2), beta=-1), RuntimeError,
     "smooth_l1_loss does not support negative values for beta."),
])
def test_errors_match_torch(call, exc, msg):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(exc) as e:
            call()
    assert str(e.value).strip("'") == msg


# ------------------------------------------------------------------------------------------------
# pointwise losses
# ------------------------------------------------------------------------------------------------

def _reduce(v, red):
    return v.mean() if red == "mean" else (v.sum() if red == "sum" else v)


PAIR = hnp.array_shapes(min_dims=0, max_dims=3, max_side=4).flatmap(
    lambda s: st.tuples(hnp.arrays(np.float64, s, elements=st.floats(-20, 20)),
                        hnp.arrays(np.float64, s, elements=st.floats(0, 1))))


@given(xy=PAIR, red=st.sampled_from(["mean", "sum", "none"]), beta=st.floats(0, 3))
def test_pointwise_losses_match_closed_forms(xy, red, beta):
    x, y = xy
    d = x - y
    cases = [
        (F.mse_loss, d ** 2, {}),
        (F.l1_loss, np.abs(d), {}),
        (F.smooth_l1_loss, np.where(np.abs(d) < beta, 0.5 * d * d / (beta or 1),
                                    np.abs(d) - 0.5 * beta), {"beta": beta}),
        (F.binary_cross_entropy_with_logits,
         -(y * np.log(sig(x)) + (1 - y) * np.log(1 - sig(x))), {}),
    ]
    for fn, ref, kw in cases:
        out = fn(t64(x), t64(y), reduction=red, **kw)
        np.testing.assert_allclose(out.detach().numpy(), _reduce(ref, red), rtol=1e-9, atol=1e-9)
    p = sig(x / 4)
    out = F.binary_cross_entropy(t64(p), t64(y), reduction=red)
    ref = -(y * np.maximum(np.log(p), -100) + (1 - y) * np.maximum(np.log(1 - p), -100))
    np.testing.assert_allclose(out.detach().numpy(), _reduce(ref, red), rtol=1e-9, atol=1e-9)


def test_bce_with_logits_weights_and_extremes_match_closed_form():
    x = t64([[1e4, -1e4, 0.3], [-2.0, 5.0, 0.0]], rg=True)
    y = t64([[0.0, 1.0, 0.5], [1.0, 0.0, 0.2]], rg=True)
    w, pw = t64([[2.0], [0.5]]), t64([1.0, 3.0, 0.5])
    loss = F.binary_cross_entropy_with_logits(x, y, w, reduction="sum", pos_weight=pw)
    loss.backward()
    xv, yv, wv, pv = (a.detach().numpy() for a in (x, y, w, pw))
    sp = np.logaddexp(0, -xv)  # -log(sigmoid(x))
    lw = 1 + (pv - 1) * yv
    assert loss.item() == pytest.approx(np.sum(wv * ((1 - yv) * xv + lw * sp)), rel=1e-12)
    np.testing.assert_allclose(x.grad.detach().numpy(), wv * ((1 - yv) - lw * sig(-xv)), rtol=1e-12)
    np.testing.assert_allclose(y.grad.detach().numpy(), wv * (-xv + (pv - 1) * sp), rtol=1e-12)
    assert loss.item() == pytest.approx(2e4 + 2e4 * 3.0 + 0, rel=1e-3)


def test_bce_clamps_logs_and_gradients_like_torch():
    p = t64([0.0, 1.0, 0.25], rg=True)
    y = t64([1.0, 0.0, 1.0])
    loss = F.binary_cross_entropy(p, y, weight=t64([1.0, 1.0, 2.0]), reduction="none")
    loss.sum().backward()
    np.testing.assert_allclose(loss.detach().numpy(), [100.0, 100.0, -2 * math.log(0.25)])
    np.testing.assert_allclose(p.grad.detach().numpy(), [-1e12, 1e12, 2 * (0.25 - 1) / (0.75 * 0.25)])
    assert type(loss.grad_fn).__name__ == "BinaryCrossEntropyBackward0"


def test_loss_grad_fns_and_broadcast_warning():
    x, y = t64([[1.0, 2.0]], rg=True), t64([[0.5, 0.5]])
    with pytest.warns(UserWarning, match="Using a target size"):
        out = F.mse_loss(x, t64([0.0]))
    assert out.item() == pytest.approx(2.5)
    out.backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), [[1.0, 2.0]])
    assert type(F.mse_loss(x, y).grad_fn).__name__ == "MseLossBackward0"
    assert type(F.smooth_l1_loss(x, y).grad_fn).__name__ == "SmoothL1LossBackward0"
    assert type(F.l1_loss(x, y).grad_fn).__name__ == "MeanBackward0"
    assert type(F.binary_cross_entropy_with_logits(x, t64([[0.0, 1.0]])).grad_fn).__name__ == \
        "BinaryCrossEntropyWithLogitsBackward0"


# ------------------------------------------------------------------------------------------------
# linear, dropout, one_hot
# ------------------------------------------------------------------------------------------------

def test_linear_matches_numpy_and_its_gradient():
    rng = np.random.default_rng(0)
    a, w, b = rng.normal(size=(4, 3)), rng.normal(size=(2, 3)), rng.normal(size=2)
    x, wt, bt = t64(a, True), t64(w, True), t64(b, True)
    out = F.linear(x, wt, bt)
    np.testing.assert_allclose(out.detach().numpy(), a @ w.T + b, rtol=1e-12)
    out.sum().backward()
    np.testing.assert_allclose(wt.grad.detach().numpy(), np.ones((4, 2)).T @ a)
    np.testing.assert_allclose(bt.grad.detach().numpy(), [4.0, 4.0])
    np.testing.assert_allclose(F.linear(t64(a[0]), wt).detach().numpy(), w @ a[0], rtol=1e-12)


def test_dropout_is_seeded_scaled_and_identity_when_not_training():
    x = tg.ones(1000, dtype=tg.float64, requires_grad=True)
    tg.manual_seed(3)
    y1 = F.dropout(x, 0.25)
    tg.manual_seed(3)
    y2 = F.dropout(x, 0.25)
    np.testing.assert_array_equal(y1.detach().numpy(), y2.detach().numpy())
    vals = set(np.unique(y1.detach().numpy()).tolist())
    assert vals == {0.0, 1 / 0.75}
    assert 0.18 < np.mean(y1.detach().numpy() == 0) < 0.32
    y1.sum().backward()
    np.testing.assert_array_equal(x.grad.detach().numpy(), y1.detach().numpy())
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 1.0).abs().sum().item() == 0


@given(t=hnp.arrays(np.int64, SHAPES, elements=st.integers(0, 4)), extra=st.integers(0, 2))
def test_one_hot_matches_numpy(t, extra):
    n = int(t.max()) + 1 + extra if t.size else 3
    out = F.one_hot(tg.tensor(t), n)
    assert out.dtype == tg.int64 and out.shape == t.shape + (n,)
    np.testing.assert_array_equal(out.detach().numpy(), np.eye(n, dtype=np.int64)[t])
    if t.size:
        assert F.one_hot(tg.tensor(t)).shape[-1] == int(t.max()) + 1


def test_linear_grad_fns_follow_torch():
    # names printed by torch 2.13 for F.linear on 1-D, 2-D and 3-D inputs
    w, b = t64(np.ones((4, 3)), True), t64(np.ones(4), True)
    want = {(3,): ("ViewBackward0", "SqueezeBackward4"), (2, 3): ("AddmmBackward0", "MmBackward0"),
            (5, 2, 3): ("ViewBackward0", "UnsafeViewBackward0")}
    for shape, (with_bias, without) in want.items():
        x = t64(np.ones(shape), True)
        assert type(F.linear(x, w, b).grad_fn).__name__ == with_bias
        assert type(F.linear(x, w).grad_fn).__name__ == without
    node = F.linear(t64(np.ones((2, 3)), True), w, b).grad_fn
    assert [type(n).__name__ for n, _ in node.next_functions] == [
        "AccumulateGrad", "AccumulateGrad", "TBackward0"]
    assert node.next_functions[0][0].variable is b
