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
    out = {}

    def run():  # in a thread of its own: a deadlock would hang the thread, not the test
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
        try:
            y.sum().backward()
            out["done"] = "finished"
        except Exception as e:  # noqa: BLE001
            out["done"] = f"{type(e).__name__}: {e}"
        out.update({"x.grad": x.grad, "w.grad": w.grad, "seen": seen})
    th = threading.Thread(target=run)
    th.start()
    th.join(20)
    return out if out else {"done": "hung"}


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


# -- part 2 (issue "never silently wrong, part 2") ---------------------------------------------
def float32_leaf_changed_before_backward(lib):
    w = lib.ones(1000, 1000, requires_grad=True)  # float32: torch's default
    loss = (w * w).sum()
    with lib.no_grad():
        w.mul_(2)
    return observe(lambda: loss.backward())


def large_float64_leaf_changed_through_detach(lib):
    w = lib.ones(200, 200, dtype=lib.float64, requires_grad=True)
    alias = w.detach()
    loss = (w * w).sum()
    alias.add_(1)
    return observe(lambda: loss.backward())


def large_float64_leaf_changed_through_no_grad_slice(lib):
    w = lib.ones(200, 200, dtype=lib.float64, requires_grad=True)
    loss = (w * w).sum()
    with lib.no_grad():
        w[0] = 5
    return observe(lambda: loss.backward())


def used_only_after_the_change(lib):
    x = _t(lib, [1.0, 2.0, 3.0], True)
    y = x * 2
    with lib.no_grad():
        y.add_(1)
    z = y.exp() * y
    w = x.sin()
    with lib.no_grad():
        x.mul_(1)  # (a leaf: its next uses read the new values)
    (z.sum() + (w * x).sum()).backward()
    return x.grad


def used_after_an_in_place_op_in_the_graph(lib):
    x = _t(lib, [0.5, 1.5], True)
    y = x.sigmoid()
    y.mul_(2)
    z = y * y  # saves the new y: fine
    z.sum().backward()
    return x.grad


def function_inside_a_graph_that_merges(lib):
    class Prod(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, w):
            ctx.save_for_backward(x, w)
            return x * w

        @staticmethod
        def backward(ctx, g):
            x, w = ctx.saved_tensors
            return g * w, g * x
    x = _t(lib, [1.0, 2.0], True)
    w = _t(lib, [2.0, 2.0], True)
    big = _t(lib, [1.0, 1.0], True)
    b = big
    for _ in range(20):
        b = b * 1.0   # a larger graph
    f = Prod.apply(x * 1, w)
    (f + b).sum().backward()
    return {"x": x.grad, "w": w.grad, "big": big.grad}


def clamp_with_bounds_from_another_graph(lib):
    x = _t(lib, [-2.0, 0.5, 3.0], True)
    lo = _t(lib, [0.0, 0.0, 0.0], True)
    lo2 = lo
    for _ in range(10):
        lo2 = lo2 * 1.0   # the bound's graph is the larger one
    y = x * 1
    d = y.detach()    # (y's memory has an alias: the in-place op writes it)
    y.clamp_(min=lo2, max=None)
    (y * _t(lib, [1.0, 2.0, 3.0])).sum().backward()
    return {"x": x.grad, "lo": lo.grad, "d": d}


def float32_std_in_range(lib):
    a = lib.tensor([1e20, 3e20, -2e20])
    b = lib.tensor([1e-25, 3e-25, -2e-25])
    return [a.std(), b.std(), a.var()]


def cat_and_stack_of_empty_tensors(lib):
    a = lib.zeros(0, requires_grad=True)
    b = lib.zeros(0, requires_grad=True)
    c = lib.cat([a, b])
    c.sum().backward()
    d = lib.zeros(0, 3, requires_grad=True)
    e = lib.ones(2, 3, requires_grad=True)
    lib.cat([d, e]).sum().backward()
    s = lib.stack([lib.zeros(0, requires_grad=True), lib.zeros(0, requires_grad=True)])
    return {"cat": [c.requires_grad, type(c.grad_fn).__name__, a.grad, b.grad],
            "cat2": [d.grad, e.grad], "stack": [s.requires_grad, list(s.shape)]}


def tensors_tutorial(lib):
    """PyTorch's "Tensors" tutorial, in its own words (views, in-place, the numpy bridge), and
    a relu_ then an in-place on a row of a graph tensor; what it prints."""
    import contextlib
    import io
    import numpy as np
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        tensor = lib.ones(4, 4)
        print(f"First row: {tensor[0]}")
        print(f"First column: {tensor[:, 0]}")
        print(f"Last column: {tensor[..., -1]}")
        tensor[:, 1] = 0
        print(tensor)
        print(lib.cat([tensor, tensor, tensor], dim=1))
        agg = tensor.sum()
        print(agg.item(), type(agg.item()))
        tensor.add_(5)
        print(tensor)
        t = lib.ones(5)
        n = t.numpy()
        t.add_(1)
        print(f"t: {t}")
        print(f"n: {n}")
        n = np.ones(5)
        t = lib.from_numpy(n)
        np.add(n, 1, out=n)
        print(f"t: {t}")
        x = lib.arange(12.).reshape(3, 4)
        row, col, tr = x[1], x[:, 2], x.t()
        x.mul_(10)
        print(row, col, tr, sep="\n")
        col.zero_()
        x.T[0] = -1
        print(x, x.is_contiguous(), x.t().is_contiguous(), x.t().stride(), x[1:].storage_offset())
        w = lib.tensor([[0.5, -1.0], [2.0, 0.25]], requires_grad=True)
        h = w @ lib.tensor([[1.0], [2.0]])
        h.relu_()
        h[0] *= 3
        print(observe(lambda: h.sum().backward()))
    return buf.getvalue().replace("torch.", "tapegrad.").splitlines()


