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


_C_SOURCE = r"""
#include <math.h>
#include <stdlib.h>
#include <string.h>
/* the random scalar graph's flat tape, forward and reverse: as `scalar_graph` above */
void scalar_graph(int n0, int ne, const double *leaves, const long *codes, const long *args,
                  const long *ks, double *v, double *g, double *gx) {
    int n = n0 + ne;
    memcpy(v, leaves, n0 * sizeof(double));
    for (int e = 0; e < ne; e++) {
        const long *a = args + 4 * e;
        long op = codes[e];
        double r;
        if (op == 0) { double x = v[a[0]]; r = fmax(x, 0.0) + log1p(exp(-fabs(x))); }
        else if (op == 1) r = v[a[0]] + v[a[1]] + v[a[2]] + v[a[3]];
        else if (op == 2) r = v[a[0]] * v[a[1]];
        else {
            double m = fmax(fmax(v[a[0]], v[a[1]]), fmax(v[a[2]], v[a[3]])), s = 0.0;
            for (int j = 0; j < 4; j++) s += exp(v[a[j]] - m);
            r = exp(v[a[ks[e]]] - m) / s;
        }
        v[n0 + e] = r;
    }
    memset(g, 0, n * sizeof(double));
    g[n - 1] = 1.0;
    for (int e = ne - 1; e >= 0; e--) {
        double ge = g[n0 + e];
        if (ge == 0.0) continue;
        const long *a = args + 4 * e;
        long op = codes[e];
        if (op == 0) g[a[0]] += ge / (1.0 + exp(-v[a[0]]));
        else if (op == 1) for (int j = 0; j < 4; j++) g[a[j]] += ge;
        else if (op == 2) { g[a[0]] += ge * v[a[1]]; g[a[1]] += ge * v[a[0]]; }
        else {
            double sk = v[n0 + e];
            double m = fmax(fmax(v[a[0]], v[a[1]]), fmax(v[a[2]], v[a[3]])), s = 0.0;
            for (int i = 0; i < 4; i++) s += exp(v[a[i]] - m);
            for (int j = 0; j < 4; j++) {
                double sj = exp(v[a[j]] - m) / s;
                g[a[j]] += ge * sk * ((j == ks[e] ? 1.0 : 0.0) - sj);
            }
        }
    }
    memcpy(gx, g, n0 * sizeof(double));
}
"""


def c_scalar_graph():
    """`scalar_graph` written in C and compiled with the machine's C compiler (``cc -O2``), as
    a callable of the same arguments; None when there is no C compiler."""
    import ctypes
    import shutil
    import subprocess
    import tempfile
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return None
    d = tempfile.mkdtemp(prefix="tapegrad-cref-")
    src, lib = f"{d}/graph.c", f"{d}/graph.so"
    with open(src, "w") as f:
        f.write(_C_SOURCE)
    if subprocess.run([cc, "-O2", "-shared", "-fPIC", src, "-o", lib, "-lm"],
                      capture_output=True).returncode != 0:
        return None
    fn = ctypes.CDLL(lib).scalar_graph
    ptr = ctypes.c_void_p

    def run(leaves, codes, args, ks):
        n0, ne = leaves.shape[0], codes.shape[0]
        v, g, gx = np.empty(n0 + ne), np.empty(n0 + ne), np.empty(n0)
        fn(ctypes.c_int(n0), ctypes.c_int(ne), *(ptr(a.ctypes.data) for a in (
            np.ascontiguousarray(leaves), codes, np.ascontiguousarray(args), ks, v, g, gx)))
        return gx
    return run
