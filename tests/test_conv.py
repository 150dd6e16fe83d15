"""Convolution, pooling and padding (`tapegrad.nn.functional`): values, gradients, second
derivatives and errors against torch's recorded observations (tests/torch_ref/conv.py), gradients
against finite differences over random configurations, forwards against direct numpy loops,
replay under `tapegrad.compile`, and the size of what a convolution records."""
from __future__ import annotations

import json
import math
import pathlib
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import tapegrad as tg
import tapegrad.nn.functional as F
from tapegrad.testing import assert_gradients_close, gradgradcheck
from tests.torch_ref import conv as ref

DATA = pathlib.Path(__file__).resolve().parent / "data" / "torch_conv.json"
REFERENCE = json.loads(DATA.read_text())["observations"]
TOL = {"float32": 1e-5, "float64": 1e-10}  # relative, and times the largest |value| absolute


def _array(v) -> np.ndarray:
    text = json.dumps(v).replace('"nan"', "NaN").replace('"-inf"', "-Infinity")
    return np.array(json.loads(text.replace('"inf"', "Infinity")), dtype=np.float64)


def differences(got, want, path: str = "") -> list:
    """Where observation `got` differs from torch's `want`: tensors by dtype, shape and value
    (float tolerance by dtype, integers exactly), everything else (errors) exactly."""
    if isinstance(want, dict) and set(want) == {"dtype", "values"}:
        if not (isinstance(got, dict) and set(got) == {"dtype", "values"}):
            return [f"{path}: {str(got)[:300]}, torch a {want['dtype']} tensor"]
        if got["dtype"] != want["dtype"]:
            return [f"{path}: dtype {got['dtype']}, torch {want['dtype']}"]
        g, w = _array(got["values"]), _array(want["values"])
        if g.shape != w.shape:
            return [f"{path}: shape {g.shape}, torch {w.shape}"]
        rtol = TOL.get(want["dtype"], 0.0)
        atol = rtol * (np.nanmax(np.abs(w)) if w.size else 0.0)
        if not np.allclose(g, w, rtol=rtol, atol=atol, equal_nan=True):
            k = int(np.nanargmax(np.abs(g - w)))
            return [f"{path}: worst at {np.unravel_index(k, g.shape)}: {g.flat[k]!r}, torch "
                    f"{w.flat[k]!r}"]
        return []
    if isinstance(want, dict) and isinstance(got, dict):
        out = [f"{path}.{k}: {'missing' if k not in got else 'extra'}"
               for k in sorted(set(want) ^ set(got))]
        return out + [d for k in sorted(set(want) & set(got))
                      for d in differences(got[k], want[k], f"{path}.{k}")]
    if isinstance(want, list) and isinstance(got, list) and len(got) == len(want):
        return [d for i, (g, w) in enumerate(zip(got, want))
                for d in differences(g, w, f"{path}[{i}]")]
    return [] if got == want else [f"{path}: {str(got)[:300]}, torch {str(want)[:300]}"]


def test_every_case_was_recorded():
    assert sorted(cid for cid, _ in ref.cases()) == sorted(REFERENCE)


