"""tapegrad.optim against torch's recorded behaviour (tests/torch_ref/optim.py: trajectories of
every optimizer and option in float32 and float64, state and state_dict, versions, reprs,
errors, lr sequences of every scheduler), against a numpy transcription of torch's documented
update rules for random hyper-parameters (hypothesis), and the cases only tapegrad has (memory
that cannot be written, state replaced between steps, memory not in C order)."""
from __future__ import annotations

import json
import math
import pathlib
from collections import defaultdict

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tapegrad as tg
import tapegrad.optim  # noqa: F401  (tapegrad's __init__ may not import it yet)
from tapegrad import optim
from tests.torch_ref import optim as programs

DATA = pathlib.Path(__file__).resolve().parent / "data" / "torch_optim.json"
REFERENCE = json.loads(DATA.read_text())["observations"]
TOL = {"float64": (1e-12, 1e-12), "float32": (1e-5, 1e-6)}  # (rtol, atol) per dtype
FLOAT_RTOL = 1e-12  # bare Python floats (lrs are computed alike: they agree to the last bit)


def _num(v):
    return {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}.get(v, v)


def _close_values(got, want, dtype: str, path: str) -> list:
    g, w = np.asarray(_nums(got), float), np.asarray(_nums(want), float)
    if g.shape != w.shape:
        return [f"{path}: shape {g.shape}, torch {w.shape}"]
    rtol, atol = TOL[dtype]
    ok = np.isclose(g, w, rtol=rtol, atol=atol, equal_nan=True)
    if ok.all():
        return []
    i = np.argwhere(~ok)[0]
    return [f"{path}: {int((~ok).sum())} values differ, e.g. at {tuple(i)}: {g[tuple(i)]!r}, "
            f"torch {w[tuple(i)]!r} ({dtype})"]


def _nums(v):
    return [_nums(x) for x in v] if isinstance(v, list) else _num(v)


def differences(got, want, path: str = "") -> list:
    """Where observation `got` differs from torch's `want`: tensors by their dtype's tolerance,
    everything else exactly (floats to FLOAT_RTOL)."""
    if isinstance(want, dict) and set(want) == {"dtype", "values"} and isinstance(got, dict):
        if got.get("dtype") != want["dtype"]:
            return [f"{path}: dtype {got.get('dtype')}, torch {want['dtype']}"]
        if want["dtype"] not in TOL:
            return [] if got == want else [f"{path}: {got!r}, torch {want!r}"]
        return _close_values(got["values"], want["values"], want["dtype"], path)
    if isinstance(want, dict) and isinstance(got, dict):
        out = [f"{path}.{k}: {'missing' if k not in got else 'extra'}"
               for k in sorted(set(want) ^ set(got))]
        return out + [d for k in sorted(set(want) & set(got))
                      for d in differences(got[k], want[k], f"{path}.{k}")]
    if isinstance(want, list) and isinstance(got, list):
        if len(want) != len(got):
            return [f"{path}: length {len(got)}, torch {len(want)}: {got!r}"[:400]]
        return [d for i, (g, w) in enumerate(zip(got, want))
                for d in differences(g, w, f"{path}[{i}]")]
    g, w = _num(got), _num(want)
    if isinstance(w, float) and isinstance(g, (int, float)) and not isinstance(g, bool):
        if (math.isnan(w) and math.isnan(g)) or math.isclose(g, w, rel_tol=FLOAT_RTOL):
            return []
    elif g == w and type(g) is type(w):
        return []
    return [f"{path}: {got!r}, torch {want!r}"[:600]]


def test_differences_can_fail():
    """The comparison itself tells values, dtypes, keys and lengths apart."""
    t32 = {"dtype": "float32", "values": [1.0, 2.0]}
    assert not differences(t32, t32)
    assert differences({"dtype": "float32", "values": [1.0, 2.001]}, t32)
    assert differences({"dtype": "float64", "values": [1.0, 2.0]}, t32)
    assert differences({"a": 1}, {"a": 1, "b": 2})
    assert differences([1, 2], [1, 2, 3])
    assert differences(0.1, 0.1 + 1e-9) and not differences(0.1, 0.1)
    assert differences(True, 1) and differences("SGD", "Adam")


CASES = programs.cases()


