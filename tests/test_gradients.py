"""Every registered op: its reverse-mode gradient against central finite differences.

Inputs are float64, of random shapes (0-d and broadcasting included), with values drawn from the
op's domain (away from kinks and poles); other arguments (dims, permutations, indices, target
shapes) are drawn by `H`. The op table in tapegrad/ops/ says how each op is called."""
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tapegrad as tg
from tapegrad.engine.kernels import T_OP
from tapegrad._opdef import OPS, Domain
from tapegrad.testing import gradcheck, strategies

SIDE = dict(max_side=3)


def tensor(data, shape, domain: Domain):
    return data.draw(strategies.tensors(shape, elements=strategies.elements(domain)))


class H:
    """Draws an op's non-tensor arguments (and, for ops that ask, its inputs)."""

    st = st
    hnp = hnp

    def __init__(self, data):
        self.data = data

    def draw(self, strategy):
        return self.data.draw(strategy)

    def tensor(self, shape, domain: Domain = Domain()):
        """A float64 tensor requiring grad with values in `domain`."""
        return tensor(self.data, shape, domain)

    def shape(self, min_dims: int = 0, max_dims: int = 3, min_side: int = 1) -> tuple:
        return self.draw(hnp.array_shapes(min_dims=min_dims, max_dims=max_dims,
                                          min_side=min_side, **SIDE))

    def flag(self) -> bool:
        return self.draw(st.booleans())

    def dim(self, x) -> int:
        return self.draw(strategies.dims(x.ndim))

    def dims(self, x):
        """One dim or a tuple of distinct dims (negative ones included)."""
        return self.draw(strategies.dims(x.ndim, multiple=self.flag()))

    def perm(self, x) -> tuple:
        return tuple(self.draw(st.permutations(range(x.ndim))))

    def reshape_target(self, x) -> tuple:
        n = x.numel()
        shape = self.draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=n or 1)
                          .filter(lambda s: int(np.prod(s)) == n)) if n > 1 else ()
        if shape and self.flag():
            i = self.draw(st.integers(0, len(shape) - 1))
            shape = shape[:i] + (-1,) + shape[i + 1:]
        return shape

    def int_index(self, x):
        k = self.draw(st.integers(1, x.ndim))
        idx = tuple(self.draw(st.integers(-n, n - 1)) for n in x.shape[:k])
        return idx[0] if k == 1 else idx

    def basic_index(self, x):
        """A basic index that is not all integers (that case is `select`)."""
        def all_ints(ix):
            ix = ix if isinstance(ix, tuple) else (ix,)
            return bool(ix) and all(isinstance(k, int) for k in ix)
        return self.draw(hnp.basic_indices(x.shape, allow_newaxis=True, allow_ellipsis=True)
                         .filter(lambda ix: not all_ints(ix)))


def draw_inputs(data, kind, domains: tuple) -> tuple:
    if callable(kind):
        return tuple(kind(H(data)))
    d0 = domains[0]
    d1 = domains[1] if len(domains) > 1 else d0
    if kind == "same":
        return (tensor(data, strategies.shapes(), d0),)
    if kind == "nonscalar":
        return (tensor(data, strategies.shapes(min_dims=1), d0),)
    if kind == "matrix":
        return (tensor(data, strategies.shapes(max_dims=2), d0),)
    if kind == "broadcast":
        sa, sb = data.draw(strategies.broadcastable_shapes(2))
        return tensor(data, sa, d0), tensor(data, sb, d1)
    m, k, n = (data.draw(st.integers(1, 3)) for _ in range(3))
    if kind == "bmm":
        ba, bb = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2,
                                                             **SIDE)).input_shapes
        assume(len(ba) + len(bb) > 0)
        return tensor(data, ba + (m, k), d0), tensor(data, bb + (k, n), d1)
    b = data.draw(st.integers(1, 3))
    shapes = {"mm": ((m, k), (k, n)), "dot": ((k,), (k,)), "mv": ((m, k), (k,)),
              "vm": ((k,), (k, n)), "bmm3": ((b, m, k), (b, k, n))}[kind]
    return tensor(data, shapes[0], d0), tensor(data, shapes[1], d1)


def recorded_ops(out) -> set:
    return set(out._tape.table()[:, T_OP].tolist()) if out._tape is not None else set()


@pytest.mark.parametrize("name", sorted(n for n, op in OPS.items()
                                         if op.kind not in ("python", "forward")))
@given(data=st.data())
def test_gradient_matches_finite_differences(name, data):
    op = OPS[name]
    kind, make = op.test
    inputs = draw_inputs(data, kind, op.domain)
    fn = make(H(data), *inputs)
    out = fn(*inputs)
    assert op.code in recorded_ops(out), f"the test spec of {name!r} does not reach the op"
    assert gradcheck(fn, inputs, **op.extra.get("tol", {}))


def test_every_op_has_a_distinct_opcode_and_torch_name():
    codes = [op.code for op in OPS.values()]
    assert sorted(codes) == list(range(len(codes)))
    assert all(op.grad_fn.endswith(("Backward0", "Backward1", "Backward2", "Backward3", "Backward4"))
               or op.grad_fn in ("CopySlices", "CopyBackwards")  # torch's names for in-place
               # writes to a view, and for copy_
               for op in OPS.values() if op.kind not in ("python", "forward"))  # Functions:
    # <Class>Backward; forward-only ops (comparisons recorded for replay) have no node


@pytest.mark.parametrize("name", sorted(n for n, op in OPS.items()
                                         if op.kind not in ("python", "forward")))
@settings(max_examples=5)
@given(data=st.data())
def test_float32_gradient_matches_float64(name, data):
    """The same op in float32 (float32 adjoints, sgemm) gives the float64 gradient to float32
    precision (the float64 one is held to finite differences above)."""
    op = OPS[name]
    kind, make = op.test
    inputs = draw_inputs(data, kind, op.domain)
    inputs32 = []
    for x in inputs:
        x32 = x.float().detach().requires_grad_()
        x32.__dict__.update(x.__dict__)   # arguments some specs attach (index_put's key)
        inputs32.append(x32)
    fn = make(H(data), *inputs)

    def grads(xs):
        out = fn(*xs)
        w = tg.tensor(np.linspace(0.5, 1.5, out.numel()).reshape(out.shape), dtype=out.dtype)
        return tg.autograd.grad((out * w).sum(), xs, allow_unused=True)
    g64, g32 = grads(inputs), grads(inputs32)
    for a, b in zip(g64, g32):
        assert (a is None) == (b is None)
        if a is not None:
            assert b.dtype is tg.float32
            scale = max(1.0, float(np.abs(a.numpy()).max(initial=0.0)))
            np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=2e-3, atol=2e-4 * scale)


def test_a_float32_graph_has_no_float64_adjoints():
    from tapegrad.engine.tape import release, sweep_tape
    w = tg.randn(8, 4, requires_grad=True)
    b = tg.randn(4, requires_grad=True)
    x = tg.randn(16, 8)
    y = tg.randint(0, 4, (16,))
    loss = tg.nn.functional.cross_entropy((x @ w + b).relu() * 2 - 1, y)
    tab, adj, live = sweep_tape(loss._tape, [(loss._slot, np.ones(1))])
    release(adj)
    assert adj[0].size == 0 and adj[1].size > 0
