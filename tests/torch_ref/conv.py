"""torch's convolution, pooling and padding, recorded for tests/test_conv.py: values and
gradients over stride / padding / dilation / groups / ceil_mode / count_include_pad / modes,
float32 and float64, second derivatives, a small LeNet, integer inputs, and the errors torch
raises (type and message) for bad arguments.

Every case is a program against a library module `lib` (torch or tapegrad); inputs and
cotangents come from numpy generators seeded by the case id, so both libraries see the same
numbers. Record with an interpreter that has torch (numpy is the only other need):

    /path/to/python-with-torch -m tests.torch_ref.conv     # writes tests/data/torch_conv.json
"""
from __future__ import annotations

import json
import pathlib
import zlib

import numpy as np

from . import error_of, jsonable

DATA = pathlib.Path(__file__).resolve().parents[1] / "data" / "torch_conv.json"

# ------------------------------------------------------------------------------------------------
# inputs
# ------------------------------------------------------------------------------------------------


def rng_for(cid: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(cid.encode()))


def array(rng: np.random.Generator, shape: tuple, kind: str) -> np.ndarray:
    """'normal' values, 'ties' (small integers: windows with equal maxima), 'int' (int64)."""
    if kind == "ties":
        return rng.integers(-1, 2, size=shape).astype(np.float64)
    if kind == "int":
        return rng.integers(-4, 5, size=shape).astype(np.int64)
    return rng.standard_normal(shape)


