"""Matrix products and einsum: forward against numpy, gradients against finite differences
(einsum and outer are compositions of recorded ops, so they are checked here rather than by the
per-op property test), and torch's errors."""
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tapegrad as tg
from tapegrad.testing import gradcheck

EQUATIONS = [  # (equation, operand shapes)
    ("ij,jk->ik", ((2, 3), (3, 4))),
    ("bij,bjk->bik", ((2, 2, 3), (2, 3, 2))),
    ("i,i->", ((3,), (3,))),
    ("ij,j->i", ((2, 3), (3,))),
    ("i,j->ij", ((2,), (3,))),
    ("ij,ij->i", ((2, 3), (2, 3))),
    ("ij,ij->ij", ((2, 3), (2, 3))),
    ("ij->ji", ((2, 3),)),
    ("ijk->k", ((2, 3, 2),)),
    ("ij,jk", ((2, 3), (3, 2))),
    ("bhqd,bhkd->bhqk", ((1, 2, 3, 2), (1, 2, 2, 2))),
    ("ij,jk,kl->il", ((2, 3), (3, 2), (2, 2))),
    ("abc,cd->dba", ((2, 2, 3), (3, 2))),
]


def operands(data, shapes):
    return [tg.tensor(data.draw(hnp.arrays(np.float64, s, elements=st.floats(-2, 2))),
                      requires_grad=True) for s in shapes]


@pytest.mark.parametrize("eq, shapes", EQUATIONS)
@given(data=st.data())
def test_einsum_matches_numpy_and_finite_differences(eq, shapes, data):
    xs = operands(data, shapes)
    np.testing.assert_allclose(tg.einsum(eq, *xs).detach().numpy(),
                               np.einsum(eq, *[x.detach().numpy() for x in xs]), atol=1e-12)
    assert gradcheck(lambda *a: tg.einsum(eq, *a), xs)


@given(data=st.data())
def test_outer_and_bmm(data):
    a, b = operands(data, ((3,), (2,)))
    np.testing.assert_allclose(tg.outer(a, b).detach().numpy(), np.outer(a.detach().numpy(),
                                                                         b.detach().numpy()))
    assert tg.outer(a, b).grad_fn.name() == "MulBackward0"
    assert gradcheck(tg.outer, (a, b))
    p, q = operands(data, ((2, 2, 3), (2, 3, 4)))
    np.testing.assert_allclose(tg.bmm(p, q).detach().numpy(),
                               p.detach().numpy() @ q.detach().numpy(), atol=1e-12)
    assert tg.bmm(p, q).grad_fn.name() == "BmmBackward0"


def test_matmul_grad_fn_names_follow_torch():
    m = tg.ones(2, 3, requires_grad=True)
    v = tg.ones(3, requires_grad=True)
    w = tg.ones(2, requires_grad=True)
    b = tg.ones(4, 2, 3, requires_grad=True)
    names = [(m @ v).grad_fn.name(), (w @ m).grad_fn.name(), (v @ v).grad_fn.name(),
             (m @ m.T).grad_fn.name(), (b @ v).grad_fn.name(), tg.mv(m, v).grad_fn.name(),
             tg.dot(v, v).grad_fn.name()]
    assert names == ["MvBackward0", "SqueezeBackward4", "DotBackward0", "MmBackward0",
                     "UnsafeViewBackward0", "MvBackward0", "DotBackward0"]


@pytest.mark.parametrize("call, exc, msg", [
    (lambda: tg.bmm(tg.ones(2, 3), tg.ones(2, 3)), RuntimeError, "batch1 must be a 3D tensor"),
    (lambda: tg.bmm(tg.ones(4, 2, 3), tg.ones(4, 2, 3)), RuntimeError,
     "Expected size for first two dimensions of batch2 tensor to be: [4, 3] but got: [4, 2]."),
    (lambda: tg.mv(tg.ones(3), tg.ones(3)), RuntimeError,
     "vector + matrix @ vector expected, got 1, 1, 1"),
    (lambda: tg.dot(tg.ones(2, 3), tg.ones(3)), RuntimeError,
     "1D tensors expected, but got 2D and 1D tensors"),
    (lambda: tg.outer(tg.ones(2, 3), tg.ones(3)), RuntimeError,
     "outer: Expected 1-D argument self, but got 2-D"),
    (lambda: tg.mm(tg.ones(3), tg.ones(3, 2)), RuntimeError, "self must be a matrix"),
    (lambda: tg.einsum("ij,jk->ik", tg.ones(2, 3), tg.ones(2, 3)), RuntimeError,
     "einsum(): subscript j has size 2 for operand 1 which does not broadcast with previously "
     "seen size 3"),
    (lambda: tg.einsum("ij,jk->ik", tg.ones(2, 3)), RuntimeError,
     "einsum(): fewer operands were provided than specified in the equation"),
    (lambda: tg.einsum("ijk->k", tg.ones(2, 3)), RuntimeError,
     "einsum(): the number of subscripts in the equation (3) does not match the number of "
     "dimensions (2) for operand 0 and no ellipsis was given"),
    (lambda: tg.einsum("ii->i", tg.ones(3, 3)), NotImplementedError,
     "a subscript repeated within one operand ('ii') is not supported yet"),
])
def test_linalg_errors(call, exc, msg):
    with pytest.raises(exc, match=re.escape(msg)):
        call()


def test_addmm_scales_broadcasts_and_errors_like_torch():
    rng = np.random.default_rng(1)
    c, a, b = rng.normal(size=(2, 1)), rng.normal(size=(2, 3)), rng.normal(size=(3, 4))
    t = [tg.tensor(v, requires_grad=True) for v in (c, a, b)]
    out = tg.addmm(*t, beta=0.5, alpha=2.0)  # (2, 1) bias and scales: by its parts
    np.testing.assert_allclose(out.detach().numpy(), 0.5 * c + 2.0 * a @ b, rtol=1e-12)
    assert gradcheck(lambda c, a, b: tg.addmm(c, a, b, beta=0.5, alpha=2.0), t)
    assert type(tg.addmm(t[0][0, :1].expand(4), t[1], t[2]).grad_fn).__name__ == "AddmmBackward0"
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x3\)"):
        tg.addmm(t[0], t[1], t[2].t())
    with pytest.raises(RuntimeError, match="mat1 must be a matrix, got 1-D tensor"):
        tg.addmm(t[0], t[1][0], t[2])
