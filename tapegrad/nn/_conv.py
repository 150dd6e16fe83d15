"""Convolution, pooling and padding for `tapegrad.nn.functional`, with torch's arguments, output
shapes and error messages: conv1d, conv2d, max_pool1d/2d, avg_pool1d/2d, adaptive_avg_pool1d/2d,
adaptive_max_pool1d/2d, pad, unfold, fold.

Every function is a composite of recorded ops (no new op, no engine code), so backward,
``create_graph`` and `tapegrad.compile` replay need nothing of their own:

* im2col is one strided gather, `_walk`: the input's C-order elements at
  ``sum(i_d * stride_d)`` over a walk shape, laid out in C order in any shape of the same size.
  It is recorded as the general walk of the `repeat` op (grad_fn RepeatBackward0, ints
  ``(offset, *walk, *strides)``: O(ndim) parameters where index_select would record every
  gathered position, ~100 ms for one MNIST batch). Its adjoint scatter-adds through the same
  walk, so the gradients of overlapping windows accumulate; its replay forward and its
  create_graph rule (a scatter_add) take any walk.
* conv = zero padding (cat) -> windows (N, G, Cg*k..., L) -> matmul with the weight viewed as
  (G, Cout/G, Cg*k...) -> + bias -> reshape to (N, Cout, out...).
* max_pool = -inf padding -> windows (..., out..., prod(k)) -> ``max(-1)``: the gradient goes to
  one element per window, the first maximum in window order, as in torch (``amax`` would split
  it between ties).
* avg_pool = zero padding -> windows -> ``sum(-1) / divisor`` with torch's divisors.
* adaptive pools: bins of one size are a pooling; otherwise averaging matrices on both sides
  (avg) or one ``max(dim)`` per bin and axis (max: the maximum is separable, and the row-major
  first maximum is found this way too).
* pad = cat with constant blocks, flipped (reflect), repeated (replicate) or wrapped (circular)
  slices; negative pads narrow.
* unfold is the conv's windows; fold (col2im) is a scatter_add of the columns into zeros.
"""
from __future__ import annotations

import math
import warnings
from typing import Optional, Sequence, Union

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .._dtype import c_name, torch_name
from .._record import apply_kernel
from .._trace import mark_pure
from ..ops.shapes import REPEAT, cat
from ..tensor import Tensor, _wrap

IntOrSeq = Union[int, Sequence[int]]

__all__ = ["conv1d", "conv2d", "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d",
           "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d",
           "adaptive_max_pool2d", "pad", "unfold", "fold"]


# ------------------------------------------------------------------------------------------------
# the gather, padding helpers, argument parsing
# ------------------------------------------------------------------------------------------------

def _walk(x: Tensor, shape: tuple, walk: tuple, strides: tuple) -> Tensor:
    """Out (C order, `shape`) = x's C-order elements at ``sum(i_d * strides[d])`` over the index
    space `walk` (same size as `shape`); the gradient scatter-adds back (windows overlap).

    >>> import tapegrad as tg
    >>> _walk(tg.arange(4.), (3, 2), (3, 2), (1, 1)).tolist()
    [[0.0, 1.0], [1.0, 2.0], [2.0, 3.0]]
    """
    xd = x._data
    src = np.ascontiguousarray(xd)  # (the walk reads the tape slot's layout: C order)
    view = as_strided(src, walk, tuple(s * src.itemsize for s in strides), writeable=False)

    def compute(out):
        if out is None:
            return np.ascontiguousarray(view).reshape(shape)
        out.reshape(walk)[...] = view
        return out
    ints = (0, *(int(n) for n in walk), *(int(s) for s in strides))
    return apply_kernel(REPEAT, (x,), tuple(shape), xd.dtype, compute, ints)


def _cstrides(shape: Sequence[int]) -> list:
    """C-order element strides of `shape`."""
    st, acc = [], 1
    for n in reversed(shape):
        st.append(acc)
        acc *= n
    return st[::-1]


def _constant(a: np.ndarray) -> Tensor:
    """A constant made from shapes and arguments only (a traced function freezes it)."""
    return mark_pure(_wrap(a))


def _block(x: Tensor, d: int, n: int, value) -> Tensor:
    """A constant tensor shaped like `x` but `n` long along dim `d`, in x's dtype."""
    shape = list(x._data.shape)
    shape[d] = n
    return _constant(np.full(shape, value, dtype=x._data.dtype))


def _narrow(x: Tensor, d: int, start: int, length: int) -> Tensor:
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    return x.narrow(d, start, length)


def _constant_pad(x: Tensor, pads: Sequence[tuple], value) -> Tensor:
    """x padded with `value` by ``(dim, before, after)`` per dim; negative amounts crop (first,
    as torch). A new tensor even when nothing is added, as torch's (a clone, not a view)."""
    for d, lo, hi in pads:
        if lo < 0:
            x = _narrow(x, d, -lo, x._data.shape[d] + lo)
        if hi < 0:
            x = _narrow(x, d, 0, x._data.shape[d] + hi)
    grown = False
    for d, lo, hi in pads:
        if lo > 0 or hi > 0:
            parts = ([_block(x, d, lo, value)] if lo > 0 else []) + [x] + (
                [_block(x, d, hi, value)] if hi > 0 else [])
            x, grown = cat(parts, d), True
    return x if grown else x.clone()


def _ints(v, what: str, n: int = 1) -> list:
    """An int (as `n` copies) or a sequence of ints as a list."""
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return [int(v)] * n
    if isinstance(v, (tuple, list)) and all(isinstance(e, (int, np.integer)) for e in v):
        return [int(e) for e in v]
    raise TypeError(f"{what} must be an int or a tuple of ints, not {type(v).__name__}")


def _tensor(v, fn: str, arg: str = "input", position: int = 1) -> None:
    """torch's TypeError for a non-tensor argument."""
    if not isinstance(v, Tensor):
        raise TypeError(f"{fn}(): argument '{arg}' (position {position}) must be Tensor, not "
                        f"{type(v).__name__}")


def _sizes(shape) -> str:
    return "[" + ", ".join(str(n) for n in shape) + "]"


def _float(x: Tensor, fn: str) -> None:
    """torch's error for pools that have no integer kernel."""
    if x._data.dtype.kind != "f":
        raise NotImplementedError(f'"{fn}" not implemented for \'{torch_name(x._data.dtype)}\'')


# ------------------------------------------------------------------------------------------------
# convolution
# ------------------------------------------------------------------------------------------------

def _conv_param(name: str, v: list, dim: int) -> list:
    if len(v) == 1:
        return v * dim
    if len(v) != dim:
        raise RuntimeError(f"expected {name} to be a single integer value or a list of {dim} "
                           f"values to match the convolution dimensions, but got "
                           f"{name}={_sizes(v)}")
    return v