# (function, kwargs, input shapes, dtype, kind); the inputs are passed positionally (conv:
# input, weight, bias)
F64, F32 = "float64", "float32"
CONV = {
    "conv2d|basic": ("conv2d", {}, [(2, 3, 6, 6), (4, 3, 3, 3), (4,)], F64, "normal"),
    "conv2d|stride2 pad1": ("conv2d", dict(stride=2, padding=1),
                            [(2, 3, 7, 6), (4, 3, 3, 3), (4,)], F64, "normal"),
    "conv2d|mixed pairs": ("conv2d", dict(stride=(2, 1), padding=(1, 2), dilation=(2, 1)),
                           [(1, 2, 8, 7), (3, 2, 3, 2), (3,)], F64, "normal"),
    "conv2d|dil2 stride2 pad2": ("conv2d", dict(stride=2, padding=2, dilation=2),
                                 [(2, 2, 7, 8), (3, 2, 3, 3), (3,)], F64, "normal"),
    "conv2d|groups2": ("conv2d", dict(groups=2, padding=1),
                       [(2, 4, 5, 5), (6, 2, 3, 3), (6,)], F64, "normal"),
    "conv2d|depthwise": ("conv2d", dict(groups=3, stride=2),
                         [(1, 3, 6, 5), (3, 1, 3, 3), (3,)], F64, "normal"),
    "conv2d|groups3 no bias": ("conv2d", dict(groups=3),
                               [(2, 6, 4, 5), (9, 2, 2, 3)], F64, "normal"),
    "conv2d|same even kernel": ("conv2d", dict(padding="same"),
                                [(2, 2, 5, 6), (3, 2, 2, 3), (3,)], F64, "normal"),
    "conv2d|same dilation2": ("conv2d", dict(padding="same", dilation=2),
                              [(1, 2, 6, 6), (2, 2, 3, 3)], F64, "normal"),
    "conv2d|valid": ("conv2d", dict(padding="valid"), [(1, 2, 5, 4), (2, 2, 3, 3), (2,)], F64,
                     "normal"),
    "conv2d|unbatched": ("conv2d", dict(padding=1), [(3, 5, 5), (2, 3, 3, 3), (2,)], F64,
                         "normal"),
    "conv2d|1x1": ("conv2d", {}, [(2, 3, 4, 4), (5, 3, 1, 1), (5,)], F64, "normal"),
    "conv2d|kernel = input": ("conv2d", {}, [(2, 2, 3, 4), (3, 2, 3, 4), (3,)], F64, "normal"),
    "conv2d|float32": ("conv2d", dict(padding=1), [(2, 3, 6, 6), (4, 3, 3, 3), (4,)], F32,
                       "normal"),
    "conv2d|float32 groups stride": ("conv2d", dict(groups=2, stride=(1, 2), padding=(0, 1)),
                                     [(2, 4, 6, 7), (4, 2, 3, 3), (4,)], F32, "normal"),
    "conv2d|float32 lenet1": ("conv2d", {}, [(4, 1, 12, 12), (6, 1, 5, 5), (6,)], F32,
                              "normal"),
    "conv1d|basic": ("conv1d", {}, [(2, 3, 8), (4, 3, 3), (4,)], F64, "normal"),
    "conv1d|stride pad dil": ("conv1d", dict(stride=2, padding=1, dilation=2),
                              [(2, 2, 9), (3, 2, 3), (3,)], F64, "normal"),
    "conv1d|groups3": ("conv1d", dict(groups=3), [(2, 3, 7), (6, 1, 2), (6,)], F64, "normal"),
    "conv1d|same even kernel": ("conv1d", dict(padding="same"), [(1, 2, 7), (2, 2, 4)], F64,
                                "normal"),
    "conv1d|unbatched": ("conv1d", dict(padding=2), [(3, 6), (2, 3, 3), (2,)], F64, "normal"),
    "conv1d|float32": ("conv1d", dict(stride=2), [(2, 3, 9), (4, 3, 3), (4,)], F32, "normal"),
    # pooling
    "max_pool2d|k2": ("max_pool2d", dict(kernel_size=2), [(2, 3, 6, 6)], F64, "normal"),
    "max_pool2d|k3 s2 p1": ("max_pool2d", dict(kernel_size=3, stride=2, padding=1),
                            [(2, 2, 7, 6)], F64, "normal"),
    "max_pool2d|pairs dilation": ("max_pool2d", dict(kernel_size=(2, 3), stride=(1, 2),
                                                     padding=1, dilation=(2, 1)),
                                  [(1, 2, 7, 7)], F64, "normal"),
    "max_pool2d|ceil": ("max_pool2d", dict(kernel_size=3, stride=2, ceil_mode=True),
                        [(1, 2, 8, 7)], F64, "normal"),
    "max_pool2d|ceil pad": ("max_pool2d", dict(kernel_size=3, stride=2, padding=1,
                                               ceil_mode=True), [(1, 2, 6, 5)], F64, "normal"),
    "max_pool2d|ceil stride3": ("max_pool2d", dict(kernel_size=2, stride=3, ceil_mode=True),
                                [(1, 1, 7, 8)], F64, "normal"),
    "max_pool2d|ties k2": ("max_pool2d", dict(kernel_size=2), [(2, 2, 6, 6)], F64, "ties"),
    "max_pool2d|ties overlapping": ("max_pool2d", dict(kernel_size=3, stride=1, padding=1),
                                    [(1, 2, 5, 5)], F64, "ties"),
    "max_pool2d|indices": ("max_pool2d", dict(kernel_size=3, stride=2, padding=1, dilation=2,
                                              return_indices=True), [(2, 2, 8, 7)], F64,
                           "normal"),
    "max_pool2d|indices ties": ("max_pool2d", dict(kernel_size=2, stride=1,
                                                   return_indices=True), [(1, 2, 4, 5)], F64,
                                "ties"),
    "max_pool2d|unbatched": ("max_pool2d", dict(kernel_size=2, padding=1), [(3, 5, 4)], F64,
                             "normal"),
    "max_pool2d|float32": ("max_pool2d", dict(kernel_size=2, stride=2), [(4, 6, 8, 8)], F32,
                           "normal"),
    "max_pool2d|int": ("max_pool2d", dict(kernel_size=2, padding=1), [(1, 2, 5, 5)], "int64",
                       "int"),
    "max_pool1d|k3 s2 p1": ("max_pool1d", dict(kernel_size=3, stride=2, padding=1),
                            [(2, 3, 9)], F64, "normal"),
    "max_pool1d|ties": ("max_pool1d", dict(kernel_size=3, stride=1), [(2, 2, 9)], F64, "ties"),
    "max_pool1d|dilation ceil": ("max_pool1d", dict(kernel_size=2, stride=2, dilation=2,
                                                    ceil_mode=True), [(1, 2, 8)], F64,
                                 "normal"),
    "max_pool1d|indices": ("max_pool1d", dict(kernel_size=3, stride=2, padding=1,
                                              return_indices=True), [(2, 2, 8)], F64, "ties"),
    "max_pool1d|unbatched": ("max_pool1d", dict(kernel_size=2), [(3, 7)], F64, "normal"),
    "max_pool1d|float32": ("max_pool1d", dict(kernel_size=2), [(2, 3, 8)], F32, "normal"),
    "avg_pool2d|k2": ("avg_pool2d", dict(kernel_size=2), [(2, 3, 6, 6)], F64, "normal"),
    "avg_pool2d|k3 s2 p1": ("avg_pool2d", dict(kernel_size=3, stride=2, padding=1),
                            [(2, 2, 7, 6)], F64, "normal"),
    "avg_pool2d|k3 s2 p1 no pad count": ("avg_pool2d", dict(kernel_size=3, stride=2, padding=1,
                                                            count_include_pad=False),
                                         [(2, 2, 7, 6)], F64, "normal"),
    "avg_pool2d|ceil pad": ("avg_pool2d", dict(kernel_size=3, stride=2, padding=1,
                                               ceil_mode=True), [(1, 2, 6, 5)], F64, "normal"),
    "avg_pool2d|ceil pad no pad count": ("avg_pool2d", dict(kernel_size=3, stride=2, padding=1,
                                                            ceil_mode=True,
                                                            count_include_pad=False),
                                         [(1, 2, 6, 5)], F64, "normal"),
    "avg_pool2d|ceil no pad": ("avg_pool2d", dict(kernel_size=(2, 3), stride=2,
                                                  ceil_mode=True), [(1, 1, 5, 7)], F64,
                               "normal"),
    "avg_pool2d|divisor": ("avg_pool2d", dict(kernel_size=2, padding=1, divisor_override=3),
                           [(1, 2, 5, 4)], F64, "normal"),
    "avg_pool2d|unbatched float32": ("avg_pool2d", dict(kernel_size=2, stride=1),
                                     [(3, 5, 5)], F32, "normal"),
    "avg_pool2d|int": ("avg_pool2d", dict(kernel_size=2, padding=1), [(1, 2, 5, 5)], "int64",
                       "int"),
    "avg_pool1d|k2": ("avg_pool1d", dict(kernel_size=2), [(2, 3, 8)], F64, "normal"),
    "avg_pool1d|ceil pad no count": ("avg_pool1d", dict(kernel_size=3, stride=2, padding=1,
                                                        ceil_mode=True,
                                                        count_include_pad=False),
                                     [(2, 2, 8)], F64, "normal"),
    "avg_pool1d|unbatched float32": ("avg_pool1d", dict(kernel_size=3, stride=1, padding=1),
                                     [(2, 6)], F32, "normal"),
    "adaptive_avg_pool2d|uneven": ("adaptive_avg_pool2d", dict(output_size=(3, 2)),
                                   [(2, 3, 7, 5)], F64, "normal"),
    "adaptive_avg_pool2d|even": ("adaptive_avg_pool2d", dict(output_size=(3, 2)),
                                 [(2, 2, 6, 4)], F64, "normal"),
    "adaptive_avg_pool2d|1x1": ("adaptive_avg_pool2d", dict(output_size=1), [(2, 3, 5, 4)],
                                F64, "normal"),
    "adaptive_avg_pool2d|larger": ("adaptive_avg_pool2d", dict(output_size=(4, 7)),
                                   [(1, 2, 3, 5)], F64, "normal"),
    "adaptive_avg_pool2d|None": ("adaptive_avg_pool2d", dict(output_size=(None, 2)),
                                 [(1, 2, 3, 5)], F64, "normal"),
    "adaptive_avg_pool2d|unbatched float32": ("adaptive_avg_pool2d", dict(output_size=3),
                                              [(2, 7, 8)], F32, "normal"),
    "adaptive_avg_pool1d|uneven": ("adaptive_avg_pool1d", dict(output_size=3), [(2, 3, 7)],
                                   F64, "normal"),
    "adaptive_avg_pool1d|even": ("adaptive_avg_pool1d", dict(output_size=4), [(2, 3, 8)],
                                 F64, "normal"),
    "adaptive_avg_pool1d|larger": ("adaptive_avg_pool1d", dict(output_size=5), [(2, 3)],
                                   F64, "normal"),
    "adaptive_max_pool2d|uneven": ("adaptive_max_pool2d", dict(output_size=(3, 2),
                                                               return_indices=True),
                                   [(2, 2, 7, 5)], F64, "normal"),
    "adaptive_max_pool2d|even": ("adaptive_max_pool2d", dict(output_size=2), [(2, 2, 6, 4)],
                                 F64, "normal"),
    "adaptive_max_pool2d|ties": ("adaptive_max_pool2d", dict(output_size=(2, 3),
                                                             return_indices=True),
                                 [(2, 2, 5, 7)], F64, "ties"),
    "adaptive_max_pool2d|larger": ("adaptive_max_pool2d", dict(output_size=(4, 6)),
                                   [(1, 2, 3, 5)], F64, "normal"),
    "adaptive_max_pool2d|unbatched float32": ("adaptive_max_pool2d", dict(output_size=(2, 3)),
                                              [(2, 5, 7)], F32, "normal"),
    "adaptive_max_pool1d|uneven": ("adaptive_max_pool1d", dict(output_size=3,
                                                               return_indices=True),
                                   [(2, 3, 7)], F64, "ties"),
    "adaptive_max_pool1d|unbatched": ("adaptive_max_pool1d", dict(output_size=4), [(3, 9)],
                                      F64, "normal"),
    # padding
    "pad|constant": ("pad", dict(pad=(1, 2), value=0.5), [(2, 3, 4)], F64, "normal"),
    "pad|constant 2 dims": ("pad", dict(pad=(1, 0, 2, 1)), [(2, 3, 4)], F64, "normal"),
    "pad|constant 3 dims": ("pad", dict(pad=(1, 1, 0, 2, 1, 0)), [(2, 2, 3)], F64, "normal"),
    "pad|constant negative": ("pad", dict(pad=(-1, 2, 1, -1), value=-1.0), [(2, 3, 4)], F64,
                              "normal"),
    "pad|constant crop only": ("pad", dict(pad=(-1, 0)), [(2, 3)], F64, "normal"),
    "pad|constant float32": ("pad", dict(pad=(2, 1, 1, 1)), [(2, 3, 3)], F32, "normal"),
    "pad|constant int": ("pad", dict(pad=(1, 1), value=2.7), [(2, 3)], "int64", "int"),
    "pad|reflect 1d": ("pad", dict(pad=(2, 3), mode="reflect"), [(2, 3, 5)], F64, "normal"),
    "pad|reflect 2d": ("pad", dict(pad=(1, 2, 2, 1), mode="reflect"), [(2, 3, 4)], F64,
                       "normal"),
    "pad|reflect 3d": ("pad", dict(pad=(1, 0, 1, 1, 0, 2), mode="reflect"), [(1, 2, 3, 3, 4)],
                       F64, "normal"),
    "pad|reflect negative": ("pad", dict(pad=(-1, 2, 1, -1), mode="reflect"), [(1, 3, 4)],
                             F64, "normal"),
    "pad|replicate 1d": ("pad", dict(pad=(3, 1), mode="replicate"), [(2, 4)], F64, "normal"),
    "pad|replicate 2d": ("pad", dict(pad=(1, 2, 2, 0), mode="replicate"), [(1, 2, 3, 3)], F64,
                         "normal"),
    "pad|replicate 3d": ("pad", dict(pad=(1, 1, 2, 0, 1, 1), mode="replicate"), [(2, 2, 3, 2)],
                         F64, "normal"),
    "pad|replicate negative": ("pad", dict(pad=(-2, 2), mode="replicate"), [(1, 2, 4)], F64,
                               "normal"),
    "pad|circular 1d": ("pad", dict(pad=(2, 3), mode="circular"), [(2, 2, 4)], F64, "normal"),
    "pad|circular 2d": ("pad", dict(pad=(1, 2, 3, 1), mode="circular"), [(1, 2, 3, 4)], F64,
                        "normal"),
    "pad|circular negative": ("pad", dict(pad=(-1, 2), mode="circular"), [(1, 2, 4)], F64,
                              "normal"),
    "pad|reflect float32": ("pad", dict(pad=(2, 2, 1, 1), mode="reflect"), [(2, 3, 4)], F32,
                            "normal"),
    # im2col / col2im
    "unfold|basic": ("unfold", dict(kernel_size=2), [(2, 3, 4, 5)], F64, "normal"),
    "unfold|stride pad dil": ("unfold", dict(kernel_size=(2, 3), dilation=(2, 1), padding=1,
                                             stride=(1, 2)), [(1, 2, 6, 5)], F64, "normal"),
    "unfold|unbatched float32": ("unfold", dict(kernel_size=3, padding=1), [(2, 4, 4)], F32,
                                 "normal"),
    "fold|basic": ("fold", dict(output_size=(4, 5), kernel_size=2), [(2, 12, 12)], F64,
                   "normal"),
    "fold|stride pad dil": ("fold", dict(output_size=(6, 5), kernel_size=(2, 3),
                                         dilation=(2, 1), padding=1, stride=(1, 2)),
                            [(1, 12, 18)], F64, "normal"),
    "fold|unbatched": ("fold", dict(output_size=3, kernel_size=2), [(8, 4)], F64, "normal"),
    # integer convolution (no gradient)
    "conv2d|int": ("conv2d", dict(padding=1, stride=2), [(1, 2, 5, 5), (3, 2, 3, 3), (3,)],
                   "int64", "int"),
    "conv1d|int": ("conv1d", {}, [(1, 2, 6), (2, 2, 3)], "int64", "int"),
}