def training_and_buffer_program(lib):
    """A user's program: old-style SGD through .data and grad.zero_(), a buffer filled row by
    row inside a graph, matrix helpers written through views, in-place ops on views of a graph
    tensor, unbind/split pieces; what it prints."""
    import contextlib
    import io
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        lib.manual_seed(0)
        # classic old-style SGD with .data and grad.zero_()
        x = lib.linspace(-1, 1, 20).reshape(20, 1)
        y = 3 * x + 0.5
        w = lib.zeros(1, 1, requires_grad=True)
        b = lib.zeros(1, requires_grad=True)
        for step in range(50):
            loss = ((x @ w + b - y) ** 2).mean()
            loss.backward()
            w.data -= 0.1 * w.grad.data
            b.data -= 0.1 * b.grad.data
            w.grad.zero_(); b.grad.zero_()
        print(round(loss.item(), 5), [round(v, 4) for v in w.detach().flatten().tolist()],
              round(b.item(), 4))
        # RNN-like buffer filled row by row in a graph
        W = lib.tensor([[0.5, -0.2], [0.1, 0.3]], requires_grad=True)
        h = lib.zeros(5, 2)
        hs = [lib.tensor([1.0, -1.0])]
        h[0] = hs[0]
        for t in range(1, 5):
            hs.append(lib.tanh(hs[-1] @ W)); h[t] = hs[-1]
        out = h.sum()
        out.backward()
        print(h.grad_fn.name(), [round(v, 5) for v in W.grad.flatten().tolist()], h[2:].shape)
        # matrix helpers as views
        m = lib.zeros(4, 4)
        m.diagonal().fill_(2)
        m.diagonal(1).copy_(lib.tensor([1., 2., 3.]))
        m.t()[0, 3] = 7
        m[1:3, 1:3] += 10
        print(m)
        print(m.tril(), m.triu(1).sum(), m.flatten()[::5])
        # in-place on a view of a graph tensor, then a gradient
        a = lib.tensor([[1., 2.], [3., 4.]], requires_grad=True)
        c = a.clone()
        c[:, 0].mul_(5)
        c.t()[1].add_(1)
        (c ** 2).sum().backward()
        print(c, a.grad)
        # unbind pieces and errors
        v = lib.tensor([1., 2., 3.], requires_grad=True) * 2
        p, q, r = v.unbind()
        try:
            p.mul_(2)
        except RuntimeError as e:
            print(str(e)[:60])
        s = v.split(2)
        try:
            v.add_(1); print(s[0])
        except RuntimeError as e:
            print(str(e)[:60])
    return buf.getvalue().replace("torch.", "tapegrad.").splitlines()


def setitem_repeated_indices_grad(lib):
    """x[idx] = v with a repeated index: one write wins, every element of v gets its gradient
    (and a 0-d v the sum over every write), as torch's index_put."""
    v = _t(lib, [1.0, 2.0, 3.0], True)
    y = lib.zeros(3, dtype=lib.float64)
    y = y.clone()
    y[lib.tensor([0, 0, 2])] = v
    (y * _t(lib, [10.0, 20.0, 30.0])).sum().backward()
    s = _t(lib, 1.0, True)
    z = lib.zeros(3, dtype=lib.float64)
    z[lib.tensor([0, 0, 2])] = s
    z.sum().backward()
    return [v.grad, s.grad]


SCENARIOS = {f.__name__: f for f in (
    setitem_repeated_indices_grad,
    diagonal_fill, transpose_setitem, stale_transpose, zero_keeps_no_nan, empty_copy,
    grad_zero_after_overflow, inplace_on_row_of_graph_tensor, inplace_on_transpose_of_graph_tensor,
    base_change_seen_by_view, small_leaf_changed_between_uses, small_leaf_changed_after_saved_use,
    nonleaf_changed_under_no_grad_before_use, function_first_output_unused,
    norm_second_derivative_at_zero_coordinate, reentrant_backward_in_hook,
    hook_that_raises_leaves_library_usable, detach_alias_changed, chain_of_views_write,
    setitem_then_view_values, float32_leaf_changed_before_backward,
    large_float64_leaf_changed_through_detach, large_float64_leaf_changed_through_no_grad_slice,
    used_only_after_the_change, used_after_an_in_place_op_in_the_graph,
    function_inside_a_graph_that_merges, clamp_with_bounds_from_another_graph,
    float32_std_in_range, cat_and_stack_of_empty_tensors, tensors_tutorial,
    training_and_buffer_program)}


def run(lib, name: str):
    return observe(lambda: SCENARIOS[name](lib))


def cases() -> list:
    return [(name, (name,)) for name in SCENARIOS]
