"""tapegrad: PyTorch-style reverse-mode autodiff on a flat Wengert tape, swept by Numba.

>>> import tapegrad as torch
>>> x = torch.ones(2, 2, requires_grad=True)
>>> out = ((x + 2) * (x + 2) * 3).mean()
>>> out.backward(); x.grad
tensor([[4.5000, 4.5000],
        [4.5000, 4.5000]])
"""
from . import _malloc, _quiet

_malloc.tune()  # steady-state steps reuse freed memory instead of faulting in fresh pages
_quiet.ensure()  # numpy's warnings from tapegrad's computations stay quiet, as torch is

from . import autograd, func, nn, optim, utils  # noqa: E402,F401
from ._dtype import (bool_ as bool, double, dtype, float, float32, float64, get_default_dtype,  # noqa: A004
                     int, int32, int64, long, set_default_dtype)
from ._compile import compile  # noqa: A004
from ._vmap import vmap
from ._device import accelerator, backends, cuda, device  # noqa: E402
from ._generator import Generator
from ._grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .factories import (arange, as_tensor, empty, empty_like, eye, from_numpy, full, full_like,
                        linspace, manual_seed, ones, ones_like, rand, rand_like, randint, randn,
                        randn_like, tensor, zeros, zeros_like)
from .ops import *  # noqa: F401,F403  (every op family's public functions)
from ._torch_api import *  # noqa: F401,F403  (out= on the common functions; torch-level names)
from .serialization import load, save
from .tensor import Size, Tensor, is_tensor, numel

clip = clamp  # noqa: F405
__version__ = "0.1.0"

__all__ = [name for name in dir() if not name.startswith("_")]
