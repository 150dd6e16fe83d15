"""Devices: tapegrad computes on the CPU; a request for any other device gets torch's error."""
from __future__ import annotations

import builtins

# the device types torch's parser knows (its error lists them)
_KNOWN = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve", "fpga",
          "maia", "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia", "privateuseone")


class device:
    """torch's device object; tapegrad has one device, the CPU (other devices can be named,
    as in a CPU-only torch, but using them raises torch's error).

    >>> import tapegrad as tg
    >>> tg.device("cpu"), tg.device("cuda", 1), str(tg.device("cuda:0"))
    (device(type='cpu'), device(type='cuda', index=1), 'cuda:0')
    >>> tg.zeros(2).device == tg.device("cpu")
    True
    """

    __slots__ = ("type", "index")

    def __init__(self, type, index: "int | None" = None):  # noqa: A002 -- torch's names
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        elif isinstance(type, int) and not isinstance(type, bool):
            raise RuntimeError("Cannot access accelerator device when none is available.")
        elif not isinstance(type, str):
            raise TypeError(f"device() received an invalid combination of arguments - got "
                            f"({builtins.type(type).__name__})")
        else:
            kind, sep, idx = type.partition(":")
            if sep:
                if index is not None:
                    raise RuntimeError(f"type (string) must not include an index because index "
                                       f"was passed explicitly: {type}")
                if not idx.isdigit():
                    raise RuntimeError(f"Invalid device string: '{type}'")
                index = int(idx)
            if kind not in _KNOWN:
                raise RuntimeError(f"Expected one of {', '.join(_KNOWN)} device type at start "
                                   f"of device string: {type}")
            type = kind
        if index is not None and index < 0:
            raise RuntimeError("Device index must not be negative")
        object.__setattr__(self, "type", type)
        object.__setattr__(self, "index", index)

    def __setattr__(self, name, value):
        raise AttributeError(f"attribute '{name}' of 'torch.device' objects is not writable")

    def __repr__(self) -> str:
        idx = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{idx})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other) -> bool:
        return (isinstance(other, device) and other.type == self.type
                and other.index == self.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __reduce__(self):
        return device, (self.type, self.index)


CPU = device("cpu")


def check_device(dev) -> None:
    """Pass for None and the CPU; raise torch's error for anything else.

    >>> check_device("cpu:0")
    """
    if dev is None:
        return
    d = dev if isinstance(dev, device) else device(dev)
    if d.type == "cpu":
        return
    if d.type == "cuda":
        raise AssertionError("Torch not compiled with CUDA enabled")
    raise RuntimeError(f"device '{d}' is not available: tapegrad computes on the CPU")


class _Absent:
    """A back end torch's CPU build does not have: every query says no."""

    @staticmethod
    def is_available() -> bool:
        return False

    @staticmethod
    def is_built() -> bool:
        return False

    @staticmethod
    def device_count() -> int:
        return 0


class cuda(_Absent):
    """``tapegrad.cuda``: what torch's CPU build answers (no CUDA device)."""

    @staticmethod
    def is_initialized() -> bool:
        return False

    @staticmethod
    def manual_seed(seed: int) -> None:
        """Ignored without CUDA, as in torch."""

    manual_seed_all = manual_seed

    @staticmethod
    def synchronize(device=None) -> None:
        raise AssertionError("Torch not compiled with CUDA enabled")


class accelerator(_Absent):
    """``tapegrad.accelerator``: none is available."""

    @staticmethod
    def current_accelerator(check_available: bool = False):
        return None


class backends:
    """``tapegrad.backends.mps`` / ``.cuda``: not available."""

    mps = _Absent
    cuda = _Absent
