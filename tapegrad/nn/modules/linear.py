"""`Identity`, `Linear`, `Bilinear` (torch's default initialisation: U(-1/sqrt(fan_in), ...))."""
from __future__ import annotations

import math

from ... import factories
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .module import Module

__all__ = ["Identity", "Linear", "Bilinear"]


class Identity(Module):
    """Returns its input (any constructor arguments are ignored, as torch)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__()

    def forward(self, input):
        return input


def weight_and_bias(mod: Module, weight_shape: tuple, bias: bool, device, dtype) -> None:
    """Uninitialised `weight` and (or a None entry) `bias` of size weight_shape[0]."""
    kw = dict(device=device, dtype=dtype)
    mod.weight = Parameter(factories.empty(weight_shape, **kw))
    if bias:
        mod.bias = Parameter(factories.empty(weight_shape[0], **kw))
    else:
        mod.register_parameter("bias", None)


def kaiming_default(mod: Module) -> None:
    """torch's default init of Linear and Conv: kaiming_uniform_(a=sqrt(5)) for the weight,
    i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the same bound for the bias."""
    init.kaiming_uniform_(mod.weight, a=math.sqrt(5))
    if mod.bias is not None:
        fan_in = init._calculate_fan_in_and_fan_out(mod.weight)[0]
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        init.uniform_(mod.bias, -bound, bound)


class Linear(Module):
    """y = x @ weight.T + bias, with weight (out_features, in_features).

    >>> import tapegrad as tg
    >>> fc = tg.nn.Linear(2, 3)
    >>> fc
    Linear(in_features=2, out_features=3, bias=True)
    >>> fc(tg.ones(4, 2)).shape
    tapegrad.Size([4, 3])
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        weight_and_bias(self, (out_features, in_features), bias, device, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch's init: U(-1/sqrt(in_features), 1/sqrt(in_features)) for weight and bias."""
        kaiming_default(self)

    def forward(self, input):
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Bilinear(Module):
    """y = x1 @ weight[k] @ x2 + bias[k] for each output k."""

    def __init__(self, in1_features: int, in2_features: int, out_features: int,
                 bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        self.in1_features, self.in2_features = in1_features, in2_features
        self.out_features = out_features
        weight_and_bias(self, (out_features, in1_features, in2_features), bias, device, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1 / math.sqrt(self.weight.shape[1])
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")
