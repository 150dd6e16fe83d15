"""Differentiable backward (``create_graph=True``): the reverse pass recorded as tensor ops.

The fast first-order sweep (`engine.tape.sweep_tape`) is untouched. This path walks the tape's entries
in reverse in Python and applies each op's vector-Jacobian product written with tapegrad ops, so
the gradients it returns are themselves on a tape and can be differentiated again (to any
order). For elementwise ops the tensor VJP is *derived from the same adjoint fragment* the Numba
kernel is generated from (`_from_fragment`: ``g * math.cos(x)`` becomes ``g * tg.cos(x)``,
``a if c else b`` becomes ``tg.where(c, a, b)``), so the two paths cannot drift apart; for
hand-written kernels the table `TENSOR_VJP` gives the rule; `tests/test_higher.py` holds both
paths equal for every op. Ops without a rule raise a clear error.
"""
from __future__ import annotations

import ast
import ctypes
import math
from typing import Callable

import numpy as np

from .engine.kernels import (IN_CONST, IN_LEAF, T_ADDR, T_FOFS, T_ICNT, T_INS, T_IOFS, T_IS32, T_NDIM,
                       T_NIN, T_OP, T_SHP, T_SIZE)
from ._opdef import BY_CODE, Op

_MATH = {"math.cos": "cos", "math.sin": "sin", "math.log": "log", "math.exp": "exp",
         "math.sqrt": "sqrt", "math.tanh": "tanh", "math.sinh": "sinh", "math.cosh": "cosh",
         "math.erf": "erf", "np.floor": "floor", "np.trunc": "trunc", "abs": "abs",
         "div_floor": "floor_divide", "pow_m05": "_pow_m05",
         "exp_vec": "exp", "log_vec": "log", "log1p_vec": "log1p",  # (the vectorizing forms)
         "sigmoid_vec": "_sigmoid"}


def _sigmoid(a):
    """`ops._kernels_elementwise.sigmoid_vec` on tensors (a sigmoid entry) and numbers."""
    import tapegrad as tg
    if hasattr(a, "_data"):
        return tg.sigmoid(a)
    e = math.exp(-abs(a))
    return 1.0 / (1.0 + e) if a >= 0 else e / (1.0 + e)


def _pow_m05(a):
    """`ops._kernels_elementwise.pow_m05` on tensors: a pow entry (its own backward is pow's, as torch's)."""
    return a ** -0.5
_CACHE: dict = {}


class _Rewrite(ast.NodeTransformer):
    """math.f(a) -> _fn("f")(a) (tapegrad's f on tensors, math's on numbers);
    a if c else b -> _where(c, a, b); and/or on bool tensors."""

    def visit_Call(self, node):
        self.generic_visit(node)
        name = ast.unparse(node.func)
        if name not in _MATH:
            raise NotImplementedError(f"create_graph: no tensor form for {name}() in an adjoint")
        node.func = ast.Call(ast.Name("_fn", ast.Load()), [ast.Constant(_MATH[name])], [])
        return node

    def visit_IfExp(self, node):
        self.generic_visit(node)
        return ast.Call(ast.Name("_where", ast.Load()), [node.test, node.body, node.orelse], [])

    def visit_BoolOp(self, node):
        self.generic_visit(node)
        fn = "_and" if isinstance(node.op, ast.And) else "_or"
        out = node.values[0]
        for v in node.values[1:]:
            out = ast.Call(ast.Name(fn, ast.Load()), [out, v], [])
        return out


def _lam(body):
    return ast.Lambda(ast.arguments(posonlyargs=[], args=[ast.arg(a) for a in
                      ("tg", "g", "x", "y", "out", "p0", "p1")], kwonlyargs=[], kw_defaults=[],
                      defaults=[]), body)


