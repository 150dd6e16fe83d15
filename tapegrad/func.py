"""`tapegrad.func`: function transforms in the style of `torch.func`, built on `autograd.grad`.

>>> import tapegrad as tg
>>> from tapegrad.func import grad, hessian
>>> f = lambda x: (x ** 3).sum()
>>> grad(f)(tg.tensor([1., 2.]))
tensor([ 3., 12.])
>>> hessian(f)(tg.tensor([1., 2.]))
tensor([[ 6.,  0.],
        [ 0., 12.]])
"""
from __future__ import annotations

from typing import Callable, Sequence, Union

from ._grad_mode import enable_grad
from .autograd import grad as _grad
from .tensor import Tensor

__all__ = ["grad", "value_and_grad", "vjp", "jvp", "jacrev", "jacobian", "hessian"]

Argnums = Union[int, Sequence[int]]


def _prepare(args: tuple, argnums: Argnums) -> tuple:
    """The differentiated arguments as tensors requiring grad (a fresh leaf sharing data where
    an argument does not require grad; as is otherwise, so transforms compose), and whether the
    results should be detached (no argument was part of an outer transform's graph)."""
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    args = list(args)
    outer = False
    for i in nums:
        if not isinstance(args[i], Tensor):
            raise TypeError(f"argument {i} is differentiated but is not a Tensor")
        a = args[i]
        outer |= a._rg
        args[i] = a if a._rg else a.detach().requires_grad_(True)
    return args, nums, not outer


def _plain(x, detach: bool):
    if not detach:
        return x
    if isinstance(x, Tensor):
        return x.detach()
    if isinstance(x, tuple):
        return tuple(_plain(v, True) for v in x)
    return x


def value_and_grad(func: Callable, argnums: Argnums = 0, has_aux: bool = False) -> Callable:
    """``(value, gradient)`` of a scalar function (``((value, aux), gradient)`` with has_aux);
    the gradient is a tuple when `argnums` is a tuple."""
    def wrapper(*args, **kwargs):
        with enable_grad():
            args, nums, detach = _prepare(args, argnums)
            out = func(*args, **kwargs)
            value, aux = (out if has_aux else (out, None))
            if not isinstance(value, Tensor) or value.numel() != 1:
                raise RuntimeError("grad_and_value(f)(*args): Expected f(*args) to return a "
                                   "scalar Tensor")
            gs = _grad(value, [args[i] for i in nums], create_graph=True, allow_unused=True,
                       materialize_grads=True)
        g = _plain(gs[0] if isinstance(argnums, int) else tuple(gs), detach)
        value = _plain(value, detach)
        return ((value, aux), g) if has_aux else (value, g)
    return wrapper


def grad(func: Callable, argnums: Argnums = 0, has_aux: bool = False) -> Callable:
    """The gradient of a scalar function w.r.t. argument(s) `argnums` (composable: grad of grad)."""
    vg = value_and_grad(func, argnums, has_aux)

    def wrapper(*args, **kwargs):
        (value, aux), g = vg(*args, **kwargs) if has_aux else ((None, None), vg(*args, **kwargs)[1])
        return (g, aux) if has_aux else g
    return wrapper


def vjp(func: Callable, *primals) -> tuple:
    """``(output, vjp_fn)`` where ``vjp_fn(cotangent)`` returns a tuple, one gradient per primal."""
    with enable_grad():
        args, nums, detach = _prepare(primals, tuple(range(len(primals))))
        out = func(*args)

    def vjp_fn(cotangent):
        with enable_grad():
            gs = _grad(out, args, cotangent, retain_graph=True, create_graph=True,
                       allow_unused=True, materialize_grads=True)
        return _plain(gs, detach and not (isinstance(cotangent, Tensor) and cotangent._rg))
    return _plain(out, detach), vjp_fn


def jvp(func: Callable, primals: tuple, tangents: tuple) -> tuple:
    """``(output, J @ tangent)`` by the double-vjp trick (differentiating a vjp, which is linear
    in its cotangent)."""
    from .factories import zeros_like
    detach = not any(isinstance(p, Tensor) and p._rg for p in primals)
    with enable_grad():
        out, vjp_fn = vjp(func, *(p if isinstance(p, Tensor) and p._rg else
                                  p.detach().requires_grad_(True) for p in primals))
        u = zeros_like(out).requires_grad_(True)
        gs = vjp_fn(u)
        dot = sum((g * t).sum() for g, t in zip(gs, tangents))
        jv, = _grad(dot, u, create_graph=True, allow_unused=True, materialize_grads=True)
    return _plain(out, detach), _plain(jv, detach)


def jacrev(func: Callable, argnums: Argnums = 0) -> Callable:
    """The Jacobian by reverse mode, one vjp per output element: shape out.shape + arg.shape."""
    from .factories import zeros
    from .ops import stack

    def wrapper(*args):
        with enable_grad():
            args, nums, detach = _prepare(args, argnums)
            out = func(*args)
            rows = []
            for k in range(out.numel()):
                seed = zeros(out.numel(), dtype=out.dtype)
                seed._data[k] = 1
                rows.append(_grad(out, [args[i] for i in nums], seed.reshape(out.shape),
                                  retain_graph=True, create_graph=True, allow_unused=True,
                                  materialize_grads=True))
        jacs = [stack([r[j] for r in rows]).reshape(tuple(out.shape) + tuple(args[i].shape))
                for j, i in enumerate(nums)]
        return _plain(jacs[0] if isinstance(argnums, int) else tuple(jacs), detach)
    return wrapper


jacobian = jacrev


def hessian(func: Callable, argnums: Argnums = 0) -> Callable:
    """The Hessian of a scalar function: the Jacobian of its gradient."""
    return jacrev(grad(func, argnums), argnums)
