"""Activation layers: each calls its `tapegrad.nn.functional` function; reprs are torch's."""
from __future__ import annotations

from typing import Optional

from .. import functional as F
from ... import factories
from ..parameter import Parameter
from .module import Module

__all__ = ["ReLU", "ReLU6", "LeakyReLU", "ELU", "SELU", "CELU", "GELU", "SiLU", "Mish",
           "Sigmoid", "Tanh", "Softplus", "Softsign", "Tanhshrink", "Hardtanh", "Hardswish",
           "Hardsigmoid", "LogSigmoid", "Threshold", "GLU", "Softmax", "LogSoftmax", "Softmin",
           "PReLU"]


def _applied(mod: Module, name: str, fn, input):
    """``fn(input)``, written into `input` itself when the module was made with
    ``inplace=True`` (torch's: every alias of the input sees the result)."""
    if not mod.inplace:
        return fn(input)
    from ...ops.inplace import write
    return write(input, name + "_", fn)


def _inplace_repr(inplace: bool) -> str:
    return "inplace=True" if inplace else ""


class _NoArgs(Module):
    """An activation without parameters or options: ``forward(x) = fn(x)``."""

    _fn = None

    def forward(self, input):
        return type(self)._fn(input)


class _Stateless(_NoArgs):
    """The same, with torch's ``inplace`` flag (the result written into the input)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return _applied(self, type(self).__name__.lower(), type(self)._fn, input)

    def extra_repr(self) -> str:
        return _inplace_repr(self.inplace)


class ReLU(_Stateless):
    """max(x, 0). ``nn.ReLU()(tg.tensor([-1., 2.]))`` -> ``tensor([0., 2.])``; with
    ``inplace=True`` the input itself is overwritten (every alias sees it, as in torch)."""
    _fn = staticmethod(F.relu)

    def forward(self, input):
        return input.relu_() if self.inplace else F.relu(input)  # (relu_: its own op)


class ReLU6(_Stateless):
    """min(max(x, 0), 6)."""
    _fn = staticmethod(F.relu6)


class SELU(_Stateless):
    """scale * elu(x, alpha), the self-normalising constants."""
    _fn = staticmethod(F.selu)


class SiLU(_Stateless):
    """x * sigmoid(x)."""
    _fn = staticmethod(F.silu)


class Mish(_Stateless):
    """x * tanh(softplus(x))."""
    _fn = staticmethod(F.mish)


class Hardswish(_Stateless):
    """x * relu6(x + 3) / 6."""
    _fn = staticmethod(F.hardswish)


class Hardsigmoid(_Stateless):
    """relu6(x + 3) / 6."""
    _fn = staticmethod(F.hardsigmoid)


class Sigmoid(_NoArgs):
    """1 / (1 + exp(-x))."""
    _fn = staticmethod(F.sigmoid)


class Tanh(_NoArgs):
    """tanh(x)."""
    _fn = staticmethod(F.tanh)


class Softsign(_NoArgs):
    """x / (1 + |x|)."""
    _fn = staticmethod(F.softsign)


class Tanhshrink(_NoArgs):
    """x - tanh(x)."""
    _fn = staticmethod(F.tanhshrink)


class LogSigmoid(_NoArgs):
    """log(sigmoid(x))."""
    _fn = staticmethod(F.logsigmoid)


class LeakyReLU(Module):
    """x for x > 0, else negative_slope * x."""

    def __init__(self, negative_slope: float = 1e-2, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input):
        return _applied(self, "leaky_relu", lambda x: F.leaky_relu(x, self.negative_slope), input)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ELU(Module):
    """x for x > 0, else alpha * (exp(x) - 1)."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input):
        return _applied(self, "elu", lambda x: F.elu(x, self.alpha), input)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class CELU(ELU):
    """x for x > 0, else alpha * (exp(x / alpha) - 1)."""

    def forward(self, input):
        return _applied(self, "celu", lambda x: F.celu(x, self.alpha), input)


class GELU(Module):
    """x * Phi(x) (``approximate='tanh'``: the tanh approximation)."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, input):
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softplus(Module):
    """log(1 + exp(beta x)) / beta (linear above `threshold`)."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input):
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Hardtanh(Module):
    """x clamped to [min_val, max_val]."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        if max_val <= min_val:
            raise ValueError("max_val must be greater than min_val")
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, input):
        return _applied(self, "hardtanh", lambda x: F.hardtanh(x, self.min_val, self.max_val),
                        input)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}" + (
            ", inplace=True" if self.inplace else "")


class Threshold(Module):
    """x where x > threshold, else value."""

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def forward(self, input):
        return _applied(self, "threshold", lambda x: F.threshold(x, self.threshold, self.value),
                        input)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}" + (
            ", inplace=True" if self.inplace else "")


class GLU(Module):
    """a * sigmoid(b) for the halves a, b of the input along `dim`."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.glu(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(Module):
    """Softmax over `dim`. ``nn.Softmax(dim=1)(tg.zeros(1, 2))`` -> ``tensor([[0.5000, 0.5000]])``."""

    _fn = staticmethod(F.softmax)

    def __init__(self, dim: Optional[int] = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return type(self)._fn(input, self.dim, _stacklevel=5)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """Log-softmax over `dim`."""
    _fn = staticmethod(F.log_softmax)


class Softmin(Softmax):
    """softmax(-x) over `dim`."""
    _fn = staticmethod(F.softmin)


class PReLU(Module):
    """x for x >= 0, else a * x, with `a` learned (one per channel or shared)."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device=None,
                 dtype=None) -> None:
        super().__init__()
        self.num_parameters, self.init = num_parameters, init
        self.weight = Parameter(factories.full((num_parameters,), init, dtype=dtype,
                                               device=device))

    def reset_parameters(self) -> None:
        from .. import init
        init.constant_(self.weight, self.init)

    def forward(self, input):
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"