def _same_padding(xshape: tuple, wshape: tuple, stride: list, dilation: list,
                  groups: int) -> list:
    """(before, after) per spatial dim for padding='same', with the checks torch makes first
    on that path (the rest are the ordinary ones)."""
    k = len(wshape)
    if k <= 2:
        raise RuntimeError("weight should have at least three dimensions")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if k != len(xshape):
        raise RuntimeError(f"Expected {k}-dimensional input for {k}-dimensional weight"
                           f"{_sizes(wshape)}, but got {len(xshape)}-dimensional input of size "
                           f"{_sizes(xshape)} instead")
    dim = k - 2
    for name, v in (("stride", stride), ("dilation", dilation)):
        if len(v) not in (1, dim):
            raise RuntimeError(f"{name} cannot broadcast to {dim} dimensions")
    if any(s != 1 for s in stride):
        raise RuntimeError("padding='same' is not supported for strided convolutions")
    pads = []
    for i in range(dim):
        total = (dilation[0] if len(dilation) == 1 else dilation[i]) * (wshape[i + 2] - 1)
        pads.append((total // 2, total - total // 2))
    if any(lo != hi for lo, hi in pads):
        warnings.warn("Using padding='same' with even kernel lengths and odd dilation may require "
                      "a zero-padded copy of the input be created", UserWarning, stacklevel=4)
    return pads


def _conv(fn: str, nd: int, input: Tensor, weight: Tensor, bias: Optional[Tensor], stride,
          padding, dilation, groups: int) -> Tensor:
    """conv1d / conv2d (`nd` spatial dims): validation in torch's order, then im2col + matmul."""
    given = (input, weight) + (() if bias is None else (bias,))
    if not all(isinstance(v, Tensor) for v in given):  # (the first line of torch's message)
        names = ", ".join("Tensor" if isinstance(a, Tensor) else type(a).__name__ for a in given)
        raise TypeError(f"{fn}() received an invalid combination of arguments - got ({names}), "
                        f"but expected one of:")
    xd, wd = input._data, weight._data
    mode = padding if isinstance(padding, str) else None
    if mode is None and bias is not None and bias._data.dtype != xd.dtype:
        raise RuntimeError(f"Input type ({c_name(xd.dtype)}) and bias type "
                           f"({c_name(bias._data.dtype)}) should be the same")
    if xd.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {fn}, "
                           f"but got input of size: {_sizes(xd.shape)}")
    batched = xd.ndim == nd + 2
    xshape = xd.shape if batched else (1,) + xd.shape  # torch checks the batched shape
    wshape = wd.shape
    # (torch's binding makes an int `nd` values; the checks below count the weight's dims)
    stride, dilation = _ints(stride, "stride", nd), _ints(dilation, "dilation", nd)
    groups = int(groups)
    if mode is not None:
        if mode not in ("same", "valid"):
            raise RuntimeError(f"Invalid padding string: '{mode}'")
        pads = _same_padding(xshape, wshape, stride, dilation, groups) if mode == "same" else [
            (0, 0)] * max(len(wshape) - 2, 1)
        padding = [lo for lo, _ in pads]  # (checked and used as the symmetric part)
    else:
        padding = _ints(padding, "padding", nd)
    if len(wshape) < 3:
        raise RuntimeError("weight should have at least three dimensions")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    dim = len(wshape) - 2
    stride = _conv_param("stride", stride, dim)
    padding = _conv_param("padding", padding, dim)
    dilation = _conv_param("dilation", dilation, dim)
    if mode is None:
        pads = [(p, p) for p in padding]
    if any(p < 0 for pr in pads for p in pr):
        raise RuntimeError("negative padding is not supported")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(d < 0 for d in dilation):
        raise RuntimeError("dilation should be greater than zero")
    if len(wshape) != len(xshape):
        raise RuntimeError(f"Expected {len(wshape)}-dimensional input for {len(wshape)}-dimensional "
                           f"weight {_sizes(wshape)}, but got {len(xshape)}-dimensional input of "
                           f"size {_sizes(xshape)} instead")
    cout, cg = wshape[0], wshape[1]
    if cout < groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be at least {groups} at "
                           f"dimension 0, but got weight of size {_sizes(wshape)} instead")
    if cout % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at "
                           f"dimension 0, but got weight of size [{_sizes(wshape)}] instead")
    if xshape[1] != cg * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {_sizes(wshape)}, expected "
                           f"input{_sizes(xshape)} to have {cg * groups} channels, but got "
                           f"{xshape[1]} channels instead")
    if bias is not None and bias._data.shape != (cout,):
        raise RuntimeError(f"Given weight of size {_sizes(wshape)}, expected bias to be "
                           f"1-dimensional with {cout} elements, but got bias of size "
                           f"{_sizes(bias._data.shape)} instead")
    padded = [n + lo + hi for n, (lo, hi) in zip(xshape[2:], pads)]
    extent = [d * (k - 1) + 1 for d, k in zip(dilation, wshape[2:])]
    if any(p < e for p, e in zip(padded, extent)):
        raise RuntimeError(f"Calculated padded input size per channel: "
                           f"({' x '.join(map(str, padded))}). Kernel size: "
                           f"({' x '.join(map(str, extent))}). Kernel size can't be greater than "
                           f"actual input size")
    if any(d == 0 for d in dilation):  # (torch's kernels check this one; conv1d runs as 2-d)
        shown = [1] + dilation if dim == 1 else dilation
        raise RuntimeError(f"dilation should be greater than zero, but got {_sizes(shown)}")
    if wd.dtype != xd.dtype:
        raise RuntimeError(f"expected scalar type {torch_name(xd.dtype)} but found "
                           f"{torch_name(wd.dtype)}")
    if bias is not None and bias._data.dtype != xd.dtype:  # ('same'/'valid': torch casts)
        bias = bias.to(xd.dtype)
    return _conv_compute(input, weight, bias, xshape, pads, stride, dilation, groups, batched)


