"""Check gradients against central finite differences (public API; see README).

>>> import tapegrad as tg
>>> from tapegrad.testing import gradcheck
>>> x = tg.tensor([0.3, 0.7], dtype=tg.float64, requires_grad=True)
>>> gradcheck(lambda x: (x.sin() * x).sum(), (x,))
True
"""
from __future__ import annotations

import warnings
from typing import Callable, Sequence

import numpy as np

from ._grad_mode import no_grad
from .tensor import Tensor, _wrap


class GradcheckError(RuntimeError):
    """Raised by `gradcheck` when analytic and numeric Jacobians disagree."""


def _outputs(fn: Callable, inputs: Sequence) -> list:
    out = fn(*inputs)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return [o for o in outs if isinstance(o, Tensor) and o._data.dtype.kind == "f"]


def numeric_jacobians(fn: Callable, inputs: Sequence, eps: float = 1e-6) -> list:
    """d(output j)/d(input i) by central differences: [[ndarray (n_out_j, n_in_i)]]."""
    with no_grad():
        base = _outputs(fn, inputs)
    jac = [[np.zeros((o._data.size, 0)) for o in base] for _ in inputs]
    for i, x in enumerate(inputs):
        if not (isinstance(x, Tensor) and x._rg):
            continue
        flat = x._data.reshape(-1)
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
        for r in range(o._data.size):
            for x in inputs:
                if isinstance(x, Tensor):
                    x.grad = None
            if not o._rg:
                continue
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


def gradcheck(fn: Callable, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True) -> bool:
    """True when `fn`'s reverse-mode Jacobians match central finite differences.

    `inputs` is a tensor or a tuple of tensors; those with ``requires_grad=True`` are checked
    (use float64: float32 differences are too coarse, and a warning says so). On a mismatch it
    raises `GradcheckError` naming the input, output and worst element (or returns False)."""
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    for i, x in enumerate(inputs):
        if isinstance(x, Tensor) and x._rg and x._data.dtype != np.float64:
            warnings.warn(f"Input #{i} requires gradient and is not a double precision floating "
                          f"point. The check is likely to fail.", UserWarning, stacklevel=2)
    ana = analytic_jacobians(fn, inputs)
    num = numeric_jacobians(fn, inputs, eps)
    for i, x in enumerate(inputs):
        if not (isinstance(x, Tensor) and x._rg):
            continue
        for j, (a, n) in enumerate(zip(ana[i], num[i])):
            bad = ~np.isclose(a, n, rtol=rtol, atol=atol)
            if bad.any():
                r, c = np.unravel_index(np.argmax(np.abs(a - n) * bad), a.shape)
                msg = (f"Jacobian mismatch for output {j} with respect to input {i},\n"
                       f"numerical:{n}\nanalytical:{a}\n"
                       f"worst element: d(output {j})[{r}] / d(input {i})[{c}]: analytic "
                       f"{a[r, c]:.8g}, numeric {n[r, c]:.8g}")
                if raise_exception:
                    raise GradcheckError(msg)
                return False
    return True
