"""Optimizer and lr-scheduler programs, each written against a library module `lib` (torch or
tapegrad) and returning what a user would look at: parameters after some steps, the state and
its ``state_dict``, version counters, reprs, lr sequences, warnings and errors.

Record torch's observations (an interpreter with torch; tapegrad is not imported):

    /path/to/python-with-torch -m tests.torch_ref.optim    # writes tests/data/torch_optim.json

`tests/test_optim.py` runs the same programs with tapegrad and compares; the LBFGS programs
(`lbfgs_cases`, `run_lbfgs`) are recorded alongside and compared by `tests/test_lbfgs.py`.
"""
from __future__ import annotations

import copy
import json
import math
import pathlib
import warnings

from . import jsonable, norm_msg, observe

DATA = pathlib.Path(__file__).resolve().parents[1] / "data" / "torch_optim.json"

# the parameters (fixed values, so both libraries start from the same numbers), the loss's
# targets and weights: loss = sum((c1 * (p1 - t1)) ** 2) + sum((c2 * (p2 - t2)) ** 2); p3 never
# gets a gradient (an optimizer skips it)
P1 = [[0.8, -1.3, 0.25], [1.7, -0.4, 2.2]]
T1 = [[0.1, 0.5, -0.3], [1.0, 0.2, -1.1]]
C1 = [[1.0, 0.7, 1.9], [0.3, 1.2, 0.55]]
P2 = [-0.6, 0.9, 3.1, -2.4]
T2 = [0.4, -0.2, 1.5, 0.3]
C2 = [0.8, 1.1, 0.45, 1.6]
P3 = [0.5, -0.5]
STEPS = 6


def _params(lib, dt):
    return [lib.tensor(v, dtype=dt, requires_grad=True) for v in (P1, P2, P3)]


def _loss(lib, ps):
    p1, p2 = ps[0], ps[1]
    dt = p1.dtype
    d1 = (p1 - lib.tensor(T1, dtype=dt)) * lib.tensor(C1, dtype=dt)
    d2 = (p2 - lib.tensor(T2, dtype=dt)) * lib.tensor(C2, dtype=dt)
    return (d1 * d1).sum() + (d2 * d2).sum()


def _kwargs(kw: dict) -> dict:
    return {k: tuple(v) if k == "betas" else v for k, v in kw.items()}


def _state(opt, ps) -> dict:
    """The state per parameter index: key order, values and version counters."""
    out = {}
    for i, p in enumerate(ps):
        if p in opt.state:
            st = opt.state[p]
            out[str(i)] = {"keys": list(st), "values": {k: v for k, v in st.items()},
                           "versions": {k: v._version for k, v in st.items()}}
    return out


def _train(lib, opt, ps, steps: int = STEPS) -> list:
    """`steps` steps; the parameters after the first."""
    first = None
    for i in range(steps):
        opt.zero_grad()
        _loss(lib, ps).backward()
        opt.step()
        if i == 0:
            first = [p.detach().clone() for p in ps]
    return first


def trajectory(lib, name: str, kw: dict, dtype: str):
    """`STEPS` steps of optimizer `name` with options `kw`."""
    ps = _params(lib, getattr(lib, dtype))
    opt = getattr(lib.optim, name)(ps, **_kwargs(kw))
    first = _train(lib, opt, ps)
    sd = opt.state_dict()
    return {"first": first, "params": ps, "versions": [p._version for p in ps],
            "state": _state(opt, ps), "state_dict keys": sorted(sd), "state indices":
            sorted(sd["state"]), "param_groups": sd["param_groups"],
            "grad none": ps[2].grad is None}


# optimizer, options (JSON: betas as lists): every option and the branches of the formulas
# (lerp's two sides with large 1 - beta, amsgrad's max, nesterov, maximize, weight decay)
TRAJECTORIES = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "dampening": 0.3}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.1, "weight_decay": 0.2}),
    ("SGD", {"lr": 0.02, "momentum": 0.5, "weight_decay": 0.1, "maximize": True}),
    ("SGD", {"lr": 0.03, "momentum": 0.7, "nesterov": True, "weight_decay": 0.05,
             "maximize": True}),
    ("Adam", {}),
    ("Adam", {"lr": 0.05}),
    ("Adam", {"lr": 0.05, "amsgrad": True, "betas": [0.9, 0.5]}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.3}),
    ("Adam", {"lr": 0.05, "maximize": True}),
    ("Adam", {"lr": 0.05, "betas": [0.3, 0.4], "eps": 1e-3}),
    ("Adam", {"lr": 0.04, "amsgrad": True, "weight_decay": 0.1, "maximize": True,
              "betas": [0.8, 0.6]}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.2, "decoupled_weight_decay": True}),
    ("Adam", {"lr": 0.05, "fused": True}),
    ("AdamW", {}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.5, "amsgrad": True, "betas": [0.9, 0.5]}),
    ("AdamW", {"lr": 0.05, "maximize": True, "betas": [0.2, 0.9]}),
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.01, "centered": True}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9}),
    ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.5, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.3, "centered": True, "maximize": True, "eps": 1e-4}),
    ("Adagrad", {}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.1}),
    ("Adagrad", {"lr": 0.1, "weight_decay": 0.1, "initial_accumulator_value": 0.5}),
    ("Adagrad", {"lr": 0.1, "maximize": True, "eps": 1e-3}),
    ("Adagrad", {"lr": 0.1, "fused": True}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "fused": True}),
    ("RMSprop", {"lr": 0.01, "foreach": True, "momentum": 0.5}),
]


def _case_id(name: str, kw: dict, dtype: str) -> str:
    opts = ",".join(f"{k}={v}" for k, v in kw.items()) or "defaults"
    return f"{name}({opts}) {dtype}"


# -- programs about the optimizer's machinery ------------------------------------------------
def _sgd(lib, ps, **kw):
    return lib.optim.SGD(ps, **kw)


def groups(lib):
    """Two groups with their own hyper-parameters."""
    ps = _params(lib, lib.float64)
    opt = lib.optim.SGD([{"params": [ps[0]], "lr": 0.1, "momentum": 0.9},
                         {"params": [ps[1], ps[2]]}], lr=0.02)
    _train(lib, opt, ps, 3)
    sd = opt.state_dict()
    return {"params": ps, "param_groups": sd["param_groups"], "repr": repr(opt),
            "state": _state(opt, ps)}


def add_param_group(lib):
    """A group added after some steps gets the defaults and its own state."""
    ps = _params(lib, lib.float64)
    opt = lib.optim.Adam([ps[0]], lr=0.1)
    _train(lib, opt, ps, 2)
    opt.add_param_group({"params": ps[1], "betas": (0.5, 0.9)})
    _train(lib, opt, ps, 2)
    return {"params": ps, "param_groups": opt.state_dict()["param_groups"],
            "state": _state(opt, ps)}


def named_params(lib):
    """(name, tensor) pairs: ``param_names`` in the groups."""
    ps = _params(lib, lib.float64)
    opt = lib.optim.Adam([("a", ps[0]), ("b", ps[1])], lr=0.1)
    _train(lib, opt, ps, 1)
    return {"param_groups": opt.state_dict()["param_groups"], "params": ps}


