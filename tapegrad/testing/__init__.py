"""Check gradients against central finite differences: the toolkit tapegrad's own tests use.

>>> import tapegrad as tg
>>> from tapegrad.testing import gradcheck
>>> x = tg.tensor([0.3, 0.7], dtype=tg.float64, requires_grad=True)
>>> gradcheck(lambda x: (x.sin() * x).sum(), (x,))
True

Hypothesis strategies for inputs live in `tapegrad.testing.strategies` (which imports
hypothesis; this module does not).
"""
from __future__ import annotations

import warnings
from typing import Callable, Sequence

import numpy as np

from .._grad_mode import enable_grad, no_grad
from ..tensor import Tensor, _wrap

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck", "assert_gradients_close",
           "numeric_jacobians", "analytic_jacobians"]


class GradcheckError(RuntimeError):
    """Raised by `gradcheck` when analytic and numeric Jacobians disagree."""


def _outputs(fn: Callable, inputs: Sequence) -> list:
    out = fn(*inputs)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return [o for o in outs if isinstance(o, Tensor) and o._data.dtype.kind == "f"]


def numeric_jacobians(fn: Callable, inputs: Sequence, eps: float = 1e-6) -> list:
    """d(output j)/d(input i) by central differences: [i][j] -> ndarray (n_out_j, n_in_i)."""
    with no_grad():
        base = _outputs(fn, inputs)
    jac = [[np.zeros((o._data.size, 0)) for o in base] for _ in inputs]
    for i, x in enumerate(inputs):
        if not (isinstance(x, Tensor) and x._rg):
            continue
        flat = x._data.reshape(-1)  # a view: perturbing it perturbs the input
        cols = [np.zeros((o._data.size, flat.size)) for o in base]
        for k in range(flat.size):
            orig = flat[k]
            flat[k] = orig + eps
            with no_grad():
                plus = [o._data.astype(np.float64).reshape(-1) for o in _outputs(fn, inputs)]
            flat[k] = orig - eps
            with no_grad():
                minus = [o._data.astype(np.float64).reshape(-1) for o in _outputs(fn, inputs)]
            flat[k] = orig
            for j in range(len(base)):
                cols[j][:, k] = (plus[j] - minus[j]) / (2 * eps)
        jac[i] = cols
    return jac


def analytic_jacobians(fn: Callable, inputs: Sequence) -> list:
    """d(output j)/d(input i) by reverse mode, one backward per output element."""
    outs = _outputs(fn, inputs)
    jac = [[np.zeros((o._data.size, x._data.size if isinstance(x, Tensor) else 0))
            for o in outs] for x in inputs]
    for j, o in enumerate(outs):
        if not o._rg:
            continue
        for r in range(o._data.size):
            for x in inputs:
                if isinstance(x, Tensor):
                    x.grad = None
            seed = np.zeros(o._data.size)
            seed[r] = 1.0
            o.backward(_wrap(seed.reshape(o._data.shape)), retain_graph=True)
            for i, x in enumerate(inputs):
                if isinstance(x, Tensor) and x._rg and x._grad is not None:
                    jac[i][j][r, :] = x._grad._data.reshape(-1)
    for x in inputs:
        if isinstance(x, Tensor):
            x.grad = None
    return jac


def _report(i: int, j: int, x: Tensor, out_shape: tuple, a: np.ndarray, n: np.ndarray,
            bad: np.ndarray, atol: float, rtol: float, show: int = 5) -> str:
    """What a person needs to act on a mismatch: where, which elements, both values."""
    rel = np.abs(a - n) / np.maximum(np.abs(n), atol)
    rows, cols = np.nonzero(bad)
    order = np.argsort(-rel[rows, cols])[:show]
    lines = [f"Jacobian mismatch for output {j} with respect to input {i} "
             f"(input shape {tuple(x.shape)}, output shape {out_shape}): "
             f"{len(rows)} of {a.size} elements differ beyond atol={atol:g}, rtol={rtol:g}."]
    for t in order:
        r, c = rows[t], cols[t]
        oi = np.unravel_index(r, out_shape) if out_shape else ()
        ii = np.unravel_index(c, tuple(x.shape)) if x.shape else ()
        lines.append(f"  d output{list(map(int, oi))} / d input{list(map(int, ii))}: "
                     f"analytic {a[r, c]:.8g}, numeric {n[r, c]:.8g} "
                     f"(relative error {rel[r, c]:.3g})")
    worst = rel[rows, cols].max()
    lines.append(f"worst relative error: {worst:.3g}")
    return "\n".join(lines)


