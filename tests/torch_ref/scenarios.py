"""Short programs from the adversarial runs against torch (issues "never silently wrong"):
each returns what a user would look at (values, gradients, errors)."""
from __future__ import annotations

import threading

from . import observe


def _t(lib, v, rg=False):
    return lib.tensor(v, dtype=lib.float64, requires_grad=rg)


def diagonal_fill(lib):
    a = lib.zeros(3, 3)
    a.diagonal().fill_(1.0)
    return a


def transpose_setitem(lib):
    b = lib.zeros(2, 3)
    b.T[0, 1] = 5
    return b


def stale_transpose(lib):
    c = lib.zeros(2, 2)
    t = c.t()
    c.add_(1)
    return t


def zero_keeps_no_nan(lib):
    g = _t(lib, [float("nan"), float("inf"), 1.0])
    g.zero_()
    f = _t(lib, [float("nan"), 2.0]).fill_(3.0)
    return [g, f]


def empty_copy(lib):
    src = _t(lib, [1.0, 2.0, 3.0])
    e = lib.empty(3, dtype=lib.float64)
    e[1] = float("nan")
    return e.copy_(src)


def grad_zero_after_overflow(lib):
    p = _t(lib, [1.0, 2.0], True)
    (p * float("inf")).sum().backward()
    p.grad.zero_()
    (p * 2).sum().backward()
    return p.grad


def inplace_on_row_of_graph_tensor(lib):
    x = lib.ones(2, 3, dtype=lib.float64, requires_grad=True)
    y = x * 1
    y[0].mul_(10)
    y.sum().backward()
    return {"y": y, "x.grad": x.grad}


def inplace_on_transpose_of_graph_tensor(lib):
    x = lib.ones(2, 2, dtype=lib.float64, requires_grad=True)
    y = x * 1
    y.t().mul_(2)
    (y * _t(lib, [[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    return {"y": y, "x.grad": x.grad}


def base_change_seen_by_view(lib):
    x = lib.ones(4, dtype=lib.float64, requires_grad=True)
    y = x * 1
    v = y[0:2]
    y.add_(1)
    (v * _t(lib, [3.0, 5.0])).sum().backward()
    return {"v": v, "x.grad": x.grad}


def small_leaf_changed_between_uses(lib):
    x = _t(lib, [1.0, 2.0], True)
    y = x * 3
    with lib.no_grad():
        x.mul_(10)
    z = (y + x * x).sum()
    z.backward()
    return x.grad


def small_leaf_changed_after_saved_use(lib):
    x = _t(lib, [1.0, 2.0], True)
    y = x * x
    with lib.no_grad():
        x.add_(1)
    (y * 3).sum().backward()
    return x.grad


def nonleaf_changed_under_no_grad_before_use(lib):
    x = _t(lib, [1.0, 2.0], True)
    y = x * 3
    with lib.no_grad():
        y.mul_(10)
    (y * y).sum().backward()
    return x.grad


def function_first_output_unused(lib):
    class Two(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, g1, g2):
            return g1 * 2 + g2 * 3
    x = _t(lib, [1.0, 2.0], True)
    a, b = Two.apply(x)
    b.sum().backward()
    return x.grad


def norm_second_derivative_at_zero_coordinate(lib):
    x = _t(lib, [0.0, 3.0, 4.0], True)
    g, = lib.autograd.grad(x.norm(), x, create_graph=True)
    h, = lib.autograd.grad(g[0], x)
    return h


def reentrant_backward_in_hook(lib):
    x = _t(lib, [1.0, 2.0], True)
    w = _t(lib, [3.0, 4.0], True)
    seen = []

    def hook(g):
        with lib.enable_grad():  # (a hook runs with grad mode off, as in torch)
            inner = (w * w).sum()
        inner.backward()  # a second, unrelated backward inside the first
        seen.append(float(w.grad.sum()))
        return g
    y = x * 2
    y.register_hook(hook)
    done = []

    def run():
        try:
            y.sum().backward()
            done.append("finished")
        except Exception as e:  # noqa: BLE001
            done.append(f"{type(e).__name__}: {e}")
    th = threading.Thread(target=run)  # (a deadlock would hang the thread, not the test)
    th.start()
    th.join(20)
    return {"done": done or ["hung"], "x.grad": x.grad, "w.grad": w.grad, "seen": seen}


def hook_that_raises_leaves_library_usable(lib):
    x = _t(lib, [1.0, 2.0], True)
    y = x * 2

    def bad(g):
        raise ValueError("boom")
    y.register_hook(bad)
    try:
        y.sum().backward()
    except ValueError as e:
        first = str(e)
    z = _t(lib, [5.0], True)
    (z * z).sum().backward()
    return {"first": first, "z.grad": z.grad}


def detach_alias_changed(lib):
    x = _t(lib, [1.0, 2.0], True)
    y = x.exp()
    d = y.detach()
    d.mul_(2)
    return {"y": y, "y._version": y._version, "grad": observe(lambda: (y * y).sum().backward())}


def chain_of_views_write(lib):
    x = lib.arange(12.0, dtype=lib.float64).reshape(3, 4).requires_grad_()
    y = x * 1
    v = y.t()[1:3, 0:2]
    v.mul_(-1)
    w = y[1]
    (y * y).sum().backward()
    return {"y": y, "w": w, "x.grad": x.grad, "w.grad_fn": type(w.grad_fn).__name__}


def setitem_then_view_values(lib):
    h = lib.zeros(3, 2, dtype=lib.float64)
    w = _t(lib, [1.0, 2.0], True)
    for i in range(3):
        prev = h[i - 1] if i else w
        h[i] = prev * 2 + 1
    h.sum().backward()
    return {"h": h, "w.grad": w.grad, "h.grad_fn": type(h.grad_fn).__name__}


SCENARIOS = {f.__name__: f for f in (
    diagonal_fill, transpose_setitem, stale_transpose, zero_keeps_no_nan, empty_copy,
    grad_zero_after_overflow, inplace_on_row_of_graph_tensor, inplace_on_transpose_of_graph_tensor,
    base_change_seen_by_view, small_leaf_changed_between_uses, small_leaf_changed_after_saved_use,
    nonleaf_changed_under_no_grad_before_use, function_first_output_unused,
    norm_second_derivative_at_zero_coordinate, reentrant_backward_in_hook,
    hook_that_raises_leaves_library_usable, detach_alias_changed, chain_of_views_write,
    setitem_then_view_values)}


def run(lib, name: str):
    return observe(lambda: SCENARIOS[name](lib))


def cases() -> list:
    return [(name, (name,)) for name in SCENARIOS]