def state_dict_round_trip(lib):
    """A second optimizer on copies of the parameters, loaded from the first's state_dict,
    continues as the first would have."""
    ps = _params(lib, lib.float64)
    opt = lib.optim.Adam(ps, lr=0.05, amsgrad=True, betas=(0.9, 0.5))
    _train(lib, opt, ps, 3)
    sd = opt.state_dict()
    qs = [p.detach().clone().requires_grad_() for p in ps]
    opt2 = lib.optim.Adam(qs, lr=0.5)
    opt2.load_state_dict(sd)
    shared = opt2.state[qs[0]]["exp_avg"] is sd["state"][0]["exp_avg"]
    _train(lib, opt2, qs, 2)
    return {"params": qs, "lr": opt2.param_groups[0]["lr"], "shares state tensors": shared,
            "state": _state(opt2, qs), "same objects in state_dict":
            sd["state"][0]["exp_avg"] is opt.state[ps[0]]["exp_avg"]}


def load_casts_dtype(lib):
    """A float64 optimizer's state loaded for float32 parameters: cast (the step is not)."""
    ps = _params(lib, lib.float64)
    opt = lib.optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True)
    _train(lib, opt, ps, 2)
    qs = _params(lib, lib.float32)
    opt2 = lib.optim.RMSprop(qs, lr=0.01, momentum=0.5, centered=True)
    opt2.load_state_dict(opt.state_dict())
    _train(lib, opt2, qs, 2)
    return {"params": qs, "state": _state(opt2, qs)}


def old_checkpoint_step(lib):
    """A state_dict whose steps are numbers (older checkpoints): loaded as tensors."""
    ps = _params(lib, lib.float32)
    opt = lib.optim.Adam(ps, lr=0.05)
    _train(lib, opt, ps, 2)
    sd = opt.state_dict()
    old = {"state": {k: {**v, "step": float(v["step"])} for k, v in sd["state"].items()},
           "param_groups": sd["param_groups"]}
    qs = _params(lib, lib.float32)
    opt2 = lib.optim.Adam(qs, lr=0.05)
    opt2.load_state_dict(old)
    loaded = {k: v["step"] for k, v in opt2.state_dict()["state"].items()}
    _train(lib, opt2, qs, 1)
    return {"loaded steps": loaded, "params": qs}


def sgd_state(lib):
    """SGD keeps no state without momentum; with it a buffer after the first step only."""
    ps = _params(lib, lib.float32)
    plain = lib.optim.SGD(ps, lr=0.1)
    before = len(plain.state_dict()["state"])
    _train(lib, plain, ps, 1)
    qs = _params(lib, lib.float32)
    mom = lib.optim.SGD(qs, lr=0.1, momentum=0.9)
    empty = mom.state_dict()["state"]
    _train(lib, mom, qs, 1)
    return {"plain": [before, plain.state_dict()["state"]],
            "momentum": [empty, sorted(mom.state_dict()["state"]), _state(mom, qs)]}


def momentum_switched_on(lib):
    """Momentum set in the group after two plain steps: the buffer starts then."""
    ps = _params(lib, lib.float64)
    opt = lib.optim.SGD(ps, lr=0.05)
    _train(lib, opt, ps, 2)
    opt.param_groups[0]["momentum"] = 0.9
    _train(lib, opt, ps, 3)
    return {"params": ps, "state": _state(opt, ps)}


def adagrad_initial_state(lib):
    """Adagrad's state exists from construction, for every parameter."""
    ps = _params(lib, lib.float32)
    opt = lib.optim.Adagrad(ps, initial_accumulator_value=0.25)
    return {"state": _state(opt, ps), "indices": sorted(opt.state_dict()["state"])}


def zero_grad_to_zeros(lib):
    """zero_grad(set_to_none=False): zero gradients, which Adam still steps with."""
    ps = _params(lib, lib.float64)
    opt = lib.optim.Adam(ps, lr=0.1)
    _loss(lib, ps).backward()
    opt.step()
    opt.zero_grad(set_to_none=False)
    grads = [p.grad for p in ps]
    opt.step()
    opt.zero_grad()
    return {"grads": grads, "params": ps, "after": [p.grad is None for p in ps],
            "state": _state(opt, ps)}


def closure(lib):
    """step(closure) calls it with grad mode on and returns its loss."""
    ps = _params(lib, lib.float64)
    opt = lib.optim.SGD(ps, lr=0.1, momentum=0.5)
    seen = []

    def fn():
        opt.zero_grad()
        loss = _loss(lib, ps)
        loss.backward()
        seen.append(lib.is_grad_enabled())
        return loss
    with lib.no_grad():
        losses = [float(opt.step(fn)) for _ in range(3)]
    return {"losses": losses, "grad mode in closure": seen, "params": ps}


def hooks(lib):
    """Step pre/post hooks, state_dict hooks: called in torch's order; removable."""
    ps = _params(lib, lib.float32)
    opt = lib.optim.SGD(ps, lr=0.1)
    calls = []
    h1 = opt.register_step_pre_hook(lambda o, a, k: calls.append(("pre", len(a), sorted(k))))
    opt.register_step_post_hook(lambda o, a, k: calls.append(("post", len(a), sorted(k))))
    opt.register_state_dict_pre_hook(lambda o: calls.append(("sd pre",)))
    opt.register_state_dict_post_hook(lambda o, sd: calls.append(("sd post", sorted(sd))))
    opt.register_load_state_dict_pre_hook(lambda o, sd: calls.append(("load pre", sorted(sd))))
    opt.register_load_state_dict_post_hook(lambda o: calls.append(("load post",)))
    _loss(lib, ps).backward()
    opt.step()
    h1.remove()
    opt.step(closure=None)
    opt.load_state_dict(opt.state_dict())
    return calls


def after_step(lib):
    """A parameter stays a leaf that requires grad; the step records nothing."""
    ps = _params(lib, lib.float32)
    opt = lib.optim.Adam(ps)
    _train(lib, opt, ps, 1)
    st = opt.state[ps[0]]
    return {"leaf": [p.is_leaf for p in ps], "grad_fn": [p.grad_fn is None for p in ps],
            "requires_grad": [p.requires_grad for p in ps],
            "state requires_grad": [v.requires_grad for v in st.values()],
            "state dtypes": [str(v.dtype).split(".")[-1] for v in st.values()],
            "step shape": list(st["step"].shape)}


def modified_error(lib):
    """A parameter saved by a graph and updated by a step: backward raises torch's error."""
    p = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    opt = lib.optim.SGD([p], lr=0.1)
    y = (p * p).sum()
    y.backward(retain_graph=True)
    opt.step()
    return {"version": p._version, "backward": observe(lambda: y.backward())}


def noncontiguous_param(lib):
    """A leaf over transposed memory: updated in place, its base sees it."""
    base = lib.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], dtype=lib.float64)
    p = base.t().detach().requires_grad_()
    opt = lib.optim.Adam([p], lr=0.1, amsgrad=True)
    c = lib.tensor([[1.0, 2.0], [0.5, 1.5], [2.5, 0.3]], dtype=lib.float64)
    for _ in range(3):
        opt.zero_grad()
        ((p - c) * (p - c) * c).sum().backward()
        opt.step()
    return {"p": p, "base": base, "contiguous": p.is_contiguous(), "state": _state(opt, [p])}