def _call(lib, fn: str, kwargs: dict, xs: list):
    return getattr(lib.nn.functional, fn)(*xs, **kwargs)


def _inputs(lib, cid: str, shapes: list, dtype: str, kind: str):
    rng = rng_for(cid)
    dt = getattr(lib, dtype)
    grad = dtype.startswith("float")
    return rng, [lib.tensor(array(rng, s, kind), dtype=dt, requires_grad=grad) for s in shapes]


def _values_and_grads(lib, cid: str, spec) -> dict:
    fn, kwargs, shapes, dtype, kind = spec
    rng, xs = _inputs(lib, cid, shapes, dtype, kind)
    out = _call(lib, fn, kwargs, xs)
    obs = {}
    if isinstance(out, tuple):
        out, obs["indices"] = out
    obs["value"] = out
    if dtype.startswith("float"):
        g = lib.tensor(rng.standard_normal(tuple(out.shape)), dtype=out.dtype)
        obs["grads"] = list(lib.autograd.grad((out * g).sum(), xs))
    return obs


SECOND = {
    "second|conv2d": ("conv2d", dict(stride=2, padding=1), [(2, 2, 5, 5), (3, 2, 3, 3), (3,)]),
    "second|conv1d groups": ("conv1d", dict(groups=2, dilation=2), [(1, 4, 7), (4, 2, 2)]),
    "second|max_pool2d": ("max_pool2d", dict(kernel_size=3, stride=2, padding=1),
                          [(1, 2, 5, 6)]),
    "second|avg_pool2d": ("avg_pool2d", dict(kernel_size=2, padding=1,
                                             count_include_pad=False), [(1, 2, 5, 4)]),
    "second|adaptive_avg_pool2d": ("adaptive_avg_pool2d", dict(output_size=(2, 3)),
                                   [(1, 2, 5, 4)]),
    "second|pad reflect": ("pad", dict(pad=(2, 1, 1, 1), mode="reflect"), [(1, 3, 4)]),
}