def _without_versions(obs: dict) -> dict:
    """torch's fused kernels write parameters and state without advancing their versions (so
    its graphs that saved them silently see the new values); tapegrad's one implementation
    counts them as the single-tensor one does, which the other cases check. The rest of a fused
    case (values, the step counter) must agree."""
    obs = json.loads(json.dumps(obs))
    obs.pop("versions", None)
    for entry in obs.get("state", {}).values():
        entry["versions"] = {k: v for k, v in entry["versions"].items() if k == "step"}
    return obs


@pytest.mark.parametrize("cid, args", CASES, ids=[c for c, _ in CASES])
def test_same_as_torch(cid, args):
    got = json.loads(json.dumps(programs.run(tg, *args)))
    want = REFERENCE[cid]
    if "fused=True" in cid:
        got, want = _without_versions(got), _without_versions(want)
    diff = differences(got, want)
    assert not diff, f"{cid}:\n" + "\n".join(diff[:12])


def test_every_case_was_recorded():
    assert sorted(c for c, _ in CASES) == sorted(REFERENCE)


# -- torch's update rules, transcribed from its documentation (numpy, float64) -----------------
def ref_sgd(p, grads, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
            maximize=False):
    buf = None
    for g in grads:
        g = -g if maximize else g
        g = g + weight_decay * p
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        p = p - lr * g
    return p


def ref_adam(p, grads, lr, betas, eps, weight_decay=0.0, amsgrad=False, maximize=False,
             decoupled=False, m=None):
    b1, b2 = betas
    m = np.zeros_like(p) if m is None else m
    v, vmax = np.zeros_like(p), np.zeros_like(p)
    for t, g in enumerate(grads, 1):
        g = -g if maximize else g
        if decoupled:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        vmax = np.maximum(vmax, v)
        vhat = (vmax if amsgrad else v) / (1 - b2 ** t)
        p = p - lr * (m / (1 - b1 ** t)) / (np.sqrt(vhat) + eps)
    return p


def ref_rmsprop(p, grads, lr, alpha, eps, weight_decay=0.0, momentum=0.0, centered=False,
                maximize=False):
    sq, ga, buf = np.zeros_like(p), np.zeros_like(p), np.zeros_like(p)
    for g in grads:
        g = -g if maximize else g
        g = g + weight_decay * p
        sq = alpha * sq + (1 - alpha) * g * g
        ga = alpha * ga + (1 - alpha) * g
        avg = np.sqrt(sq - ga * ga if centered else sq) + eps
        if momentum > 0:
            buf = momentum * buf + g / avg
            p = p - lr * buf
        else:
            p = p - lr * g / avg
    return p


def ref_adagrad(p, grads, lr, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
                eps=1e-10, maximize=False):
    acc = np.full_like(p, initial_accumulator_value)
    for t, g in enumerate(grads, 1):
        g = -g if maximize else g
        g = g + weight_decay * p
        acc = acc + g * g
        p = p - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(acc) + eps)
    return p


def _run(make, p0: np.ndarray, grads: list) -> np.ndarray:
    """The optimizer `make(params)` stepped with the given gradients (float64)."""
    p = tg.tensor(p0, dtype=tg.float64, requires_grad=True)
    opt = make([p])
    for g in grads:
        p.grad = tg.tensor(g, dtype=tg.float64)
        opt.step()
    return p.detach().numpy()


shapes = st.sampled_from([(1,), (5,), (2, 3), (3, 1, 2), (17,)])


@st.composite
def problems(draw, steps=st.integers(1, 5)):
    shape = draw(shapes)
    n = int(np.prod(shape))
    vals = st.floats(-3, 3, allow_nan=False, width=64)
    p0 = np.array(draw(st.lists(vals, min_size=n, max_size=n))).reshape(shape)
    grads = [np.array(draw(st.lists(vals, min_size=n, max_size=n))).reshape(shape)
             for _ in range(draw(steps))]
    return p0, grads


unit = st.floats(0.0, 0.95)
lrs = st.floats(1e-3, 0.5)


def _close(got, want):
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


@given(problems(), lrs, unit, st.floats(0, 0.5), st.floats(0, 0.3), st.booleans(),
       st.booleans())