def scalar_and_empty(lib):
    """A 0-d parameter and an empty one."""
    s = lib.tensor(1.5, requires_grad=True)
    e = lib.zeros(0, 3, requires_grad=True)
    opt = lib.optim.RMSprop([s, e], lr=0.1, momentum=0.5)
    for _ in range(3):
        opt.zero_grad()
        (s * s * 3.0 + e.sum()).backward()
        opt.step()
    return {"s": s, "e": list(e.shape), "state": _state(opt, [s, e])}


def default_float64(lib):
    """With float64 as the default dtype a new step counter is float64."""
    old = lib.get_default_dtype()
    lib.set_default_dtype(lib.float64)
    try:
        ps = _params(lib, lib.float64)
        opt = lib.optim.Adam(ps, lr=0.1)
        fused = lib.optim.Adagrad(_params(lib, lib.float64), fused=True)
        _train(lib, opt, ps, 2)
        return {"params": ps, "state": _state(opt, ps), "fused step": fused.state_dict()[
            "state"][0]["step"]}
    finally:
        lib.set_default_dtype(old)


def lr_tensor(lib):
    """A 1-element tensor lr (torch accepts one)."""
    ps = _params(lib, lib.float64)
    opt = lib.optim.SGD(ps, lr=lib.tensor(0.1, dtype=lib.float64), momentum=0.5)
    _train(lib, opt, ps, 2)
    return {"params": ps}


def scheduled_adam(lib):
    """A scheduler's lr is what the optimizer uses."""
    ps = _params(lib, lib.float32)
    opt = lib.optim.Adam(ps, lr=0.1)
    sched = lib.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.25)
    for _ in range(5):
        opt.zero_grad()
        _loss(lib, ps).backward()
        opt.step()
        sched.step()
    return {"params": ps, "lr": sched.get_last_lr(),
            "param_groups": opt.state_dict()["param_groups"]}


def custom_subclass(lib):
    """A user's optimizer written torch's way: its own state, in-place ops under no_grad."""
    class SignSGD(lib.optim.Optimizer):
        def __init__(self, params, lr=0.01, decay=0.5):
            super().__init__(params, {"lr": lr, "decay": decay})

        @lib.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    st = self.state[p]
                    if "avg" not in st:
                        st["avg"] = lib.zeros_like(p)
                    st["avg"].mul_(group["decay"]).add_(p.grad)
                    p.add_(st["avg"].sign(), alpha=-group["lr"])
    ps = _params(lib, lib.float64)
    opt = SignSGD(ps, lr=0.05)
    calls = []
    opt.register_step_post_hook(lambda o, a, k: calls.append(len(a)))
    _train(lib, opt, ps, 3)
    return {"params": ps, "state": _state(opt, ps), "calls": calls, "repr": repr(opt),
            "param_groups": opt.state_dict()["param_groups"]}


# -- a group's parameters updated together (tapegrad: one kernel call per dtype) --------------
_MIXED = [([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], "float32"), ([0.3, -0.7], "float64"),
          ([[1.0, 2.0], [-0.5, 0.5], [0.2, -0.1]], "float64"), (1.25, "float32"),
          ([-0.4, 0.9, 0.1], "float32")]


def _mixed_params(lib):
    """Float32 and float64 parameters in one group, one over transposed memory, a 0-d one."""
    ps = [lib.tensor(v, dtype=getattr(lib, dt), requires_grad=True) for v, dt in _MIXED]
    ps[2] = ps[2].t().detach().requires_grad_()  # (transposed memory)
    return ps


def _mixed_loss(lib, ps, which=None):
    """A loss over the parameters in `which` (all by default): only those get gradients."""
    total = None
    for i, p in enumerate(ps):
        if which is not None and i not in which:
            continue
        q = p.double() if p.dtype != lib.float64 else p
        term = ((q - 0.3 * (i + 1)) ** 2 * (1.0 + 0.5 * i)).sum()
        total = term if total is None else total + term
    return total


_GROUPED = [("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
            ("Adam", {"lr": 0.05, "amsgrad": True}), ("AdamW", {"lr": 0.05}),
            ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.5}),
            ("Adagrad", {"lr": 0.1, "lr_decay": 0.05})]


def grouped_mixed(lib):
    """Every optimizer over one group of mixed dtypes and memory orders, where the parameters
    with a gradient change from step to step (so their step counts differ)."""
    out = {}
    for name, kw in _GROUPED:
        ps = _mixed_params(lib)
        opt = getattr(lib.optim, name)(ps, **kw)
        for which in (None, (0, 2, 4), (1, 2), None, (3,), None):
            opt.zero_grad()
            _mixed_loss(lib, ps, which).backward()
            opt.step()
        out[name] = {"params": ps, "state": _state(opt, ps),
                     "versions": [p._version for p in ps]}
    return out


def grouped_replaced(lib):
    """Between steps: a parameter's memory replaced (``p.data = ...``), a state tensor replaced,
    a state reset, one state changed in place: each next step uses what is there now."""
    ps = _mixed_params(lib)
    opt = lib.optim.Adam(ps, lr=0.05)
    seen = []
    for i in range(4):
        opt.zero_grad()
        _mixed_loss(lib, ps).backward()
        opt.step()
        if i == 0:
            ps[1].data = lib.tensor([1.5, 2.5], dtype=lib.float64)
            opt.state[ps[0]]["exp_avg"] = lib.zeros(2, 3)
        elif i == 1:
            opt.state[ps[4]] = {}
            opt.state[ps[3]]["exp_avg_sq"].mul_(2.0)
        seen.append([p.detach().clone() for p in ps])
    # (not ps[1]'s version: tapegrad's ``p.data = t`` starts p's counter anew, torch's keeps it;
    # that is the tensor's business, not the optimizer's)
    return {"seen": seen, "state": _state(opt, ps),
            "versions": [p._version for i, p in enumerate(ps) if i != 1]}


def duplicate_param(lib):
    """A parameter listed twice in a group (torch warns): updated twice per step, in order."""
    out = {}
    for name, kw in (("SGD", {"lr": 0.1, "momentum": 0.9}), ("Adam", {"lr": 0.05})):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p = lib.tensor([1.0, -2.0, 0.5], requires_grad=True)
            q = lib.tensor([0.3], requires_grad=True)
            opt = getattr(lib.optim, name)([p, q, p], **kw)
        for _ in range(3):
            opt.zero_grad()
            ((p * p).sum() + (q * q * 2).sum()).backward()
            opt.step()
        out[name] = {"params": [p, q], "state": _state(opt, [p, q]),
                     "versions": [p._version, q._version]}
    return out


