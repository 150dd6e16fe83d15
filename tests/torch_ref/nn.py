"""Programs with torch.nn layers (modules, containers, losses, init, clipping, state dicts):
what a user sees (outputs, gradients, running statistics, reprs, errors). Parameters are set
from a formula, so both libraries start from the same values whatever their generators."""
from __future__ import annotations

import math
import warnings

from . import norm_msg, observe


def _vals(n: int, k: int = 0, scale: float = 0.5) -> list:
    return [scale * math.sin(0.37 * i + 1.3 * k + 0.1) for i in range(n)]


def _input(lib, *shape, k: int = 7, scale: float = 1.0, rg: bool = False):
    n = math.prod(shape)
    return lib.tensor(_vals(n, k, scale), dtype=lib.float64).reshape(*shape).requires_grad_(rg)


def _set_params(lib, model) -> None:
    """Every parameter gets formula values (in its own dtype)."""
    with lib.no_grad():
        for k, (_, p) in enumerate(model.named_parameters()):
            p.copy_(lib.tensor(_vals(p.numel(), k), dtype=p.dtype).reshape(p.shape))


def _grads(model) -> dict:
    return {n: (None if p.grad is None else p.grad) for n, p in model.named_parameters()}


def _fwd_bwd(lib, model, x, target_fn=None) -> dict:
    """Output, a scalar loss's gradient for every parameter and for the input."""
    out = model(x)
    loss = (out * out).sum() if target_fn is None else target_fn(out)
    loss.backward()
    return {"out": out, "grads": _grads(model), "x_grad": x.grad}


def mlp(lib):
    nn = lib.nn
    model = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3)).double()
    _set_params(lib, model)
    x = _input(lib, 6, 4, rg=True)
    target = lib.tensor([0, 2, 1, 1, 0, 2])
    r = _fwd_bwd(lib, model, x, lambda o: nn.CrossEntropyLoss()(o, target))
    r["repr"] = repr(model)
    r["grad_fn"] = r["out"].grad_fn.name()
    r["keys"] = list(model.state_dict().keys())
    r["names"] = [n for n, _ in model.named_modules()]
    return r


def custom_module(lib):
    nn = lib.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(3, 4)
            self.act = nn.GELU()
            self.fc2 = nn.Linear(4, 2, bias=False)
            self.scale = nn.Parameter(lib.ones(2, dtype=lib.float64))
            self.register_buffer("offset", lib.full((2,), 0.25, dtype=lib.float64))

        def forward(self, x):
            return self.fc2(self.act(self.fc1(x))) * self.scale + self.offset

    model = Net().double()
    _set_params(lib, model)
    r = _fwd_bwd(lib, model, _input(lib, 5, 3, rg=True))
    r["repr"] = repr(model)
    r["params"] = [(n, list(p.shape), p.dtype) for n, p in model.named_parameters()]
    r["params"] = [[n, s, str(d).split(".")[-1]] for n, s, d in r["params"]]
    r["buffers"] = [n for n, _ in model.named_buffers()]
    r["state"] = list(model.state_dict().keys())
    r["children"] = [n for n, _ in model.named_children()]
    return r


def activations(lib):
    nn = lib.nn
    layers = [nn.ReLU(), nn.ReLU6(), nn.LeakyReLU(0.2), nn.ELU(0.7), nn.SELU(), nn.CELU(1.3),
              nn.GELU(), nn.GELU("tanh"), nn.SiLU(), nn.Mish(), nn.Sigmoid(), nn.Tanh(),
              nn.Softplus(2, 3), nn.Softsign(), nn.Tanhshrink(), nn.Hardtanh(-0.5, 0.7),
              nn.Hardswish(), nn.Hardsigmoid(), nn.LogSigmoid(), nn.Threshold(0.1, 20.0),
              nn.GLU(), nn.Softmax(dim=1), nn.LogSoftmax(dim=1), nn.Softmin(dim=1),
              nn.PReLU(), nn.PReLU(4, 0.1)]
    out = {}
    for i, layer in enumerate(layers):
        layer = layer.double()
        x = _input(lib, 3, 4, k=i, scale=3.1, rg=True)
        y = layer(x)
        (y * _input(lib, *y.shape, k=i + 50)).sum().backward()
        out[f"{i}:{repr(layer)}"] = {"y": y, "g": x.grad, "params": _grads(layer)}
    return out