@pytest.mark.parametrize("cid, args", ref.cases(), ids=[cid for cid, _ in ref.cases()])
def test_same_as_torch(cid, args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # (padding='same', even kernels)
        got = json.loads(json.dumps(ref.run(tg, cid, *args)))
    diff = differences(got, REFERENCE[cid])
    assert not diff, f"{cid}:\n" + "\n".join(diff[:10])


def test_the_comparison_can_fail():
    want = REFERENCE["max_pool2d|ties k2"]
    bad = json.loads(json.dumps(want))
    bad["grads"][0]["values"][0][0][0][0] += 1e-6
    assert differences(bad, want)
    assert differences({"error": "RuntimeError", "message": "x"}, want)


# ------------------------------------------------------------------------------------------------
# gradients against finite differences, random configurations (float64)
# ------------------------------------------------------------------------------------------------

def _t(a) -> tg.Tensor:
    return tg.tensor(np.asarray(a, np.float64), requires_grad=True)


def _distinct(rng: np.random.Generator, shape: tuple) -> tg.Tensor:
    """Values at least 0.05 apart (no ties, no kinks within the finite-difference step)."""
    n = math.prod(shape)
    return _t((rng.permutation(n) * 0.05 - n * 0.025).reshape(shape))


@st.composite
def conv_configs(draw, nd: int):
    """(input shape, weight shape, bias?, stride, padding, dilation, groups) that torch accepts."""
    groups = draw(st.integers(1, 2))
    cg, og = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    k = [draw(st.integers(1, 3)) for _ in range(nd)]
    s = [draw(st.integers(1, 2)) for _ in range(nd)]
    p = [draw(st.integers(0, 2)) for _ in range(nd)]
    d = [draw(st.integers(1, 2)) for _ in range(nd)]
    size = [draw(st.integers(max(1, di * (ki - 1) + 1 - 2 * pi), 5))
            for ki, pi, di in zip(k, p, d)]
    batch = draw(st.sampled_from([(), (1,), (2,)]))
    return (batch + (cg * groups, *size), (og * groups, cg, *k), draw(st.booleans()), s, p, d,
            groups)


@settings(max_examples=12)
@given(conv_configs(2), st.integers(0, 2 ** 16))
def test_conv2d_gradients_match_finite_differences(cfg, seed):
    xs, ws, has_bias, s, p, d, g = cfg
    rng = np.random.default_rng(seed)
    x, w, b = _t(rng.standard_normal(xs)), _t(rng.standard_normal(ws)), _t(
        rng.standard_normal(ws[0]))
    if has_bias:
        assert_gradients_close(lambda x, w, b: F.conv2d(x, w, b, s, p, d, g), x, w, b)
    else:
        assert_gradients_close(lambda x, w: F.conv2d(x, w, None, s, p, d, g), x, w)


@settings(max_examples=12)
@given(conv_configs(1), st.integers(0, 2 ** 16))
def test_conv1d_gradients_match_finite_differences(cfg, seed):
    xs, ws, _, s, p, d, g = cfg
    rng = np.random.default_rng(seed)
    x, w, b = _t(rng.standard_normal(xs)), _t(rng.standard_normal(ws)), _t(
        rng.standard_normal(ws[0]))
    assert_gradients_close(lambda x, w, b: F.conv1d(x, w, b, s, p, d, g), x, w, b)


@st.composite
def pool_configs(draw, dilation: bool = True):
    """(input shape, kernel, stride, padding, dilation, ceil_mode) torch accepts (2-d)."""
    k = [draw(st.integers(1, 3)) for _ in range(2)]
    s = [draw(st.integers(1, 3)) for _ in range(2)]
    p = [draw(st.integers(0, ki // 2)) for ki in k]
    d = [draw(st.integers(1, 2)) if dilation else 1 for _ in range(2)]
    size = [draw(st.integers(max(1, di * (ki - 1) + 1 - 2 * pi), 6))
            for ki, pi, di in zip(k, p, d)]
    batch = draw(st.sampled_from([(1,), (2,)]))
    return batch + (draw(st.integers(1, 2)), *size), k, s, p, d, draw(st.booleans())


@settings(max_examples=15)
@given(pool_configs(), st.integers(0, 2 ** 16))
def test_max_pool2d_gradients_match_finite_differences(cfg, seed):
    shape, k, s, p, d, ceil = cfg
    x = _distinct(np.random.default_rng(seed), shape)
    # (torch accepts dilated windows that miss the input entirely; their maximum is -inf)
    assume(np.isfinite(F.max_pool2d(x, k, s, p, d, ceil).detach().numpy()).all())
    assert_gradients_close(lambda x: F.max_pool2d(x, k, s, p, d, ceil), x)


@settings(max_examples=15)
@given(pool_configs(dilation=False), st.booleans(), st.sampled_from([None, 3]),
       st.integers(0, 2 ** 16))
def test_avg_pool2d_gradients_match_finite_differences(cfg, count_pad, divisor, seed):
    shape, k, s, p, _, ceil = cfg
    x = _t(np.random.default_rng(seed).standard_normal(shape))
    assert_gradients_close(lambda x: F.avg_pool2d(x, k, s, p, ceil, count_pad, divisor), x)


@settings(max_examples=15)
@given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 7), st.integers(1, 7),
       st.booleans(), st.integers(0, 2 ** 16))
def test_adaptive_pools_gradients_match_finite_differences(h, w, oh, ow, use_max, seed):
    rng = np.random.default_rng(seed)
    x = _distinct(rng, (2, h, w))
    if use_max:
        assert_gradients_close(lambda x: F.adaptive_max_pool2d(x, (oh, ow)), x)
    else:
        assert_gradients_close(lambda x: F.adaptive_avg_pool2d(x, (oh, ow)), x)
        assert_gradients_close(lambda x: F.adaptive_avg_pool1d(x, ow), x)


@settings(max_examples=15)
@given(st.sampled_from(["constant", "reflect", "replicate", "circular"]), st.integers(1, 2),
       st.data(), st.integers(0, 2 ** 16))
def test_pad_gradients_match_finite_differences(mode, npad, data, seed):
    shape = (1, 2) + tuple(data.draw(st.integers(2, 4)) for _ in range(npad))
    hi = {"constant": 3, "reflect": 1, "replicate": 3, "circular": 2}[mode]
    amounts = tuple(data.draw(st.integers(-1 if mode == "constant" else 0, hi))
                    for _ in range(2 * npad))
    x = _t(np.random.default_rng(seed).standard_normal(shape))
    assert_gradients_close(lambda x: F.pad(x, amounts, mode), x)


@settings(max_examples=10)
@given(st.integers(1, 3), st.integers(1, 2), st.integers(0, 1), st.integers(1, 2),
       st.integers(0, 2 ** 16))
def test_unfold_and_fold_gradients_match_finite_differences(k, s, p, d, seed):
    assume(4 + 2 * p >= d * (k - 1) + 1)
    rng = np.random.default_rng(seed)
    x = _t(rng.standard_normal((1, 2, 5, 4)))
    cols = F.unfold(x, k, d, p, s)
    assert_gradients_close(lambda x: F.unfold(x, k, d, p, s), x)
    c = _t(rng.standard_normal(tuple(cols.shape)))
    assert_gradients_close(lambda c: F.fold(c, (5, 4), k, d, p, s), c)


def test_second_derivatives_match_finite_differences():
    rng = np.random.default_rng(7)
    x, w = _t(rng.standard_normal((1, 2, 4, 4))), _t(rng.standard_normal((2, 1, 2, 2)))
    assert gradgradcheck(lambda x, w: F.conv2d(x, w, stride=2, padding=1, groups=2), (x, w))
    y = _distinct(rng, (1, 1, 4, 5))
    assert gradgradcheck(lambda y: F.max_pool2d(y, 2, ceil_mode=True) ** 2, (y,))
    assert gradgradcheck(lambda y: F.avg_pool2d(y, 3, 2, 1, count_include_pad=False) ** 2, (y,))


def test_fold_is_the_adjoint_of_unfold():
    """<unfold(x), c> == <x, fold(c)> for any x and c."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 6, 5))
    kw = dict(kernel_size=(2, 3), dilation=(1, 2), padding=1, stride=(2, 1))
    cols = F.unfold(tg.tensor(x), **kw).numpy()
    c = rng.standard_normal(cols.shape)
    back = F.fold(tg.tensor(c), (6, 5), **kw).numpy()
    assert np.isclose((cols * c).sum(), (x * back).sum(), rtol=1e-12)


# ------------------------------------------------------------------------------------------------
# forwards against direct loops
# ------------------------------------------------------------------------------------------------

def _conv2d_loops(x, w, b, s, p, d, g):
    """Cross-correlation by its definition, one output element at a time."""
    n, c, h, wd = x.shape
    cout, cg, kh, kw = w.shape
    xp = np.zeros((n, c, h + 2 * p[0], wd + 2 * p[1]))
    xp[:, :, p[0]:p[0] + h, p[1]:p[1] + wd] = x
    oh = (h + 2 * p[0] - d[0] * (kh - 1) - 1) // s[0] + 1
    ow = (wd + 2 * p[1] - d[1] * (kw - 1) - 1) // s[1] + 1
    out = np.zeros((n, cout, oh, ow))
    for o in range(cout):
        grp = o // (cout // g)
        for i in range(oh):
            for j in range(ow):
                for ci in range(cg):
                    for a in range(kh):
                        for bb in range(kw):
                            out[:, o, i, j] += w[o, ci, a, bb] * xp[
                                :, grp * cg + ci, i * s[0] + a * d[0], j * s[1] + bb * d[1]]
    return out + (0 if b is None else b[None, :, None, None])


@settings(max_examples=15)
@given(conv_configs(2), st.integers(0, 2 ** 16))
def test_conv2d_matches_direct_loops(cfg, seed):
    xs, ws, has_bias, s, p, d, g = cfg
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    b = rng.standard_normal(ws[0]) if has_bias else None
    got = F.conv2d(tg.tensor(x), tg.tensor(w), None if b is None else tg.tensor(b), s, p, d, g)
    want = _conv2d_loops(x if len(xs) == 4 else x[None], w, b, s, p, d, g)
    np.testing.assert_allclose(got.numpy(), want if len(xs) == 4 else want[0], rtol=1e-10,
                               atol=1e-10)


def _max_pool_loops(x, k, s, p, d, out):
    """Max and first argmax (row-major) over each window's elements inside the input (a window
    with none: -inf at index -1, tapegrad's choice; torch's index there is out of range)."""
    n, c, h, w = x.shape
    vals, idx = np.zeros((n, c, *out)), np.zeros((n, c, *out), np.int64)
    for i in range(out[0]):
        for j in range(out[1]):
            cells = [(r, q) for r in range(i * s[0] - p[0], i * s[0] - p[0] + k[0] * d[0], d[0])
                     for q in range(j * s[1] - p[1], j * s[1] - p[1] + k[1] * d[1], d[1])
                     if 0 <= r < h and 0 <= q < w]
            if not cells:  # a window of padding only: -inf, and an index that means nothing
                vals[:, :, i, j], idx[:, :, i, j] = -np.inf, -1  # (torch's is out of range)
                continue
            v = np.stack([x[:, :, r, q] for r, q in cells], -1)
            a = v.argmax(-1)
            vals[:, :, i, j] = v.max(-1)
            idx[:, :, i, j] = np.array([r * w + q for r, q in cells])[a]
    return vals, idx


@settings(max_examples=20)
@given(pool_configs(), st.integers(0, 2 ** 16))
def test_max_pool2d_matches_direct_loops(cfg, seed):
    shape, k, s, p, d, ceil = cfg
    x = np.random.default_rng(seed).integers(-2, 3, size=shape).astype(np.float64)  # ties
    vals, idx = F.max_pool2d(tg.tensor(x), k, s, p, d, ceil, return_indices=True)
    want_v, want_i = _max_pool_loops(x, k, s, p, d, tuple(vals.shape[2:]))
    np.testing.assert_array_equal(vals.numpy(), want_v)
    np.testing.assert_array_equal(idx.numpy(), want_i)


# ------------------------------------------------------------------------------------------------
# layout, replay, what a convolution records
# ------------------------------------------------------------------------------------------------

def test_outputs_are_contiguous_new_tensors():
    x = tg.randn(2, 1, 8, 8, requires_grad=True)
    y = F.conv2d(x, tg.randn(3, 1, 3, 3))
    assert y.is_contiguous() and y.view(2, -1).shape == (2, 108)
    assert F.max_pool2d(y, 2).is_contiguous()
    z = tg.arange(6.).reshape(2, 3)
    for out in (F.pad(z, (0, 0)), F.pad(z, (-1, 0)), F.pad(z, (1, 1), mode="reflect")):
        assert out._base is None   # a copy, as torch's
    out = F.pad(z, (-1, 0))
    out[0, 0] = 100.0
    assert z[0, 1].item() == 1.0


def test_strided_inputs_and_no_grad_give_the_same_values():
    """The gather reads an input's logical (C-order) layout: a transposed view convolves like
    its contiguous copy, with the same gradients; under no_grad nothing is recorded."""
    rng = np.random.default_rng(11)
    base = _t(rng.standard_normal((2, 6, 5, 3)))
    w = _t(rng.standard_normal((4, 3, 2, 2)))
    view = base.permute(0, 3, 1, 2)                       # (2, 3, 6, 5), not contiguous
    copy = view.detach().contiguous().requires_grad_(True)
    a, b = F.conv2d(view, w, padding=1), F.conv2d(copy, w, padding=1)
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    (ga,), (gb,) = tg.autograd.grad(a.sum(), [base]), tg.autograd.grad(b.sum(), [copy])
    np.testing.assert_allclose(ga.permute(0, 3, 1, 2).numpy(), gb.numpy(), rtol=1e-12)
    with tg.no_grad():
        c = F.max_pool2d(F.conv2d(copy, w, padding=1), 2, ceil_mode=True)
    assert c.grad_fn is None and not c.requires_grad
    np.testing.assert_array_equal(c.numpy(), F.max_pool2d(b, 2, ceil_mode=True).detach().numpy())


def test_same_padding_with_an_even_kernel_warns_like_torch():
    with pytest.warns(UserWarning, match="even kernel lengths and odd dilation"):
        F.conv1d(tg.ones(1, 1, 5), tg.ones(1, 1, 2), padding="same")


def _lenet(x, w1, b1, w2, b2, w3, b3):
    h = F.max_pool2d(F.relu(F.conv2d(x, w1, b1, padding=1)), 2)
    h = F.avg_pool2d(F.relu(F.conv2d(h, w2, b2, groups=2)), 2, ceil_mode=True)
    return F.linear(F.adaptive_max_pool2d(h, (2, 3)).flatten(1), w3, b3).logsumexp(1).sum()


def test_compiled_network_replays_at_new_inputs():
    rng = np.random.default_rng(5)
    shapes = [(4, 1, 3, 3), (4,), (6, 2, 3, 3), (6,), (3, 36), (3,)]
    params = [_t(rng.standard_normal(s)) for s in shapes]
    cf = tg.compile(_lenet)
    for step in range(3):  # new data each step: other maxima, other gradients
        x = tg.tensor(rng.standard_normal((2, 1, 10, 11)))
        got = cf(x, *params)
        g_got = tg.autograd.grad(got, params)
        want = _lenet(x, *params)
        g_want = tg.autograd.grad(want, params)
        np.testing.assert_allclose(got.item(), want.item(), rtol=1e-12)
        for a, b in zip(g_got, g_want):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-12)
    assert cf.stats()["recordings"] == 1 and cf.stats()["replays"] == 2


def _shapes_and_padding(x):
    y = F.pad(x, (2, 1, 1, 1), mode="reflect")
    cols = F.unfold(y, 3, padding=1, stride=2) * 2.0
    z = F.fold(cols, y.shape[-2:], 3, padding=1, stride=2)
    return F.adaptive_avg_pool2d(z, (3, 2)).exp().sum() + F.max_pool1d(x[0], 2, 1).sum()


def test_compiled_padding_and_folding_replay_at_new_inputs():
    rng = np.random.default_rng(6)
    cf = tg.compile(_shapes_and_padding)
    for _ in range(3):
        x = _t(rng.standard_normal((2, 2, 5, 6)))
        got, (g_got,) = cf(x), tg.autograd.grad(cf(x), [x])
        want, (g_want,) = _shapes_and_padding(x), tg.autograd.grad(_shapes_and_padding(x), [x])
        np.testing.assert_allclose(got.item(), want.item(), rtol=1e-12)
        np.testing.assert_allclose(g_got.numpy(), g_want.numpy(), rtol=1e-10, atol=1e-12)
    assert cf.stats()["recordings"] == 1 and cf.stats()["replays"] >= 4


def _record_words(t: tg.Tensor) -> int:
    tape = t._tape
    return tape.recs.n + len(tape.pend)


def test_a_convolution_records_a_few_words_not_one_per_gathered_element():
    """im2col is one strided walk (O(ndim) parameters): the records do not grow with the
    batch (an index-based gather would record every position, 64 * 25 * 576 of them here)."""
    w = tg.randn(6, 1, 5, 5, requires_grad=True)
    small = _record_words(F.conv2d(tg.randn(1, 1, 28, 28, requires_grad=True), w, padding=2))
    large = _record_words(F.conv2d(tg.randn(64, 1, 28, 28, requires_grad=True), w, padding=2))
    assert large == small and large < 300