def _second(lib, cid: str, spec) -> dict:
    """The gradient of a loss that is cubic in the output (so second derivatives of the pools
    are not zero), then the gradient of a function of that gradient."""
    fn, kwargs, shapes = spec
    rng, xs = _inputs(lib, cid, shapes, "float64", "normal")
    out = _call(lib, fn, kwargs, xs)
    g = lib.tensor(rng.standard_normal(tuple(out.shape)), dtype=lib.float64)
    gs = lib.autograd.grad((out * out * out * g).sum(), xs, create_graph=True)
    h = [lib.tensor(rng.standard_normal(tuple(x.shape)), dtype=lib.float64) for x in xs]
    total = sum((gi * hi).sum() for gi, hi in zip(gs, h))
    return {"first": list(gs), "second": list(lib.autograd.grad(total, xs))}


def _lenet(lib, cid: str, dtype: str) -> dict:
    """A small LeNet: conv-relu-maxpool twice, then linear and cross entropy."""
    F = lib.nn.functional
    rng = rng_for(cid)
    dt = getattr(lib, dtype)
    shapes = [(6, 1, 3, 3), (6,), (8, 6, 3, 3), (8,), (10, 32), (10,)]
    params = [lib.tensor(rng.standard_normal(s) * 0.5, dtype=dt, requires_grad=True)
              for s in shapes]
    x = lib.tensor(rng.standard_normal((3, 1, 14, 14)), dtype=dt)
    target = lib.tensor(rng.integers(0, 10, size=3))
    w1, b1, w2, b2, w3, b3 = params
    h = F.max_pool2d(F.relu(F.conv2d(x, w1, b1, padding=1)), 2)        # (3, 6, 7, 7)
    h = F.max_pool2d(F.relu(F.conv2d(h, w2, b2)), 2, ceil_mode=True)   # (3, 8, 3, 3)
    h = F.adaptive_avg_pool2d(h, 2).flatten(1)                          # (3, 32)
    loss = F.cross_entropy(F.linear(h, w3, b3), target)
    return {"loss": loss, "grads": list(lib.autograd.grad(loss, params))}


def _F(lib):
    return lib.nn.functional


def _t(lib, *shape, dtype=None):
    """Zeros of `shape` (errors are about shapes and arguments, not values)."""
    return lib.zeros(*shape, dtype=dtype or lib.float32)


