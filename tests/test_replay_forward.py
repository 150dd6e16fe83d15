"""Every op's Numba forward (the one a compiled program replays) reproduces its eager forward:
each op's test spec is run eagerly, then its whole tape is replayed from the same input values
and every slot compared (`engine.replay.check_forward`), in float64 and float32."""
import pytest
from hypothesis import given, settings, strategies as st

import tapegrad as tg
from tapegrad._opdef import OPS
from tapegrad.engine.replay import check_forward
from tests.test_gradients import H, draw_inputs, recorded_ops

REPLAYED = sorted(n for n, op in OPS.items() if op.kind not in ("python", "forward"))


def _run(op, data, dtype):
    kind, make = op.test
    inputs = draw_inputs(data, kind, op.domain)
    if dtype is tg.float32:
        cast = []
        for x in inputs:
            x32 = x.float().detach().requires_grad_(x.requires_grad)
            x32.__dict__.update(x.__dict__)   # arguments some specs attach (index_put's key)
            cast.append(x32)
        inputs = cast
    fn = make(H(data), *inputs)
    return fn(*inputs)


@pytest.mark.parametrize("name", REPLAYED)
@settings(max_examples=4)
@given(data=st.data(), single=st.booleans())
def test_replayed_forward_matches_eager(name, data, single):
    op = OPS[name]
    out = _run(op, data, tg.float32 if single else tg.float64)
    if single and op.code not in recorded_ops(out):  # (a cast to float32 of float32 records none)
        out = _run(op, data, tg.float64)
    assert op.code in recorded_ops(out), f"the test spec of {name!r} does not reach the op"
    assert op.replay, f"op {name!r} has no Numba forward (replay=)"
    assert check_forward(out._tape) == []


def test_replayed_float32_sigmoid_and_silu_give_eagers_zeros_where_exp_overflows():
    """The replay computes exp in float64; float32 entries round it to float32 first, so
    exp(-x) overflows where the eager float32 forward's does (torch's 0 and -0, not
    subnormals)."""
    import numpy as np
    f = tg.compile(lambda x: tg.stack([tg.sigmoid(x), tg.nn.functional.silu(x)]))
    x = tg.tensor([-100.0, -89.0, -88.0, -20.0, 0.0, 30.0, 100.0])
    f(x)                                  # (records)
    got, want = f(x).numpy(), tg.stack([tg.sigmoid(x), tg.nn.functional.silu(x)]).numpy()
    assert f.stats()["replays"] == 1
    np.testing.assert_array_equal(got[:, :2], [[0.0, 0.0], [-0.0, -0.0]])
    np.testing.assert_array_equal(np.signbit(got[:, :2]), np.signbit(want[:, :2]))
    np.testing.assert_allclose(got, want, rtol=1e-6)