def many_params(lib):
    """A group of 40 parameters of many sizes (empty and 0-d too), SGD and Adam."""
    out = {}
    for name, kw in (("SGD", {"lr": 0.05, "momentum": 0.5}), ("Adam", {"lr": 0.02})):
        ps = [lib.tensor([math.sin(0.37 * i + j) for j in range(i % 7)], requires_grad=True)
              for i in range(38)]
        ps += [lib.tensor(0.75, requires_grad=True), lib.zeros(0, 4, requires_grad=True)]
        opt = getattr(lib.optim, name)(ps, **kw)
        for _ in range(3):
            opt.zero_grad()
            sum(((p - 0.1) ** 2).sum() * (1 + 0.01 * i) for i, p in enumerate(ps)).backward()
            opt.step()
        out[name] = {"params": ps, "versions": [p._version for p in ps],
                     "steps": [float(opt.state[p]["step"]) for p in ps if "step" in opt.state[p]]}
    return out


def _reprs(lib):
    p = lib.tensor([1.0], requires_grad=True)
    q = lib.tensor([2.0], requires_grad=True)
    o = lib.optim
    return {"SGD": repr(o.SGD([p])), "Adam": repr(o.Adam([p])), "AdamW": repr(o.AdamW([p])),
            "RMSprop": repr(o.RMSprop([p])), "Adagrad": repr(o.Adagrad([p])),
            "SGD groups": repr(o.SGD([{"params": [p], "lr": 0.5}, {"params": [q]}],
                                     momentum=0.9, nesterov=True))}


PROGRAMS = {f.__name__: f for f in (
    groups, add_param_group, named_params, state_dict_round_trip, load_casts_dtype,
    old_checkpoint_step, sgd_state,
    momentum_switched_on, adagrad_initial_state, zero_grad_to_zeros, closure, hooks,
    after_step, modified_error, noncontiguous_param, scalar_and_empty, default_float64,
    lr_tensor, scheduled_adam, custom_subclass, _reprs, grouped_mixed, grouped_replaced,
    duplicate_param, many_params)}


# -- errors ----------------------------------------------------------------------------------
def _p(lib):
    return lib.tensor([1.0, 2.0], requires_grad=True)


def _two_groups(lib):
    return lib.optim.SGD([{"params": [_p(lib)]}, {"params": [_p(lib)]}], lr=0.1)


def _load(lib, make_sd):
    opt = lib.optim.SGD([_p(lib), _p(lib)], lr=0.1)
    opt.load_state_dict(make_sd(lib))


def _dup_group(lib):
    p = _p(lib)
    lib.optim.SGD([p], lr=0.1).add_param_group({"params": [p]})


def _dup_in_group(lib):
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter("always")
        p = _p(lib)
        lib.optim.SGD([p, p], lr=0.1)
    return [str(w.message) for w in ws]


def _expanded(lib):
    """A parameter whose elements share memory: torch's in-place update refuses it."""
    p = lib.ones(1).expand(3).requires_grad_()
    p.grad = lib.ones(3)
    lib.optim.SGD([p], lr=0.1).step()