def test_sgd_follows_torch_rule(prob, lr, momentum, dampening, wd, nesterov, maximize):
    if nesterov:
        dampening, momentum = 0.0, max(momentum, 0.1)
    kw = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=wd,
              nesterov=nesterov, maximize=maximize)
    _close(_run(lambda ps: optim.SGD(ps, **kw), *prob), ref_sgd(prob[0], prob[1], **kw))


@given(problems(), lrs, unit, unit, st.floats(1e-8, 1e-2), st.floats(0, 0.3), st.booleans(),
       st.booleans(), st.booleans())
def test_adam_follows_torch_rule(prob, lr, b1, b2, eps, wd, amsgrad, maximize, decoupled):
    kw = dict(lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd, amsgrad=amsgrad,
              maximize=maximize)
    cls = optim.AdamW if decoupled else optim.Adam
    _close(_run(lambda ps: cls(ps, **kw), *prob),
           ref_adam(prob[0], prob[1], decoupled=decoupled, **kw))


@given(problems(), st.floats(1e-3, 0.05), unit, st.floats(1e-8, 1e-2), st.floats(0, 0.3),
       unit, st.booleans(), st.booleans())
def test_rmsprop_follows_torch_rule(prob, lr, alpha, eps, wd, momentum, centered, maximize):
    kw = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=wd, momentum=momentum,
              centered=centered, maximize=maximize)
    _close(_run(lambda ps: optim.RMSprop(ps, **kw), *prob),
           ref_rmsprop(prob[0], prob[1], **kw))


@given(problems(), lrs, st.floats(0, 0.5), st.floats(0, 0.3), st.floats(0, 1),
       st.floats(1e-10, 1e-2), st.booleans())
def test_adagrad_follows_torch_rule(prob, lr, lr_decay, wd, init, eps, maximize):
    kw = dict(lr=lr, lr_decay=lr_decay, weight_decay=wd, initial_accumulator_value=init,
              eps=eps, maximize=maximize)
    _close(_run(lambda ps: optim.Adagrad(ps, **kw), *prob),
           ref_adagrad(prob[0], prob[1], **kw))


# -- what only tapegrad has: memory, state replaced between steps ------------------------------
P0 = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
G = [np.array([[0.3, -0.2, 0.9], [1.1, -0.4, 0.05]]), np.array([[-0.5, 0.7, 0.2],
                                                                [0.6, 0.3, -0.8]])]
ADAM = dict(lr=0.1, betas=(0.9, 0.99), eps=1e-8)


def test_noncontiguous_gradient():
    """A gradient in Fortran order is read by position, as any other."""
    p = tg.tensor(P0, dtype=tg.float64, requires_grad=True)
    opt = optim.Adam([p], **ADAM)
    for g in G:
        p.grad = tg.from_numpy(np.asfortranarray(g))
        opt.step()
    _close(p.detach().numpy(), ref_adam(P0, G, **ADAM))


def test_noncontiguous_state_and_param():
    """A parameter whose memory is in Fortran order, and state loaded in Fortran order, are
    updated through copies written back: the parameter's own memory changes."""
    mem = np.asfortranarray(P0.copy())
    p = tg.from_numpy(mem).requires_grad_()
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = tg.tensor(G[0])
    opt.step()
    buf = opt.state[p]["momentum_buffer"]
    opt.state[p]["momentum_buffer"] = tg.from_numpy(np.asfortranarray(buf.numpy()))
    p.grad = tg.tensor(G[1])
    opt.step()
    want = ref_sgd(P0, G, lr=0.1, momentum=0.9)
    _close(mem, want)
    _close(opt.state[p]["momentum_buffer"].numpy(), 0.9 * G[0] + G[1])


def test_state_replaced_or_reset_between_steps():
    """A state tensor replaced (or the whole state reset) by the user is the one used next."""
    p = tg.tensor(P0, dtype=tg.float64, requires_grad=True)
    opt = optim.Adam([p], **ADAM)
    p.grad = tg.tensor(G[0])
    opt.step()
    after1 = p.detach().numpy().copy()
    opt.state[p]["exp_avg"] = tg.zeros(2, 3, dtype=tg.float64)
    opt.state[p]["exp_avg_sq"] = tg.zeros(2, 3, dtype=tg.float64)
    opt.state[p]["step"] = tg.tensor(0.0)
    p.grad = tg.tensor(G[1])
    opt.step()
    _close(p.detach().numpy(), ref_adam(after1, [G[1]], **ADAM))
    opt.state = defaultdict(dict)
    opt.step()
    _close(p.detach().numpy(), ref_adam(ref_adam(after1, [G[1]], **ADAM), [G[1]], **ADAM))


