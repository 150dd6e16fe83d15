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

from . import _pytree
from ._grad_mode import enable_grad
from .autograd import grad as _grad
from .tensor import Tensor
from ._vmap import vmap

__all__ = ["grad", "value_and_grad", "vjp", "jvp", "jacrev", "jacobian", "hessian",
           "functional_call", "stack_module_state", "vmap"]

Argnums = Union[int, Sequence[int]]


def _flatten(x, i: int) -> tuple:
    """The tensors of a pytree argument (a tensor, or dicts/lists/tuples of them) and a
    function that rebuilds the same structure from a list of tensors."""
    leaves, spec = _pytree.flatten(x)
    if not all(isinstance(t, Tensor) for t in leaves):
        raise TypeError(f"argument {i} is differentiated but is not a Tensor (or a dict, list "
                        f"or tuple of Tensors)")
    return leaves, lambda ts: _pytree.unflatten(spec, ts)


def _prepare(args: tuple, argnums: Argnums) -> tuple:
    """The differentiated arguments with their tensors requiring grad (a fresh leaf sharing
    data where one does not require grad; as is otherwise, so transforms compose), each
    argument's (tensors, rebuild), and whether the results should be detached (no argument was
    part of an outer transform's graph)."""
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    args = list(args)
    outer = False
    trees = []
    for i in nums:
        leaves, rebuild = _flatten(args[i], i)
        outer |= any(a._rg for a in leaves)
        leaves = [a if a._rg else a.detach().requires_grad_(True) for a in leaves]
        args[i] = rebuild(leaves)
        trees.append((leaves, rebuild))
    return args, nums, not outer, trees


def _tensor_args(args: Sequence, nums: Sequence[int]) -> None:
    """vjp/jacrev/jvp differentiate tensors only (pytrees: `grad`/`value_and_grad`)."""
    for i in nums:
        if not isinstance(args[i], Tensor):
            raise TypeError(f"argument {i} is differentiated but is not a Tensor")


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
            args, nums, detach, trees = _prepare(args, argnums)
            out = func(*args, **kwargs)
            value, aux = (out if has_aux else (out, None))
            if not isinstance(value, Tensor) or value.numel() != 1:
                dims = f"tensor with {value.dim()} dims" if isinstance(value, Tensor) else \
                    f"value of type {type(value).__name__}"
                raise RuntimeError(f"grad_and_value(f)(*args): Expected f(*args) to return a "
                                   f"scalar Tensor, got {dims}. Maybe you wanted to use the vjp "
                                   f"or jacrev APIs instead?")
            flat = _grad(value, [t for leaves, _ in trees for t in leaves], create_graph=True,
                         allow_unused=True, materialize_grads=True)
        gs, at = [], 0
        for leaves, rebuild in trees:
            gs.append(rebuild([_plain(g, detach) for g in flat[at:at + len(leaves)]]))
            at += len(leaves)
        g = gs[0] if isinstance(argnums, int) else tuple(gs)
        value = _plain(value, detach)
        return ((value, aux), g) if has_aux else (value, g)
    wrapper._tg_grad = (func, argnums, has_aux, "value")  # (what `vmap` replays batched)
    return wrapper


def grad(func: Callable, argnums: Argnums = 0, has_aux: bool = False) -> Callable:
    """The gradient of a scalar function w.r.t. argument(s) `argnums` (composable: grad of grad)."""
    vg = value_and_grad(func, argnums, has_aux)

    def wrapper(*args, **kwargs):
        (value, aux), g = vg(*args, **kwargs) if has_aux else ((None, None), vg(*args, **kwargs)[1])
        return (g, aux) if has_aux else g
    wrapper._tg_grad = (func, argnums, has_aux, "grad")
    return wrapper


def vjp(func: Callable, *primals) -> tuple:
    """``(output, vjp_fn)`` where ``vjp_fn(cotangent)`` returns a tuple, one gradient per primal."""
    _tensor_args(primals, range(len(primals)))
    with enable_grad():
        args, nums, detach, _ = _prepare(primals, tuple(range(len(primals))))
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
        _tensor_args(args, (argnums,) if isinstance(argnums, int) else argnums)
        with enable_grad():
            args, nums, detach, _ = _prepare(args, argnums)
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
    wrapper._tg_grad = (func, argnums, False, "jac")  # (`vmap` sweeps it batched, row by row)
    return wrapper