def _compile(expr: str) -> Callable:
    fn = _CACHE.get(expr)
    if fn is None:
        body = _Rewrite().visit(ast.parse(expr, mode="eval").body)
        code = compile(ast.fix_missing_locations(ast.Expression(_lam(body))), f"<vjp {expr}>",
                       "eval")
        fn = _CACHE[expr] = eval(code, {"_where": _where, "_and": _and, "_or": _or,  # noqa: S307
                                        "_fn": _fn})
    return fn


def _fn(name: str) -> Callable:
    import math
    import tapegrad as tg
    if name.startswith("_"):  # a helper here: the same on tensors and numbers
        return globals()[name]
    on_tensor = getattr(tg, name)
    on_number = getattr(math, name, None) or getattr(np, name)
    return lambda *a: on_tensor(*a) if any(hasattr(v, "_data") for v in a) else on_number(*a)


def _where(c, a, b):
    import tapegrad as tg
    if not hasattr(c, "_data"):  # a Python bool (the condition only involved parameters)
        return a if c else b
    return tg.where(c, a, b)


def _and(a, b):
    return a * b if hasattr(a, "_data") or hasattr(b, "_data") else (a and b)


def _or(a, b):
    return (a + b) > 0 if hasattr(a, "_data") or hasattr(b, "_data") else (a or b)


def _unbroadcast(g, shape: tuple):
    """Sum `g` down to `shape` (the inverse of broadcasting), as recorded ops."""
    if tuple(g.shape) == tuple(shape):
        return g
    lead = g.ndim - len(shape)
    dims = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape)
                                      if n == 1 and g.shape[lead + i] != 1)
    return g.sum(dims, keepdim=False).reshape(shape) if dims else g.reshape(shape)


def _elementwise_vjp(op: Op, g, ins, out, params):
    import tapegrad as tg
    x = ins[0]
    y = ins[1] if len(ins) > 1 else None
    p0, p1 = params if params else (0.0, 0.0)
    frags = (op.gx,) if op.kind == "unary" else (op.gx, op.gy)
    grads = []
    for inp, frag in zip(ins, frags):
        r = _compile(frag)(tg, g, x, y, out, p0, p1)
        if not hasattr(r, "_data"):  # a constant (e.g. 0.0)
            r = g * 0 + r
        grads.append(_unbroadcast(r, inp.shape) if op.kind == "binary" else r.reshape(inp.shape))
    return grads


def _reduce_vjp(g, ins, out, params, ints):
    x = ins[0]
    mask = ints[0]
    kept = tuple(1 if (mask >> d) & 1 else n for d, n in enumerate(x.shape))
    return [(g.reshape(kept) * params[0]).expand(*x.shape) if x.ndim else g * params[0]]


def _matmul_vjp(g, ins, out, params, ints):
    a, b = ins
    a2 = a.reshape(1, -1) if a.ndim == 1 else a
    b2 = b.reshape(-1, 1) if b.ndim == 1 else b
    gshape = a2.shape[:-1] + b2.shape[-1:] if max(a.ndim, b.ndim) <= 2 else None
    g2 = g.reshape(gshape) if gshape is not None else (
        g.unsqueeze(-1) if b.ndim == 1 else (g.unsqueeze(-2) if a.ndim == 1 else g))
    ga = g2 @ b2.transpose(-1, -2)
    gb = a2.transpose(-1, -2) @ g2
    return [_unbroadcast(ga, a2.shape).reshape(a.shape), _unbroadcast(gb, b2.shape).reshape(b.shape)]


def _addmm_vjp(g, ins, out, params, ints):
    bias, a, b = ins
    if ints and ints[0]:  # b stored transposed (F.linear's weight)
        return [_unbroadcast(g, bias.shape), g @ b, g.transpose(-1, -2) @ a]
    return [_unbroadcast(g, bias.shape), g @ b.transpose(-1, -2), a.transpose(-1, -2) @ g]


def _permute_vjp(g, ins, out, params, ints):
    inv = [0] * len(ints)
    for i, p in enumerate(ints):
        inv[p] = i
    return [g.permute(*inv) if inv else g]


