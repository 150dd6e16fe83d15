"""tapegrad.optim.LBFGS against torch's recorded behaviour ("observations_lbfgs" in
tests/data/torch_optim.json, programs in tests/torch_ref/optim.py): every loss the closure
computed over several steps, the parameters after each step, the state (its keys in order, the
kind and value of each entry, versions) and state_dict, errors; with and without the
strong-Wolfe line search, in float64 and float32."""
from __future__ import annotations

import json
import math
import pathlib

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.optim  # noqa: F401  (tapegrad's __init__ may not import it yet)
from tapegrad import optim
from tests.torch_ref import optim as programs

DATA = pathlib.Path(__file__).resolve().parent / "data" / "torch_optim.json"
REFERENCE = json.loads(DATA.read_text())["observations_lbfgs"]
# (rtol, atol): an L-BFGS step is hundreds of dependent dot products and line-search decisions,
# so the two libraries' rounding differences (BLAS dots, sums, FMAs) grow far past an ulp; a
# flipped branch would show as a difference of order 1, far beyond these
TOL = {"float64": (1e-9, 1e-12), "float32": (1e-4, 1e-6)}
CASES = programs.lbfgs_cases()


def _num(v):
    return {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}.get(v, v) \
        if isinstance(v, str) else v


def _flat(v):
    return [x for e in v for x in _flat(e)] if isinstance(v, list) else [_num(v)]


def _scalars(v: list) -> bool:
    return any(isinstance(x, dict) for x in v) and all(
        x is None or (isinstance(x, dict) and set(x) == {"dtype", "values"}
                      and not isinstance(x["values"], list)) for x in v)


def _dtypes(v: list) -> list:
    return [None if x is None else x["dtype"] for x in v]


def _vector(v: list) -> dict:
    return {"dtype": next(x["dtype"] for x in v if x is not None),
            "values": [x["values"] for x in v if x is not None]}


def differences(got, want, tol: tuple, path: str = "") -> list:
    """Where `got` differs from torch's `want`: bare floats (losses) to `tol` (rtol, atol); a
    tensor's elements to rtol relative to the element or, for an element much smaller than the
    tensor's largest (a difference of gradients, after cancellation), to rtol of that largest
    (a list of 0-d tensors counts as one tensor); dtypes, ints, strings, keys and lengths
    exactly."""
    if isinstance(want, dict) and set(want) == {"dtype", "values"} and isinstance(got, dict):
        if got.get("dtype") != want["dtype"]:
            return [f"{path}: dtype {got.get('dtype')}, torch {want['dtype']}"]
        if np.shape(got["values"]) != np.shape(want["values"]):
            return [f"{path}: shape {np.shape(got['values'])}, torch {np.shape(want['values'])}"]
        g, w = np.array(_flat([got["values"]]), float), np.array(_flat([want["values"]]), float)
        finite = np.isfinite(w)
        scale = np.abs(w[finite]).max() if finite.any() else 0.0
        rtol, atol = tol
        ok = np.isclose(g, w, rtol=rtol, atol=atol + rtol * scale, equal_nan=True)
        if ok.all():
            return []
        i = int(np.argmax(~ok))
        return [f"{path}: {int((~ok).sum())} of {ok.size} differ, e.g. [{i}]: {g[i]!r}, torch "
                f"{w[i]!r}"]
    if isinstance(want, dict) and isinstance(got, dict):
        out = [f"{path}.{k}: {'missing' if k not in got else 'extra'}"
               for k in sorted(set(want) ^ set(got))]
        return out + [d for k in sorted(set(want) & set(got))
                      for d in differences(got[k], want[k], tol, f"{path}.{k}")]
    if isinstance(want, list) and isinstance(got, list):
        if len(want) != len(got):
            return [f"{path}: length {len(got)}, torch {len(want)}"]
        if _scalars(want) and _scalars(got) and _dtypes(got) == _dtypes(want):
            # a list of 0-d tensors (the two-loop coefficients ``al``, ``ro``): one vector
            return differences(_vector(got), _vector(want), tol, path)
        return [d for i, (g, w) in enumerate(zip(got, want))
                for d in differences(g, w, tol, f"{path}[{i}]")]
    g, w = _num(got), _num(want)
    if isinstance(w, float) and isinstance(g, (int, float)) and not isinstance(g, bool):
        if (math.isnan(w) and math.isnan(g)) or math.isclose(g, w, rel_tol=tol[0],
                                                             abs_tol=tol[1]):
            return []
    elif g == w and type(g) is type(w):
        return []
    return [f"{path}: {got!r}, torch {want!r}"[:600]]