def normalization(lib):
    nn = lib.nn
    out = {}
    for name, layer, shape in [
            ("ln", nn.LayerNorm(4), (3, 4)), ("ln2", nn.LayerNorm((2, 3), bias=False), (2, 2, 3)),
            ("ln_noaff", nn.LayerNorm(3, elementwise_affine=False), (2, 3)),
            ("rms", nn.RMSNorm(4), (3, 4)), ("rms_eps", nn.RMSNorm([4], eps=1e-3), (2, 4)),
            ("gn", nn.GroupNorm(2, 4), (2, 4, 3)), ("in1", nn.InstanceNorm1d(3), (2, 3, 5)),
            ("in2", nn.InstanceNorm2d(2, affine=True), (2, 2, 3, 3))]:
        layer = layer.double()
        _set_params(lib, layer)
        r = _fwd_bwd(lib, layer, _input(lib, *shape, k=len(out), scale=2.0, rg=True))
        r["repr"] = repr(layer)
        out[name] = r
    return out


def batchnorm(lib):
    nn = lib.nn
    out = {}
    for name, layer, shape in [("bn1", nn.BatchNorm1d(3), (5, 3)),
                               ("bn1_3d", nn.BatchNorm1d(2, momentum=None), (4, 2, 3)),
                               ("bn2", nn.BatchNorm2d(2), (3, 2, 2, 2)),
                               ("bn2_noaff", nn.BatchNorm2d(2, affine=False), (2, 2, 3, 1)),
                               ("bn_nostats", nn.BatchNorm1d(3, track_running_stats=False),
                                (4, 3))]:
        layer = layer.double()
        _set_params(lib, layer)
        steps = []
        for step in range(2):
            x = _input(lib, *shape, k=step, scale=2.0, rg=True)
            steps.append(_fwd_bwd(lib, layer, x))
        layer.eval()
        x = _input(lib, *shape, k=9, scale=2.0, rg=True)
        steps.append(_fwd_bwd(lib, layer, x))
        out[name] = {"steps": steps, "buffers": dict(layer.named_buffers()),
                     "repr": repr(layer), "keys": list(layer.state_dict().keys())}
    return out


def batchnorm_errors(lib):
    nn = lib.nn
    bn = nn.BatchNorm1d(3)
    return {"rank": observe(lambda: bn(lib.zeros(2, 3, 4, 5))),
            "one": observe(lambda: bn(lib.zeros(1, 3))),
            "bn2": observe(lambda: nn.BatchNorm2d(3)(lib.zeros(2, 3))),
            "ln": observe(lambda: nn.LayerNorm(4)(lib.zeros(2, 3)))}


def embedding(lib):
    nn = lib.nn
    out = {}
    for name, layer in [("plain", nn.Embedding(6, 3)), ("pad", nn.Embedding(6, 3, padding_idx=2)),
                        ("negpad", nn.Embedding(6, 3, padding_idx=-1))]:
        layer = layer.double()
        _set_params(lib, layer)
        idx = lib.tensor([[0, 2, 5], [2, 1, 5]])
        y = layer(idx)
        (y * _input(lib, *y.shape)).sum().backward()
        out[name] = {"y": y, "g": layer.weight.grad, "repr": repr(layer)}
    e = nn.Embedding(5, 2, max_norm=0.4).double()
    _set_params(lib, e)
    out["max_norm"] = {"y": e(lib.tensor([1, 3])), "w": e.weight.detach(), "repr": repr(e)}
    fp = nn.Embedding.from_pretrained(lib.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=lib.float64))
    out["pretrained"] = {"y": fp(lib.tensor([1])), "rg": fp.weight.requires_grad}
    out["bad_index"] = observe(lambda: nn.Embedding(3, 2)(lib.tensor([3])))
    out["float_index"] = observe(lambda: nn.Embedding(3, 2)(lib.tensor([1.0])))
    return out


