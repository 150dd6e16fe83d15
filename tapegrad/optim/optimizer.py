"""`Optimizer`: torch's base class (parameter groups, per-parameter state, ``state_dict``, hooks)
and the machinery its subclasses share to run their Numba kernels.

A step writes each parameter's memory (and its state's) in place, outside any graph, then tells
the memory model (`bump`, which is `tapegrad.ops.inplace.changed` when a graph or a view could
see the old values), so a graph that saved the old values raises torch's "modified by an
inplace operation" error at backward. What a kernel needs of a parameter (its flat arrays,
checked once) is kept in a `_Slot` between steps and rebuilt whenever the parameter's memory or
its state was replaced.

The parameters of a group are updated by one kernel call per dtype (`_Plan`: a table of their
memory's addresses, see `_kernels`), not one per parameter: a call costs ~1 µs of dispatch and
its bookkeeping more, most of a step for small parameters. Rows run in the group's order (a
parameter listed twice is updated twice, in order); parameters whose memory is not in C order
are updated one kernel call each, after the tables.
"""
from __future__ import annotations

import functools
import itertools
import warnings
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable
from copy import deepcopy
from typing import Any, Optional

import numpy as np

from .._dtype import get_default_dtype
from .._grad_mode import enable_grad, no_grad
from .._version import version_of
from ..autograd import RemovableHandle
from ..ops.inplace import changed
from ..tensor import Tensor, _wrap
from . import _kernels

__all__ = ["Optimizer", "required"]


class _RequiredParameter:
    """Singleton for a hyper-parameter that every group must give (torch's ``required``)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()
_HOOK_IDS = itertools.count()
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_OVERLAP = ("unsupported operation: more than one element of the written-to tensor refers to a "
            "single memory location. Please clone() the tensor before performing the operation.")


def _typename(obj) -> str:
    """torch.typename with tapegrad's names: ``tapegrad.FloatTensor``, ``int``, ``mod.Class``."""
    if isinstance(obj, Tensor):
        return f"tapegrad.{obj.dtype.torch_name}Tensor"
    module = getattr(obj, "__module__", "") or ""
    qualname = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    if qualname is None:
        module, qualname = obj.__class__.__module__ or "", obj.__class__.__qualname__
    return qualname if module in ("", "builtins") else f"{module}.{qualname}"


def as_float(x) -> float:
    """A hyper-parameter as a Python float (torch accepts 1-element tensors for some)."""
    return float(x.item()) if isinstance(x, Tensor) else float(x)


def scalar_dtype() -> np.dtype:
    """The dtype of a new ``step`` counter: float64 when that is the default dtype, else
    float32 (torch's ``_get_scalar_dtype``)."""
    return np.dtype(np.float64 if get_default_dtype().np_dtype == np.float64 else np.float32)


def new_step(fused: bool = False) -> Tensor:
    """A 0-d ``step`` counter at 0, as torch's ``torch.tensor(0.0, dtype=_get_scalar_dtype())``
    (a fused optimizer's is float32 always)."""
    return _wrap(np.zeros((), np.float32 if fused else scalar_dtype()))


def state_like(p: Tensor, fill: float = 0.0) -> Tensor:
    """A state tensor of p's shape and dtype, in C order (so a kernel sees it flat)."""
    return _wrap(np.full(p._data.shape, fill, p._data.dtype))


def check_lr(lr) -> None:
    """torch's checks of a learning rate."""
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")


def check_flags(differentiable: bool, foreach: Optional[bool], fused: Optional[bool]) -> None:
    """torch's errors for incompatible implementation flags. tapegrad has one implementation (a
    fused Numba loop), so ``foreach`` and ``fused`` change nothing else; ``differentiable`` (a
    step recorded for autograd) is not supported."""
    if fused:
        if differentiable:
            raise RuntimeError("`fused` does not support `differentiable`")
        if foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
    if differentiable:
        raise NotImplementedError("tapegrad.optim: differentiable=True (recording the update "
                                  "for autograd) is not supported")


