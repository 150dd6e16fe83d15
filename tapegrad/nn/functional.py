"""`tapegrad.nn.functional`, as torch.nn.functional: activations, losses, linear, dropout.

Losses with a torch backward node of their own (nll_loss, mse_loss, smooth_l1_loss, the two
binary cross entropies) are registered here with kernels in `_kernels_nn`; the others are
compositions of recorded ops, exactly as torch composes them (cross_entropy = nll_loss of
log_softmax, l1_loss = mean of abs, dropout = a product with a scaled mask, linear = matmul + add).
"""
from __future__ import annotations

import warnings

import numpy as np

from .._trace import mark_random, reads
from .._dtype import result_type, torch_name
from ..ops._kernels_nn import BCE, BCE_LOGITS, MSE, SMOOTH_L1
from .._opdef import REAL, Domain, kernel
from .._record import apply_kernel, broadcast_shapes
from ..ops import abs as _abs
from ..ops._util import as_tensor_arg, into
from ..ops.activations import (
    elu,
    gelu,
    hardtanh,
    implicit_softmax_dim,
    leaky_relu,
    logsigmoid,
    silu,
    softplus,
)
from ..ops.activations import log_softmax as _log_softmax
from ..ops.activations import softmax as _softmax
from ..ops.elementwise import relu, sigmoid, tanh
from ..ops.linalg import addmm, linear_rows
from ..tensor import Tensor, _wrap

_PROB = Domain(0.05, 0.95)


def _nll_test(h, x):
    """Targets (some ignored), a class weight and a reduction for a (N, C, d...) input `x`."""
    c = x.shape[1] if x.ndim >= 2 else x.shape[0]
    tshape = x.shape[:1] + x.shape[2:] if x.ndim >= 2 else ()
    t = np.array(h.draw(h.hnp.arrays(np.int64, tshape, elements=h.st.integers(-1, c - 1))))
    t.reshape(-1)[0] = max(t.reshape(-1)[0], 0)  # not all ignored: 'mean' would be 0/0
    w = _wrap(h.draw(h.hnp.arrays(np.float64, (c,), elements=h.st.floats(0.5, 2.0))))
    red = h.draw(h.st.sampled_from(["mean", "sum", "none"]))
    tt, w = _wrap(t), (w if h.flag() else None)
    return lambda x: nll_loss(x, tt, w, ignore_index=-1, reduction=red)


def _nll_inputs(min_dims: int, max_dims: int):
    return lambda h: (h.tensor(h.shape(min_dims, max_dims)),)


def _loss_test(fn, domain: Domain = REAL, target: Domain = REAL, **kw):
    def shapes(h):
        s = h.shape()
        return h.tensor(s, domain), h.tensor(s, target)

    def make(h, x, y):
        red = h.draw(h.st.sampled_from(["mean", "sum", "none"]))
        return lambda x, y: fn(x, y, reduction=red, **kw)
    return shapes, make


_FWD = "tapegrad.ops._forward_nn:"  # (their forwards, for replay)
NLL = kernel("nll_loss", "tapegrad.ops._kernels_nn:adj_nll", "NllLossBackward0",
             usage="F.nll_loss(x, target) (x 1-D or 2-D)", test=(_nll_inputs(1, 2), _nll_test),
             replay=_FWD + "fwd_nll")
NLL2D = kernel("nll_loss2d", "tapegrad.ops._kernels_nn:adj_nll", "NllLoss2DBackward0",
               usage="F.nll_loss(x, target) (x (N, C, d...))", test=(_nll_inputs(3, 4), _nll_test),
               replay=_FWD + "fwd_nll")
_PTLOSS = "tapegrad.ops._kernels_nn:adj_pointwise_loss"
_PTFWD = _FWD + "fwd_pointwise_loss"
MSE_LOSS = kernel("mse_loss", _PTLOSS, "MseLossBackward0", usage="F.mse_loss(x, y)",
                  test=_loss_test(lambda *a, **k: mse_loss(*a, **k)), replay=_PTFWD)
SMOOTH_L1_LOSS = kernel("smooth_l1_loss", _PTLOSS, "SmoothL1LossBackward0",
                        usage="F.smooth_l1_loss(x, y, beta=1.0)",
                        test=_loss_test(lambda *a, **k: smooth_l1_loss(*a, **k), beta=0.7),
                        replay=_PTFWD)