def gradcheck(fn: Callable, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True) -> bool:
    """True when `fn`'s reverse-mode Jacobians match central finite differences (torch's
    `gradcheck` arguments and return value).

    `inputs` is a tensor or a tuple of tensors; those with ``requires_grad=True`` are checked.
    Use float64 (float32 differences are too coarse; a warning says so). On a mismatch it raises
    `GradcheckError` naming the input, the output, the worst elements with analytic and numeric
    values and the worst relative error (or returns False with ``raise_exception=False``)."""
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    for i, x in enumerate(inputs):
        if isinstance(x, Tensor) and x._rg and x._data.dtype != np.float64:
            warnings.warn(f"Input #{i} requires gradient and is not a double precision floating "
                          f"point. The check is likely to fail.", UserWarning, stacklevel=2)
    ana = analytic_jacobians(fn, inputs)
    num = numeric_jacobians(fn, inputs, eps)
    with no_grad():
        shapes = [tuple(o.shape) for o in _outputs(fn, inputs)]
    for i, x in enumerate(inputs):
        if not (isinstance(x, Tensor) and x._rg):
            continue
        for j, (a, n) in enumerate(zip(ana[i], num[i])):
            bad = ~np.isclose(a, n, rtol=rtol, atol=atol)
            if bad.any():
                if raise_exception:
                    raise GradcheckError(_report(i, j, x, shapes[j], a, n, bad, atol, rtol))
                return False
    return True


def assert_gradients_close(fn: Callable, *inputs, eps: float = 1e-6, atol: float = 1e-5,
                           rtol: float = 1e-3) -> None:
    """`gradcheck` as a pytest assertion: raises AssertionError carrying the report.

    >>> import tapegrad as tg
    >>> x = tg.tensor([0.5, 1.5], dtype=tg.float64, requires_grad=True)
    >>> assert_gradients_close(lambda x: (x ** 3).sum(), x)
    """
    try:
        gradcheck(fn, inputs, eps=eps, atol=atol, rtol=rtol)
    except GradcheckError as exc:
        raise AssertionError(str(exc)) from None


def gradgradcheck(fn: Callable, inputs, grad_outputs=None, *, eps: float = 1e-6,
                  atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True,
                  seed: int = 0) -> bool:
    """Second derivatives: `gradcheck` of the vector-Jacobian product of `fn` (computed with
    ``create_graph=True``) w.r.t. the inputs and the `grad_outputs` (random, seeded, when not
    given), as torch's `gradgradcheck`.

    >>> import tapegrad as tg
    >>> x = tg.tensor([0.3, 0.7], dtype=tg.float64, requires_grad=True)
    >>> gradgradcheck(lambda x: x.sin() * x ** 2, (x,))
    True
    """
    from ..autograd import grad
    from ..factories import tensor
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    with enable_grad():  # `fn` may itself differentiate (third derivatives)
        outs = _outputs(fn, inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(seed)
        grad_outputs = tuple(tensor(rng.standard_normal(o._data.shape), requires_grad=True)
                             for o in outs)
    grad_outputs = tuple(grad_outputs)
    n = len(inputs)

    def vjp(*args):
        xs, gos = args[:n], args[n:]
        diff = [x for x in xs if isinstance(x, Tensor) and x._rg]
        with enable_grad():  # the numeric Jacobian evaluates this under no_grad
            gs = grad(_outputs(fn, xs), diff, gos, create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)
    return gradcheck(vjp, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