def _positions(shape: tuple, strides, offset: int) -> np.ndarray:
    """Flat source index of every element of a strided view (offset + sum(i_d * stride_d))."""
    pos = np.full(shape, offset, np.int64)
    for d, (n, st) in enumerate(zip(shape, strides)):
        pos += (np.arange(n, dtype=np.int64) * st).reshape((n,) + (1,) * (len(shape) - d - 1))
    return pos.reshape(-1)


def _scatter_into(g, pos: np.ndarray, like):
    """zeros like `like`, with g.flat[k] added at pos[k] (repeats accumulate): recorded."""
    import tapegrad as tg
    z = tg.zeros(like.numel(), dtype=like.dtype)
    return z.scatter_add(0, tg.tensor(pos), g.reshape(-1).to(like.dtype)).reshape(like.shape)


def _strided_vjp(g, ins, out, params, ints):
    return [_scatter_into(g, _positions(tuple(out.shape), ints[1:], ints[0]), ins[0])]


def _take_vjp(g, ins, out, params, ints):
    return [_scatter_into(g, np.asarray(ints[:out.numel()], np.int64), ins[0])]


def _scatter_add_vjp(g, ins, out, params, ints):
    import tapegrad as tg
    n = len(ints) // 2
    dst, src = np.asarray(ints[:n], np.int64), np.asarray(ints[n:], np.int64)
    return [g, _scatter_into(g.reshape(-1)[tg.tensor(dst)], src, ins[1])]


def _softmax_dim(shape: tuple, ints) -> int:
    outer, n = ints[0], ints[1]
    return next(d for d in range(len(shape)) if math.prod(shape[:d]) == outer and shape[d] == n)


def _softmax_vjp(g, ins, out, params, ints):
    if not ins[0].ndim:
        return [g * 0]
    d = _softmax_dim(tuple(ins[0].shape), ints)
    return [out * (g - (g * out).sum(d, keepdim=True))]


def _log_softmax_vjp(g, ins, out, params, ints):
    if not ins[0].ndim:
        return [g * 0]
    d = _softmax_dim(tuple(ins[0].shape), ints)
    return [g - out.exp() * g.sum(d, keepdim=True)]


def _cat_vjp(g, ins, out, params, ints):
    dim, extents = ints[0], ints[1:]
    pieces, start = [], 0
    for x, w in zip(ins, extents):
        piece = g.narrow(dim, start, w)
        pieces.append(piece.reshape(x.shape))  # stack: the extent-1 dim goes away
        start += w
    return pieces


def _kept(x, g, out, mask: int):
    """g and out reshaped to x's rank with the reduced dims (bitmask) kept as size 1."""
    kept = tuple(1 if (mask >> d) & 1 else n for d, n in enumerate(x.shape))
    return g.reshape(kept), out.reshape(kept), tuple(d for d in range(x.ndim) if (mask >> d) & 1)


def _amax_vjp(g, ins, out, params, ints):
    x = ins[0]
    gk, ok, dims = _kept(x, g, out, ints[0])
    hit = (x == ok.detach()).to(x.dtype)
    count = hit.sum(dims, keepdim=True) if dims else hit
    return [gk * hit / count]


def _logsumexp_vjp(g, ins, out, params, ints):
    gk, ok, _ = _kept(ins[0], g, out, ints[0])
    return [gk * (ins[0] - ok).exp()]


def _var_vjp(g, ins, out, params, ints):
    import tapegrad as tg
    x = ins[0]
    gk, ok, dims = _kept(x, g, out, ints[0])
    dev = x - x.mean(dims, keepdim=True) if dims else x * 0
    if ints[1]:  # std: (x - mean) / (div * std), 0 where std is 0
        safe = tg.where(ok == 0, ok * 0 + 1, ok)
        return [tg.where(ok == 0, gk * 0, gk * dev / (params[0] * safe))]
    return [gk * 2 * dev / params[0]]