def _hooked(step: Callable) -> Callable:
    """``step`` with the step hooks around it (global hooks first, as torch's); a hook's
    ``args`` include the optimizer, as torch's."""
    @functools.wraps(step)
    def wrapper(*args, **kwargs):
        self = args[0]
        for hook in itertools.chain(_global_pre_hooks.values(),
                                    self._optimizer_step_pre_hooks.values()):
            result = hook(self, args, kwargs)
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise RuntimeError(f"{step} must return None or a tuple of (new_args, "
                                       f"new_kwargs), but got {result}.")
                args, kwargs = result
        out = step(*args, **kwargs)
        for hook in itertools.chain(self._optimizer_step_post_hooks.values(),
                                    _global_post_hooks.values()):
            hook(self, args, kwargs)
        return out
    wrapper.hooked = True
    return wrapper


_global_pre_hooks: dict = OrderedDict()
_global_post_hooks: dict = OrderedDict()


def _register(registry: dict, hook: Callable, prepend: bool = False) -> RemovableHandle:
    key = next(_HOOK_IDS)
    registry[key] = hook
    if prepend:
        registry.move_to_end(key, last=False)
    return RemovableHandle(registry, key)


def register_optimizer_step_pre_hook(hook: Callable) -> RemovableHandle:
    """A hook ``hook(optimizer, args, kwargs)`` run before every optimizer's step."""
    return _register(_global_pre_hooks, hook)


def register_optimizer_step_post_hook(hook: Callable) -> RemovableHandle:
    """A hook ``hook(optimizer, args, kwargs)`` run after every optimizer's step."""
    return _register(_global_post_hooks, hook)