def _conv_compute(x: Tensor, weight: Tensor, bias: Optional[Tensor], xshape: tuple,
                  pads: list, stride: list, dilation: list, groups: int,
                  batched: bool) -> Tensor:
    """The validated convolution: im2col by one walk, one (batched) matmul, bias, reshape."""
    n, c = xshape[:2]
    cout, cg, *kern = weight._data.shape
    nd = len(kern)
    if any(lo or hi for lo, hi in pads):
        x = _constant_pad(x, [(x._data.ndim - nd + i, lo, hi) for i, (lo, hi) in enumerate(pads)],
                          0)
    sp = x._data.shape[-nd:]
    out = [(p - d * (k - 1) - 1) // s + 1 for p, d, k, s in zip(sp, dilation, kern, stride)]
    pst = _cstrides(sp)
    plane = math.prod(sp)
    kg = cg * math.prod(kern)
    length = math.prod(out)
    walk = (n, groups, cg, *kern, *out)
    strides = (c * plane, cg * plane, plane, *(d * t for d, t in zip(dilation, pst)),
               *(s * t for s, t in zip(stride, pst)))
    if groups == 1:   # (N, K, L) = W (Cout, K) @ cols, one gemm per sample
        cols = _walk(x, (n, kg, length), walk, strides)
        res = weight.reshape(cout, kg) @ cols
        if bias is not None:
            res = res + bias.reshape(cout, 1)
    else:             # (N, G, Cout/G, L) = W (G, Cout/G, Kg) @ cols (N, G, Kg, L)
        cols = _walk(x, (n, groups, kg, length), walk, strides)
        res = weight.reshape(groups, cout // groups, kg) @ cols
        if bias is not None:
            res = res + bias.reshape(groups, cout // groups, 1)
    return res.reshape((n, cout, *out) if batched else (cout, *out))


def conv1d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None, stride: IntOrSeq = 1,
           padding: Union[IntOrSeq, str] = 0, dilation: IntOrSeq = 1, groups: int = 1) -> Tensor:
    """1-d cross-correlation of (N, C, L) or (C, L) with weight (Cout, C/groups, k); `padding`
    may be an int, 'valid' or 'same'.

    >>> import tapegrad as tg, tapegrad.nn.functional as F
    >>> F.conv1d(tg.arange(5.).reshape(1, 1, 5), tg.ones(1, 1, 2)).tolist()
    [[[1.0, 3.0, 5.0, 7.0]]]
    """
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None, stride: IntOrSeq = 1,
           padding: Union[IntOrSeq, str] = 0, dilation: IntOrSeq = 1, groups: int = 1) -> Tensor:
    """2-d cross-correlation of (N, C, H, W) or (C, H, W) with weight (Cout, C/groups, kH, kW);
    `padding` may be an int, a pair, 'valid' or 'same'.

    >>> import tapegrad as tg, tapegrad.nn.functional as F
    >>> F.conv2d(tg.ones(1, 1, 3, 3), tg.ones(2, 1, 2, 2), padding=1).shape
    tapegrad.Size([1, 2, 4, 4])
    """
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


# ------------------------------------------------------------------------------------------------
# pooling: shape checks (torch's, in its order) and the windows
# ------------------------------------------------------------------------------------------------

def _pool_out(n: int, k: int, p: int, s: int, d: int, ceil_mode: bool) -> int:
    """torch's pooling_output_shape (with its checks), for one spatial dim."""
    if s == 0:
        raise RuntimeError("stride should not be zero")
    if p < 0:
        raise RuntimeError(f"pad must be non-negative, but got pad: {p}")
    if p > ((k - 1) * d + 1) // 2:
        raise RuntimeError(f"pad should be at most half of effective kernel size, but got pad={p}, "
                           f"kernel_size={k} and dilation={d}")
    o = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (o - 1) * s >= n + p:  # the last window must start inside the input
        o -= 1
    return o


def _pool2d_param(fn: str, name: str, v, allow_empty: bool = False) -> list:
    """kernel_size / stride / padding / dilation of a 2-d pool as a pair."""
    v = [] if v is None else _ints(v, name)
    if len(v) == 2 or len(v) == 1 or (allow_empty and not v):
        return v * 2 if len(v) == 1 else v
    if name == "stride":
        raise RuntimeError(f"{fn}: stride must either be omitted, a single int, or a tuple of two "
                           f"ints")
    verb = "must be either" if name == "dilation" else "must either be"
    raise RuntimeError(f"{fn}: {name} {verb} a single int, or a tuple of two ints")


def _pool2d_shape(fn: str, shape: tuple, k: list, s: list, p: list, d: list,
                  ceil_mode: bool) -> list:
    """Output (oH, oW) of a 2-d pool of an input of `shape`, with torch's checks in its order
    (1-d pools that torch runs as 2-d ones pass their unsqueezed shape and pairs)."""
    nd = len(shape)
    if fn == "max_pool2d" and nd not in (3, 4):
        raise RuntimeError("non-empty 3D or 4D (batch mode) tensor expected for input")
    if fn == "avg_pool2d" and nd < 3:  # torch reads size(-3) first
        raise IndexError(f"Dimension out of range (expected to be in range of [{-nd}, {nd - 1}], "
                         f"but got -3)")
    out = [_pool_out(n, *a, ceil_mode) for n, a in zip(shape[-2:], zip(k, p, s, d))]
    if k[0] <= 0 or k[1] <= 0:
        raise RuntimeError(f"kernel size should be greater than zero, but got kH: {k[0]} kW: {k[1]}")
    if s[0] <= 0 or s[1] <= 0:
        raise RuntimeError(f"stride should be greater than zero, but got dH: {s[0]} dW: {s[1]}")
    if d[0] <= 0 or d[1] <= 0:
        raise RuntimeError(f"dilation should be greater than zero, but got dilationH: {d[0]} "
                           f"dilationW: {d[1]}")
    valid = shape[1] != 0 and shape[2] != 0 if nd >= 3 else False
    if not ((nd == 3 and shape[0] != 0 and valid) or (nd == 4 and valid and shape[3] != 0)):
        raise RuntimeError(f"Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size "
                           f"for input, but got:{_sizes(shape)}")
    if k[1] // 2 < p[1] or k[0] // 2 < p[0]:
        raise RuntimeError(f"pad should be smaller than or equal to half of kernel size, but got "
                           f"padW = {p[1]}, padH = {p[0]}, kW = {k[1]}, kH = {k[0]}")
    if out[0] < 1 or out[1] < 1:
        raise RuntimeError(f"Given input size: ({shape[-3]}x{shape[-2]}x{shape[-1]}). Calculated "
                           f"output size: ({shape[-3]}x{out[0]}x{out[1]}). Output size is too "
                           f"small")
    return out


def _check_dims_1d(fn: str, x: Tensor) -> None:
    """torch's checkDimRange for the 1-d pools it runs as 2-d ones."""
    nd = x._data.ndim
    if nd not in (2, 3):
        raise RuntimeError(f"Expected 2 to 3 dimensions, but got {nd}-dimensional tensor for "
                           f"argument #1 'self' (while checking arguments for {fn})")


def _one(fn: str, name: str, v, allow_empty: bool = False) -> list:
    """torch's check1d: a 1-d pool's argument as a one-element list ([] for an omitted one)."""
    v = [] if v is None else _ints(v, name)
    if len(v) != 1 and not (allow_empty and not v):
        raise RuntimeError(f"{fn}() argument '{name}' should contain one int (got {len(v)})")
    return v


def _windows(x: Tensor, k: list, s: list, p: list, d: list, out: list, fill) -> Tensor:
    """The pooling windows of x (..., *spatial): shape (..., *out, prod(k)), window elements in
    row-major order; padding (and the ceil_mode overhang) holds `fill`."""
    nd = len(k)
    lead = x._data.shape[:-nd]
    spatial = x._data.shape[-nd:]
    pads = []
    for i, (n, ki, si, pi, di, oi) in enumerate(zip(spatial, k, s, p, d, out)):
        hi = max(pi, (oi - 1) * si + di * (ki - 1) + 1 - n - pi)  # room for the last window
        pads.append((len(lead) + i, pi, hi))
    if any(lo or hi for _, lo, hi in pads):
        x = _constant_pad(x, pads, fill)
    sp = x._data.shape[-nd:]
    pst = _cstrides(sp)
    plane = math.prod(sp)
    walk = (*lead, *out, *k)
    strides = (*(plane * t for t in _cstrides(lead)), *(si * t for si, t in zip(s, pst)),
               *(di * t for di, t in zip(d, pst)))
    return _walk(x, (*lead, *out, math.prod(k)), walk, strides)


def _max_pool(x: Tensor, k: list, s: list, p: list, d: list, out: list, return_indices: bool):
    """Max over the windows; the gradient goes to the first maximum of each window (torch's)."""
    win = _windows(x, k, s, p, d, out, -math.inf if x._data.dtype.kind == "f" else
                   np.iinfo(x._data.dtype).min)
    values, arg = win.max(-1)
    if not return_indices:
        return values
    # flat position in the (unpadded) input plane of each window's pick
    a = arg._data
    pos = np.zeros(a.shape, np.int64)
    nd = len(k)
    rest = a
    spatial = x._data.shape[-nd:]
    for i in reversed(range(nd)):
        ki = rest % k[i]
        rest = rest // k[i]
        o = np.arange(out[i]).reshape((-1,) + (1,) * (nd - 1 - i))
        coord = o * s[i] - p[i] + ki * d[i]
        pos = pos + coord * math.prod(spatial[i + 1:])
    return values, _wrap(pos)


def _avg_divisors(n: int, k: int, s: int, p: int, o: int, count_include_pad: bool) -> np.ndarray:
    """torch's avg_pool divisor factor per output position along one dim."""
    start = np.arange(o) * s - p
    end = np.minimum(start + k, n + p)
    size = end - start
    if not count_include_pad:
        size = np.minimum(end, n) - np.maximum(start, 0)
    return size


def _avg_pool(x: Tensor, k: list, s: list, p: list, out: list, count_include_pad: bool,
              divisor_override: Optional[int]) -> Tensor:
    """Window sums over torch's divisors (one per window when padding or ceil_mode clip some)."""
    nd = len(k)
    ones = [1] * nd
    win = _windows(x, k, s, p, ones, out, 0)
    spatial = x._data.shape[-nd:]
    if divisor_override is not None:
        div = np.array(divisor_override)
    else:
        div = np.ones((), np.int64)
        for i in range(nd):
            f = _avg_divisors(spatial[i], k[i], s[i], p[i], out[i], count_include_pad)
            div = div[..., None] * f if i else f
    total = win.sum(-1)
    dt = x._data.dtype
    if dt.kind != "f":  # integer pooling divides as C++ does (truncation toward zero)
        q = np.abs(total._data) // np.abs(div)
        return _wrap((np.sign(total._data) * np.sign(div) * q).astype(dt))
    if div.ndim == 0 or np.all(div == div.flat[0]):
        return total / float(div.flat[0])
    return total / _constant(div.astype(dt))


def max_pool1d(input: Tensor, kernel_size: IntOrSeq, stride: Optional[IntOrSeq] = None,
               padding: IntOrSeq = 0, dilation: IntOrSeq = 1, ceil_mode: bool = False,
               return_indices: bool = False):
    """Max over windows along the last dim of (N, C, L) or (C, L); `stride` defaults to
    `kernel_size`. With ``return_indices`` also the position of each maximum in L.

    >>> import tapegrad as tg, tapegrad.nn.functional as F
    >>> F.max_pool1d(tg.tensor([[[1., 3., 2., 5.]]]), 2).tolist()
    [[[3.0, 5.0]]]
    """
    _tensor(input, "max_pool1d_with_indices" if return_indices else "max_pool1d")
    x = input
    shape = x._data.shape
    if return_indices:  # torch runs this one as max_pool2d of x.unsqueeze(-2)
        _check_dims_1d("max_pool1d", x)
        k = _one("max_pool1d", "kernel_size", kernel_size)
        s = _one("max_pool1d", "stride", stride, True) or k
        p = _one("max_pool1d", "padding", padding)
        d = _one("max_pool1d", "dilation", dilation)
        out = _pool2d_shape("max_pool2d", shape[:-1] + (1,) + shape[-1:], [1] + k, [1] + s,
                            [0] + p, [1] + d, ceil_mode)[1:]
        return _max_pool(x, k, s, p, d, out, True)
    nd = len(shape)
    if not ((nd == 2 and shape[0] and shape[1]) or (nd == 3 and shape[1] and shape[2])):
        raise RuntimeError(f"max_pool1d: Expected 2D or 3D (batch mode) tensor with optional 0 "
                           f"dim batch size for input, but got:{_sizes(shape)}")
    k, s = _ints(kernel_size, "kernel_size"), [] if stride is None else _ints(stride, "stride")
    p, d = _ints(padding, "padding"), _ints(dilation, "dilation")
    if len(k) != 1:
        raise RuntimeError(f"max_pool1d() kernel_size must be an int, list of ints or tuple of "
                           f"ints of size 1 but got size {len(k)}")
    if len(s) > 1:
        raise RuntimeError(f"max_pool1d() stride must be None, an int, list of ints, or tuple of "
                           f"ints of size 1 but got size {len(s)}")
    if len(p) != 1:
        raise RuntimeError(f"max_pool1d() padding must be an int, list of ints, or tuple of ints "
                           f"of size 1 but got size {len(p)}")
    if len(d) != 1:
        raise RuntimeError(f"max_pool1d() dilation must be an int, list of ints or tuple of ints "
                           f"of size 1 but got size {len(d)}")
    s = s or k
    if k[0] <= 0:
        raise RuntimeError(f"max_pool1d() kernel_size must be greater than zero, but got {k[0]}")
    if s[0] <= 0:
        raise RuntimeError(f"max_pool1d() stride must be greater than zero, but got {s[0]}")
    if p[0] < 0:
        raise RuntimeError(f"max_pool1d() padding must be non-negative, but got {p[0]}")
    if p[0] > k[0] // 2:
        raise RuntimeError(f"max_pool1d() padding should be at most half of kernel size, but got "
                           f"padding={p[0]} and kernel_size={k[0]}")
    if d[0] <= 0:
        raise RuntimeError(f"max_pool1d() dilation must be greater than zero, but got {d[0]}")
    o = _pool_out(shape[-1], k[0], p[0], s[0], d[0], ceil_mode)
    if o <= 0:
        raise RuntimeError(f"max_pool1d() Invalid computed output size: {o}")
    return _max_pool(x, k, s, p, d, [o], False)


def max_pool2d(input: Tensor, kernel_size: IntOrSeq, stride: Optional[IntOrSeq] = None,
               padding: IntOrSeq = 0, dilation: IntOrSeq = 1, ceil_mode: bool = False,
               return_indices: bool = False):
    """Max over (kH, kW) windows of (N, C, H, W) or (C, H, W); `stride` defaults to
    `kernel_size`; the gradient goes to the first maximum of each window, as torch's. With
    ``return_indices`` also each maximum's flat position in H*W.

    >>> import tapegrad as tg, tapegrad.nn.functional as F
    >>> F.max_pool2d(tg.arange(16.).reshape(1, 1, 4, 4), 2).tolist()
    [[[[5.0, 7.0], [13.0, 15.0]]]]
    """
    _tensor(input, "max_pool2d_with_indices" if return_indices else "max_pool2d")
    fn = "max_pool2d"
    k = _pool2d_param(fn, "kernel_size", kernel_size)
    s = _pool2d_param(fn, "stride", stride, True) or k
    p = _pool2d_param(fn, "padding", padding)
    d = _pool2d_param(fn, "dilation", dilation)
    out = _pool2d_shape(fn, input._data.shape, k, s, p, d, ceil_mode)
    return _max_pool(input, k, s, p, d, out, return_indices)


def avg_pool1d(input: Tensor, kernel_size: IntOrSeq, stride: Optional[IntOrSeq] = None,
               padding: IntOrSeq = 0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """Mean over windows along the last dim of (N, C, L) or (C, L) (torch's divisors: with
    ``count_include_pad=False`` only real elements count).

    >>> import tapegrad as tg, tapegrad.nn.functional as F
    >>> F.avg_pool1d(tg.tensor([[[1., 3., 2., 6.]]]), 2).tolist()
    [[[2.0, 4.0]]]
    """
    _tensor(input, "avg_pool1d")
    _check_dims_1d("avg_pool1d", input)
    k = _one("avg_pool1d", "kernel_size", kernel_size)
    s = _one("avg_pool1d", "stride", stride, True) or k
    p = _one("avg_pool1d", "padding", padding)
    shape = input._data.shape
    out = _pool2d_shape("avg_pool2d", shape[:-1] + (1,) + shape[-1:], [1] + k, [1] + s,
                        [0] + p, [1, 1], ceil_mode)[1:]
    return _avg_pool(input, k, s, p, out, count_include_pad, None)


def avg_pool2d(input: Tensor, kernel_size: IntOrSeq, stride: Optional[IntOrSeq] = None,
               padding: IntOrSeq = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: Optional[int] = None) -> Tensor:
    """Mean over (kH, kW) windows of (N, C, H, W) or (C, H, W), with torch's divisors
    (`count_include_pad`, `divisor_override`, windows clipped by ceil_mode).

    >>> import tapegrad as tg, tapegrad.nn.functional as F
    >>> F.avg_pool2d(tg.arange(16.).reshape(1, 1, 4, 4), 2).tolist()
    [[[[2.5, 4.5], [10.5, 12.5]]]]
    """
    _tensor(input, "avg_pool2d")
    fn = "avg_pool2d"
    if divisor_override is not None and not isinstance(divisor_override, (int, np.integer)):
        raise TypeError(f"avg_pool2d(): argument 'divisor_override' must be int, not "
                        f"{type(divisor_override).__name__}")
    k = _pool2d_param(fn, "kernel_size", kernel_size)
    s = _pool2d_param(fn, "stride", stride, True) or k
    p = _pool2d_param(fn, "padding", padding)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    out = _pool2d_shape(fn, input._data.shape, k, s, p, [1, 1], ceil_mode)
    return _avg_pool(input, k, s, p, out, count_include_pad, divisor_override)


# ------------------------------------------------------------------------------------------------
# adaptive pooling
# ------------------------------------------------------------------------------------------------

def _bins(n: int, o: int) -> list:
    """torch's adaptive bins: [floor(i n / o), ceil((i + 1) n / o)) for i < o."""
    return [((i * n) // o, -((-(i + 1) * n) // o)) for i in range(o)]


def _list_with_default(output_size, shape: tuple):
    """torch's F.adaptive_*_pool2d argument handling: None keeps the input's size."""
    if isinstance(output_size, (int, np.integer)):
        return [int(output_size)] * 2
    sizes = list(output_size)
    if len(shape) <= len(sizes):
        raise ValueError(f"Input dimension should be at least {len(sizes) + 1}")
    return [v if v is not None else n for v, n in zip(sizes, shape[-len(sizes):])]


def _averaging(n: int, o: int, dt) -> np.ndarray:
    """(o, n): row i averages bin i."""
    a = np.zeros((o, n), dt)
    for i, (lo, hi) in enumerate(_bins(n, o)):
        a[i, lo:hi] = 1.0 / (hi - lo)
    return a


def _adaptive_avg(x: Tensor, out: list) -> Tensor:
    spatial = x._data.shape[-len(out):]
    if all(o and n % o == 0 for n, o in zip(spatial, out)):  # bins of one size: a pooling
        k = [n // o for n, o in zip(spatial, out)]
        return _avg_pool(x, k, k, [0] * len(k), out, True, None)
    dt = x._data.dtype
    res = x @ _constant(_averaging(spatial[-1], out[-1], dt).T)   # last dim
    if len(out) == 2:
        res = _constant(_averaging(spatial[0], out[0], dt)) @ res  # rows
    return res


def _adaptive_max(x: Tensor, out: list, return_indices: bool):
    nd = len(out)
    spatial = x._data.shape[-nd:]
    if all(o and n % o == 0 for n, o in zip(spatial, out)):  # bins of one size: a pooling
        k = [n // o for n, o in zip(spatial, out)]
        return _max_pool(x, k, k, [0] * nd, [1] * nd, out, return_indices)
    res = x
    for i in reversed(range(nd)):  # last dim first: the row-major first maximum, as torch
        dim = res._data.ndim - nd + i
        parts = [_narrow(res, dim, lo, hi - lo).max(dim, keepdim=True)[0]
                 for lo, hi in _bins(spatial[i], out[i])]
        res = cat(parts, dim) if parts else _block(res, dim, 0, 0)
    if not return_indices:
        return res
    # the indices, in numpy: each bin's row-major first maximum (what the gradient picked)
    xd = x._data
    flat = xd.reshape(xd.shape[:-nd] + (-1,))
    pos = np.zeros(xd.shape[:-nd] + tuple(out), np.int64)
    plane = np.arange(math.prod(spatial)).reshape(spatial)
    for idx in np.ndindex(*out):
        cells = plane[tuple(slice(*_bins(spatial[i], out[i])[j]) for i, j in enumerate(idx))]
        cells = cells.reshape(-1)
        pos[(...,) + idx] = cells[np.argmax(flat[..., cells], axis=-1)]
    return res, _wrap(pos)


def _adaptive_avg_checks(fn: str, out: list) -> None:
    if len(out) != 2:
        raise RuntimeError(f"{fn}: output_size must be 2")
    if out[0] < 0 or out[1] < 0:
        raise RuntimeError(f"{fn}: elements of output_size must be greater than or equal to 0 but "
                           f"received {{{out[0]}, {out[1]}}}")


def _adaptive_avg_2d(x: Tensor, out: list, unsqueezed: bool) -> Tensor:
    """torch's adaptive_avg_pool2d of x (or of x.unsqueeze(-2) for the 1-d one, `unsqueezed`;
    `out` then starts with that 1)."""
    fn = "adaptive_avg_pool2d"
    _adaptive_avg_checks(fn, out)
    shape = x._data.shape[:-1] + (1,) + x._data.shape[-1:] if unsqueezed else x._data.shape
    if out == [1, 1]:  # torch's shortcut, before its other checks
        return x.mean(-1, keepdim=True) if unsqueezed else x.mean((-2, -1), keepdim=True)
    if len(shape) not in (3, 4):
        raise RuntimeError(f"{fn}(): Expected 3D or 4D tensor, but got {_sizes(shape)}")
    for i in (-2, -1):
        if shape[i] == 0:
            raise RuntimeError(f"{fn}(): Expected input to have non-zero size for non-batch "
                               f"dimensions, but input has sizes {_sizes(shape)} with dimension "
                               f"{i + len(shape)} being empty")
    _float(x, fn)
    return _adaptive_avg(x, out[1:] if unsqueezed else out)


def adaptive_avg_pool1d(input: Tensor, output_size: IntOrSeq) -> Tensor:
    """Mean over `output_size` bins of the last dim of (N, C, L) or (C, L) (torch's bins:
    [floor(i L / o), ceil((i + 1) L / o))).

    >>> import tapegrad as tg, tapegrad.nn.functional as F
    >>> F.adaptive_avg_pool1d(tg.tensor([[1., 2., 3., 6.]]), 2).tolist()
    [[1.5, 4.5]]
    """
    _tensor(input, "adaptive_avg_pool1d")
    _check_dims_1d("adaptive_avg_pool1d", input)
    if output_size is None:
        raise TypeError("adaptive_avg_pool1d(): argument 'output_size' (position 2) must be "
                        "tuple of ints, not NoneType")
    o = _one("adaptive_avg_pool1d", "output_size", output_size)
    return _adaptive_avg_2d(input, [1] + o, True)


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Mean over an (oH, oW) grid of bins of (N, C, H, W) or (C, H, W); None in `output_size`
    keeps that size.

    >>> import tapegrad as tg, tapegrad.nn.functional as F
    >>> F.adaptive_avg_pool2d(tg.arange(16.).reshape(1, 4, 4), 1).tolist()
    [[[7.5]]]
    """
    _tensor(input, "adaptive_avg_pool2d")
    return _adaptive_avg_2d(input, _list_with_default(output_size, input._data.shape), False)


def _nonempty(fn: str, shape: tuple) -> None:
    """adaptive_max_pool's check: every dim but the first non-empty."""
    for i in range(1, len(shape)):
        if shape[i] <= 0:
            raise RuntimeError(f"{fn}(): Expected input to have non-zero size for non-batch "
                               f"dimensions, but input has sizes {_sizes(shape)} with dimension "
                               f"{i} being empty")


def _nonnegative(shape: tuple, out: list) -> None:
    """torch's error when it makes adaptive_max_pool's output of a negative size."""
    for o in out:
        if o < 0:
            full = shape[:-len(out)] + tuple(out)
            raise RuntimeError(f"Trying to create tensor with negative dimension {o}: "
                               f"{_sizes(full)}")


def adaptive_max_pool1d(input: Tensor, output_size: IntOrSeq, return_indices: bool = False):
    """Max over `output_size` bins of the last dim of (N, C, L) or (C, L); with
    ``return_indices`` also each maximum's position in L.

    >>> import tapegrad as tg, tapegrad.nn.functional as F
    >>> F.adaptive_max_pool1d(tg.tensor([[1., 5., 3.]]), 2).tolist()
    [[5.0, 5.0]]
    """
    _tensor(input, "adaptive_max_pool1d")
    _check_dims_1d("adaptive_max_pool1d", input)
    o = _one("adaptive_max_pool1d", "output_size", output_size)
    _nonempty("adaptive_max_pool1d", input._data.shape)
    _nonnegative(input._data.shape[:-1] + (1,) + input._data.shape[-1:], [1] + o)
    _float(input, "adaptive_max_pool2d")
    return _adaptive_max(input, o, return_indices)


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """Max over an (oH, oW) grid of bins of (N, C, H, W) or (C, H, W); None in `output_size`
    keeps that size; the gradient goes to each bin's first maximum (row-major), as torch's.

    >>> import tapegrad as tg, tapegrad.nn.functional as F
    >>> F.adaptive_max_pool2d(tg.arange(9.).reshape(1, 3, 3), 2).tolist()
    [[[4.0, 5.0], [7.0, 8.0]]]
    """
    _tensor(input, "adaptive_max_pool2d")
    shape = input._data.shape
    out = _list_with_default(output_size, shape)
    fn = "adaptive_max_pool2d"
    if len(shape) not in (3, 4):
        raise RuntimeError(f"{fn}(): Expected 3D or 4D tensor, but got: {_sizes(shape)}")
    _nonempty(fn, shape)
    if len(out) != 2:
        raise RuntimeError(f"{fn}(): internal error: output_size.size() must be 2")
    _nonnegative(shape, out)
    _float(input, fn)
    return _adaptive_max(input, out, return_indices)


# ------------------------------------------------------------------------------------------------
# pad
# ------------------------------------------------------------------------------------------------

_MODES = ("constant", "reflect", "replicate", "circular")


def _check_nonconstant(shape: tuple, npad: int) -> None:
    """torch's check_valid_input of its reflection/replication pads (`npad` padded dims)."""
    nd = len(shape)
    batch = nd == npad + 2
    ok = all(n != 0 for n in shape[1:]) if batch else all(n != 0 for n in shape)
    if not ok:
        raise RuntimeError(f"Expected {npad + 1}D or {npad + 2}D (batch mode) tensor with possibly 0 "
                           f"batch size and other non-zero dimensions for input, but got: "
                           f"{_sizes(shape)}")


def _pad_dim(x: Tensor, d: int, lo: int, hi: int, mode: str) -> Tensor:
    """Positive padding of dim d by mode (reflect / replicate / circular)."""
    n = x._data.shape[d]
    before, after = [], []
    if mode == "reflect":
        if lo > 0:
            before = [x.narrow(d, 1, lo).flip(d)]
        if hi > 0:
            after = [x.narrow(d, n - 1 - hi, hi).flip(d)]
    elif mode == "replicate":
        size = list(x._data.shape)
        if lo > 0:
            size[d] = lo
            before = [x.narrow(d, 0, 1).expand(*size)]
        if hi > 0:
            size[d] = hi
            after = [x.narrow(d, n - 1, 1).expand(*size)]
    else:  # circular
        if lo > n or hi > n:
            raise RuntimeError("Padding value causes wrapping around more than once.")
        if lo > 0:
            before = [x.narrow(d, n - lo, lo)]
        if hi > 0:
            after = [x.narrow(d, 0, hi)]
    return cat(before + [x] + after, d) if before or after else x


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant",
        value: Optional[float] = None) -> Tensor:
    """Pad the last len(pad) // 2 dims: ``pad = (left_last, right_last, left_2nd_last, ...)``;
    mode 'constant' (with `value`, default 0; negative amounts crop), 'reflect', 'replicate'
    or 'circular' (1 to 3 trailing dims of a batched or unbatched input, as torch).

    >>> import tapegrad as tg, tapegrad.nn.functional as F
    >>> F.pad(tg.tensor([[1., 2.]]), (1, 2), value=9.).tolist()
    [[9.0, 1.0, 2.0, 9.0, 9.0]]
    """
    _tensor(input, "pad")
    if not isinstance(mode, str):
        raise TypeError(f"pad(): argument 'mode' (position 3) must be str, not "
                        f"{type(mode).__name__}")
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in pad):
        bad = next(i for i, v in enumerate(pad) if not isinstance(v, (int, np.integer)))
        raise TypeError(f"pad(): argument 'pad' (position 2) must be tuple of ints, but found "
                        f"element of type {type(pad[bad]).__name__} at pos {bad}")
    if mode not in _MODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    pad = [int(v) for v in pad]
    shape = input._data.shape
    nd = len(shape)
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) > 2 * nd:
        raise RuntimeError(f"Padding length should be less than or equal to two times the input "
                           f"dimension but got padding length {len(pad)} and input of dimension "
                           f"{nd}")
    npad = len(pad) // 2
    pairs = [(nd - 1 - i, pad[2 * i], pad[2 * i + 1]) for i in range(npad)]
    if mode == "constant":
        return _constant_pad(input, pairs, 0 if value is None else value)
    if value is not None and value != 0:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    if npad not in (1, 2, 3) or nd not in (npad + 1, npad + 2):
        raise NotImplementedError(f"Padding size {len(pad)} is not supported for {nd}D input "
                                  f"tensor.")
    x = input
    if mode == "circular":  # torch crops first, then wraps what is left
        for d, lo, hi in pairs:
            if lo > shape[d] or hi > shape[d]:
                raise RuntimeError("Padding value causes wrapping around more than once.")
        x = _constant_pad(x, [(d, min(lo, 0), min(hi, 0)) for d, lo, hi in pairs], 0)
        for d, lo, hi in reversed(pairs):
            x = _pad_dim(x, d, max(lo, 0), max(hi, 0), mode)
        return x if x is not input else x.clone()
    _check_nonconstant(shape, npad)
    if mode == "reflect":
        for i, (d, lo, hi) in enumerate(pairs):
            if lo >= shape[d] or hi >= shape[d]:
                raise RuntimeError(f"Argument #{4 + 2 * i}: Padding size should be less than the "
                                   f"corresponding input dimension, but got: padding ({lo}, {hi}) "
                                   f"at dimension {d} of input {_sizes(shape)}")
    for d, lo, hi in reversed(pairs):  # positive amounts by mode, then negative ones crop
        x = _pad_dim(x, d, max(lo, 0), max(hi, 0), mode)
    if any(lo < 0 or hi < 0 for _, lo, hi in pairs):
        x = _constant_pad(x, [(d, min(lo, 0), min(hi, 0)) for d, lo, hi in pairs], 0)
    return x if x is not input else x.clone()


# ------------------------------------------------------------------------------------------------
# unfold / fold (im2col / col2im)
# ------------------------------------------------------------------------------------------------

def _pair_checked(fn: str, name: str, v) -> list:
    v = _ints(v, name)
    v = v * 2 if len(v) == 1 else v
    if len(v) != 2:
        raise RuntimeError(f"It is expected {name} equals to 2, but got size {len(v)}")
    return v


def _im2col_params(k: list, d: list, p: list, s: list, order: str) -> None:
    """torch's im2col/col2im parameter checks (`order`: which come first)."""
    checks = {
        "k": (k, "kernel size should be greater than zero", "kernel", lambda v: v > 0),
        "d": (d, "dilation should be greater than zero", "dilation", lambda v: v > 0),
        "p": (p, "padding should be non-negative", "pad", lambda v: v >= 0),
        "s": (s, "stride should be greater than zero", "stride", lambda v: v > 0),
    }
    for key in order:
        v, msg, name, good = checks[key]
        if not (good(v[0]) and good(v[1])):
            raise RuntimeError(f"{msg}, but got {name}_height: {v[0]} {name}_width: {v[1]}")


def unfold(input: Tensor, kernel_size: IntOrSeq, dilation: IntOrSeq = 1, padding: IntOrSeq = 0,
           stride: IntOrSeq = 1) -> Tensor:
    """im2col: the sliding (kH, kW) blocks of (N, C, H, W) or (C, H, W) as columns,
    (N, C*kH*kW, L) or (C*kH*kW, L), channel-major as torch.

    >>> import tapegrad as tg, tapegrad.nn.functional as F
    >>> F.unfold(tg.arange(9.).reshape(1, 1, 3, 3), 2).tolist()
    [[[0.0, 1.0, 3.0, 4.0], [1.0, 2.0, 4.0, 5.0], [3.0, 4.0, 6.0, 7.0], [4.0, 5.0, 7.0, 8.0]]]
    """
    _tensor(input, "im2col")
    k = _pair_checked("im2col", "kernel_size", kernel_size)
    d = _pair_checked("im2col", "dilation", dilation)
    p = _pair_checked("im2col", "padding", padding)
    s = _pair_checked("im2col", "stride", stride)
    _im2col_params(k, d, p, s, "kdps")
    shape = input._data.shape
    nd = len(shape)
    for i in (1, 2):  # torch reads sizes 1 and 2 before checking the rank
        if i >= nd:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-nd}, {nd - 1}]"
                             f", but got {i})")
    valid = shape[1] != 0 and shape[2] != 0
    if not ((nd == 3 and shape[0] and valid) or (nd == 4 and valid and shape[3] != 0)):
        raise RuntimeError(f"Expected 3D or 4D (batch mode) tensor with possibly 0 batch size and "
                           f"other non-zero dimensions for input, but got: {_sizes(shape)}")
    h, w = shape[-2:]
    out = [(n + 2 * pi - (di * (ki - 1) + 1)) // si + 1 for n, ki, di, pi, si in
           zip((h, w), k, d, p, s)]
    if out[0] < 1 or out[1] < 1:
        raise RuntimeError(f"Given input with spatial size ({h}, {w}), kernel_size=({k[0]}, {k[1]}),"
                           f" dilation=({d[0]}, {d[1]}), padding=({p[0]}, {p[1]}), calculated "
                           f"shape of the array of sliding blocks as ({out[0]}, {out[1]}), but its "
                           f"components must be at least one.")
    x = input
    if p[0] or p[1]:
        x = _constant_pad(x, [(nd - 2, p[0], p[0]), (nd - 1, p[1], p[1])], 0)
    hp, wp = x._data.shape[-2:]
    lead = shape[:-3]
    c = shape[-3]
    plane = hp * wp
    walk = (*lead, c, *k, *out)
    strides = (*(c * plane * t for t in _cstrides(lead)), plane, d[0] * wp, d[1], s[0] * wp,
               s[1])
    return _walk(x, (*lead, c * k[0] * k[1], out[0] * out[1]), walk, strides)


