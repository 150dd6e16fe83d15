"""Random programs: hypothesis draws short sequences of registered ops (elementwise, broadcasting,
views, reductions, mixed) over a pool of tensors, and every input's gradient of the program is
checked against finite differences. Each op is taken from the registry with its own test spec
(`make`), and applied only where the current values lie in its domain, away from its kinks.
A failure shrinks to a small program; it then becomes a regular test below."""
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tapegrad._opdef import OPS
from tapegrad.testing import gradcheck, strategies

from .test_gradients import H

UNARY = sorted(n for n, op in OPS.items() if op.test[0] in ("same", "nonscalar", "matrix")
               and op.name not in ("to_copy",))   # float32 round trip: too coarse for FD
BINARY = sorted(n for n, op in OPS.items() if op.test[0] == "broadcast")


def in_domain(values: np.ndarray, domain) -> bool:
    v = np.asarray(values, np.float64)
    if v.size == 0 or not np.all(np.isfinite(v)):
        return False
    ok = (v >= domain.lo) & (v <= domain.hi)
    for k in domain.kinks:
        ok &= np.abs(v - k) > domain.gap
    return bool(ok.all())


def fits(op_name: str, t) -> bool:
    kind = OPS[op_name].test[0]
    return {"same": True, "nonscalar": t.ndim >= 1, "matrix": t.ndim <= 2}[kind]


@st.composite
def programs(draw, max_steps: int = 6):
    """(leaves, steps): a step is (op name, input positions in the pool, fn)."""
    h = H(draw(st.data()))
    n_leaves = draw(st.integers(1, 3))
    shape = draw(strategies.shapes(max_dims=2))
    leaves = [h.tensor(shape, strategies.REAL) for _ in range(n_leaves)]
    pool = [leaf.detach().numpy() for leaf in leaves]
    values = list(leaves)   # live tensors, to draw shapes/values from
    steps = []
    for _ in range(draw(st.integers(1, max_steps))):
        if draw(st.booleans()) and len(values) > 1:
            name = draw(st.sampled_from(BINARY))
            i, j = draw(st.integers(0, len(values) - 1)), draw(st.integers(0, len(values) - 1))
            try:
                np.broadcast_shapes(pool[i].shape, pool[j].shape)
            except ValueError:
                continue
            doms = OPS[name].domain
            d0, d1 = doms[0], doms[-1]
            if not (in_domain(pool[i], d0) and in_domain(pool[j], d1)):
                continue
            fn = OPS[name].test[1](h, values[i], values[j])
            args = (i, j)
        else:
            name = draw(st.sampled_from(UNARY))
            i = draw(st.integers(0, len(values) - 1))
            if not (fits(name, values[i]) and in_domain(pool[i], OPS[name].domain[0])):
                continue
            fn = OPS[name].test[1](h, values[i])
            args = (i,)
        out = fn(*(values[k] for k in args))
        if not np.all(np.isfinite(out.detach().numpy())) or out.numel() == 0:
            continue
        values.append(out)
        pool.append(out.detach().numpy())
        steps.append((name, args, fn))
    return leaves, steps


def run(steps, *leaves):
    values = list(leaves)
    for _, args, fn in steps:
        values.append(fn(*(values[k] for k in args)))
    # every value feeds the result, so every step's adjoint is exercised
    return sum((v * (k + 1)).sum() for k, v in enumerate(values[len(leaves):])) \
        if len(values) > len(leaves) else sum(v.sum() for v in leaves)


@given(programs())
def test_random_program_gradients(program):
    leaves, steps = program
    assert gradcheck(lambda *xs: run(steps, *xs), leaves, atol=1e-5, rtol=1e-3), \
        [name for name, _, _ in steps]