def test_differences_can_fail():
    tol = TOL["float64"]
    t = {"dtype": "float64", "values": [1.0, 2.0]}
    assert not differences(t, t, tol)
    assert differences({"dtype": "float64", "values": [1.0, 2.0 + 1e-8]}, t, tol)
    assert not differences({"dtype": "float64", "values": [1.0, 2.0 + 1e-10]}, t, tol)
    assert not differences({"dtype": "float64", "values": [1e-9, 2.0]},
                           {"dtype": "float64", "values": [1.1e-9, 2.0]}, tol)
    assert differences({"dtype": "float64", "values": [1e-9, 2.0]},
                       {"dtype": "float64", "values": [2e-8, 2.0]}, tol)
    assert differences({"dtype": "float32", "values": [1.0, 2.0]}, t, tol)
    assert differences({"a": 1}, {"a": 1, "b": 2}, tol)
    assert differences([1, 2], [1, 2, 3], tol) and differences(1, 2, tol)
    assert differences(1.0, 1.0 + 1e-8, tol) and differences("Tensor", "int", tol)


def test_every_case_was_recorded():
    assert sorted(c for c, _ in CASES) == sorted(REFERENCE)


@pytest.mark.parametrize("cid, args", CASES, ids=[c for c, _ in CASES])
def test_same_as_torch(cid, args):
    got = json.loads(json.dumps(programs.run_lbfgs(tg, *args)))
    want = REFERENCE[cid]
    diff = differences(got, want, TOL["float32" if "float32" in cid else "float64"])
    assert not diff, f"{cid}:\n" + "\n".join(diff[:12])


def _quadratic(dtype=tg.float64):
    w = tg.tensor([1.5, -0.5, 0.25], dtype=dtype, requires_grad=True)
    target = tg.tensor([1.0, 2.0, -1.0], dtype=dtype)
    return w, target


def test_noncontiguous_parameter():
    """A parameter over transposed memory is updated in place (its base sees it) and read
    by position, as a contiguous one."""
    base = tg.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], dtype=tg.float64)
    p = base.t().detach().requires_grad_()
    c = tg.tensor([[1.0, 2.0], [0.5, 1.5], [2.5, 0.3]], dtype=tg.float64)
    q = tg.tensor(p.detach().numpy().copy(), requires_grad=True)
    results = []
    for x in (p, q):
        opt = optim.LBFGS([x], line_search_fn="strong_wolfe")

        def closure(x=x, opt=opt):
            opt.zero_grad()
            loss = ((x - c) * (x - c) * (c + 1)).sum()
            loss.backward()
            return loss
        opt.step(closure)
        results.append(x.detach().numpy())
    np.testing.assert_allclose(results[0], results[1], rtol=0, atol=1e-15)
    np.testing.assert_allclose(results[0], c.numpy(), atol=1e-5)
    np.testing.assert_array_equal(base.numpy().T, results[0])


def test_read_only_memory_is_refused():
    mem = np.array([1.0, 2.0])
    mem.setflags(write=False)
    p = tg.from_numpy(mem).requires_grad_()
    opt = optim.LBFGS([p])

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss
    with pytest.raises(RuntimeError, match="read-only"):
        opt.step(closure)
    np.testing.assert_array_equal(mem, [1.0, 2.0])


def test_integer_parameter_is_refused():
    p = tg.tensor([1, 2])
    opt = optim.LBFGS([p])
    with pytest.raises(TypeError, match="float32 and float64"):
        opt.step(lambda: tg.tensor(1.0))


def test_state_dict_keys_and_pickle():
    """The whole state is the first parameter's, its keys in torch's order; an unpickled
    optimizer has its group's parameter list."""
    import pickle
    w, target = _quadratic()
    v = tg.tensor([0.5], dtype=tg.float64, requires_grad=True)
    opt = optim.LBFGS([w, v], max_iter=4)

    def closure():
        opt.zero_grad()
        loss = ((w - target) ** 2).sum() + (v * v).sum()
        loss.backward()
        return loss
    opt.step(closure)
    sd = opt.state_dict()
    assert list(sd["state"]) == [0]
    assert list(sd["state"][0]) == ["func_evals", "n_iter", "al", "d", "t", "old_dirs",
                                    "old_stps", "ro", "H_diag", "prev_flat_grad", "prev_loss"]
    assert isinstance(sd["state"][0]["d"], tg.Tensor) and sd["state"][0]["d"].shape == (4,)
    opt2 = pickle.loads(pickle.dumps(opt))
    assert opt2._params is opt2.param_groups[0]["params"]
