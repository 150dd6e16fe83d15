"""tapegrad against torch's recorded behaviour (tests/torch_ref): views and in-place ops in every
mode, and every op family at edge values. Each case's observations (values, gradients, grad_fn
names, versions, errors with their messages) must equal torch's."""
from __future__ import annotations

import json
import math
import pathlib

import pytest

import tapegrad
from tests.torch_ref import edges, nn, refusals, scenarios, views

DATA = pathlib.Path(__file__).resolve().parent / "data"
SUITES = {"views": views, "edges": edges, "refusals": refusals, "scenarios": scenarios, "nn": nn}

# layers are composites of ops, where torch has fused kernels (some with float constants in
# double kernels: hardsigmoid's 1.0f / 6.0f): values agree to rounding, not to the last bits
RTOL = {"nn": 1e-6}

# cases where tapegrad knowingly answers differently (each says why; strict: a fix must remove it)
KNOWN: dict = {}


def _load(name: str) -> dict:
    return json.loads((DATA / f"torch_{name}.json").read_text())["observations"]


REFERENCE = {name: _load(name) for name in SUITES}


def _num(v):
    return {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}.get(v, v)


def differences(got, want, path: str = "", rtol: float = 1e-9) -> list:
    """Where `got` differs from `want` (both JSON observations), as readable lines."""
    if isinstance(want, dict) and isinstance(got, dict):
        out = []
        for k in sorted(set(want) | set(got)):
            if k not in got or k not in want:
                out.append(f"{path}.{k}: {'missing' if k not in got else 'extra'}: "
                           f"{got.get(k, want.get(k))!r}"[:300])
            else:
                out += differences(got[k], want[k], f"{path}.{k}", rtol)
        return out
    if isinstance(want, list) and isinstance(got, list):
        if len(want) != len(got):
            return [f"{path}: length {len(got)}, torch {len(want)}"]
        return [d for i, (g, w) in enumerate(zip(got, want))
                for d in differences(g, w, f"{path}[{i}]", rtol)]
    if isinstance(want, (dict, list)) or isinstance(got, (dict, list)):
        return [f"{path}: {got!r}, torch {want!r}"[:400]]
    g, w = _num(got), _num(want)
    if isinstance(w, float) and isinstance(g, (int, float)) and not isinstance(g, bool):
        if (math.isnan(w) and math.isnan(g)) or g == w or (
                math.isfinite(w) and math.isfinite(g) and math.isclose(g, w, rel_tol=rtol,
                                                                       abs_tol=1e-15)):
            return []
        return [f"{path}: {g!r}, torch {w!r}"]
    if g != w:
        return [f"{path}: {got!r}, torch {want!r}"[:400]]
    return []


def _params():
    for name, suite in SUITES.items():
        for cid, args in suite.cases():
            marks = [pytest.mark.xfail(reason=KNOWN[cid], strict=True)] if cid in KNOWN else []
            yield pytest.param(name, cid, args, id=f"{name}:{cid}", marks=marks)


@pytest.mark.parametrize("suite, cid, args", list(_params()))
def test_same_as_torch(suite, cid, args):
    want = REFERENCE[suite][cid]
    got = json.loads(json.dumps(SUITES[suite].run(tapegrad, *args)))
    diff = differences(got, want, rtol=RTOL.get(suite, 1e-9))
    assert not diff, f"{cid}:\n" + "\n".join(diff[:12])


def test_every_case_was_recorded():
    for name, suite in SUITES.items():
        assert sorted(cid for cid, _ in suite.cases()) == sorted(REFERENCE[name]), name


def test_no_numpy_warning_reaches_the_user():
    """inf and nan are answers, as in torch: none of numpy's RuntimeWarnings from tapegrad's own
    computations may show (the package filters those raised in its modules, and calls numpy so
    that they are raised there)."""
    import warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.filterwarnings("always", category=RuntimeWarning, append=True)  # after ours
        for name in ("edges", "views"):
            for _, args in SUITES[name].cases():
                SUITES[name].run(tapegrad, *args)
    shown = {(w.filename, w.lineno, str(w.message)) for w in caught
             if issubclass(w.category, RuntimeWarning)}
    assert not shown, sorted(shown)[:5]