BCE_LOSS = kernel("binary_cross_entropy", _PTLOSS, "BinaryCrossEntropyBackward0",
                  usage="F.binary_cross_entropy(p, y)",
                  test=_loss_test(lambda *a, **k: binary_cross_entropy(*a, **k), _PROB, _PROB),
                  replay=_PTFWD)
BCE_LOGITS_LOSS = kernel(
    "binary_cross_entropy_with_logits", _PTLOSS, "BinaryCrossEntropyWithLogitsBackward0",
    usage="F.binary_cross_entropy_with_logits(x, y)", replay=_PTFWD,
    test=_loss_test(lambda *a, **k: binary_cross_entropy_with_logits(*a, **k), target=_PROB,
                    pos_weight=_wrap(np.array(1.7))))

_REDUCTIONS = ("none", "mean", "sum")


def _check_reduction(reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")


# ------------------------------------------------------------------------------------------------
# activations
# ------------------------------------------------------------------------------------------------

def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """Softmax over `dim` (as torch, a missing dim is guessed with a deprecation warning).
    ``F.softmax(tg.zeros(2), dim=0)`` -> ``tensor([0.5000, 0.5000])``."""
    if dim is None:
        dim = implicit_softmax_dim("softmax", input.ndim)
    return _softmax(input, dim, dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
                dtype=None) -> Tensor:
    """Log-softmax over `dim`, stable for large |x|.
    ``F.log_softmax(tg.zeros(2), dim=0)`` -> ``tensor([-0.6931, -0.6931])``."""
    if dim is None:
        dim = implicit_softmax_dim("log_softmax", input.ndim)
    return _log_softmax(input, dim, dtype)


# ------------------------------------------------------------------------------------------------
# linear, dropout, one_hot
# ------------------------------------------------------------------------------------------------

def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """input @ weight.T + bias (one `addmm` on the rows, as torch).
    ``F.linear(tg.ones(1, 2), tg.ones(3, 2)).shape`` -> ``tapegrad.Size([1, 3])``."""
    if bias is None or input.ndim == 0 or weight.ndim != 2:
        out = input @ weight.t()
        return out if bias is None else out + bias
    if input.ndim == 2:
        return linear_rows(input, weight, bias)
    rows = linear_rows(input.reshape(-1, input.shape[-1]), weight, bias)
    return rows.reshape(*input.shape[:-1], rows.shape[-1])


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability p and scale the rest by 1 / (1 - p) (seeded by
    `tapegrad.manual_seed`); the input itself when not training."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    from ..factories import _RNG
    dt = input._data.dtype if input._data.dtype.kind == "f" else np.dtype(np.float64)
    shape = input._data.shape
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)

    def draw() -> np.ndarray:
        return ((_RNG[0].random(shape) >= p) * scale).astype(dt)
    mask = _wrap(draw())
    mark_random(mask, draw)  # (a compiled function draws a new mask at every call)
    return input * mask


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """Class indices (int64) to one-hot rows, shape (*tensor.shape, num_classes), int64.
    ``F.one_hot(tg.tensor([0, 2]), 3).tolist()`` -> ``[[1, 0, 0], [0, 0, 1]]``."""
    d = tensor._data
    if d.dtype != np.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if num_classes == -1:
        if d.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(d.max()) + 1
    if d.size and d.min() < 0:
        raise RuntimeError("Class values must be non-negative.")
    if d.size and d.max() >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    return _wrap((d[..., None] == np.arange(num_classes)).astype(np.int64))


# ------------------------------------------------------------------------------------------------
# classification losses
# ------------------------------------------------------------------------------------------------

