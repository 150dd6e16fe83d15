"""`Conv1d`, `Conv2d`: learned convolutions over `tapegrad.nn.functional.conv1d/conv2d`."""
from __future__ import annotations

from typing import Union

from .. import functional as F
from .linear import kaiming_default, weight_and_bias
from .module import Module

__all__ = ["Conv1d", "Conv2d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _tuple(v, n: int) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


class _ConvNd(Module):
    _n = 0  # spatial dims

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1,
                 padding: Union[str, int, tuple] = 0, dilation=1, groups: int = 1,
                 bias: bool = True, padding_mode: str = "zeros", device=None,
                 dtype=None) -> None:
        super().__init__()
        n = self._n
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {list(_PADDING_MODES)}, but got "
                             f"padding_mode='{padding_mode}'")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = _tuple(kernel_size, n), _tuple(stride, n)
        self.dilation, self.groups, self.padding_mode = _tuple(dilation, n), groups, padding_mode
        self.output_padding = (0,) * n
        self.transposed = False
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of "
                                 f"{{'valid', 'same'}}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = _tuple(padding, n)
        weight_and_bias(self, (out_channels, in_channels // groups, *self.kernel_size), bias,
                        device, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch's init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias."""
        kaiming_default(self)

    def _padded(self, input):
        """The input padded by `padding_mode` (non-zero modes pad before the convolution)."""
        pads = []
        for p in reversed(self.padding):
            pads += [p, p]
        return F.pad(input, tuple(pads), mode=self.padding_mode)

    def extra_repr(self) -> str:
        n = self._n
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * n:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s

    def _conv(self, fn, input):
        if self.padding_mode != "zeros" and not isinstance(self.padding, str):
            return fn(self._padded(input), self.weight, self.bias, self.stride, 0,
                      self.dilation, self.groups)
        return fn(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                  self.groups)


class Conv1d(_ConvNd):
    """1-D convolution of (N, C_in, L) input (or (C_in, L))."""
    _n = 1

    def forward(self, input):
        return self._conv(F.conv1d, input)


class Conv2d(_ConvNd):
    """2-D convolution of (N, C_in, H, W) input (or (C_in, H, W)).

    >>> import tapegrad as tg
    >>> conv = tg.nn.Conv2d(1, 6, 5)
    >>> conv
    Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))
    >>> conv(tg.zeros(2, 1, 28, 28)).shape
    tapegrad.Size([2, 6, 24, 24])
    """
    _n = 2

    def forward(self, input):
        return self._conv(F.conv2d, input)
