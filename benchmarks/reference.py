"""Hand-written Numba reference for the chain workload: the practical limit for tapegrad.

`forward` runs the chain (per 4 ops: y*1.001, sin, +x, tanh) into a preallocated float32 buffer
holding every intermediate; `reverse` walks it backwards and accumulates d sum(y) / dx by hand,
with float64 adjoints (as tapegrad's sweep uses).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from numba import njit

SCALE = 1.001


@njit(cache=True)
def forward(x: np.ndarray, buf: np.ndarray) -> None:
    """buf[k] = value after op k of the chain (buf[0] = x); len(buf) - 1 ops, a multiple of 4."""
    buf[0] = x
    for k in range(0, buf.shape[0] - 1, 4):
        for i in range(x.shape[0]):
            y = np.float32(buf[k, i] * np.float32(SCALE))
            buf[k + 1, i] = y
            y = np.sin(y)
            buf[k + 2, i] = y
            y = np.float32(y + x[i])
            buf[k + 3, i] = y
            buf[k + 4, i] = np.tanh(y)


@njit(cache=True)
def reverse(buf: np.ndarray, gx: np.ndarray) -> None:
    """gx = d sum(buf[-1]) / dx, from the intermediates `forward` stored."""
    n = buf.shape[0] - 1
    for i in range(gx.shape[0]):
        g = 1.0
        acc = 0.0
        for k in range(n - 4, -1, -4):
            out = np.float64(buf[k + 4, i])
            g *= 1.0 - out * out                  # tanh
            acc += g                              # + x
            g *= np.cos(np.float64(buf[k + 1, i]))  # sin
            g *= SCALE                            # * 1.001
        gx[i] = acc + g                           # y0 = x


def chain(x0: np.ndarray, n_ops: int) -> Callable[[], np.ndarray]:
    """A callable computing the chain's forward and gradient at x0; returns the gradient."""
    x = np.ascontiguousarray(x0, np.float32)
    buf = np.empty((n_ops + 1, x.size), np.float32)
    gx = np.empty(x.size, np.float64)

    def step() -> np.ndarray:
        forward(x, buf)
        reverse(buf, gx)
        return gx

    return step