def test_state_changed_in_place_is_seen():
    p = tg.tensor(P0, dtype=tg.float64, requires_grad=True)
    opt = optim.SGD([p], lr=0.1, momentum=0.5)
    p.grad = tg.tensor(G[0])
    opt.step()
    opt.state[p]["momentum_buffer"].zero_()
    opt.step()
    _close(p.detach().numpy(), P0 - 0.1 * G[0] - 0.1 * G[0])


def test_param_memory_swapped():
    """``p.data = t``: the update writes t's memory, the old memory is left alone."""
    p = tg.tensor(P0, dtype=tg.float64, requires_grad=True)
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = tg.tensor(G[0])
    opt.step()
    old = p.detach().numpy()
    kept = old.copy()
    p.data = tg.tensor(P0)
    p.grad = tg.tensor(G[1])
    opt.step()
    np.testing.assert_array_equal(old, kept)
    _close(p.detach().numpy(), P0 - 0.1 * (0.9 * G[0] + G[1]))


def test_float32_and_float64_in_one_group():
    a = tg.tensor(P0, dtype=tg.float32, requires_grad=True)
    b = tg.tensor(P0, dtype=tg.float64, requires_grad=True)
    opt = optim.Adam([a, b], **ADAM)
    for g in G:
        a.grad, b.grad = tg.tensor(g, dtype=tg.float32), tg.tensor(g, dtype=tg.float64)
        opt.step()
    want = ref_adam(P0, G, **ADAM)
    _close(b.detach().numpy(), want)
    np.testing.assert_allclose(a.detach().numpy(), want, rtol=1e-5)
    assert a.dtype == tg.float32 and opt.state[a]["exp_avg"].dtype == tg.float32


def test_read_only_memory_is_refused():
    mem = P0.copy()
    mem.setflags(write=False)
    p = tg.from_numpy(mem).requires_grad_()
    p.grad = tg.tensor(G[0])
    with pytest.raises(RuntimeError, match="read-only"):
        optim.SGD([p], lr=0.1).step()
    np.testing.assert_array_equal(mem, P0)


def test_state_of_another_shape_is_refused():
    p = tg.tensor(P0, dtype=tg.float64, requires_grad=True)
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = tg.tensor(G[0])
    opt.step()
    opt.state[p]["momentum_buffer"] = tg.zeros(3, dtype=tg.float64)
    with pytest.raises(RuntimeError, match=r"state 'momentum_buffer' has shape \[3\] and dtype "
                                           r"tapegrad.float64, but its parameter has shape "
                                           r"\[2, 3\]"):
        opt.step()
    opt.state[p]["momentum_buffer"] = tg.zeros(2, 3, dtype=tg.float32)
    with pytest.raises(RuntimeError, match="dtype tapegrad.float32"):
        opt.step()


def test_differentiable_is_not_supported():
    with pytest.raises(NotImplementedError, match="differentiable=True"):
        optim.Adam([tg.ones(1, requires_grad=True)], differentiable=True)


def test_versions_advance_without_graphs_watching():
    """The step counts versions as torch's in-place ops do (here no graph saw the tensors)."""
    p = tg.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.AdamW([p], weight_decay=0.1, amsgrad=True)
    p.grad = tg.ones(2)
    for _ in range(3):
        opt.step()
    state = opt.state[p]
    assert p._version == 6  # torch's mul_ and addcdiv_ per step
    assert [state[k]._version for k in ("step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq")] == \
        [3, 3, 6, 3]


# -- a group's parameters in one kernel call per dtype -----------------------------------------
def _counting(monkeypatch, name: str) -> list:
    """Calls of `_kernels.<name>` (rows of each group call; 1 for a single-parameter call)."""
    from tapegrad.optim import _kernels
    calls, real = [], getattr(_kernels, name)

    def counted(*args):
        calls.append(args[0].shape[0] if name.endswith("_group") else 1)
        return real(*args)
    monkeypatch.setattr(_kernels, name, counted)
    return calls


