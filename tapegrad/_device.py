"""Devices: tapegrad computes on the CPU; a request for any other device gets torch's error."""
from __future__ import annotations

# the device types torch's parser knows (its error lists them)
_KNOWN = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve", "fpga",
          "maia", "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia", "privateuseone")


def check_device(device) -> None:
    """Pass for None and the CPU; raise torch's error for anything else.

    >>> check_device("cpu:0")
    """
    if device is None:
        return
    name = str(device)
    kind = name.split(":", 1)[0]
    if kind == "cpu":
        return
    if kind == "cuda":
        raise AssertionError("Torch not compiled with CUDA enabled")
    if kind in _KNOWN:
        raise RuntimeError(f"device '{name}' is not available: tapegrad computes on the CPU")
    raise RuntimeError(f"Expected one of {', '.join(_KNOWN)} device type at start of device "
                       f"string: {name}")