ERRORS = {
    "expanded param": _expanded,
    "params is a tensor": lambda lib: lib.optim.SGD(lib.tensor([1.0, 2.0]), lr=0.1),
    "params is a float64 tensor": lambda lib: lib.optim.Adam(
        lib.tensor([1.0], dtype=lib.float64)),
    "empty params": lambda lib: lib.optim.SGD([], lr=0.1),
    "param not a tensor": lambda lib: lib.optim.SGD([1.0], lr=0.1),
    "param list of str": lambda lib: lib.optim.Adam(["w"]),
    "non-leaf": lambda lib: lib.optim.SGD([_p(lib) * 2], lr=0.1),
    "set of params (accepted: made a list first)": lambda lib: lib.optim.SGD({_p(lib)}, lr=0.1),
    "group's params a set": lambda lib: lib.optim.SGD([{"params": {_p(lib)}}], lr=0.1),
    "group not a dict": lambda lib: lib.optim.SGD([_p(lib)]).add_param_group([_p(lib)]),
    "param in two groups": _dup_group,
    "param twice in a group (warning)": _dup_in_group,
    "names missing": lambda lib: lib.optim.SGD([("a", _p(lib)), _p(lib)], lr=0.1),
    "named and unnamed groups": lambda lib: lib.optim.SGD(
        [{"params": [("a", _p(lib))]}, {"params": [_p(lib)]}], lr=0.1),
    "SGD lr -0.1": lambda lib: lib.optim.SGD([_p(lib)], lr=-0.1),
    "SGD momentum": lambda lib: lib.optim.SGD([_p(lib)], lr=0.1, momentum=-1),
    "SGD weight_decay": lambda lib: lib.optim.SGD([_p(lib)], lr=0.1, weight_decay=-0.5),
    "SGD nesterov without momentum": lambda lib: lib.optim.SGD([_p(lib)], lr=0.1,
                                                                nesterov=True),
    "SGD nesterov with dampening": lambda lib: lib.optim.SGD(
        [_p(lib)], lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
    "SGD fused and foreach": lambda lib: lib.optim.SGD([_p(lib)], fused=True, foreach=True),
    "SGD lr tensor of 2": lambda lib: lib.optim.SGD([_p(lib)], lr=lib.tensor([0.1, 0.2])),
    "Adam lr": lambda lib: lib.optim.Adam([_p(lib)], lr=-1e-3),
    "Adam eps": lambda lib: lib.optim.Adam([_p(lib)], eps=-1.0),
    "Adam beta0": lambda lib: lib.optim.Adam([_p(lib)], betas=(1.0, 0.9)),
    "Adam beta1": lambda lib: lib.optim.Adam([_p(lib)], betas=(0.9, -0.1)),
    "Adam weight_decay": lambda lib: lib.optim.Adam([_p(lib)], weight_decay=-1.0),
    "Adam betas mixed": lambda lib: lib.optim.Adam([_p(lib)], betas=(0.9, 1)),
    "AdamW lr": lambda lib: lib.optim.AdamW([_p(lib)], lr=-2.0),
    "RMSprop alpha": lambda lib: lib.optim.RMSprop([_p(lib)], alpha=-0.5),
    "RMSprop momentum": lambda lib: lib.optim.RMSprop([_p(lib)], momentum=-0.5),
    "RMSprop eps": lambda lib: lib.optim.RMSprop([_p(lib)], eps=-0.5),
    "Adagrad lr_decay": lambda lib: lib.optim.Adagrad([_p(lib)], lr_decay=-0.5),
    "Adagrad initial_accumulator_value": lambda lib: lib.optim.Adagrad(
        [_p(lib)], initial_accumulator_value=-1),
    "Adagrad eps": lambda lib: lib.optim.Adagrad([_p(lib)], eps=-1),
    "load: group count": lambda lib: _load(lib, lambda lib: _two_groups(lib).state_dict()),
    "load: group size": lambda lib: _load(lib, lambda lib: lib.optim.SGD(
        [_p(lib)], lr=0.1).state_dict()),
    "step: Optimizer base": lambda lib: lib.optim.Optimizer([_p(lib)], {"lr": 0.1}).step(),
    "repr base": lambda lib: repr(lib.optim.Optimizer([_p(lib)], {"lr": 0.1, "x": None})),
}


def _sched(lib, lr: float = 0.1, n_groups: int = 1, momentum: float = 0.9, kind: str = "SGD"):
    ps = [lib.tensor([1.0], requires_grad=True) for _ in range(n_groups)]
    groups = [{"params": [p]} for p in ps]
    if kind == "Adam":
        return lib.optim.Adam(groups, lr=lr)
    return lib.optim.SGD(groups, lr=lr, momentum=momentum)


S = "lr_scheduler"
SCHED_ERRORS = {
    "not an optimizer": lambda lib: getattr(lib.optim, S).StepLR(3, step_size=1),
    "resume without initial_lr": lambda lib: getattr(lib.optim, S).StepLR(
        _sched(lib), step_size=1, last_epoch=3),
    "LinearLR start_factor": lambda lib: getattr(lib.optim, S).LinearLR(_sched(lib),
                                                                        start_factor=0),
    "LinearLR end_factor": lambda lib: getattr(lib.optim, S).LinearLR(_sched(lib),
                                                                      end_factor=1.5),
    "ConstantLR factor": lambda lib: getattr(lib.optim, S).ConstantLR(_sched(lib), factor=2),
    "LambdaLR count": lambda lib: getattr(lib.optim, S).LambdaLR(
        _sched(lib), [lambda e: 1.0, lambda e: 2.0]),
    "MultiplicativeLR not callable": lambda lib: getattr(lib.optim, S).MultiplicativeLR(
        _sched(lib), [3]),
    "Plateau factor": lambda lib: getattr(lib.optim, S).ReduceLROnPlateau(_sched(lib),
                                                                          factor=1.0),
    "Plateau mode": lambda lib: getattr(lib.optim, S).ReduceLROnPlateau(_sched(lib),
                                                                        mode="up"),
    "Plateau threshold mode": lambda lib: getattr(lib.optim, S).ReduceLROnPlateau(
        _sched(lib), threshold_mode="x"),
    "Plateau min_lrs": lambda lib: getattr(lib.optim, S).ReduceLROnPlateau(
        _sched(lib), min_lr=[0.1, 0.2]),
    "OneCycle no steps": lambda lib: getattr(lib.optim, S).OneCycleLR(_sched(lib), 1.0),
    "OneCycle total_steps": lambda lib: getattr(lib.optim, S).OneCycleLR(
        _sched(lib), 1.0, total_steps=0),
    "OneCycle epochs": lambda lib: getattr(lib.optim, S).OneCycleLR(
        _sched(lib), 1.0, epochs=0, steps_per_epoch=3),
    "OneCycle pct_start": lambda lib: getattr(lib.optim, S).OneCycleLR(
        _sched(lib), 1.0, total_steps=5, pct_start=1.5),
    "OneCycle anneal": lambda lib: getattr(lib.optim, S).OneCycleLR(
        _sched(lib), 1.0, total_steps=5, anneal_strategy="exp"),
    "OneCycle no momentum": lambda lib: getattr(lib.optim, S).OneCycleLR(
        lib.optim.Adagrad([lib.tensor([1.0], requires_grad=True)]), 1.0, total_steps=5),
    "OneCycle max_lr count": lambda lib: getattr(lib.optim, S).OneCycleLR(
        _sched(lib), [1.0, 2.0], total_steps=5),
    "OneCycle stepped too far": lambda lib: _step_n(getattr(lib.optim, S).OneCycleLR(
        _sched(lib), 1.0, total_steps=3), 4),
    "Sequential milestones": lambda lib: _sequential(lib, [1, 2]),
    "Sequential empty": lambda lib: getattr(lib.optim, S).SequentialLR(_sched(lib), [], []),
    "WarmRestarts T_0": lambda lib: getattr(lib.optim, S).CosineAnnealingWarmRestarts(
        _sched(lib), T_0=0),
    "WarmRestarts T_mult": lambda lib: getattr(lib.optim, S).CosineAnnealingWarmRestarts(
        _sched(lib), T_0=2, T_mult=0),
    "CyclicLR mode": lambda lib: getattr(lib.optim, S).CyclicLR(_sched(lib), 0.1, 1.0,
                                                                mode="zigzag"),
    "base get_lr": lambda lib: getattr(lib.optim, S).LRScheduler(_sched(lib)),
}


def _step_n(sched, n: int) -> list:
    out = []
    for _ in range(n):
        sched.optimizer.step()
        sched.step()
        out.append(sched.get_last_lr())
    return out


def _sequential(lib, milestones):
    opt = _sched(lib)
    ls = getattr(lib.optim, S)
    return ls.SequentialLR(opt, [ls.ConstantLR(opt, factor=0.5, total_iters=2),
                                 ls.ExponentialLR(opt, gamma=0.9)], milestones=milestones)


# -- schedulers: lr sequences ------------------------------------------------------------------
def _record(lib, make, steps: int = 14, extra=None):
    """Construct the scheduler, step it `steps` times (after the optimizer's step, as a user
    should); the lrs (and `extra(optimizer)` after each step), warnings, state_dict."""
    opt = _sched(lib) if extra is None or "opt" not in extra else extra["opt"](lib)
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter("always")
        sched = make(getattr(lib.optim, S), opt)
        lrs = [sched.get_last_lr()]
        more = []
        for _ in range(steps):
            opt.step()
            sched.step()
            lrs.append(sched.get_last_lr())
            if extra is not None and "watch" in extra:
                more.append(extra["watch"](opt))
    sd = sched.state_dict()
    return {"lrs": lrs, "more": more, "warnings": [norm_msg(str(w.message)) for w in ws],
            "state keys": sorted(sd), "last_epoch": getattr(sched, "last_epoch", None),
            "groups": [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]}


def _two(lib):
    return _sched(lib, n_groups=2)


def _adam(lib):
    return _sched(lib, kind="Adam")


_MOM = {"watch": lambda opt: [g["momentum"] for g in opt.param_groups]}
_BETAS = {"opt": _adam, "watch": lambda opt: [list(g["betas"]) for g in opt.param_groups]}

SCHEDULES = {
    "StepLR": (lambda ls, o: ls.StepLR(o, step_size=3, gamma=0.5), None),
    "MultiStepLR": (lambda ls, o: ls.MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.3), None),
    "ExponentialLR": (lambda ls, o: ls.ExponentialLR(o, gamma=0.9), None),
    "CosineAnnealingLR": (lambda ls, o: ls.CosineAnnealingLR(o, T_max=5, eta_min=0.01), None),
    "CosineAnnealingLR long": (lambda ls, o: ls.CosineAnnealingLR(o, T_max=3), None),
    "LambdaLR": (lambda ls, o: ls.LambdaLR(o, lambda e: 0.95 ** e), None),
    "LambdaLR per group": (lambda ls, o: ls.LambdaLR(o, [lambda e: 1.0 / (e + 1),
                                                          lambda e: 0.5 * e]), {"opt": _two}),
    "MultiplicativeLR": (lambda ls, o: ls.MultiplicativeLR(o, lambda e: 0.9), None),
    "LinearLR": (lambda ls, o: ls.LinearLR(o, start_factor=0.25, total_iters=4), None),
    "LinearLR down": (lambda ls, o: ls.LinearLR(o, start_factor=1.0, end_factor=0.1,
                                                total_iters=6), None),
    "ConstantLR": (lambda ls, o: ls.ConstantLR(o, factor=0.5, total_iters=3), None),
    "PolynomialLR": (lambda ls, o: ls.PolynomialLR(o, total_iters=6, power=2.0), None),
    "SequentialLR": (lambda ls, o: ls.SequentialLR(o, [ls.LinearLR(o, start_factor=0.1,
                                                                    total_iters=3),
                                                        ls.ExponentialLR(o, gamma=0.8)],
                                                    milestones=[4]), None),
    "ChainedScheduler": (lambda ls, o: ls.ChainedScheduler([ls.ConstantLR(o, factor=0.2,
                                                                           total_iters=4),
                                                             ls.ExponentialLR(o, gamma=0.9)]),
                         None),
    "CyclicLR triangular2": (lambda ls, o: ls.CyclicLR(o, 0.01, 0.1, step_size_up=3,
                                                       mode="triangular2"), _MOM),
    "CyclicLR exp_range": (lambda ls, o: ls.CyclicLR(o, [0.01], 0.2, step_size_up=2,
                                                     step_size_down=4, mode="exp_range",
                                                     gamma=0.9), _MOM),
    "CyclicLR Adam": (lambda ls, o: ls.CyclicLR(o, 0.001, 0.01, step_size_up=4), _BETAS),
    "WarmRestarts": (lambda ls, o: ls.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2,
                                                                  eta_min=0.001), None),
    "OneCycleLR": (lambda ls, o: ls.OneCycleLR(o, max_lr=1.0, total_steps=15), _MOM),
    "OneCycleLR Adam three_phase linear": (lambda ls, o: ls.OneCycleLR(
        o, max_lr=0.5, epochs=3, steps_per_epoch=5, three_phase=True,
        anneal_strategy="linear"), _BETAS),
    "OneCycleLR groups": (lambda ls, o: ls.OneCycleLR(o, max_lr=[1.0, 0.5], total_steps=15,
                                                      pct_start=0.4, div_factor=10.0),
                          {"opt": _two, "watch": _MOM["watch"]}),
}