ERRORS = {
    # conv
    "conv2d channels": lambda lib: _F(lib).conv2d(_t(lib, 1, 3, 32, 32), _t(lib, 6, 1, 5, 5)),
    "conv2d kernel too large": lambda lib: _F(lib).conv2d(_t(lib, 1, 1, 2, 2),
                                                          _t(lib, 1, 1, 3, 3)),
    "conv2d kernel too large with padding": lambda lib: _F(lib).conv2d(
        _t(lib, 1, 1, 2, 3), _t(lib, 1, 1, 5, 3), padding=1, dilation=(1, 2)),
    "conv1d kernel too large": lambda lib: _F(lib).conv1d(_t(lib, 1, 1, 2), _t(lib, 1, 1, 3)),
    "conv2d 2-d input": lambda lib: _F(lib).conv2d(_t(lib, 3, 4), _t(lib, 1, 1, 3, 3)),
    "conv2d 5-d input": lambda lib: _F(lib).conv2d(_t(lib, 1, 1, 3, 4, 4), _t(lib, 1, 1, 3, 3)),
    "conv1d 1-d input": lambda lib: _F(lib).conv1d(_t(lib, 3), _t(lib, 1, 1, 3)),
    "conv1d 4-d input": lambda lib: _F(lib).conv1d(_t(lib, 1, 1, 4, 4), _t(lib, 1, 1, 3)),
    "conv2d 3-d weight": lambda lib: _F(lib).conv2d(_t(lib, 1, 1, 4, 4), _t(lib, 1, 1, 3)),
    "conv2d 5-d weight": lambda lib: _F(lib).conv2d(_t(lib, 1, 1, 4, 4), _t(lib, 1, 1, 3, 3, 3)),
    "conv2d 2-d weight": lambda lib: _F(lib).conv2d(_t(lib, 1, 1, 4, 4), _t(lib, 1, 1)),
    "conv1d 4-d weight": lambda lib: _F(lib).conv1d(_t(lib, 1, 1, 4), _t(lib, 1, 1, 3, 3)),
    "conv2d groups weight": lambda lib: _F(lib).conv2d(_t(lib, 1, 2, 4, 4), _t(lib, 3, 1, 3, 3),
                                                       groups=2),
    "conv2d groups channels": lambda lib: _F(lib).conv2d(_t(lib, 1, 3, 4, 4),
                                                         _t(lib, 4, 1, 3, 3), groups=2),
    "conv2d groups 0": lambda lib: _F(lib).conv2d(_t(lib, 1, 3, 4, 4), _t(lib, 4, 1, 3, 3),
                                                  groups=0),
    "conv2d weight smaller than groups": lambda lib: _F(lib).conv2d(
        _t(lib, 1, 1, 4, 4), _t(lib, 0, 1, 3, 3)),
    "conv2d bias size": lambda lib: _F(lib).conv2d(_t(lib, 1, 1, 4, 4), _t(lib, 6, 1, 3, 3),
                                                   _t(lib, 5)),
    "conv2d bias 2-d": lambda lib: _F(lib).conv2d(_t(lib, 1, 1, 4, 4), _t(lib, 6, 1, 3, 3),
                                                  _t(lib, 6, 1)),
    "conv2d stride 0": lambda lib: _F(lib).conv2d(_t(lib, 1, 1, 4, 4), _t(lib, 1, 1, 3, 3),
                                                  stride=0),
    "conv2d padding -1": lambda lib: _F(lib).conv2d(_t(lib, 1, 1, 4, 4), _t(lib, 1, 1, 3, 3),
                                                    padding=-1),
    "conv2d dilation 0": lambda lib: _F(lib).conv2d(_t(lib, 1, 1, 4, 4), _t(lib, 1, 1, 3, 3),
                                                    dilation=0),
    "conv2d dilation -1": lambda lib: _F(lib).conv2d(_t(lib, 1, 1, 5, 5), _t(lib, 1, 1, 3, 3),
                                                     dilation=-1),
    "conv1d dilation 0": lambda lib: _F(lib).conv1d(_t(lib, 1, 1, 5), _t(lib, 1, 1, 3),
                                                    dilation=0),
    "conv2d stride of 3": lambda lib: _F(lib).conv2d(_t(lib, 1, 1, 4, 4), _t(lib, 1, 1, 3, 3),
                                                     stride=(1, 2, 3)),
    "conv2d padding of 3": lambda lib: _F(lib).conv2d(_t(lib, 1, 1, 4, 4), _t(lib, 1, 1, 3, 3),
                                                      padding=(1, 2, 3)),
    "conv2d padding string": lambda lib: _F(lib).conv2d(_t(lib, 1, 1, 4, 4),
                                                        _t(lib, 1, 1, 3, 3), padding="foo"),
    "conv2d same strided": lambda lib: _F(lib).conv2d(_t(lib, 1, 1, 4, 4), _t(lib, 1, 1, 3, 3),
                                                      padding="same", stride=2),
    "conv2d same 3-d weight": lambda lib: _F(lib).conv2d(_t(lib, 1, 1, 4, 4), _t(lib, 1, 1, 3),
                                                         padding="same"),
    "conv2d same stride of 3": lambda lib: _F(lib).conv2d(
        _t(lib, 1, 1, 4, 4), _t(lib, 1, 1, 3, 3), padding="same", stride=(1, 1, 1)),
    "conv2d valid stride of 3": lambda lib: _F(lib).conv2d(
        _t(lib, 1, 1, 4, 4), _t(lib, 1, 1, 3, 3), padding="valid", stride=(1, 1, 1)),
    "conv2d input float64 weight float32": lambda lib: _F(lib).conv2d(
        _t(lib, 1, 1, 4, 4, dtype=lib.float64), _t(lib, 1, 1, 3, 3)),
    "conv2d input float32 weight float64": lambda lib: _F(lib).conv2d(
        _t(lib, 1, 1, 4, 4), _t(lib, 1, 1, 3, 3, dtype=lib.float64)),
    "conv2d bias float64": lambda lib: _F(lib).conv2d(_t(lib, 1, 1, 4, 4), _t(lib, 1, 1, 3, 3),
                                                      _t(lib, 1, dtype=lib.float64)),
    "conv2d bias dtype before groups": lambda lib: _F(lib).conv2d(
        _t(lib, 1, 1, 4, 4), _t(lib, 1, 1, 3, 3), _t(lib, 1, dtype=lib.float64), groups=0),
    "conv2d weight int64": lambda lib: _F(lib).conv2d(_t(lib, 1, 1, 5, 5),
                                                      _t(lib, 1, 1, 3, 3, dtype=lib.int64)),
    "conv2d channels before dtype": lambda lib: _F(lib).conv2d(
        _t(lib, 1, 3, 4, 4, dtype=lib.float64), _t(lib, 1, 1, 3, 3)),
    "conv2d input list": lambda lib: _F(lib).conv2d([[1.0]], _t(lib, 1, 1, 3, 3)),
    "conv2d weight list": lambda lib: _F(lib).conv2d(_t(lib, 1, 1, 4, 4), [[1.0]]),
    # max pooling
    "max_pool2d kernel 0": lambda lib: _F(lib).max_pool2d(_t(lib, 1, 1, 4, 4), 0),
    "max_pool2d kernel 0 stride 1": lambda lib: _F(lib).max_pool2d(_t(lib, 1, 1, 4, 4), 0, 1),
    "max_pool2d kernel (0, 2)": lambda lib: _F(lib).max_pool2d(_t(lib, 1, 1, 4, 4), (0, 2), 1),
    "max_pool2d stride 0": lambda lib: _F(lib).max_pool2d(_t(lib, 1, 1, 4, 4), 2, 0),
    "max_pool2d stride -1": lambda lib: _F(lib).max_pool2d(_t(lib, 1, 1, 4, 4), 2, -1),
    "max_pool2d pad > half": lambda lib: _F(lib).max_pool2d(_t(lib, 1, 1, 4, 4), 2, padding=2),
    "max_pool2d pad > half, dilated": lambda lib: _F(lib).max_pool2d(
        _t(lib, 1, 1, 8, 8), 3, padding=2, dilation=2),
    "max_pool2d pad -1": lambda lib: _F(lib).max_pool2d(_t(lib, 1, 1, 4, 4), 2, padding=-1),
    "max_pool2d dilation 0": lambda lib: _F(lib).max_pool2d(_t(lib, 1, 1, 4, 4), 2, dilation=0),
    "max_pool2d output too small": lambda lib: _F(lib).max_pool2d(_t(lib, 1, 1, 1, 1), 2),
    "max_pool2d 2-d input": lambda lib: _F(lib).max_pool2d(_t(lib, 4, 4), 2),
    "max_pool2d 5-d input": lambda lib: _F(lib).max_pool2d(_t(lib, 1, 1, 1, 4, 4), 2),
    "max_pool2d zero channels": lambda lib: _F(lib).max_pool2d(_t(lib, 1, 0, 4, 4), 2),
    "max_pool2d kernel of 3": lambda lib: _F(lib).max_pool2d(_t(lib, 1, 1, 4, 4), (2, 2, 2)),
    "max_pool2d stride of 3": lambda lib: _F(lib).max_pool2d(_t(lib, 1, 1, 4, 4), 2, (1, 1, 1)),
    "max_pool2d padding of 3": lambda lib: _F(lib).max_pool2d(_t(lib, 1, 1, 4, 4), 2, 2,
                                                              (1, 1, 1)),
    "max_pool2d dilation of 3": lambda lib: _F(lib).max_pool2d(_t(lib, 1, 1, 4, 4), 2, 2, 0,
                                                               (1, 1, 1)),
    "max_pool2d indices 2-d input": lambda lib: _F(lib).max_pool2d(_t(lib, 4, 4), 2,
                                                                   return_indices=True),
    "max_pool1d 1-d input": lambda lib: _F(lib).max_pool1d(_t(lib, 4), 2),
    "max_pool1d zero channels": lambda lib: _F(lib).max_pool1d(_t(lib, 1, 0, 4), 2),
    "max_pool1d output too small": lambda lib: _F(lib).max_pool1d(_t(lib, 1, 1, 1), 2),
    "max_pool1d kernel 0": lambda lib: _F(lib).max_pool1d(_t(lib, 1, 1, 4), 0),
    "max_pool1d padding > half": lambda lib: _F(lib).max_pool1d(_t(lib, 1, 1, 4), 2, padding=2),
    "max_pool1d padding -1": lambda lib: _F(lib).max_pool1d(_t(lib, 1, 1, 5), 3, padding=-1),
    "max_pool1d stride 0": lambda lib: _F(lib).max_pool1d(_t(lib, 1, 1, 4), 2, stride=0),
    "max_pool1d stride -1": lambda lib: _F(lib).max_pool1d(_t(lib, 1, 1, 4), 2, -1),
    "max_pool1d dilation 0": lambda lib: _F(lib).max_pool1d(_t(lib, 1, 1, 4), 2, dilation=0),
    "max_pool1d kernel of 2": lambda lib: _F(lib).max_pool1d(_t(lib, 1, 1, 4), (2, 2)),
    "max_pool1d stride of 2": lambda lib: _F(lib).max_pool1d(_t(lib, 1, 1, 4), 2, (2, 2)),
    "max_pool1d indices kernel of 2": lambda lib: _F(lib).max_pool1d(
        _t(lib, 1, 1, 4), (2, 2), return_indices=True),
    "max_pool1d indices kernel 0": lambda lib: _F(lib).max_pool1d(
        _t(lib, 1, 1, 4), 0, 1, return_indices=True),
    "max_pool1d indices output too small": lambda lib: _F(lib).max_pool1d(
        _t(lib, 1, 1, 1), 2, return_indices=True),
    "max_pool1d indices 1-d input": lambda lib: _F(lib).max_pool1d(_t(lib, 4), 2,
                                                                   return_indices=True),
    "max_pool1d indices zero channels": lambda lib: _F(lib).max_pool1d(
        _t(lib, 1, 0, 4), 2, return_indices=True),
    # average pooling
    "avg_pool2d kernel 0": lambda lib: _F(lib).avg_pool2d(_t(lib, 1, 1, 4, 4), 0),
    "avg_pool2d kernel 0 stride 1": lambda lib: _F(lib).avg_pool2d(_t(lib, 1, 1, 4, 4), 0, 1),
    "avg_pool2d pad > half": lambda lib: _F(lib).avg_pool2d(_t(lib, 1, 1, 4, 4), 2, padding=2),
    "avg_pool2d pad -1": lambda lib: _F(lib).avg_pool2d(_t(lib, 1, 1, 4, 4), 2, padding=-1),
    "avg_pool2d output too small": lambda lib: _F(lib).avg_pool2d(_t(lib, 1, 1, 1, 1), 2),
    "avg_pool2d 2-d input": lambda lib: _F(lib).avg_pool2d(_t(lib, 4, 4), 2),
    "avg_pool2d 5-d input": lambda lib: _F(lib).avg_pool2d(_t(lib, 1, 1, 1, 4, 4), 2),
    "avg_pool2d zero channels": lambda lib: _F(lib).avg_pool2d(_t(lib, 1, 0, 4, 4), 2),
    "avg_pool2d divisor 0": lambda lib: _F(lib).avg_pool2d(_t(lib, 1, 1, 4, 4), 2,
                                                           divisor_override=0),
    "avg_pool2d divisor float": lambda lib: _F(lib).avg_pool2d(_t(lib, 1, 1, 4, 4), 2,
                                                               divisor_override=1.5),
    "avg_pool2d kernel of 3": lambda lib: _F(lib).avg_pool2d(_t(lib, 1, 1, 4, 4), (2, 2, 2)),
    "avg_pool2d stride of 3": lambda lib: _F(lib).avg_pool2d(_t(lib, 1, 1, 4, 4), 2, (1, 1, 1)),
    "avg_pool1d 1-d input": lambda lib: _F(lib).avg_pool1d(_t(lib, 4), 2),
    "avg_pool1d 4-d input": lambda lib: _F(lib).avg_pool1d(_t(lib, 1, 1, 4, 4), 2),
    "avg_pool1d output too small": lambda lib: _F(lib).avg_pool1d(_t(lib, 1, 1, 1), 2),
    "avg_pool1d kernel 0 stride 1": lambda lib: _F(lib).avg_pool1d(_t(lib, 1, 1, 4), 0, 1),
    "avg_pool1d kernel of 2": lambda lib: _F(lib).avg_pool1d(_t(lib, 1, 1, 4), (2, 2)),
    "avg_pool1d padding > half": lambda lib: _F(lib).avg_pool1d(_t(lib, 1, 1, 4), 2, padding=2),
    # adaptive pooling
    "adaptive_avg_pool2d 2-d input": lambda lib: _F(lib).adaptive_avg_pool2d(_t(lib, 4, 4), 2),
    "adaptive_avg_pool2d 2-d input to 1x1": lambda lib: _F(lib).adaptive_avg_pool2d(
        _t(lib, 4, 4), 1),
    "adaptive_avg_pool2d 5-d input": lambda lib: _F(lib).adaptive_avg_pool2d(
        _t(lib, 1, 1, 1, 4, 4), 2),
    "adaptive_avg_pool2d negative": lambda lib: _F(lib).adaptive_avg_pool2d(_t(lib, 1, 4, 4),
                                                                            -1),
    "adaptive_avg_pool2d size of 3 for 3-d": lambda lib: _F(lib).adaptive_avg_pool2d(
        _t(lib, 1, 4, 4), (1, 2, 3)),
    "adaptive_avg_pool2d size of 3 for 4-d": lambda lib: _F(lib).adaptive_avg_pool2d(
        _t(lib, 1, 1, 4, 4), (1, 2, 3)),
    "adaptive_avg_pool2d size of 1": lambda lib: _F(lib).adaptive_avg_pool2d(_t(lib, 1, 4, 4),
                                                                             (2,)),
    "adaptive_avg_pool2d empty": lambda lib: _F(lib).adaptive_avg_pool2d(_t(lib, 1, 0, 4), 2),
    "adaptive_avg_pool2d int": lambda lib: _F(lib).adaptive_avg_pool2d(
        _t(lib, 1, 4, 4, dtype=lib.int64), 2),
    "adaptive_avg_pool1d 1-d input": lambda lib: _F(lib).adaptive_avg_pool1d(_t(lib, 4), 2),
    "adaptive_avg_pool1d negative": lambda lib: _F(lib).adaptive_avg_pool1d(_t(lib, 1, 4), -1),
    "adaptive_avg_pool1d size of 2": lambda lib: _F(lib).adaptive_avg_pool1d(_t(lib, 1, 4),
                                                                             (1, 2)),
    "adaptive_avg_pool1d empty": lambda lib: _F(lib).adaptive_avg_pool1d(_t(lib, 1, 0), 2),
    "adaptive_max_pool2d 2-d input": lambda lib: _F(lib).adaptive_max_pool2d(_t(lib, 4, 4), 2),
    "adaptive_max_pool2d negative": lambda lib: _F(lib).adaptive_max_pool2d(_t(lib, 1, 4, 4),
                                                                            -1),
    "adaptive_max_pool2d empty": lambda lib: _F(lib).adaptive_max_pool2d(_t(lib, 1, 0, 4), 2),
    "adaptive_max_pool2d zero channels": lambda lib: _F(lib).adaptive_max_pool2d(
        _t(lib, 1, 0, 4, 4), 2),
    "adaptive_max_pool2d size of 3 for 4-d": lambda lib: _F(lib).adaptive_max_pool2d(
        _t(lib, 1, 1, 4, 4), (1, 2, 3)),
    "adaptive_max_pool2d int": lambda lib: _F(lib).adaptive_max_pool2d(
        _t(lib, 1, 4, 4, dtype=lib.int64), 2),
    "adaptive_max_pool1d 1-d input": lambda lib: _F(lib).adaptive_max_pool1d(_t(lib, 4), 2),
    "adaptive_max_pool1d negative": lambda lib: _F(lib).adaptive_max_pool1d(_t(lib, 1, 4), -1),
    "adaptive_max_pool1d size of 2": lambda lib: _F(lib).adaptive_max_pool1d(_t(lib, 1, 4),
                                                                             (1, 2)),
    "adaptive_max_pool1d zero channels": lambda lib: _F(lib).adaptive_max_pool1d(
        _t(lib, 1, 0, 4), 2),
    # pad
    "pad odd length": lambda lib: _F(lib).pad(_t(lib, 2, 3), (1,)),
    "pad too long": lambda lib: _F(lib).pad(_t(lib, 2, 3), (1, 1, 1, 1, 1, 1)),
    "pad crops too much": lambda lib: _F(lib).pad(_t(lib, 2, 3), (-2, -2)),
    "pad crops too much at once": lambda lib: _F(lib).pad(_t(lib, 1, 2, 3), (-4, 0)),
    "pad mode foo": lambda lib: _F(lib).pad(_t(lib, 1, 2, 3), (1, 1), mode="foo"),
    "pad mode None": lambda lib: _F(lib).pad(_t(lib, 1, 2, 3), (1, 1), mode=None),
    "pad float amount": lambda lib: _F(lib).pad(_t(lib, 1, 1, 3), (1.0, 2)),
    "pad input list": lambda lib: _F(lib).pad([1.0], (1, 2)),
    "reflect too large": lambda lib: _F(lib).pad(_t(lib, 1, 2, 3), (3, 3), mode="reflect"),
    "reflect too large, one side": lambda lib: _F(lib).pad(_t(lib, 1, 2, 1), (1, 0),
                                                           mode="reflect"),
    "reflect 2d too large rows": lambda lib: _F(lib).pad(_t(lib, 1, 2, 3), (1, 1, 2, 2),
                                                         mode="reflect"),
    "reflect 2d too large cols": lambda lib: _F(lib).pad(_t(lib, 1, 2, 3), (3, 1, 1, 1),
                                                         mode="reflect"),
    "reflect 3d too large": lambda lib: _F(lib).pad(_t(lib, 1, 2, 3, 4), (1, 1, 1, 1, 2, 2),
                                                    mode="reflect"),
    "reflect with value": lambda lib: _F(lib).pad(_t(lib, 1, 2, 3), (1, 1), mode="reflect",
                                                  value=1.0),
    "reflect 1-d input": lambda lib: _F(lib).pad(_t(lib, 3), (1, 1), mode="reflect"),
    "reflect 4-d input, 1 dim": lambda lib: _F(lib).pad(_t(lib, 1, 1, 2, 3), (1, 1),
                                                        mode="reflect"),
    "reflect 2-d input, 2 dims": lambda lib: _F(lib).pad(_t(lib, 2, 3), (1, 1, 1, 1),
                                                         mode="reflect"),
    "reflect empty": lambda lib: _F(lib).pad(_t(lib, 1, 0, 3), (1, 1), mode="reflect"),
    "reflect 2d empty": lambda lib: _F(lib).pad(_t(lib, 1, 1, 0, 3), (1, 1, 0, 0),
                                                mode="reflect"),
    "replicate 1-d input": lambda lib: _F(lib).pad(_t(lib, 3), (1, 1), mode="replicate"),
    "replicate empty": lambda lib: _F(lib).pad(_t(lib, 1, 2, 0), (1, 0), mode="replicate"),
    "replicate 3d empty": lambda lib: _F(lib).pad(_t(lib, 1, 1, 0, 3), (1, 1, 0, 0, 1, 1),
                                                  mode="replicate"),
    "circular wraps twice": lambda lib: _F(lib).pad(_t(lib, 1, 2, 3), (4, 1), mode="circular"),
    "circular 2d wraps twice": lambda lib: _F(lib).pad(_t(lib, 1, 2, 3), (1, 1, 3, 0),
                                                       mode="circular"),
    "circular 1-d input": lambda lib: _F(lib).pad(_t(lib, 3), (1, 1), mode="circular"),
    # unfold / fold
    "unfold kernel too large": lambda lib: _F(lib).unfold(_t(lib, 1, 1, 4, 6), (5, 2)),
    "unfold 2-d input": lambda lib: _F(lib).unfold(_t(lib, 4, 4), 2),
    "unfold 5-d input": lambda lib: _F(lib).unfold(_t(lib, 1, 1, 1, 4, 4), 2),
    "unfold zero channels": lambda lib: _F(lib).unfold(_t(lib, 1, 0, 4, 4), 2),
    "unfold kernel of 3": lambda lib: _F(lib).unfold(_t(lib, 1, 1, 4, 4), (2, 2, 2)),
    "unfold dilation of 3": lambda lib: _F(lib).unfold(_t(lib, 1, 1, 4, 4), 2,
                                                       dilation=(1, 1, 1)),
    "unfold stride 0": lambda lib: _F(lib).unfold(_t(lib, 1, 1, 4, 4), 2, stride=0),
    "unfold padding -1": lambda lib: _F(lib).unfold(_t(lib, 1, 1, 4, 4), 2, padding=-1),
    "unfold kernel 0": lambda lib: _F(lib).unfold(_t(lib, 1, 1, 4, 4), 0),
    "unfold dilation 0": lambda lib: _F(lib).unfold(_t(lib, 1, 1, 4, 4), 2, dilation=0),
    "fold 4-d input": lambda lib: _F(lib).fold(_t(lib, 1, 4, 4, 4), (3, 3), 2),
    "fold 1-d input": lambda lib: _F(lib).fold(_t(lib, 4), (3, 3), 2),
    "fold channels": lambda lib: _F(lib).fold(_t(lib, 1, 5, 4), (3, 3), 2),
    "fold blocks": lambda lib: _F(lib).fold(_t(lib, 1, 4, 5), (3, 3), 2),
    "fold empty blocks": lambda lib: _F(lib).fold(_t(lib, 1, 4, 0), (1, 1), 2),
    "fold stride 0": lambda lib: _F(lib).fold(_t(lib, 1, 4, 4), (3, 3), 2, stride=0),
    "fold kernel 0": lambda lib: _F(lib).fold(_t(lib, 1, 4, 1), (3, 3), 0),
    "fold output size of 3": lambda lib: _F(lib).fold(_t(lib, 1, 4, 4), (3, 3, 3), 2),
}