def _shape_list(s) -> str:
    return "[" + ", ".join(str(n) for n in s) + "]"


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
             size_average=None, ignore_index: int = -100, reduce=None,
             reduction: str = "mean") -> Tensor:
    """Negative log likelihood of class indices: -weight[t] * input[n, t, ...], reduced.
    ``F.nll_loss(tg.tensor([[-1., -2.]]), tg.tensor([1]))`` -> ``tensor(2.)``."""
    _check_reduction(reduction)
    reads(target)  # (the targets go into the record: guarded when compiled)
    xd, td = input._data, np.asarray(target._data)
    if td.dtype not in (np.int64, np.uint8):
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got "
                           f"{torch_name(td.dtype)}")
    _floating(input, "nll_loss_out_frame")
    if xd.ndim < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {xd.ndim})")
    if xd.ndim >= 2 and td.ndim >= 1 and xd.shape[0] != td.shape[0]:
        raise ValueError(f"Expected input batch_size ({xd.shape[0]}) to match target batch_size "
                         f"({td.shape[0]}).")
    c = xd.shape[1] if xd.ndim >= 2 else xd.shape[0]
    tshape = xd.shape[:1] + xd.shape[2:] if xd.ndim >= 2 else ()
    if td.shape != tshape:
        if xd.ndim >= 3:
            raise RuntimeError(f"Expected target size {_shape_list(tshape)}, got "
                               f"{_shape_list(td.shape)}")
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if weight is not None:
        wd = np.asarray(weight._data, np.float64)
        if wd.shape != (c,):
            raise RuntimeError(f"weight tensor should be defined either for all {c} classes or no "
                               f"classes but got weight tensor of shape: {_shape_list(wd.shape)}")
    t = td.astype(np.int64).reshape(-1)
    ignored = t == ignore_index
    bad = (~ignored) & ((t < 0) | (t >= c))
    if bad.any():
        raise IndexError(f"Target {t[bad][0]} is out of bounds.")
    t = np.where(ignored, 0, t)  # in range for the kernel, weight 0
    w = (wd[t] if weight is not None else np.ones(t.size)) * ~ignored
    nb = xd.shape[0] if xd.ndim >= 2 else 1
    nd = t.size // nb if nb else 0
    x3 = xd.reshape(nb, c, nd)
    picked = x3[np.arange(nb)[:, None], t.reshape(nb, nd), np.arange(nd)[None, :]]
    losses = -(picked.astype(np.float64) * w.reshape(nb, nd))
    left = 1.0  # the divisor the sum still needs (`fwd_nll`): 0 for a mean over no weight
    if reduction == "none":
        scaled, reduced = w, 0
        shape = (nb, 1, nd) if xd.ndim >= 3 and xd.ndim != 4 else tshape
        value = losses.reshape(shape)
    else:
        total = w.sum()
        with np.errstate(invalid="ignore", divide="ignore"):
            scaled = w / total if reduction == "mean" and total else w  # all ignored: grad 0
            left = 0.0 if reduction == "mean" and not total else 1.0
            value = np.asarray(losses.sum() / total if reduction == "mean" else losses.sum())
        shape, reduced = (), 1
    op = NLL if xd.ndim <= 2 else NLL2D
    dt = xd.dtype if xd.dtype.kind == "f" else np.dtype(np.float64)
    out = apply_kernel(op, (input,), shape, dt, lambda out: into(value.astype(dt), out),
                       (nb, c, nd, reduced, *t.tolist()), (*scaled.tolist(), left))
    if reduction == "none" and shape != tshape:
        out = out.reshape(tshape)  # torch views (N, 1, d) back to (N, d...): ViewBackward0
    return out