def _norm_vjp(g, ins, out, params, ints):
    """torch's norm_backward, formula for formula (its zeros and, at a zero norm, its NaNs in
    the second derivative)."""
    import tapegrad as tg
    x = ins[0]
    p = params[0]
    gk, ok, dims = _kept(x, g, out, ints[0])
    if p == 0:  # counts non-zeros: flat
        return [tg.zeros(tuple(x.shape), dtype=g.dtype)]
    if p == 1:
        return [gk * x.sign()]
    if not math.isfinite(p):  # max / min of |x|: split among the ties, as the kernel
        hit = (x.abs() == ok.detach()).to(x.dtype)
        count = hit.sum(dims, keepdim=True) if dims else hit
        return [gk * x.sign() * hit / count]
    zero = ok.detach() == 0
    if p == 2:
        return [gk * (x / ok).masked_fill(zero, 0.0)]
    if p < 1:
        return [x.sign() * (x.abs() ** (p - 1)).masked_fill(x.detach() == 0, 0.0) * gk
                * ok ** (1 - p)]
    scale = (gk / ok ** (p - 1)).masked_fill(zero, 0.0)
    if p < 2:
        return [x.sign() * x.abs() ** (p - 1) * scale]
    return [x * x.abs() ** (p - 2) * scale]


def _cumsum_vjp(g, ins, out, params, ints):
    if not ins[0].ndim:
        return [g]
    d = ints[0]
    return [g.flip(d).cumsum(d).flip(d)]


def _tri_vjp(g, ins, out, params, ints):
    return [g.triu(ints[0]) if ints[1] else g.tril(ints[0])]


def _roll_vjp(g, ins, out, params, ints):
    nd = len(ints) // 2
    shape, shifts = tuple(ints[:nd]), ints[nd:]
    back = g.reshape(shape).roll(tuple(-s for s in shifts), tuple(range(nd)))
    return [back.reshape(ins[0].shape)]


def _walk_vjp(g, ins, out, params, ints):
    nd = (len(ints) - 1) // 2
    return [_scatter_into(g, _positions(tuple(ints[1:1 + nd]), ints[1 + nd:], ints[0]),
                          ins[0])]


def _where_vjp(g, ins, out, params, ints):
    c, x, y = ins
    cond = c.detach() != 0
    return [None, _unbroadcast(g.masked_fill(cond == 0, 0), x.shape),
            _unbroadcast(g.masked_fill(cond, 0), y.shape)]


def _lerp_vjp(g, ins, out, params, ints):
    a, b = ins[0], ins[1]
    w = ins[2] if len(ins) > 2 else params[0]
    grads = [_unbroadcast(g * (1 - w), a.shape), _unbroadcast(g * w, b.shape)]
    if len(ins) > 2:
        grads.append(_unbroadcast(g * (b - a), w.shape))
    return grads


def _filled(out, ints):
    import tapegrad as tg
    m = np.zeros(out.numel(), bool)
    m[np.asarray(ints, np.int64)] = True
    return tg.tensor(m.reshape(tuple(out.shape)))


def _masked_fill_vjp(g, ins, out, params, ints):
    m = _filled(out, ints)
    grads = [_unbroadcast(g.masked_fill(m, 0), ins[0].shape)]
    if len(ins) > 1:
        grads.append((g * m).sum().reshape(ins[1].shape))
    return grads


def _index_put_vjp(g, ins, out, params, ints):
    import tapegrad as tg
    pos = np.asarray(ints, np.int64)
    ga = g.masked_fill(_filled(out, ints), 0)
    gb = g.reshape(-1)[tg.tensor(pos)]  # every write of a repeated position: torch's
    return [ga, gb.reshape(ins[1].shape)]


def _copy_vjp(g, ins, out, params, ints):
    """zero_/fill_/copy_: the old value gets zeros; the source g summed back to its shape."""
    import tapegrad as tg
    grads = [tg.zeros(tuple(ins[0].shape), dtype=g.dtype)]
    if len(ins) > 1:
        grads.append(_unbroadcast(g, tuple(ins[1].shape)))
    return grads