class Optimizer:
    """Base class of the optimizers, as torch's: parameter groups with their hyper-parameters,
    a ``state`` per parameter, `zero_grad`, `step`, `state_dict` / `load_state_dict`.

    >>> import tapegrad as tg
    >>> from tapegrad.optim import SGD
    >>> w = tg.ones(2, requires_grad=True)
    >>> opt = SGD([w], lr=0.5)
    >>> (w * w).sum().backward(); opt.step(); w
    tensor([0., 0.], requires_grad=True)
    >>> opt.state_dict()["param_groups"][0]["params"]
    [0]

    A subclass sets ``defaults``, implements ``step`` (`_step` runs its `_update` for each
    group), and says how many times torch's update writes each state tensor (`_VERSIONS`, so
    that versions count as torch's).
    """

    _VERSIONS: dict = {}

    def __init__(self, params, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self._optimizer_step_pre_hooks: dict = OrderedDict()
        self._optimizer_step_post_hooks: dict = OrderedDict()
        self._optimizer_state_dict_pre_hooks: dict = OrderedDict()
        self._optimizer_state_dict_post_hooks: dict = OrderedDict()
        self._optimizer_load_state_dict_pre_hooks: dict = OrderedDict()
        self._optimizer_load_state_dict_post_hooks: dict = OrderedDict()
        self._slots: dict = {}
        self._plans: dict = {}
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got " + _typename(params))
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "hooked", False):
            cls.step = _hooked(step)

    # -- pickling and printing ----------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        for name in ("_optimizer_step_pre_hooks", "_optimizer_step_post_hooks",
                     "_optimizer_state_dict_pre_hooks", "_optimizer_state_dict_post_hooks",
                     "_optimizer_load_state_dict_pre_hooks",
                     "_optimizer_load_state_dict_post_hooks"):
            self.__dict__.setdefault(name, OrderedDict())
        self._slots = {}  # (the kernels' view of the state is rebuilt from the new state)
        self._plans = {}
        self.defaults.setdefault("differentiable", False)

    def __repr__(self) -> str:
        out = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            out += f"\nParameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    out += f"    {key}: {group[key]}\n"
        return out + ")"

    # -- groups -------------------------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters (a dict with ``params`` and any hyper-parameters; the
        others come from ``defaults``), e.g. to train layers that were frozen."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            param_group["params"] = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. Please "
                            "use a list instead.")
        else:
            param_group["params"] = list(params)
        _split_names(param_group)
        for param in param_group["params"]:
            if not isinstance(param, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                + _typename(param))
            if not self.defaults.get("differentiable", None) and not (
                    param.is_leaf or param.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            param_group.setdefault(name, default)
        self._check_disjoint(param_group)
        self.param_groups.append(param_group)

    def _check_disjoint(self, param_group: dict[str, Any]) -> None:
        params = param_group["params"]
        if len(params) != len(set(params)):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in "
                          "future, this will cause an error; see github.com/pytorch/pytorch/"
                          "issues/40967 for more information", stacklevel=4)
        seen: set = set()
        for group in self.param_groups:
            seen.update(group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                txt = "with names" if "param_names" in param_group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {txt} to the optimizer")
        if not seen.isdisjoint(params):
            raise ValueError("some parameters appear in more than one parameter group")

    # -- gradients and steps ------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients: to None (the default), or to zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    if g.grad_fn is not None:
                        g.detach_()
                    else:
                        g.requires_grad_(False)
                    g.zero_()

    def step(self, closure: Optional[Callable[[], Any]] = None):
        """Update every parameter that has a gradient; `closure` (re-evaluating the loss) is
        called first with grad mode on, and its result returned."""
        raise NotImplementedError

    def _step(self, closure: Optional[Callable[[], Any]]):
        """What every `step` does: the closure, then `_update` of each group, outside graphs."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                self._update(group)
        return loss

    def _update(self, group: dict[str, Any]) -> None:
        raise NotImplementedError

    def _slot(self, p: Tensor, state: dict, keys: tuple) -> "_Slot":
        """p's kernel arrays for state `keys` (None: an unused argument), rebuilt when stale."""
        s = self._slots.get(p)
        if s is None or not s.fresh(p, state, keys):
            s = self._slots[p] = _Slot(self, p, state, keys)
        return s

    def _plan(self, group: dict[str, Any], group_kernel, kernel, hyper: Callable,
              versions: int = 1) -> "_Plan":
        """The group's `_Plan`, started for a step (see `_Plan.begin`); kept between steps, its
        table rebuilt only when a parameter's memory or state, or the set of parameters with a
        gradient, changed."""
        plan = self._plans.get(id(group))
        if plan is None or plan.group is not group:
            plan = self._plans[id(group)] = _Plan(self, group)
        plan.begin(group_kernel, kernel, hyper, versions)
        return plan

    # -- state dicts --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [indices]}]}``: the
        state holds this optimizer's own tensors (not copies), as torch's."""
        for hook in self._optimizer_state_dict_pre_hooks.values():
            hook(self)
        index: dict[int, int] = {}
        groups, start = [], 0
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            # (a parameter given twice keeps its first index, and the next ones skip one,
            # as torch's)
            for i, p in enumerate(group["params"], start):
                index.setdefault(id(p), i)
            packed["params"] = [index[id(p)] for p in group["params"]]
            start += len(packed["params"])
            groups.append(packed)
        state = {(index[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()}
        out = {"state": state, "param_groups": groups}
        for hook in self._optimizer_state_dict_post_hooks.values():
            result = hook(self, out)
            if result is not None:
                out = result
        return out

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a `state_dict` (of an optimizer over parameters of the same shapes, in the same
        groups): its tensors are cast to each parameter's dtype (kept as they are when it
        matches, as torch's ``.to``), its hyper-parameters replace the groups'."""
        state_dict = state_dict.copy()
        for hook in self._optimizer_load_state_dict_pre_hooks.values():
            result = hook(self, state_dict)
            if result is not None:
                state_dict = result
        groups = self.param_groups
        saved_groups = deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match "
                             "the size of optimizer's group")
        id_map = dict(zip(itertools.chain.from_iterable(g["params"] for g in saved_groups),
                          itertools.chain.from_iterable(g["params"] for g in groups)))
        state: defaultdict = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                state[id_map[k]] = _cast(id_map[k], v)
            else:
                state[k] = v
        for group, new in zip(groups, saved_groups):
            new["params"] = group["params"]
            if "param_names" in group and "param_names" not in new:
                new["param_names"] = group["param_names"]
        self.__setstate__({"state": state, "param_groups": saved_groups})
        for hook in self._optimizer_load_state_dict_post_hooks.values():
            hook(self)

    # -- hooks ----------------------------------------------------------------------------------
    def register_step_pre_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(optimizer, args, kwargs)`` before each step; it may return new (args, kwargs)."""
        return _register(self._optimizer_step_pre_hooks, hook)

    def register_step_post_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(optimizer, args, kwargs)`` after each step."""
        return _register(self._optimizer_step_post_hooks, hook)

    def register_state_dict_pre_hook(self, hook: Callable, prepend: bool = False
                                     ) -> RemovableHandle:
        """``hook(optimizer)`` before `state_dict`."""
        return _register(self._optimizer_state_dict_pre_hooks, hook, prepend)

    def register_state_dict_post_hook(self, hook: Callable, prepend: bool = False
                                      ) -> RemovableHandle:
        """``hook(optimizer, state_dict)`` after `state_dict`; may return a new one."""
        return _register(self._optimizer_state_dict_post_hooks, hook, prepend)

    def register_load_state_dict_pre_hook(self, hook: Callable, prepend: bool = False
                                          ) -> RemovableHandle:
        """``hook(optimizer, state_dict)`` before `load_state_dict`; may return a new one."""
        return _register(self._optimizer_load_state_dict_pre_hooks, hook, prepend)

    def register_load_state_dict_post_hook(self, hook: Callable, prepend: bool = False
                                           ) -> RemovableHandle:
        """``hook(optimizer)`` after `load_state_dict`."""
        return _register(self._optimizer_load_state_dict_post_hooks, hook, prepend)