def test_one_kernel_call_per_group_and_dtype(monkeypatch):
    """Ten float32 parameters and three float64 ones: one call per dtype per step; a parameter
    over transposed memory (and one without a gradient) is not in the tables: the transposed one
    is updated by a call of its own."""
    group_calls = _counting(monkeypatch, "adam_group")
    single_calls = _counting(monkeypatch, "adam")
    ps = [tg.tensor(P0 * (i + 1), dtype=tg.float32, requires_grad=True) for i in range(10)]
    ps += [tg.tensor(P0 - i, dtype=tg.float64, requires_grad=True) for i in range(3)]
    ps.append(tg.from_numpy(np.asfortranarray(P0.copy())).requires_grad_())
    ps.append(tg.tensor(P0, requires_grad=True))  # (no gradient)
    opt = optim.Adam(ps, **ADAM)
    for g in G:
        for p in ps[:-1]:
            p.grad = tg.tensor(g, dtype=p.dtype)
        opt.step()
    assert group_calls == [10, 3, 10, 3] and single_calls == [1, 1]
    for i, p in enumerate(ps[:10]):
        np.testing.assert_allclose(p.detach().numpy(), ref_adam(P0 * (i + 1), G, **ADAM),
                                   rtol=1e-5)
    for i, p in enumerate(ps[10:13]):
        _close(p.detach().numpy(), ref_adam(P0 - i, G, **ADAM))
    _close(ps[13].detach().numpy(), ref_adam(P0, G, **ADAM))
    np.testing.assert_array_equal(ps[14].detach().numpy(), P0)
    assert [p._version for p in ps] == [2] * 14 + [0]


def test_tables_follow_the_parameters_with_gradients():
    """A parameter that has a gradient in some steps only: each step updates those that have
    one, each with its own step count (the tables are rebuilt when the set changes)."""
    ps = [tg.tensor(P0 + i, dtype=tg.float64, requires_grad=True) for i in range(3)]
    opt = optim.Adam(ps, **ADAM)
    seen = [[], [], []]
    for which in ((0, 1, 2), (0, 2), (1,), (0, 1, 2)):
        for i, p in enumerate(ps):
            p.grad = tg.tensor(G[len(seen[i]) % 2]) if i in which else None
            if i in which:
                seen[i].append(G[len(seen[i]) % 2])
        opt.step()
    for i, p in enumerate(ps):
        _close(p.detach().numpy(), ref_adam(P0 + i, seen[i], **ADAM))
        assert float(opt.state[p]["step"]) == len(seen[i])


def test_refused_parameter_after_others_are_updated():
    """A parameter refused in the middle of a group: those before it were updated (as one call
    per parameter leaves them), the error is raised, the rest untouched."""
    mem = P0.copy()
    mem.setflags(write=False)
    a = tg.tensor(P0, dtype=tg.float64, requires_grad=True)
    b = tg.from_numpy(mem).requires_grad_()
    c = tg.tensor(P0, dtype=tg.float64, requires_grad=True)
    opt = optim.SGD([a, b, c], lr=0.1, momentum=0.9)
    for p in (a, b, c):
        p.grad = tg.tensor(G[0])
    with pytest.raises(RuntimeError, match="read-only"):
        opt.step()
    _close(a.detach().numpy(), P0 - 0.1 * G[0])
    np.testing.assert_array_equal(c.detach().numpy(), P0)
    assert (a._version, c._version) == (1, 0)


def test_gradients_are_not_kept_after_a_step():
    """The tables hold a gradient's address only during the step: after it the optimizer holds
    no reference to the gradient (its memory can be freed)."""
    import gc
    import weakref
    ps = [tg.tensor(P0, dtype=tg.float64, requires_grad=True) for _ in range(3)]
    opt = optim.SGD(ps, lr=0.1, momentum=0.5)
    refs = []
    for p in ps:
        p.grad = tg.tensor(G[0])
        refs.append(weakref.ref(p.grad._data))
    opt.step()
    opt.zero_grad()
    gc.collect()
    assert all(r() is None for r in refs)