def _first_line(obs):
    """Errors as their type and the first line of their message (torch's TypeErrors go on to
    list every overload)."""
    if isinstance(obs, dict) and set(obs) == {"error", "message"}:
        return {"error": obs["error"], "message": obs["message"].split("\n")[0]}
    return obs


def _observe(fn):
    try:
        return jsonable(fn())
    except Exception as e:  # noqa: BLE001 -- the error is the observation
        return _first_line(error_of(e))


def cases() -> list:
    out = [(cid, ("values",)) for cid in CONV]
    out += [(cid, ("second",)) for cid in SECOND]
    out += [("lenet|float64", ("lenet", "float64")), ("lenet|float32", ("lenet", "float32"))]
    out += [(f"error|{name}", ("error",)) for name in ERRORS]
    return out


def run(lib, cid: str, kind: str, *args) -> dict:
    """What `lib` does in case `cid`, as JSON."""
    if kind == "values":
        return _observe(lambda: _values_and_grads(lib, cid, CONV[cid]))
    if kind == "second":
        return _observe(lambda: _second(lib, cid, SECOND[cid]))
    if kind == "lenet":
        return _observe(lambda: _lenet(lib, cid, *args))
    assert kind == "error"
    return _observe(lambda: ERRORS[cid.split("|", 1)[1]](lib))


def record() -> pathlib.Path:
    import torch
    torch.set_default_dtype(torch.float32)
    obs = {cid: run(torch, cid, *args) for cid, args in cases()}
    meta = {"torch": torch.__version__, "cases": len(obs)}
    DATA.write_text(json.dumps({"meta": meta, "observations": obs}, indent=0, sort_keys=True))
    return DATA


if __name__ == "__main__":
    print("wrote", record())