def losses(lib):
    nn = lib.nn
    out = {}
    x = _input(lib, 4, 3, scale=1.5)
    y = _input(lib, 4, 3, k=3, scale=1.5)
    prob = lib.sigmoid(_input(lib, 4, 3, k=5))
    labels = lib.tensor([2, 0, 1, 2])
    logp = lib.log_softmax(x, 1)
    cases = {
        "l1": (nn.L1Loss, (y,)), "mse": (nn.MSELoss, (y,)),
        "smooth": (lambda **kw: nn.SmoothL1Loss(beta=0.5, **kw), (y,)),
        "huber": (lambda **kw: nn.HuberLoss(delta=0.7, **kw), (y,)),
        "ce": (nn.CrossEntropyLoss, (labels,)),
        "ce_smooth": (lambda **kw: nn.CrossEntropyLoss(label_smoothing=0.2, **kw), (labels,)),
        "ce_w": (lambda **kw: nn.CrossEntropyLoss(weight=lib.tensor([1.0, 2.0, 0.5],
                                                                    dtype=lib.float64), **kw),
                 (labels,)),
        "nll": (nn.NLLLoss, (labels,)),
        "bce_logits": (nn.BCEWithLogitsLoss, (prob,)),
        "kl": (lambda **kw: nn.KLDivLoss(**kw), (lib.softmax(y, 1),)),
        "kl_log": (lambda **kw: nn.KLDivLoss(log_target=True, **kw), (lib.log_softmax(y, 1),)),
    }
    for name, (cls, targets) in cases.items():
        for red in ("mean", "sum", "none") + (("batchmean",) if name.startswith("kl") else ()):
            inp = (logp if name in ("nll", "kl", "kl_log") else x).detach().requires_grad_()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                loss_fn = cls(reduction=red)
                v = loss_fn(inp, *targets)
            v.sum().backward()
            out[f"{name}:{red}"] = {"v": v, "g": inp.grad, "repr": repr(loss_fn)}
    p = prob.detach().requires_grad_()
    v = nn.BCELoss()(p, lib.tensor([[1.0, 0, 1]] * 4, dtype=lib.float64))
    v.backward()
    out["bce"] = {"v": v, "g": p.grad}
    out["bad_reduction"] = observe(lambda: nn.MSELoss(reduction="bad")(x, y))
    return out


def containers(lib):
    nn = lib.nn
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)] + [nn.ReLU()])
    md = nn.ModuleDict({"a": nn.Tanh(), "b": nn.Linear(1, 1)})
    pl = nn.ParameterList([nn.Parameter(lib.ones(2)), nn.Parameter(lib.ones(2, 3,
                                                                            dtype=lib.float64))])
    pd = nn.ParameterDict({"w": nn.Parameter(lib.ones(3))})
    from collections import OrderedDict
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.Sigmoid())]))
    seq2 = nn.Sequential(nn.ReLU(), nn.Tanh(), nn.Sigmoid())
    del seq2[1]
    seq2.append(nn.ELU())
    return {
        "seq": repr(seq), "slice": repr(seq[1:]), "neg": repr(seq[-1]), "len": len(seq),
        "ml": repr(ml), "ml_len": len(ml), "ml_slice": repr(ml[1:3]), "md": repr(md),
        "md_keys": list(md.keys()), "pl": norm_msg(repr(pl)), "pd": norm_msg(repr(pd)),
        "named": repr(named), "named_keys": list(named.state_dict().keys()),
        "edited": repr(seq2), "ml_params": [n for n, _ in ml.named_parameters()],
        "pl_params": [n for n, _ in pl.named_parameters()],
        "out_of_range": observe(lambda: seq[5]),
        "not_module": observe(lambda: nn.Sequential(1)),
        "ml_not_module": observe(lambda: nn.ModuleList([1])),
        "add": repr(nn.Sequential(nn.ReLU()) + nn.Sequential(nn.Tanh())),
        "shared": [n for n, _ in nn.Sequential(seq[0], seq[0]).named_parameters()],
    }


def module_errors(lib):
    nn = lib.nn

    class Early(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(1, 1)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(lib.ones(2))

    net = Net()

    def assign_tensor():
        net.w = lib.ones(2)

    def nonleaf():
        net.v = nn.Parameter(lib.ones(2)) * 2
        return type(net.v).__name__

    return {"early": observe(Early), "missing": observe(lambda: net.nope),
            "assign": observe(assign_tensor), "nonleaf": observe(nonleaf),
            "forward": observe(lambda: nn.Module()(1)),
            "linear_shape": observe(lambda: nn.Linear(2, 2)(lib.ones(3, 5))),
            "register_dot": observe(lambda: net.register_buffer("a.b", lib.ones(1)))}


def state_dicts(lib):
    nn = lib.nn
    src = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)).double()
    _set_params(lib, src)
    sd = src.state_dict()
    dst = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)).double()
    res = dst.load_state_dict(sd)
    x = _input(lib, 3, 2)
    dst.eval()
    src.eval()
    bad = {k: v for k, v in sd.items() if k != "0.bias"}
    bad["extra"] = lib.zeros(1)
    resized = dict(sd)
    resized["0.weight"] = lib.zeros(3, 2, dtype=lib.float64)
    loose = dst.load_state_dict(bad, strict=False)
    return {"same": [src(x), dst(x)], "res": repr(res), "loose_repr": repr(loose),
            "keys": list(sd.keys()), "rg": [v.requires_grad for v in sd.values()],
            "strict": observe(lambda: dst.load_state_dict(bad)),
            "size": observe(lambda: dst.load_state_dict(resized)),
            "loose": [list(loose.missing_keys), list(loose.unexpected_keys)],
            "shares": bool(sd["0.weight"].data_ptr() == src[0].weight.data_ptr())}


