"""Views and in-place ops: every view op x {write through the view, write through the base} x
{outside a graph, inside a graph, under no_grad, on a leaf that requires grad}.

A case runs the same steps in either library: make a base `a` (3 x 4, float64), take a view
`v`, write through one of them, then observe the values of both, the view's relation to the base,
version counters and grad_fn names; in the graph modes, backpropagate a loss that reads both and
observe the gradient. A step that raises ends the case with the error (torch raises the same)."""
from __future__ import annotations

from . import error_of, name_of, observe

VALUES = [[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0], [9.0, 10.0, 11.0, 12.0]]

VIEWS = {
    "select": lambda a, lib: a[1],
    "select_int2": lambda a, lib: a[1, 2],
    "slice": lambda a, lib: a[:, 1:3],
    "step": lambda a, lib: a[:, ::2],
    "ellipsis": lambda a, lib: a[...],
    "newaxis": lambda a, lib: a[None],
    "t": lambda a, lib: a.t(),
    "T": lambda a, lib: a.T,
    "mT": lambda a, lib: a.mT,
    "H": lambda a, lib: a.H,
    "adjoint": lambda a, lib: a.adjoint(),
    "select_method": lambda a, lib: a.select(1, 2),
    "permute": lambda a, lib: a.permute(1, 0),
    "transpose": lambda a, lib: a.transpose(0, 1),
    "swapaxes": lambda a, lib: a.swapaxes(0, 1),
    "movedim": lambda a, lib: a.movedim(0, 1),
    "diagonal": lambda a, lib: a.diagonal(),
    "diagonal_offset": lambda a, lib: a.diagonal(1),
    "expand": lambda a, lib: a[0:1].expand(3, 4),
    "narrow": lambda a, lib: a.narrow(1, 1, 2),
    "view": lambda a, lib: a.view(12),
    "view_2d": lambda a, lib: a.view(4, 3),
    "view_as": lambda a, lib: a.view_as(lib.zeros(2, 6)),
    "reshape": lambda a, lib: a.reshape(2, 6),
    "reshape_copy": lambda a, lib: a.t().reshape(12),
    "flatten": lambda a, lib: a.flatten(),
    "unsqueeze": lambda a, lib: a.unsqueeze(0),
    "squeeze": lambda a, lib: a.unsqueeze(1).squeeze(1),
    "unflatten": lambda a, lib: a.unflatten(1, (2, 2)),
    "split": lambda a, lib: a.split(2)[0],
    "chunk": lambda a, lib: a.chunk(2, 1)[1],
    "unbind": lambda a, lib: a.unbind(0)[1],
    "unbind_dim1": lambda a, lib: a.unbind(1)[2],
    "detach": lambda a, lib: a.detach(),
    "data": lambda a, lib: a.data,
    "contiguous": lambda a, lib: a.contiguous(),
    "to_same_dtype": lambda a, lib: a.to(lib.float64),
    "view_of_view": lambda a, lib: a.t()[1:3],
    "slice_t": lambda a, lib: a[1:].t(),
    "flip": lambda a, lib: a.flip(0),
    "clone": lambda a, lib: a.clone(),
    "advanced": lambda a, lib: a[[0, 2]],
}


def _w(lib, shape, rg):
    n = 1
    for d in shape:
        n *= d
    return (lib.arange(n, dtype=lib.float64).reshape(shape) * 0.5 + 1).requires_grad_(rg)


WRITES = {
    "view.mul_": lambda a, v, lib, rg: v.mul_(2),
    "view.add_": lambda a, v, lib, rg: v.add_(_w(lib, tuple(v.shape), rg)),
    "view.mul_w": lambda a, v, lib, rg: v.mul_(_w(lib, tuple(v.shape), rg)),
    "view.zero_": lambda a, v, lib, rg: v.zero_(),
    "view.fill_": lambda a, v, lib, rg: v.fill_(7.0),
    "view.copy_": lambda a, v, lib, rg: v.copy_(_w(lib, tuple(v.shape), rg)),
    "view.exp_": lambda a, v, lib, rg: v.exp_(),
    "view[...]=": lambda a, v, lib, rg: v.__setitem__(Ellipsis, 5.0),
    "base.mul_": lambda a, v, lib, rg: a.mul_(3),
    "base.add_": lambda a, v, lib, rg: a.add_(_w(lib, (3, 4), rg)),
    "base[0]=": lambda a, v, lib, rg: a.__setitem__(0, 9.0),
    "base.zero_": lambda a, v, lib, rg: a.zero_(),
}

MODES = ("plain", "graph", "no_grad", "leaf")


def _observe_state(out: dict, a, v, lib) -> None:
    out["a"] = observe(lambda: a)
    out["v"] = observe(lambda: v)
    out["v_is_view_of_a"] = observe(lambda: v._base is a or (v._base is not None
                                                            and v._base is a._base))
    out["versions"] = observe(lambda: [a._version, v._version])
    out["grad_fns"] = observe(lambda: [name_of(a.grad_fn), name_of(v.grad_fn)])
    out["requires_grad"] = observe(lambda: [a.requires_grad, v.requires_grad])
    out["contiguous"] = observe(lambda: v.is_contiguous())


def run(lib, view: str, write: str, mode: str) -> dict:
    out: dict = {}
    rg = mode in ("graph", "leaf")
    x = lib.tensor(VALUES, dtype=lib.float64, requires_grad=mode != "plain")
    try:
        a = x if mode == "leaf" else (x * 1 if mode != "plain" else x)
        v = VIEWS[view](a, lib)
        out["stride"] = v.stride()
        if mode == "no_grad":
            with lib.no_grad():
                WRITES[write](a, v, lib, False)
        else:
            WRITES[write](a, v, lib, rg)
    except Exception as e:  # noqa: BLE001
        out["error"] = error_of(e)
        return out
    _observe_state(out, a, v, lib)
    if mode in ("graph", "no_grad") and x.requires_grad:
        def backward():
            c = _w(lib, tuple(v.shape), False)
            loss = (a * _w(lib, (3, 4), False)).sum() + (v * c).sum()
            loss.backward()
            return x.grad
        out["x.grad"] = observe(backward)
    return out


def cases() -> list:
    return [(f"{view}|{write}|{mode}", (view, write, mode))
            for view in VIEWS for write in WRITES for mode in MODES]