def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  size_average=None, ignore_index: int = -100, reduce=None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross entropy of logits and class indices: nll_loss(log_softmax(input, class dim)), with
    optional label smoothing (torch's formula); or of logits and class probabilities (a float
    `target` of the input's shape). Finite for logits like +-1e4.
    ``F.cross_entropy(tg.zeros(1, 4), tg.tensor([2]))`` -> ``tensor(1.3863)``."""
    _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    td = target._data
    cdim = 1 if input.ndim >= 2 else 0
    if td.dtype.kind == "f":
        if td.shape != input._data.shape:
            if td.ndim > 1:
                raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
            raise RuntimeError(f"expected target dtype to be Long or Byte, but got "
                               f"{_TORCH_TYPE.get(td.dtype.name, td.dtype.name)}")
        if ignore_index != -100:
            raise RuntimeError("ignore_index is not supported for floating point target")
        return _cross_entropy_probs(input, target, weight, reduction, label_smoothing, cdim)
    logp = _log_softmax(input, cdim)
    nll = nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
    if label_smoothing == 0.0:
        return nll
    c = logp.shape[cdim]
    keep = _wrap((np.asarray(td) != ignore_index).astype(logp._data.dtype))
    if weight is not None:
        logp = logp * _along_classes(weight, logp, cdim)
    smooth = -logp.sum(cdim) * keep
    if reduction == "sum":
        smooth = smooth.sum()
    elif reduction == "mean":
        t = np.asarray(td).reshape(-1)
        kept = t[t != ignore_index]
        denom = (np.asarray(weight._data, np.float64)[kept].sum() if weight is not None
                 else float(kept.size))
        smooth = smooth.sum() / denom if denom else smooth.sum() * float("nan")
    return nll * (1.0 - label_smoothing) + smooth * (label_smoothing / c)


def _along_classes(weight: Tensor, logp: Tensor, cdim: int) -> Tensor:
    """Class weights as a constant shaped to broadcast along `logp`'s class dim."""
    shape = [1] * logp.ndim
    shape[cdim] = logp.shape[cdim]
    return _wrap(np.asarray(weight._data, logp._data.dtype).reshape(shape))


def _cross_entropy_probs(input: Tensor, target: Tensor, weight, reduction: str,
                         label_smoothing: float, cdim: int) -> Tensor:
    """-sum_c w_c y_c log_softmax(x)_c per sample, y smoothed towards uniform; 'mean' divides
    by the number of samples (not by the weights), as torch. Differentiable in the target too."""
    logp = _log_softmax(input, cdim)
    c = logp.shape[cdim]
    y = target if label_smoothing == 0.0 else target * (1.0 - label_smoothing) + label_smoothing / c
    terms = logp * y
    if weight is not None:
        terms = terms * _along_classes(weight, logp, cdim)
    if reduction == "none":
        return -terms.sum(cdim)
    total = -terms.sum()
    return total if reduction == "sum" else total / (logp.numel() // c if c else 0)


# ------------------------------------------------------------------------------------------------
# pointwise losses
# ------------------------------------------------------------------------------------------------

def _pointwise(op, kind: int, x: Tensor, y: Tensor, reduction: str, values, beta: float = 0.0,
               weight=None, pos_weight=None) -> Tensor:
    """Record loss `kind` of x and y over their broadcast shape; `values(x, y)` is the
    unreduced loss in numpy (float64), weights included."""
    _check_reduction(reduction)
    shape = broadcast_shapes(x._data.shape, y._data.shape)
    dt = result_type(x, y).np_dtype
    dt = dt if dt.kind == "f" else np.dtype(np.float64)
    xs = np.broadcast_to(x._data.astype(np.float64), shape)
    ys = np.broadcast_to(y._data.astype(np.float64), shape)
    floats = []
    for extra in (weight, pos_weight):
        if extra is not None:
            floats += np.broadcast_to(np.asarray(extra._data, np.float64), shape).ravel().tolist()
    with np.errstate(over="ignore"):
        loss = values(xs, ys)
    n = loss.size
    red = reduction != "none"
    if reduction == "mean":
        scale = 1.0 / n if n else float("nan")
        value = loss.mean() if n else np.float64("nan")
    else:
        scale, value = 1.0, (loss.sum() if red else loss)
    ints = (kind, int(red), int(weight is not None), int(pos_weight is not None), len(shape),
            *shape)
    return apply_kernel(op, (x, y), () if red else shape, dt,
                        lambda out: into(np.asarray(value).astype(dt), out), ints,
                        (scale, beta, *floats))


def _floating(x: Tensor, kernel: str) -> None:
    """torch's error for a loss that has no integer kernel (`kernel`: torch's name for it)."""
    if x._data.dtype.kind != "f":
        raise NotImplementedError(f'"{kernel}" not implemented for '
                                  f"'{torch_name(x._data.dtype)}'")


def _like_input(input: Tensor, target: Tensor) -> None:
    """torch's error when a float loss gets a target of another kind of dtype."""
    if target._data.dtype.kind != "f":
        raise RuntimeError(f"Found dtype {torch_name(target._data.dtype)} but expected "
                           f"{torch_name(input._data.dtype)}")


def _size_warning(input: Tensor, target: Tensor) -> None:
    if input.shape != target.shape:
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input size "
                      f"({input.shape}). This will likely lead to incorrect results due to "
                      f"broadcasting. Please ensure they have the same size.", stacklevel=3)


def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
             reduction: str = "mean", weight=None) -> Tensor:
    """Mean (or sum, or elementwise) squared error.
    ``F.mse_loss(tg.tensor([1., 2.]), tg.tensor([0., 0.]))`` -> ``tensor(2.5000)``."""
    _size_warning(input, target)
    if weight is not None:
        raise NotImplementedError("mse_loss: weight is not supported yet")
    target = as_tensor_arg(target, "target")
    if input._data.dtype.kind != "f" and target._data.dtype.kind != "f":
        _floating(input, "mse_cpu")
    return _pointwise(MSE_LOSS, MSE, input, target, reduction,
                      lambda x, y: (x - y) ** 2)


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
            reduction: str = "mean") -> Tensor:
    """Mean (or sum, or elementwise) absolute error; composed as torch does (abs, then mean/sum).
    ``F.l1_loss(tg.tensor([1., -2.]), tg.tensor([0., 0.]))`` -> ``tensor(1.5000)``."""
    _check_reduction(reduction)
    _size_warning(input, target)
    d = _abs(input - target)
    return d if reduction == "none" else (d.mean() if reduction == "mean" else d.sum())