def hooks_and_modes(lib):
    nn = lib.nn
    fc = nn.Linear(2, 2).double()
    _set_params(lib, fc)
    seen = []
    h1 = fc.register_forward_pre_hook(lambda m, args: (args[0] * 2,))
    h2 = fc.register_forward_hook(lambda m, args, out: seen.append(type(m).__name__) or out + 1)
    x = _input(lib, 1, 2)
    a = fc(x)
    h1.remove()
    h2.remove()
    b = fc(x)
    drop = nn.Sequential(nn.Dropout(0.5), nn.Linear(2, 2))
    drop.eval()
    modes = [m.training for m in drop.modules()]
    drop.train()
    modes += [m.training for m in drop.modules()]
    fc(x).sum().backward()
    had = fc.weight.grad is not None
    fc.zero_grad()
    return {"a": a, "b": b, "seen": seen, "modes": modes, "had": had,
            "after_zero": fc.weight.grad is None, "eval_drop": drop.eval()(x.float()).shape[1]}


def init_and_utils(lib):
    nn = lib.nn
    init = nn.init
    gains = [init.calculate_gain(n) for n in ("linear", "relu", "tanh", "sigmoid", "selu")]
    gains.append(init.calculate_gain("leaky_relu", 0.2))
    fans = [list(init._calculate_fan_in_and_fan_out(lib.empty(*s))) for s in
            [(3, 4), (6, 2, 5, 5), (4, 3, 7)]]
    w = lib.empty(3, 4, dtype=lib.float64)
    consts = [init.constant_(w, 0.3).clone(), init.ones_(w).clone(), init.zeros_(w).clone(),
              init.eye_(w).clone()]
    d = init.dirac_(lib.empty(2, 2, 3))
    p1 = nn.Parameter(lib.zeros(2, dtype=lib.float64))
    p2 = nn.Parameter(lib.zeros(2, 2, dtype=lib.float64))
    p1.grad = lib.tensor([3.0, 4.0], dtype=lib.float64)
    p2.grad = lib.tensor([[1.0, -2.0], [0.5, 12.0]], dtype=lib.float64)
    total = nn.utils.clip_grad_norm_([p1, p2], 2.0)
    clipped = [p1.grad.clone(), p2.grad.clone()]
    inf_total = nn.utils.clip_grad_norm_([p1, p2], 100.0, norm_type=float("inf"))
    nn.utils.clip_grad_value_([p1, p2], 0.5)
    vec = nn.utils.parameters_to_vector([p1, p2])
    nn.utils.vector_to_parameters(lib.arange(6, dtype=lib.float64), [p1, p2])
    bad = nn.Parameter(lib.zeros(1))
    bad.grad = lib.tensor([float("inf")])
    return {"gains": gains, "fans": fans, "consts": consts, "dirac": d, "total": total,
            "clipped": clipped, "inf_total": inf_total, "valued": [p1.grad, p2.grad],
            "vec": vec, "back": [p1, p2],
            "nonfinite": observe(lambda: nn.utils.clip_grad_norm_([bad], 1.0,
                                                                 error_if_nonfinite=True)),
            "gain_bad": observe(lambda: init.calculate_gain("bogus")),
            "fan_bad": observe(lambda: init.xavier_uniform_(lib.empty(3)))}


def misc_layers(lib):
    nn = lib.nn
    out = {}
    bl = nn.Bilinear(2, 3, 4).double()
    _set_params(lib, bl)
    x1, x2 = _input(lib, 5, 2, rg=True), _input(lib, 5, 3, k=2, rg=True)
    y = bl(x1, x2)
    (y * y).sum().backward()
    out["bilinear"] = {"y": y, "g": [x1.grad, x2.grad], "w": bl.weight.grad, "repr": repr(bl)}
    x = _input(lib, 2, 3, 4, rg=True)
    f = nn.Flatten()(x)
    u = nn.Unflatten(1, (2, 6))(f)
    (u * _input(lib, *u.shape, k=4)).sum().backward()
    out["flatten"] = {"f": list(f.shape), "u": list(u.shape), "g": x.grad,
                      "repr": [repr(nn.Flatten()), repr(nn.Unflatten(1, (2, 6))),
                               repr(nn.Flatten(0, 1))]}
    out["identity"] = {"repr": repr(nn.Identity(3, a=1)), "same": bool(nn.Identity()(x) is x)}
    out["dropout"] = [repr(nn.Dropout(0.2)), repr(nn.Dropout2d()), repr(nn.Dropout1d(0.3))]
    out["dropout_bad"] = observe(lambda: nn.Dropout(1.5))
    return out