def _plateau(lib, mode: str, metrics: list, **kw):
    opt = _sched(lib, n_groups=2)
    sched = getattr(lib.optim, S).ReduceLROnPlateau(opt, mode=mode, **kw)
    out = []
    for m in metrics:
        opt.step()
        sched.step(m)
        out.append([sched.get_last_lr(), sched.num_bad_epochs, sched.cooldown_counter,
                    sched.best])
    return {"steps": out, "state keys": sorted(sched.state_dict())}


_METRICS = [5.0, 4.0, 4.0, 3.9999, 4.2, 4.1, 4.0, 3.0, 3.5, 3.5, 3.5, 3.5, 3.4, 3.6]
PLATEAUS = {
    "min rel": lambda lib: _plateau(lib, "min", _METRICS, patience=1, factor=0.5),
    "min abs cooldown": lambda lib: _plateau(lib, "min", _METRICS, patience=0, factor=0.5,
                                             threshold=0.05, threshold_mode="abs",
                                             cooldown=2, min_lr=[0.02, 0.0]),
    "max rel": lambda lib: _plateau(lib, "max", _METRICS, patience=1, factor=0.1,
                                    min_lr=0.002),
    "max abs eps": lambda lib: _plateau(lib, "max", _METRICS, patience=0, factor=0.9,
                                        threshold_mode="abs", eps=0.02),
}


def _closed_form(lib):
    """step(epoch): the closed form, with the deprecation warning."""
    ls = getattr(lib.optim, S)
    out = {}
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter("always")
        for name, make in (("StepLR", lambda o: ls.StepLR(o, step_size=2, gamma=0.5)),
                           ("MultiStepLR", lambda o: ls.MultiStepLR(o, [1, 4], gamma=0.5)),
                           ("ExponentialLR", lambda o: ls.ExponentialLR(o, gamma=0.5)),
                           ("CosineAnnealingLR", lambda o: ls.CosineAnnealingLR(o, T_max=4)),
                           ("LinearLR", lambda o: ls.LinearLR(o, total_iters=4)),
                           ("ConstantLR", lambda o: ls.ConstantLR(o, total_iters=2)),
                           ("PolynomialLR", lambda o: ls.PolynomialLR(o, total_iters=4)),
                           ("LambdaLR", lambda o: ls.LambdaLR(o, lambda e: e + 1)),
                           ("WarmRestarts", lambda o: ls.CosineAnnealingWarmRestarts(
                               o, T_0=2, T_mult=3))):
            opt = _sched(lib)
            sched = make(opt)
            seq = []
            for epoch in (3, 1, 7, 0, 5):
                opt.step()
                sched.step(epoch)
                seq.append(sched.get_last_lr())
            out[name] = seq
    out["warnings"] = sorted({norm_msg(str(w.message)) for w in ws})
    return out


def _get_lr_outside(lib):
    opt = _sched(lib)
    sched = getattr(lib.optim, S).StepLR(opt, step_size=1)
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter("always")
        lr = sched.get_lr()
    return {"lr": lr, "warnings": [str(w.message) for w in ws]}


def _sched_state_dict(lib):
    """state_dict and load_state_dict: a second scheduler continues as the first."""
    ls = getattr(lib.optim, S)
    opt = _sched(lib)
    a = ls.MultiStepLR(opt, milestones=[2, 4], gamma=0.5)
    _step_n(a, 3)
    sd = a.state_dict()
    opt2 = _sched(lib)
    b = ls.MultiStepLR(opt2, milestones=[9], gamma=0.1)
    b.load_state_dict(sd)
    return {"state": {k: v for k, v in sd.items()}, "continued": _step_n(b, 3),
            "lambda": sorted(ls.LambdaLR(_sched(lib), lambda e: 1.0).state_dict())}


SCHED_PROGRAMS = {"closed form": _closed_form, "get_lr outside step": _get_lr_outside,
                  "state_dict": _sched_state_dict}


def _sched_run(lib, name: str):
    make, extra = SCHEDULES[name]
    return _record(lib, make, extra=extra)


# -- LBFGS: trajectories with every closure evaluation, state, errors ---------------------------
# (recorded into the JSON's "observations_lbfgs"; tests/test_lbfgs.py compares them with
# tolerances of its own: an L-BFGS step is many dependent dot products, so rounding differences
# of the two libraries' sums grow beyond what the one-update optimizers are held to)
ROSEN_X0 = [[-1.2, 1.0, -0.8], [0.5, 1.3, -0.3]]  # Rosenbrock's start (6 variables, 2-d)
LSQ_A = [[1.0, 0.3, -0.5], [0.2, 1.5, 0.1], [-0.7, 0.4, 2.0], [0.9, -1.1, 0.6],
         [0.1, 0.8, -0.3], [1.3, 0.2, 0.7], [-0.4, -0.6, 1.1], [0.5, 1.0, 0.4]]
LSQ_B = [0.5, -1.0, 2.0, 0.3, -0.2, 1.4, 0.8, -0.6]


def _rosen_params(lib, dt):
    return [lib.tensor(ROSEN_X0, dtype=dt, requires_grad=True)]


def _rosenbrock(lib, ps):
    x = ps[0].reshape(-1)
    a, b = x[:-1], x[1:]
    return (100 * (b - a * a) ** 2 + (1 - a) ** 2).sum()