def _split_names(param_group: dict[str, Any]) -> None:
    """``named_parameters()`` given: (name, tensor) pairs become params plus ``param_names``."""
    tensors, names = [], []
    for param in param_group["params"]:
        if isinstance(param, tuple):
            names.append(param[0])
            tensors.append(param[1])
        else:
            tensors.append(param)
    param_group["params"] = tensors
    if names:
        if len(names) != len(tensors):
            raise ValueError("all optimizer params should be with/without names. Some param "
                             "names are missing")
        param_group["param_names"] = names


def _cast(param: Tensor, value, key=None):
    """A loaded state value for `param`: tensors in its dtype (``step`` as it is), containers
    rebuilt (torch's ``_cast``)."""
    if isinstance(value, Tensor):
        if key == "step" or not param.is_floating_point():
            return value
        return value.to(dtype=param.dtype)
    if isinstance(value, dict):
        return {k: _cast(param, v, key=k) for k, v in value.items()}
    if isinstance(value, Iterable) and not isinstance(value, (str, bytes)):
        return type(value)(_cast(param, v) for v in value)
    return value


class _Slot:
    """One parameter as its kernel sees it: flat C-ordered arrays of the parameter and of its
    state tensors, checked once (dtype, shape, writeable, no self-overlap). `fresh` tells
    whether the parameter's memory and its state are still the ones seen; when some array is
    not C-contiguous, `run` works on C-ordered copies and writes them back."""

    __slots__ = ("p", "data", "state", "keys", "tensors", "datas", "pf", "rest", "direct",
                 "step", "step_data", "dtype", "counts", "pairs", "addrs")

    def __init__(self, opt: Optimizer, p: Tensor, state: dict, keys: tuple):
        d = p._data
        name = type(opt).__name__
        if d.dtype not in _FLOATS:
            raise TypeError(f"{name}: tapegrad's optimizers update float32 and float64 "
                            f"parameters, not {p.dtype}")
        _check_writable(d)
        self.p, self.data, self.state, self.keys, self.dtype = p, d, state, keys, d.dtype
        self.tensors = [state[k] for k in keys if k is not None]
        for k, t in zip([k for k in keys if k is not None], self.tensors):
            _check_state(name, k, t, d)
        self.datas = [t._data for t in self.tensors]
        counts = opt._VERSIONS
        self.counts = [counts.get(k, 1) for k in keys if k is not None]
        self.direct = all(a.flags.c_contiguous for a in [d] + self.datas)
        # (reshape copies an array that is not contiguous: `run` then makes its own copies)
        self.pf, self.rest = _flat_args(d, self.datas, keys)
        self.step = state.get("step")
        self.step_data = None if self.step is None else self.step._data
        self.pairs = list(zip([k for k in keys if k is not None], self.tensors, self.datas))
        self.addrs = None  # (a group table's columns T_P, T_S0..T_S2, T_SIZE: see `_Plan`)

    def fresh(self, p: Tensor, state: dict, keys: tuple) -> bool:
        if p._data is not self.data or state is not self.state or (
                keys is not self.keys and keys != self.keys):
            return False
        if self.step is not None and (state.get("step") is not self.step
                                      or self.step._data is not self.step_data):
            return False
        for k, t, d in self.pairs:
            if state.get(k) is not t or t._data is not d:
                return False
        return True

    def columns(self) -> tuple:
        """The table columns T_P, T_S0, T_S1, T_S2, T_SIZE of this parameter (C-ordered memory
        only): the state's addresses in kernel order, the parameter's for an unused one."""
        if self.addrs is None:
            pa = _kernels.address(self.data)
            flat = iter([_kernels.address(a) for a in self.datas])
            st = [pa if k is None else next(flat) for k in self.keys]
            st += [pa] * (3 - len(st))
            self.addrs = (pa, *st, self.data.size)
        return self.addrs

    def advance(self) -> float:
        """step += 1 (in the counter's dtype, as torch's ``step_t += 1``); the new value."""
        a = self.step_data
        a[...] = float(a) + 1.0
        bump(self.step, 1)
        return float(a)

    def check_grad(self, grad: Tensor) -> np.ndarray:
        """The gradient's memory, of the parameter's shape and dtype."""
        g = grad._data
        if g.shape != self.data.shape or g.dtype != self.dtype:
            raise RuntimeError(f"the gradient of a parameter of shape {list(self.data.shape)} "
                               f"and dtype {self.p.dtype} has shape {list(g.shape)} and dtype "
                               f"{grad.dtype}")
        return g

    def run(self, kernel, grad: Tensor, h: np.ndarray, versions: int = 1,
            new_state: bool = False) -> None:
        """``kernel(param, grad, *state, h)`` on flat arrays, then the changes announced: the
        parameter's memory changed `versions` times (torch's in-place ops on it in this update),
        each state tensor's as many times as torch's update changes it (`_VERSIONS`), but a state
        that this update created (`new_state`)."""
        g = self.check_grad(grad)
        if self.direct:
            kernel(self.pf, g.reshape(-1), *self.rest, h)
        else:
            self._run_copied(kernel, g.reshape(-1), h)
        bump(self.p, versions)  # (`changed` when a graph or a view could see the old values)
        if not new_state:
            for t, n in zip(self.tensors, self.counts):
                bump(t, n)

    def _run_copied(self, kernel, gf: np.ndarray, h: np.ndarray) -> None:
        arrays = [self.data] + self.datas
        copies = [np.ascontiguousarray(a) for a in arrays]
        pf, rest = _flat_args(copies[0], copies[1:], self.keys)
        kernel(pf, gf, *rest, h)
        for a, c in zip(arrays, copies):
            if c is not a:
                a[...] = c