def conv_layers(lib):
    nn = lib.nn
    out = {}
    for name, layer, shape in [
            ("c2", nn.Conv2d(2, 4, 3), (2, 2, 6, 5)),
            ("c2_pad", nn.Conv2d(2, 4, (3, 2), stride=2, padding=1, bias=False), (1, 2, 7, 6)),
            ("c2_same", nn.Conv2d(3, 3, 4, padding="same", groups=3), (2, 3, 5, 5)),
            ("c2_reflect", nn.Conv2d(2, 4, 3, padding=1, padding_mode="reflect", dilation=2,
                                     groups=2), (1, 2, 8, 8)),
            ("c2_unbatched", nn.Conv2d(1, 2, 3), (1, 5, 5)),
            ("c1", nn.Conv1d(2, 3, 3, stride=2, padding=1), (2, 2, 9)),
            ("c1_circular", nn.Conv1d(1, 2, 3, padding=2, padding_mode="circular"), (1, 1, 6)),
            ("maxpool2", nn.MaxPool2d(2), (1, 2, 6, 6)),
            ("maxpool2_ceil", nn.MaxPool2d(3, 2, padding=1, ceil_mode=True), (1, 1, 7, 7)),
            ("maxpool1", nn.MaxPool1d(2, stride=1, dilation=2), (2, 2, 7)),
            ("avgpool2", nn.AvgPool2d(2, padding=1, count_include_pad=False), (1, 2, 5, 5)),
            ("avgpool1", nn.AvgPool1d(3, ceil_mode=True), (1, 2, 8)),
            ("adaptive_avg2", nn.AdaptiveAvgPool2d((2, 3)), (2, 1, 5, 7)),
            ("adaptive_avg2_1", nn.AdaptiveAvgPool2d(1), (2, 3, 4, 4)),
            ("adaptive_avg1", nn.AdaptiveAvgPool1d(4), (1, 2, 10)),
            ("adaptive_max2", nn.AdaptiveMaxPool2d((2, 2)), (1, 2, 5, 5))]:
        layer = layer.double()
        _set_params(lib, layer)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (padding='same' with an even kernel warns)
            r = _fwd_bwd(lib, layer, _input(lib, *shape, k=len(out), scale=2.0, rg=True))
        r["repr"] = repr(layer)
        out[name] = r
    lenet = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                          nn.Linear(84, 10)).double()
    _set_params(lib, lenet)
    x = _input(lib, 2, 1, 28, 28, rg=True)
    target = lib.tensor([3, 7])
    r = _fwd_bwd(lib, lenet, x, lambda o: nn.CrossEntropyLoss()(o, target))
    r["repr"] = repr(lenet)
    out["lenet"] = r
    out["groups_bad"] = observe(lambda: nn.Conv2d(3, 4, 3, groups=2))
    out["same_strided"] = observe(lambda: nn.Conv2d(2, 4, 3, stride=2, padding="same"))
    out["channels"] = observe(lambda: nn.Conv2d(1, 6, 5)(lib.zeros(1, 3, 32, 32)))
    return out


def training_loop(lib):
    """A tutorial-style loop with manual SGD updates: the loss sequence and final weights."""
    nn = lib.nn
    lib.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 1)).double()
    _set_params(lib, model)
    x = _input(lib, 16, 3, scale=2.0)
    y = (x[:, :1] * 0.5 - x[:, 1:2] + 0.3).detach()
    loss_fn = nn.MSELoss()
    losses = []
    for _ in range(5):
        model.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        with lib.no_grad():
            for p in model.parameters():
                p -= 0.1 * p.grad
        losses.append(loss.item())
    return {"losses": losses, "weights": dict(model.state_dict())}


PROGRAMS = {f.__name__: f for f in (
    mlp, custom_module, activations, normalization, batchnorm, batchnorm_errors, embedding,
    losses, containers, module_errors, state_dicts, hooks_and_modes, init_and_utils,
    misc_layers, conv_layers, training_loop)}


def run(lib, name: str):
    return observe(lambda: PROGRAMS[name](lib))


def cases() -> list:
    return [(name, (name,)) for name in PROGRAMS]