def _lsq_params(lib, dt):
    """A vector, a 0-d offset, and a parameter no loss reaches (its gradient stays None)."""
    return [lib.tensor([0.2, -0.1, 0.4], dtype=dt, requires_grad=True),
            lib.tensor(0.3, dtype=dt, requires_grad=True),
            lib.tensor([1.0, -1.0], dtype=dt, requires_grad=True)]


def _lsq(lib, ps):
    w, c = ps[0], ps[1]
    dt = w.dtype
    r = lib.tensor(LSQ_A, dtype=dt) @ w + c - lib.tensor(LSQ_B, dtype=dt)
    return (r * r).sum() + 0.05 * (w * w * w * w).sum()


LBFGS_PROBLEMS = {"rosenbrock": (_rosen_params, _rosenbrock), "lstsq": (_lsq_params, _lsq)}


def _kind(v):
    """What a state value is: a tensor's dtype and shape, else its type (lists: elementwise)."""
    if hasattr(v, "detach"):
        return f"Tensor {str(v.dtype).split('.')[-1]} {list(v.shape)}"
    if isinstance(v, list):
        return [_kind(x) for x in v]
    return type(v).__name__


def _lbfgs_state(opt, ps) -> dict:
    st = opt.state[ps[0]] if ps[0] in opt.state else {}
    tensors = {k: v for k, v in st.items() if hasattr(v, "detach")}
    return {"keys": list(st), "kinds": {k: _kind(v) for k, v in st.items()},
            "values": dict(st), "versions": {k: v._version for k, v in tensors.items()},
            "other params' state": [i for i, p in enumerate(ps) if i and p in opt.state]}


def _lbfgs_closure(lib, opt, fn, ps, evals: list):
    def closure():
        opt.zero_grad()
        loss = fn(lib, ps)
        loss.backward()
        evals.append(loss.detach().item())
        return loss
    return closure


def lbfgs_trajectory(lib, problem: str, kw: dict, dtype: str, steps: int):
    """`steps` LBFGS steps: every loss the closure computed, what each step returned, the
    parameters after each, the state and state_dict at the end."""
    make, fn = LBFGS_PROBLEMS[problem]
    dt = getattr(lib, dtype)
    ps = make(lib, dt)
    kw = {k: (lib.tensor(v[1]) if isinstance(v, list) and v[0] == "tensor" else v)
          for k, v in kw.items()}
    opt = lib.optim.LBFGS(ps, **kw)
    evals: list = []
    closure = _lbfgs_closure(lib, opt, fn, ps, evals)
    out = []
    for _ in range(steps):
        loss = opt.step(closure)
        st = opt.state[ps[0]]
        out.append({"returned": loss.detach().item(), "evaluations": len(evals),
                    "func_evals": st["func_evals"], "n_iter": st["n_iter"],
                    "params": [p.detach().clone() for p in ps]})
    sd = opt.state_dict()
    return {"losses": evals, "steps": out, "versions": [p._version for p in ps],
            "state": _lbfgs_state(opt, ps), "state_dict keys": sorted(sd),
            "state_dict state": {str(k): sorted(v) for k, v in sd["state"].items()},
            "param_groups": sd["param_groups"]}


# problem, options (a tensor lr as ["tensor", value]), dtype, steps: both problems with the
# fixed step and the line search, in both dtypes; a short history (its shift), max_iter 1 (no
# re-evaluation), a small max_eval (the line search's evaluation budget), a large
# tolerance_change (the lack-of-progress stops), a tensor lr. Rosenbrock's valley amplifies the
# libraries' last-bit differences (their sums' orders) about tenfold per iteration late in a
# run, and in float32 a run near the noise floor flips Armijo and ``ys > 1e-10`` decisions on
# 1-ulp differences of the loss: the runs stop before either (each agrees with torch at well
# under a tenth of the test's tolerance)
LBFGS_RUNS = [
    ("rosenbrock", {"lr": 0.5, "history_size": 5, "max_iter": 8}, "float64", 4),
    ("rosenbrock", {"line_search_fn": "strong_wolfe", "max_iter": 10}, "float64", 3),
    ("rosenbrock", {"line_search_fn": "strong_wolfe", "history_size": 3, "max_iter": 8},
     "float64", 4),
    ("rosenbrock", {"line_search_fn": "strong_wolfe", "max_eval": 4}, "float64", 3),
    ("rosenbrock", {"line_search_fn": "strong_wolfe", "max_iter": 6}, "float32", 2),
    ("rosenbrock", {"lr": 0.5, "max_iter": 4, "history_size": 5}, "float32", 3),
    ("lstsq", {}, "float64", 3),
    ("lstsq", {"line_search_fn": "strong_wolfe"}, "float64", 3),
    ("lstsq", {"max_iter": 1}, "float64", 4),
    ("lstsq", {"lr": 0.8, "tolerance_change": 1e-2, "history_size": 2}, "float64", 3),
    ("lstsq", {"lr": ["tensor", 0.8], "max_iter": 5}, "float64", 2),
    ("lstsq", {"line_search_fn": "strong_wolfe", "max_iter": 3}, "float32", 2),
    ("lstsq", {"max_iter": 3}, "float32", 2),
]


def _lbfgs_id(problem: str, kw: dict, dtype: str, steps: int) -> str:
    opts = ",".join(f"{k}={v}" for k, v in kw.items()) or "defaults"
    return f"LBFGS {problem}({opts}) {dtype} x{steps}"


def _lbfgs_opt(lib, **kw):
    ps = _lsq_params(lib, lib.float64)
    opt = lib.optim.LBFGS(ps, **kw)
    return opt, ps, _lbfgs_closure(lib, opt, _lsq, ps, [])


def _lbfgs_round_trip(lib, copied: bool):
    """A second optimizer on copies of the parameters, loaded from the first's state_dict (a
    deep copy of it, or the state_dict itself: its tensors are then shared, so the first's step
    writes the prev_flat_grad the second reads next, as in torch)."""
    opt, ps, closure = _lbfgs_opt(lib, max_iter=3, history_size=4)
    opt.step(closure)
    opt.step(closure)
    ps2 = [p.detach().clone().requires_grad_() for p in ps]
    opt2 = lib.optim.LBFGS(ps2, max_iter=3, history_size=4)
    sd = opt.state_dict()
    opt2.load_state_dict(copy.deepcopy(sd) if copied else sd)
    opt.step(closure)
    opt2.step(_lbfgs_closure(lib, opt2, _lsq, ps2, []))
    state = _lbfgs_state(opt2, ps2)
    del state["versions"]  # (a deep copy's versions are the library's deepcopy's business)
    return {"first": ps, "second": ps2, "state": state,
            "shared": opt2.state[ps2[0]]["prev_flat_grad"] is sd["state"][0]["prev_flat_grad"]}


def _lbfgs_optimal(lib):
    """A gradient already below tolerance_grad: one evaluation, nothing more in the state."""
    opt, ps, closure = _lbfgs_opt(lib, tolerance_grad=1e3)
    loss = opt.step(closure)
    return {"loss": loss, "state": _lbfgs_state(opt, ps), "versions": [p._version for p in ps]}