def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """0.5 d**2 / beta where |d| < beta, else |d| - 0.5 beta (d = input - target); beta = 0 is
    the L1 loss. ``F.smooth_l1_loss(tg.tensor([3.]), tg.tensor([0.]))`` -> ``tensor(2.5000)``."""
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    _size_warning(input, target)
    target = as_tensor_arg(target, "target")
    if input._data.dtype.kind != "f" and target._data.dtype.kind != "f":
        _floating(input, "smooth_l1_cpu")

    def values(x, y):
        d = np.abs(x - y)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(d < beta, 0.5 * d * d / (beta or 1.0), d - 0.5 * beta)
    return _pointwise(SMOOTH_L1_LOSS, SMOOTH_L1, input, target, reduction, values, float(beta))


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """-w (y log p + (1 - y) log(1 - p)) with torch's clamp of each log at -100.
    ``F.binary_cross_entropy(tg.tensor([0.5]), tg.tensor([1.]))`` -> ``tensor(0.6931)``."""
    if target.shape != input.shape:
        raise ValueError(f"Using a target size ({target.shape}) that is different to the input "
                         f"size ({input.shape}) is deprecated. Please ensure they have the same "
                         f"size.")
    xd = input._data
    _floating(input, "binary_cross_entropy")
    _like_input(input, target)
    if xd.size and not ((xd >= 0) & (xd <= 1)).all():
        raise RuntimeError("all elements of input should be between 0 and 1")
    if weight is not None:
        broadcast_shapes(weight.shape, input.shape)
    wv = 1.0 if weight is None else np.asarray(weight._data, np.float64)

    def values(x, y):
        with np.errstate(divide="ignore"):
            return -wv * (y * np.maximum(np.log(x), -100) + (1 - y) * np.maximum(np.log1p(-x), -100))
    return _pointwise(BCE_LOSS, BCE, input, target, reduction, values, weight=weight)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,
                                     weight: Tensor | None = None, size_average=None,
                                     reduce=None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """BCE of sigmoid(input) computed from the logits without overflow (finite at +-1e4);
    ``pos_weight`` weighs the positive term. ``F.binary_cross_entropy_with_logits(tg.tensor([0.]),
    tg.tensor([1.]))`` -> ``tensor(0.6931)``."""
    if target.shape != input.shape:
        raise ValueError(f"Target size ({target.shape}) must be the same as input size "
                         f"({input.shape})")
    _floating(input, "log_sigmoid_cpu")
    if target._data.dtype.kind != "f":  # torch computes into a tensor of the target's dtype
        raise RuntimeError(f"result type {torch_name(input._data.dtype)} can't be cast to the "
                           f"desired output type {torch_name(target._data.dtype)}")
    shape = input.shape
    for extra in (weight, pos_weight):
        if extra is not None:
            broadcast_shapes(extra.shape, shape)
    wv = 1.0 if weight is None else np.asarray(weight._data, np.float64)
    pw = 1.0 if pos_weight is None else np.asarray(pos_weight._data, np.float64)

    def values(x, y):
        sp = np.logaddexp(0, -x)  # softplus(-x) = -log(sigmoid(x))
        return wv * ((1 - y) * x + (1 + (pw - 1) * y) * sp)
    return _pointwise(BCE_LOGITS_LOSS, BCE_LOGITS, input, target, reduction, values,
                      weight=weight, pos_weight=pos_weight)


from . import _composites, _conv  # noqa: E402
from ._composites import *  # noqa: E402,F401,F403  (normalisation, embedding, ... by formula)
from ._conv import *  # noqa: E402,F401,F403  (conv, pooling, pad, unfold/fold)

__all__ = _composites.__all__ + _conv.__all__ + [
    'binary_cross_entropy',
    'binary_cross_entropy_with_logits',
    'cross_entropy',
    'dropout',
    'elu',
    'gelu',
    'hardtanh',
    'l1_loss',
    'leaky_relu',
    'linear',
    'log_softmax',
    'logsigmoid',
    'mse_loss',
    'nll_loss',
    'one_hot',
    'relu',
    'sigmoid',
    'silu',
    'smooth_l1_loss',
    'softmax',
    'softplus',
    'tanh',
]
