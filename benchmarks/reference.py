"""Hand-written Numba references: the practical limit for tapegrad on each workload.

The chain workload:

`forward` runs the chain (per 4 ops: y*1.001, sin, +x, tanh) into a preallocated float32 buffer
holding every intermediate; `reverse` walks it backwards and accumulates d sum(y) / dx by hand,
with float64 adjoints (tapegrad's sweep, like torch, accumulates a float32 graph in float32).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from numba import njit

from benchmarks.random_graph import PROD, SOFTMAX, SOFTPLUS, SUM4  # noqa: F401

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


@njit(cache=True)
def scalar_graph(leaves, codes, args, ks):
    """The random scalar graph (`random_graph.flat_tape`): forward and reverse sweep of a flat
    scalar tape, written by hand — the practical limit for that workload."""
    n0 = leaves.shape[0]
    n = n0 + codes.shape[0]
    v = np.empty(n)
    v[:n0] = leaves
    for e in range(codes.shape[0]):
        a = args[e]
        op = codes[e]
        if op == SOFTPLUS:
            x = v[a[0]]
            v[n0 + e] = max(x, 0.0) + np.log1p(np.exp(-abs(x)))
        elif op == SUM4:
            v[n0 + e] = v[a[0]] + v[a[1]] + v[a[2]] + v[a[3]]
        elif op == PROD:
            v[n0 + e] = v[a[0]] * v[a[1]]
        else:
            m = max(max(v[a[0]], v[a[1]]), max(v[a[2]], v[a[3]]))
            s = 0.0
            for j in range(4):
                s += np.exp(v[a[j]] - m)
            v[n0 + e] = np.exp(v[a[ks[e]]] - m) / s
    g = np.zeros(n)
    g[n - 1] = 1.0
    for e in range(codes.shape[0] - 1, -1, -1):
        ge = g[n0 + e]
        if ge == 0.0:
            continue
        a = args[e]
        op = codes[e]
        if op == SOFTPLUS:
            g[a[0]] += ge / (1.0 + np.exp(-v[a[0]]))
        elif op == SUM4:
            for j in range(4):
                g[a[j]] += ge
        elif op == PROD:
            g[a[0]] += ge * v[a[1]]
            g[a[1]] += ge * v[a[0]]
        else:
            sk = v[n0 + e]
            for j in range(4):
                # output k of softmax(x): d/dx_j = s_k (delta_kj - s_j), s_j recomputed
                m = max(max(v[a[0]], v[a[1]]), max(v[a[2]], v[a[3]]))
                s = 0.0
                for i in range(4):
                    s += np.exp(v[a[i]] - m)
                sj = np.exp(v[a[j]] - m) / s
                g[a[j]] += ge * sk * ((1.0 if j == ks[e] else 0.0) - sj)
    return g[:n0]
