"""Helpers shared by the op modules."""
from __future__ import annotations

import math
from typing import Optional

import numpy as np

from ..tensor import Tensor

SCALAR = (int, float, bool, np.number, np.bool_)
INF = math.inf


def into(res: np.ndarray, out: Optional[np.ndarray]) -> np.ndarray:
    """Write a computed forward value into the arena view `out` (or return it when None)."""
    if out is None:
        return res
    out[...] = res
    return out


def as_tensor_arg(x, name: str = "other") -> Tensor:
    """A tensor operand from a tensor, ndarray, nested list or number."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (np.ndarray, list, tuple) + SCALAR):
        from ..factories import tensor
        return tensor(x)
    raise TypeError(f"{name} must be a Tensor or a number, not {type(x).__name__}")