def _copy_slices_vjp(g, ins, out, params, ints):
    pos = _positions(tuple(ins[1].shape), ints[1:], ints[0])
    return _index_put_vjp(g, ins, out, params, tuple(pos.tolist()))


def _nll_vjp(g, ins, out, params, ints):
    import tapegrad as tg
    nb, nc, nd, red = ints[:4]
    n = nb * nd
    t = np.asarray(ints[4:4 + n], np.int64)
    w = np.asarray(params[:n], np.float64)
    i = np.arange(n)
    b = i // nd
    t = np.where(w != 0, t, 0)   # ignored targets carry weight 0: any valid position will do
    pos = (b * nc + t) * nd + (i - b * nd)
    gv = (g if red else g.reshape(-1)) * tg.tensor(-w, dtype=g.dtype)
    return [_scatter_into(gv, pos, ins[0])]


def _pointwise_loss_vjp(g, ins, out, params, ints):
    import tapegrad as tg
    from .ops._kernels_nn import BCE, BCE_LOGITS, MSE, SMOOTH_L1
    kind, red, hw, hp, nd = ints[:5]
    shape = tuple(ints[5:5 + nd])
    n = math.prod(shape)
    x, y = ins
    gg = (g if red else g.reshape(shape)) * params[0]
    if hw:
        gg = gg * tg.tensor(np.asarray(params[2:2 + n]).reshape(shape), dtype=g.dtype)
    if kind == MSE:
        dx = 2 * (x - y)
        dy = -dx
    elif kind == SMOOTH_L1:
        d = x - y
        beta = params[1]
        dx = tg.where(d.abs() < beta, d / beta, d.sign())
        dy = -dx
    elif kind == BCE:  # torch's clamps, as the kernel
        dx = (x - y) / ((1 - x) * x).clamp(min=9.999999960041972e-13)  # torch's 1e-12f
        dy = (-x).log1p().clamp(min=-100.0) - x.log().clamp(min=-100.0)
    else:
        assert kind == BCE_LOGITS
        pw = tg.tensor(np.asarray(params[2 + (n if hw else 0):][:n]).reshape(shape),
                       dtype=g.dtype) if hp else 1.0
        lw = 1 + (pw - 1) * y
        dx = (1 - y) - lw * tg.sigmoid(-x)
        dy = -x + (pw - 1) * tg.nn.functional.softplus(-x)
    return [_unbroadcast(gg * dx, x.shape), _unbroadcast(gg * dy, y.shape)]


def _clamp_tensor_vjp(g, ins, out, params, ints):
    """torch's masks (as the kernel): x where lo <= x <= hi; lo where x < lo (and lo < hi);
    hi where x > hi (or hi < lo)."""
    has_lo, has_hi = ints[:2]
    x = ins[0]
    lo = ins[1].detach() if has_lo else None
    hi = ins[1 + has_lo].detach() if has_hi else None
    xd = x.detach()
    if has_lo and has_hi:
        mx, mlo, mhi = (xd >= lo) * (xd <= hi), (xd < lo) * (lo < hi), ((xd > hi) + (hi < lo)) > 0
    elif has_lo:
        mx, mlo, mhi = xd >= lo, xd < lo, None
    else:
        mx, mlo, mhi = xd <= hi, None, xd > hi
    grads = [_unbroadcast(g * mx, x.shape)]
    if has_lo:
        grads.append(_unbroadcast(g * mlo, ins[1].shape))
    if has_hi:
        grads.append(_unbroadcast(g * mhi, ins[1 + has_lo].shape))
    return grads