def fold(input: Tensor, output_size: IntOrSeq, kernel_size: IntOrSeq, dilation: IntOrSeq = 1,
         padding: IntOrSeq = 0, stride: IntOrSeq = 1) -> Tensor:
    """col2im, the adjoint of `unfold`: columns (N, C*kH*kW, L) or (C*kH*kW, L) summed into
    (N, C, H, W) or (C, H, W) (overlapping blocks add up).

    >>> import tapegrad as tg, tapegrad.nn.functional as F
    >>> F.fold(tg.ones(1, 4, 4), (3, 3), 2).tolist()
    [[[[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]]]
    """
    _tensor(input, "col2im")
    o = _pair_checked("col2im", "output_size", output_size)
    k = _pair_checked("col2im", "kernel_size", kernel_size)
    d = _pair_checked("col2im", "dilation", dilation)
    p = _pair_checked("col2im", "padding", padding)
    s = _pair_checked("col2im", "stride", stride)
    _im2col_params(k, d, p, s, "ksdp")
    shape = input._data.shape
    nd = len(shape)
    if not ((nd == 2 and shape[0] and shape[1]) or (nd == 3 and shape[1] and shape[2])):
        raise RuntimeError(f"Expected 2D or 3D (batch mode) tensor for input with possibly 0 batch "
                           f"size and non-zero dimensions for input, but got: {_sizes(shape)}")
    bd = 0 if nd == 3 else -1
    planes, length = shape[bd + 1], shape[bd + 2]
    if planes % (k[0] * k[1]):
        raise RuntimeError(f"Expected size of input's dimension {bd + 1} to be divisible by the "
                           f"product of kernel_size, but got input.size({bd + 1})={planes} and "
                           f"kernel_size=({k[0]}, {k[1]}).")
    blocks = [(n + 2 * pi - di * (ki - 1) - 1) // si + 1 for n, ki, di, pi, si in
              zip(o, k, d, p, s)]
    if length != blocks[0] * blocks[1]:
        raise RuntimeError(f"Given output_size=({o[0]}, {o[1]}), kernel_size=({k[0]}, {k[1]}), "
                           f"dilation=({d[0]}, {d[1]}), padding=({p[0]}, {p[1]}), stride=({s[0]}, "
                           f"{s[1]}), expected size of input's dimension {bd + 2} to match the "
                           f"calculated number of sliding blocks {blocks[0]} * {blocks[1]} = "
                           f"{blocks[0] * blocks[1]}, but got input.size({bd + 2})={length}.")
    if blocks[0] < 1 or blocks[1] < 1:
        raise RuntimeError(f"Given output_size=({o[0]}, {o[1]}), kernel_size=({k[0]}, {k[1]}), "
                           f"dilation=({d[0]}, {d[1]}), padding=({p[0]}, {p[1]}), stride=({s[0]}, "
                           f"{s[1]}), calculated shape of the array of sliding blocks as "
                           f"({blocks[0]}, {blocks[1]}), which is invalid.")
    # each column element's flat position in the output (those in the padding go to a dummy
    # slot past the end): a scatter_add, as col2im
    n = shape[0] if nd == 3 else 1
    c = planes // (k[0] * k[1])
    r = (np.arange(k[0]) * d[0])[:, None] + (np.arange(blocks[0]) * s[0] - p[0])[None, :]
    q = (np.arange(k[1]) * d[1])[:, None] + (np.arange(blocks[1]) * s[1] - p[1])[None, :]
    r, q = r[:, None, :, None], q[None, :, None, :]                     # (kH, kW, bH, bW)
    inside = (r >= 0) & (r < o[0]) & (q >= 0) & (q < o[1])
    size = n * c * o[0] * o[1]
    base = (np.arange(n * c) * (o[0] * o[1])).reshape(-1, 1, 1, 1, 1)
    pos = np.where(inside[None], base + r * o[1] + q, size).reshape(-1)
    zeros = _constant(np.zeros(size + 1, input._data.dtype))
    flat = zeros.scatter_add(0, _constant(pos), input.reshape(-1))
    return flat.narrow(0, 0, size).reshape((n, c, *o) if nd == 3 else (c, *o))