class _Plan:
    """One parameter group's update as one group-kernel call per dtype (`_kernels.sgd_group`
    ...): a table with a row per parameter that has a gradient, kept between steps.

    A step gets the plan from `Optimizer._plan` (which starts it), calls `add` for each
    parameter with a gradient in the group's order, then `run`. `add` checks the parameter's
    `_Slot` (position by position against the last step's, so an unchanged group costs identity
    checks) and its gradient, and advances its step counter. The table's parameter and state
    columns are rebuilt only when some `_Slot` or the set of parameters changed (`_build`); the
    gradients' addresses are written each step, since a backward after ``zero_grad()`` gives new
    gradient arrays, and the plan holds the gradients only until the step ends (else their
    memory could not be freed between steps). Every array the table points into was checked by
    `_Slot` (dtype, shape, writable, C order) and is kept alive by it; a gradient not in C order
    is copied for the call. When `add` raises (a parameter or gradient refused), the parameters
    before it are updated first, as one kernel call per parameter would have left them.
    """

    __slots__ = ("opt", "group", "rows", "grads", "gdata", "hidx", "new", "n", "hkeys",
                 "hcount", "parts", "fallback", "tab_rows", "kernels")

    def __init__(self, opt: Optimizer, group: dict[str, Any]) -> None:
        self.opt, self.group = opt, group
        self.rows: list = []   # position -> _Slot (this step's; beyond `n`, the last step's)
        self.grads: list = []  # position -> the gradient tensor (this step only)
        self.gdata: list = []  # position -> its memory in C order (this step only)
        self.hidx: list = []   # position -> row of its dtype's h
        self.new: list = []    # position -> its state was created by this step
        self.parts: list = []  # (dtype, table, positions of its rows or None: all) per dtype
        self.fallback: list = []  # positions updated one kernel call at a time
        self.tab_rows: list = []  # the `rows` the tables were built from

    def begin(self, group_kernel, kernel, hyper: Callable, versions: int) -> None:
        """Start a step: `group_kernel` runs each dtype's table, `kernel` a parameter alone,
        ``hyper(key, dtype)`` makes the h of each key given to `add`, `versions`: the changes of
        a parameter's memory in torch's update."""
        self.kernels = (group_kernel, kernel, hyper, versions)
        self.n = 0
        self.hkeys: dict = {}  # (dtype, key) -> row of that dtype's h
        self.hcount: dict = {}  # dtype -> rows of its h
        self.grads.clear()
        self.gdata.clear()
        self.hidx.clear()
        self.new.clear()

    def add(self, p: Tensor, grad: Tensor, state: dict, keys: tuple, key=None,
            advance: bool = False, new_state: bool = False) -> None:
        """Parameter `p` (gradient `grad`, state `state` whose `keys` are the kernel's state
        arguments, see `_Slot`) joins this step, with the h of `key`; with `advance` its step
        counter is advanced and the new count is the key. `new_state`: the state was just made
        (its versions do not advance)."""
        # (this runs for every parameter at every step: what `_Slot.fresh`, `advance`,
        # `check_grad` and `bump` do is written out here, a call costs ~0.1 µs)
        k = self.n
        rows = self.rows
        try:
            r = rows[k] if k < len(rows) else None
            if r is None or r.p is not p or not r.fresh(p, state, keys):
                r = self.opt._slot(p, state, keys)
            if advance:  # (step += 1 in the counter's dtype, as torch's ``step_t += 1``)
                a = r.step_data
                a[()] += 1
                key = float(a)
                t = r.step
                vc = t._vc
                if vc is None:
                    version_of(t).v += 1
                elif vc.saved or vc.stale or vc.members or vc.link is not None:
                    changed(t)
                else:
                    vc.v += 1
            g = grad._data
            if g.shape != r.data.shape or g.dtype != r.dtype:
                r.check_grad(grad)  # (raises)
        except Exception:
            self.run()  # (the parameters before this one, then the error)
            raise
        if r is not (rows[k] if k < len(rows) else None):
            if k < len(rows):
                rows[k] = r
            else:
                rows.append(r)
        self.n = k + 1
        self.grads.append(grad)
        self.gdata.append(g if g.flags.c_contiguous else np.ascontiguousarray(g))
        hk = (r.dtype, key)
        i = self.hkeys.get(hk)
        if i is None:
            i = self.hkeys[hk] = self.hcount.get(r.dtype, 0)
            self.hcount[r.dtype] = i + 1
        self.hidx.append(i)
        self.new.append(new_state)

    def run(self) -> None:
        """This step's update of the parameters added; then the changes announced as
        `_Slot.run` does."""
        group_kernel, kernel, hyper, versions = self.kernels
        n = self.n
        try:
            if n == 0:
                return
            hs: dict = {}
            for (dt, key), i in self.hkeys.items():
                h = hyper(key, dt)
                if dt not in hs:
                    hs[dt] = np.empty((self.hcount[dt], h.shape[0]), dt)
                hs[dt][i] = h
            rows, hidx, grads, new = self.rows, self.hidx, self.grads, self.new
            if len(rows) != n:
                del rows[n:]
            tab_rows = self.tab_rows
            if len(tab_rows) != n or any(a is not b for a, b in zip(rows, tab_rows)):
                self._build()
            gaddr = np.fromiter(map(_kernels.address, self.gdata), np.int64, n)
            hrow = np.fromiter(hidx, np.int64, n)
            for dt, tab, sel in self.parts:
                h = hs[dt]
                tab[:, _kernels.T_G] = gaddr if sel is None else gaddr[sel]
                tab[:, _kernels.T_H] = hrow if sel is None else hrow[sel]
                # (each row's h row is in bounds by construction; checked anyway, it costs
                # less than a microsecond per table)
                col = tab[:, _kernels.T_H]
                if col.min() < 0 or col.max() >= h.shape[0]:
                    raise AssertionError("optimizer: a table row refers to a missing h row")
                group_kernel(tab, _LIKE[dt], h)
            for k in self.fallback:
                r = rows[k]
                r.run(kernel, grads[k], hs[r.dtype][hidx[k]], versions, new[k])
            skip = self.fallback
            for k in range(n):
                if skip and k in skip:
                    continue
                r = rows[k]
                _bump_fast(r.p, versions)
                if not new[k]:
                    for t, c in zip(r.tensors, r.counts):
                        _bump_fast(t, c)
        finally:
            self.n = 0
            self.grads.clear()  # (the gradients' memory is the user's to free)
            self.gdata.clear()

    def _build(self) -> None:
        """The tables (one per dtype, rows in the group's order) from the current `rows`; a
        parameter or state not in C order goes to `fallback`."""
        by_dtype: dict = {}
        fallback = []
        for k, r in enumerate(self.rows):
            if r.direct:
                by_dtype.setdefault(r.dtype, []).append(k)
            else:
                fallback.append(k)
        parts = []
        for dt, ks in by_dtype.items():
            tab = np.zeros((len(ks), _kernels.TAB_W), np.int64)
            for i, k in enumerate(ks):
                pa, s0, s1, s2, size = self.rows[k].columns()
                tab[i, _kernels.T_P], tab[i, _kernels.T_SIZE] = pa, size
                tab[i, _kernels.T_S0], tab[i, _kernels.T_S1], tab[i, _kernels.T_S2] = s0, s1, s2
            whole = len(ks) == len(self.rows)
            parts.append((dt, tab, None if whole else np.array(ks, np.int64)))
        self.parts, self.fallback, self.tab_rows = parts, fallback, list(self.rows)