def _prod_vjp(g, ins, out, params, ints):
    """Exact with zeros: no zero -> out / x; one zero -> the product of the others at it and 0
    elsewhere; more -> 0."""
    import tapegrad as tg
    x = ins[0]
    gk, ok, dims = _kept(x, g, out, ints[0])
    zero = x.detach() == 0
    count = zero.sum(dims, keepdim=True) if dims else zero * 1
    x_safe = tg.where(zero, x * 0 + 1, x)
    others = x_safe
    for d in dims:  # torch's prod takes one dim at a time
        others = others.prod(d, keepdim=True)
    none = gk * ok / x_safe
    one = tg.where(zero, gk * others, gk * 0)
    return [tg.where(count == 0, none, tg.where(count == 1, one, gk * 0))]


def _cumprod_vjp(g, ins, out, params, ints):
    x = ins[0]
    if not x.ndim:
        return [g]
    if (x.detach() == 0).any():
        raise NotImplementedError("create_graph=True: the backward of CumprodBackward0 with a "
                                  "zero in its input cannot be differentiated yet")
    d = ints[0]
    return [(g * out).flip(d).cumsum(d).flip(d) / x]


TENSOR_VJP = {
    "sum": _reduce_vjp, "sum_dim": _reduce_vjp, "mean": _reduce_vjp, "mean_dim": _reduce_vjp,
    "mm": _matmul_vjp, "dot": _matmul_vjp, "mv": _matmul_vjp, "vm": _matmul_vjp,
    "bmm": _matmul_vjp, "matmul_batched": _matmul_vjp, "addmm": _addmm_vjp,
    "permute": _permute_vjp, "transpose": _permute_vjp, "t": _permute_vjp,
    "softmax": _softmax_vjp, "log_softmax": _log_softmax_vjp, "cat": _cat_vjp, "stack": _cat_vjp,
    "scatter_add": _scatter_add_vjp, "max": _amax_vjp, "min": _amax_vjp, "amax": _amax_vjp,
    "amin": _amax_vjp, "logsumexp": _logsumexp_vjp, "var": _var_vjp, "std": _var_vjp,
    "norm": _norm_vjp, "cumsum": _cumsum_vjp, "tril": _tri_vjp, "triu": _tri_vjp,
    "roll": _roll_vjp, "repeat": _walk_vjp, "where": _where_vjp, "lerp": _lerp_vjp,
    "lerp_scalar": _lerp_vjp, "masked_fill": _masked_fill_vjp,
    "masked_fill_tensor": _masked_fill_vjp, "index_put": _index_put_vjp,
    "nll_loss": _nll_vjp, "nll_loss2d": _nll_vjp, "mse_loss": _pointwise_loss_vjp,
    "smooth_l1_loss": _pointwise_loss_vjp, "binary_cross_entropy": _pointwise_loss_vjp,
    "binary_cross_entropy_with_logits": _pointwise_loss_vjp, "clamp_tensor": _clamp_tensor_vjp,
    "prod": _prod_vjp, "prod_dim": _prod_vjp, "cumprod": _cumprod_vjp,
    "zero": _copy_vjp, "fill": _copy_vjp, "fill_tensor": _copy_vjp, "copy": _copy_vjp,
    "copy_slices": _copy_slices_vjp, "copy_slices_take": _index_put_vjp,
}
# every view-like op (offset + strides in its ints) and every gather (flat positions in its ints)
_BY_KERNEL = {"adj_strided": _strided_vjp, "adj_take": _take_vjp, "adj_max_dim": _take_vjp,
              "adj_min_dim": _take_vjp}


def _rule(op: Op):
    return TENSOR_VJP.get(op.name) or _BY_KERNEL.get(op.gx.split(":")[-1])


def supported(op: Op) -> bool:
    """Whether `create_graph` can differentiate through this op."""
    return op.kind in ("unary", "binary", "python") or _rule(op) is not None