def _lbfgs_grad_mode(lib):
    """step under no_grad: the closure runs with grad mode on; the parameters stay leaves."""
    ps = _lsq_params(lib, lib.float64)
    opt = lib.optim.LBFGS(ps, max_iter=2)
    seen = []

    def closure():
        opt.zero_grad()
        loss = _lsq(lib, ps)
        loss.backward()
        seen.append(lib.is_grad_enabled())
        return loss
    with lib.no_grad():
        loss = opt.step(closure)
    return {"seen": seen, "loss requires_grad": loss.requires_grad,
            "leaf": [p.is_leaf for p in ps], "grad_fn": [p.grad_fn is None for p in ps],
            "grad mode after": lib.is_grad_enabled()}


def _lbfgs_modified(lib):
    """A graph that saved a parameter before a step: backward raises torch's error (the step's
    writes advanced the version as torch's add_ and copy_ do)."""
    opt, ps, closure = _lbfgs_opt(lib, max_iter=2, line_search_fn="strong_wolfe")
    y = (ps[0] * ps[0]).sum()
    opt.step(closure)
    return {"versions": [p._version for p in ps], "backward": observe(lambda: y.backward())}


def _lbfgs_hooks(lib):
    """The step hooks see the closure as the step's argument; repr."""
    opt, ps, closure = _lbfgs_opt(lib, max_iter=1)
    calls = []
    opt.register_step_pre_hook(lambda o, a, k: calls.append(("pre", len(a), sorted(k))))
    opt.register_step_post_hook(lambda o, a, k: calls.append(("post", len(a), sorted(k))))
    opt.step(closure)
    opt.step(closure=closure)
    return {"calls": calls, "repr": repr(opt), "defaults": opt.defaults}


def _lbfgs_mixed(lib):
    """A float32 and a float64 parameter: the flat vectors are float64 (torch.cat promotes), the
    float32 parameter's updates computed in float64 and rounded."""
    a = lib.tensor([1.5, -0.5, 0.25], dtype=lib.float64, requires_grad=True)
    b = lib.tensor([0.7, 0.2], dtype=lib.float32, requires_grad=True)
    out = []
    for ls in (None, "strong_wolfe"):
        opt = lib.optim.LBFGS([b, a], max_iter=6, line_search_fn=ls)

        def closure():
            opt.zero_grad()
            bd = b.double()
            loss = ((a - 1) ** 4).sum() + (bd * bd * 3).sum() + (a[:2] * bd).sum()
            loss.backward()
            return loss
        losses = [opt.step(closure).detach().item() for _ in range(2)]
        out.append({"losses": losses, "params": [b.detach().clone(), a.detach().clone()],
                    "state": _lbfgs_state(opt, [b, a]), "versions": [b._version, a._version]})
    return out


def _lbfgs_added_group(lib):
    opt, ps, closure = _lbfgs_opt(lib)
    opt.add_param_group({"params": [lib.tensor([1.0], requires_grad=True)]})
    opt.step(closure)


def _lbfgs_bad_line_search(lib):
    opt, ps, closure = _lbfgs_opt(lib, line_search_fn="armijo")
    opt.step(closure)


LBFGS_PROGRAMS = {
    "state_dict round trip": lambda lib: _lbfgs_round_trip(lib, copied=True),
    "state_dict shared": lambda lib: _lbfgs_round_trip(lib, copied=False),
    "already optimal": _lbfgs_optimal,
    "grad mode": _lbfgs_grad_mode,
    "modified error": _lbfgs_modified,
    "hooks and repr": _lbfgs_hooks,
    "mixed float32 and float64": _lbfgs_mixed,
    "error: groups": lambda lib: lib.optim.LBFGS([{"params": [_p(lib)]},
                                                  {"params": [_p(lib)]}]),
    "error: lr": lambda lib: lib.optim.LBFGS([_p(lib)], lr=-1),
    "error: lr tensor of 2": lambda lib: lib.optim.LBFGS([_p(lib)], lr=lib.tensor([0.1, 0.2])),
    "error: step without closure": lambda lib: lib.optim.LBFGS([_p(lib)]).step(),
    "error: closure None": lambda lib: lib.optim.LBFGS([_p(lib)]).step(None),
    "error: group added": _lbfgs_added_group,
    "error: line search": _lbfgs_bad_line_search,
}


def lbfgs_cases() -> list:
    out = [(_lbfgs_id(*r), ("trajectory", *r)) for r in LBFGS_RUNS]
    return out + [(f"LBFGS {k}", ("program", k)) for k in LBFGS_PROGRAMS]


def run_lbfgs(lib, kind: str, *args):
    """One LBFGS case's observation, as `run`'s."""
    fns = {"trajectory": lambda: lbfgs_trajectory(lib, *args),
           "program": lambda: LBFGS_PROGRAMS[args[0]](lib)}
    return _clean(observe(fns[kind]))


# -- the suite ---------------------------------------------------------------------------------
def cases() -> list:
    out = [(_case_id(n, kw, dt), ("trajectory", n, kw, dt)) for n, kw in TRAJECTORIES
           for dt in ("float32", "float64")]
    out += [(f"program {k}", ("program", k)) for k in PROGRAMS]
    out += [(f"error {k}", ("error", k)) for k in ERRORS]
    out += [(f"scheduler error {k}", ("sched_error", k)) for k in SCHED_ERRORS]
    out += [(f"schedule {k}", ("schedule", k)) for k in SCHEDULES]
    out += [(f"plateau {k}", ("plateau", k)) for k in PLATEAUS]
    out += [(f"scheduler {k}", ("sched_program", k)) for k in SCHED_PROGRAMS]
    return out


def run(lib, kind: str, *args):
    """One case's observation, as JSON-able values (an error as {"error", "message"})."""
    fns = {"trajectory": lambda: trajectory(lib, *args),
           "program": lambda: PROGRAMS[args[0]](lib),
           "error": lambda: ERRORS[args[0]](lib),
           "sched_error": lambda: SCHED_ERRORS[args[0]](lib),
           "schedule": lambda: _sched_run(lib, args[0]),
           "plateau": lambda: PLATEAUS[args[0]](lib),
           "sched_program": lambda: SCHED_PROGRAMS[args[0]](lib)}
    return _clean(observe(fns[kind]))


def _clean(x):
    """JSON-able with tapegrad's names in strings (reprs, messages) and string dict keys."""
    if isinstance(x, str):
        return norm_msg(x)
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return jsonable(x)
    if x is None or isinstance(x, (bool, int, float)):
        return x
    return {"object": type(x).__name__}  # (e.g. an optimizer made where torch raises nothing)


def record() -> pathlib.Path:
    import torch
    torch.set_default_dtype(torch.float32)
    obs = {cid: json.loads(json.dumps(run(torch, *args))) for cid, args in cases()}
    lbfgs = {cid: json.loads(json.dumps(run_lbfgs(torch, *args))) for cid, args in lbfgs_cases()}
    meta = {"torch": torch.__version__, "cases": len(obs), "lbfgs cases": len(lbfgs)}
    # (the LBFGS section's key sorts after "observations": re-recording appends it)
    DATA.write_text(json.dumps({"meta": meta, "observations": obs, "observations_lbfgs": lbfgs},
                               indent=0, sort_keys=True))
    return DATA


if __name__ == "__main__":
    print("wrote", record())