_LIKE = {dt: np.empty(0, dt) for dt in _FLOATS}  # (`like`: picks a group kernel's dtype)


def bump(t: Tensor, n: int) -> None:
    """`t`'s memory was written `n` times outside graphs (as torch counts its in-place ops).
    When no graph saved these values and no view or ``.data`` alias could read them, that only
    advances the version counter; else each is a `changed`."""
    vc = t._vc
    if vc is not None and (vc.saved or vc.stale or vc.members or vc.link is not None):
        for _ in range(n):
            changed(t)
    else:
        version_of(t).v += n


def _bump_fast(t: Tensor, n: int) -> None:
    """`bump`, the common case first (no graph or view saw the memory; a function call less
    when the counter exists)."""
    vc = t._vc
    if vc is not None and not (vc.saved or vc.stale or vc.members or vc.link is not None):
        vc.v += n
    else:
        bump(t, n)


def _flat_args(d: np.ndarray, datas: list, keys: tuple) -> tuple:
    """(p's flat array, the state's flat arrays in kernel order, p's for each unused one)."""
    pf = d.reshape(-1)
    flat = iter([a.reshape(-1) for a in datas])
    return pf, tuple(pf if k is None else next(flat) for k in keys)


def _check_writable(d: np.ndarray) -> None:
    if d.size > 1 and any(st == 0 and n > 1 for st, n in zip(d.strides, d.shape)):
        raise RuntimeError(_OVERLAP)
    if not d.flags.writeable:
        raise RuntimeError("the tensor's memory is read-only (a numpy array that is not "
                           "writeable): an optimizer cannot update it")


def _check_state(name: str, key: str, t, d: np.ndarray) -> None:
    """A state tensor a kernel will write: p's shape and dtype (a loaded or assigned one may
    not be), writable memory."""
    if not isinstance(t, Tensor):
        raise TypeError(f"{name}: state '{key}' should be a Tensor, but got {_typename(t)}")
    td = t._data
    if td.shape != d.shape or td.dtype != d.dtype:
        raise RuntimeError(f"{name}: state '{key}' has shape {list(td.shape)} and dtype "
                           f"{t.dtype}, but its parameter has shape {list(d.shape)} and dtype "
                           f"{_wrap(d).dtype}")
    _check_writable(td)