def _slot_tensor(tape, tab, rec, s: int, leaves: dict, fl_live: np.ndarray):
    """A tensor standing for slot s: the leaf itself, or a handle on the recorded value."""
    from .tensor import _nonleaf, _wrap
    if tab[s, T_OP] == IN_LEAF:
        return leaves[s]
    n = int(tab[s, T_SIZE])
    shape = tuple(rec[tab[s, T_SHP]:tab[s, T_SHP] + tab[s, T_NDIM]].tolist())
    ctype = ctypes.c_float if tab[s, T_IS32] else ctypes.c_double
    buf = (ctype * max(n, 1)).from_address(int(tab[s, T_ADDR]))
    view = np.frombuffer(buf, np.float32 if tab[s, T_IS32] else np.float64, n).reshape(shape)
    lo = fl_live.ctypes.data
    if lo <= tab[s, T_ADDR] < lo + fl_live.nbytes:
        view = view.copy()  # a fast-path value kept in the floats, which move as they grow
    if tab[s, T_OP] == IN_CONST:  # (while tracing: a constant of the recording, as it was)
        from ._trace import mark_pure
        return mark_pure(_wrap(view))
    return _nonleaf(view, tape, s)


def _wrap_zeros(like: np.ndarray):
    from .tensor import _wrap
    return _wrap(np.zeros(like.shape, like.dtype))


def backward_graph(tape, roots: list) -> dict:
    """Reverse pass as recorded tensor ops. `roots`: [(slot, gradient Tensor)]; returns
    {slot: gradient Tensor} for every slot reached (leaves included)."""
    from ._grad_mode import enable_grad
    # everything is read up front: recording the reverse pass may merge this tape into another
    # (`fl_live`, the floats `tab`'s addresses point into, is kept alive until the end)
    rec, fl_live, tab, _ = tape.decode()
    rec, fl = rec.copy(), fl_live.copy()
    leaves = {s: t for t, s in tape.leaves}
    pyops = dict(tape.pyops)
    grads: dict = {}
    for s, g in roots:
        grads[s] = grads[s] + g if s in grads else g
    top = max(s for s, _ in roots)
    with enable_grad():
        for e in range(top, -1, -1):
            g = grads.get(e)
            op_code = int(tab[e, T_OP])
            if g is None and e in pyops and any(s in grads for s in pyops[e].out_slots
                                                if s is not None):
                ref = _slot_tensor(tape, tab, rec, e, leaves, fl_live)._data  # (an unused
                g = _wrap_zeros(ref)                                           # 1st output)
            if g is None or op_code < 0:
                continue
            op = BY_CODE[op_code]
            ins_slots = rec[tab[e, T_INS]:tab[e, T_INS] + tab[e, T_NIN]].tolist()
            ins = [_slot_tensor(tape, tab, rec, s, leaves, fl_live) for s in ins_slots]
            out = _slot_tensor(tape, tab, rec, e, leaves, fl_live)
            row = tab[e]
            ints = tuple(rec[row[T_IOFS]:row[T_IOFS] + row[T_ICNT]].tolist())
            fend = tab[e + 1, T_FOFS] if e + 1 < tab.shape[0] else fl.shape[0]
            params = tuple(fl[row[T_FOFS]:fend].tolist())  # all of the record's floats
            g = g.reshape(out.shape) if tuple(g.shape) != tuple(out.shape) else g
            if g.dtype is not out.dtype:  # as torch: a node's incoming gradient has its dtype
                g = g.to(out.dtype)
            if op.kind in ("unary", "binary"):
                gs = _elementwise_vjp(op, g, ins, out, params[:2] if op.nfloat else ())
            elif _rule(op) is not None:
                gs = _rule(op)(g, ins, out, params, ints)
            elif op.kind == "python" and e in pyops:
                gs = pyops[e].run_graph(g, grads)
            elif op.kind == "python":  # a Function's further output: its first entry uses g
                continue
            else:
                raise NotImplementedError(
                    f"create_graph=True: the backward of {op.grad_fn} ({op.name}) cannot be "
                    f"differentiated yet")
            for s, gi in zip(ins_slots, gs):
                if gi is None or tab[s, T_OP] == IN_CONST:
                    continue
                grads[s] = grads[s] + gi if s in grads else gi
    return grads