jacobian = jacrev


def hessian(func: Callable, argnums: Argnums = 0) -> Callable:
    """The Hessian of a scalar function: the Jacobian of its gradient."""
    return jacrev(grad(func, argnums), argnums)


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *,
                    tie_weights: bool = True, strict: bool = False):
    """Call `module` with some of its parameters and buffers replaced by the given tensors
    (by dotted name), as torch.func.functional_call: the module is restored afterwards, so
    gradients flow to the given tensors (e.g. for per-sample gradients with `grad`).

    >>> import tapegrad as tg
    >>> m = tg.nn.Linear(2, 1)
    >>> w = {"weight": tg.ones(1, 2), "bias": tg.zeros(1)}
    >>> tg.func.functional_call(m, w, (tg.ones(1, 2),))
    tensor([[2.]])
    """
    dicts = parameter_and_buffer_dicts
    if isinstance(dicts, (list, tuple)):
        merged: dict = {}
        for d in dicts:
            for k in d:
                if k in merged:
                    raise ValueError(f"{k} appeared in multiple dictionaries; behavior of "
                                     f"functional call is ambiguous")
            merged.update(d)
        dicts = merged
    if strict:
        _check_strict(module, dicts)
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    saved = [_swap(module, name, t) for name, t in dicts.items()]
    try:
        return module(*args, **(kwargs or {}))
    finally:
        for store, name, old in reversed(saved):
            store[name] = old


def stack_module_state(models) -> tuple:
    """(params, buffers): each named parameter and buffer of `models` (modules of one
    structure) stacked along a new first dim, for ``vmap(.., in_dims=(0, 0, None))`` over an
    ensemble (torch.func's). The stacked parameters are new leaves that require grad.

    >>> import tapegrad as tg
    >>> ps, bs = stack_module_state([tg.nn.Linear(3, 2) for _ in range(4)])
    >>> ps["weight"].shape
    tapegrad.Size([4, 2, 3])
    """
    from .ops import stack
    models = list(models)
    if not models:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if any(m.training != models[0].training for m in models):
        raise RuntimeError("stack_module_state: Expected all models to have the same "
                           "training/eval mode.")
    names = [n for n, _ in models[0].named_parameters()]
    if any([n for n, _ in m.named_parameters()] != names for m in models[1:]):
        raise RuntimeError("stack_module_state: Expected all models to have the same "
                           "parameters.")
    params = {n: stack([dict(m.named_parameters())[n].detach() for m in models])
              .requires_grad_(True) for n in names}
    bnames = [n for n, _ in models[0].named_buffers()]
    buffers = {n: stack([dict(m.named_buffers())[n] for m in models]) for n in bnames}
    return params, buffers


def _swap(module, dotted: str, t) -> tuple:
    """Put `t` in place of the parameter or buffer `dotted`; returns what to restore."""
    path, _, name = dotted.rpartition(".")
    owner = module.get_submodule(path)
    for store in (owner._parameters, owner._buffers):
        if name in store:
            old = store[name]
            store[name] = t
            return store, name, old
    raise AttributeError(f"{type(owner).__name__} has no parameter or buffer `{name}`")


def _check_strict(module, given: dict) -> None:
    own = {n for n, _ in module.named_parameters()} | {n for n, _ in module.named_buffers()}
    missing, unexpected = sorted(own - set(given)), sorted(set(given) - own)
    if missing or unexpected:
        parts = []
        if unexpected:
            parts.append("Unexpected key(s): {}.".format(", ".join(map(repr, unexpected))))
        if missing:
            parts.append("Missing key(s): {}.".format(", ".join(map(repr, missing))))
        raise RuntimeError("Error(s) in reparametrizing for {}:\n\t{}".format(
            type(module).__name__, "\n\t".join(parts)))
