"""`tapegrad.nn.functional` entries built from registered ops (no op of their own): the
normalisations, embedding, bilinear, the activations torch defines by formula, and a few losses.

Being composites, they get gradients of every order, `tapegrad.compile` replay and the tape's
memory handling from the ops they are made of; their gradients are checked against finite
differences in tests/test_nn_composites.py.
"""
from __future__ import annotations

import warnings
from typing import Optional, Sequence, Union

import numpy as np

from .._grad_mode import no_grad
from .._trace import reads
from ..ops.activations import elu, hardtanh, softplus
from ..ops.elementwise import sigmoid, tanh, where
from ..tensor import Size, Tensor, _wrap

__all__ = [
    "relu6", "selu", "celu", "mish", "hardswish", "hardsigmoid", "softsign", "tanhshrink",
    "threshold", "glu", "softmin", "prelu",
    "layer_norm", "batch_norm", "group_norm", "rms_norm", "instance_norm",
    "embedding", "bilinear", "normalize", "cosine_similarity", "pairwise_distance",
    "huber_loss", "kl_div", "dropout1d", "dropout2d", "dropout3d",
]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _size_str(s) -> str:
    return "[" + ", ".join(str(n) for n in s) + "]"


# ------------------------------------------------------------------------------------------------
# activations defined by formula
# ------------------------------------------------------------------------------------------------

def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6) (torch's is `hardtanh(x, 0, 6)` too).
    ``F.relu6(tg.tensor([-1., 7.]))`` -> ``tensor([0., 6.])``."""
    return hardtanh(input, 0.0, 6.0)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale * elu(x, alpha) with the self-normalising constants."""
    return elu(input, _SELU_ALPHA) * _SELU_SCALE


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, else alpha * (exp(x / alpha) - 1)."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError")
    return elu(input / alpha, 1.0) * alpha


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * tanh(softplus(x))."""
    return input * tanh(softplus(input))


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6."""
    return hardtanh(input + 3.0, 0.0, 6.0) / 6.0


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * relu6(x + 3) / 6."""
    return input * hardsigmoid(input)


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|)."""
    return input / (input.abs() + 1.0)


def tanhshrink(input: Tensor) -> Tensor:
    """x - tanh(x)."""
    return input - tanh(input)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, else `value`."""
    return input.masked_fill(input <= threshold, value)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a * sigmoid(b), where a and b are the halves of `input` along `dim`."""
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    n = input.shape[dim]
    if n % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {dim % input.ndim} "
                           f"is size {n}")
    a, b = input.chunk(2, dim)
    return a * sigmoid(b)


def softmin(input: Tensor, dim: Optional[int] = None, _stacklevel: int = 3,
            dtype=None) -> Tensor:
    """softmax(-x) over `dim`."""
    from .functional import softmax
    return softmax(-input, dim, dtype=dtype)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x where x >= 0, else weight * x; `weight` has 1 element or one per channel (dim 1)."""
    if weight.numel() != 1:
        c = input.shape[1] if input.ndim >= 2 else (input.shape[0] if input.ndim else 1)
        if weight.numel() != c:
            raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found "
                               f"parameter numbers = {weight.numel()} and channel size = {c}.")
        if input.ndim >= 2:
            weight = weight.reshape(c, *([1] * (input.ndim - 2)))
    return where(input >= 0, input, weight * input)


# ------------------------------------------------------------------------------------------------
# normalisation
# ------------------------------------------------------------------------------------------------

def _normalized(x: Tensor, dims: tuple, eps: float) -> Tensor:
    """(x - mean) / sqrt(biased var + eps) over `dims`."""
    xc = x - x.mean(dims, keepdim=True)
    return xc * ((xc * xc).mean(dims, keepdim=True) + eps).rsqrt()


def _shape_tuple(s) -> tuple:
    return (int(s),) if isinstance(s, (int, np.integer)) else tuple(int(n) for n in s)


def layer_norm(input: Tensor, normalized_shape: Union[int, Sequence[int]],
               weight: Optional[Tensor] = None, bias: Optional[Tensor] = None,
               eps: float = 1e-5) -> Tensor:
    """Normalise over the last ``len(normalized_shape)`` dims, then scale and shift.
    ``F.layer_norm(tg.tensor([[1., 3.]]), (2,))`` -> ``tensor([[-1.0000,  1.0000]])``."""
    ns = _shape_tuple(normalized_shape)
    k = len(ns)
    if k == 0 or tuple(input.shape[input.ndim - k:]) != ns or input.ndim < k:
        raise RuntimeError(f"Given normalized_shape={_size_str(ns)}, expected input with shape "
                           f"[*, {', '.join(str(n) for n in ns)}], but got input of size"
                           f"{_size_str(input.shape)}")
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and tuple(p.shape) != ns:
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but "
                               f"got {name} of shape {_size_str(p.shape)} and normalized_shape "
                               f"= {_size_str(ns)}")
    y = _normalized(input, tuple(range(input.ndim - k, input.ndim)), eps)
    if weight is not None:
        y = y * weight
    return y if bias is None else y + bias


def rms_norm(input: Tensor, normalized_shape: Union[int, Sequence[int]],
             weight: Optional[Tensor] = None, eps: Optional[float] = None) -> Tensor:
    """x / sqrt(mean(x^2) + eps) over the last dims, times `weight` (eps: the dtype's
    machine epsilon by default, as torch)."""
    ns = _shape_tuple(normalized_shape)
    k = len(ns)
    if k == 0 or tuple(input.shape[input.ndim - k:]) != ns:
        raise RuntimeError(f"Given normalized_shape={_size_str(ns)}, expected input with shape "
                           f"[*, {', '.join(str(n) for n in ns)}], but got input of size"
                           f"{_size_str(input.shape)}")
    if eps is None:
        eps = float(np.finfo(input._data.dtype).eps)
    dims = tuple(range(input.ndim - k, input.ndim))
    y = input * ((input * input).mean(dims, keepdim=True) + eps).rsqrt()
    return y if weight is None else y * weight


def _per_channel(p: Tensor, ndim: int) -> Tensor:
    """A (C,) tensor shaped to broadcast along dim 1 of an `ndim`-D input."""
    return p.reshape(p.shape[0], *([1] * (ndim - 2)))


def _check_channels(name: str, p: Optional[Tensor], c: int) -> None:
    if p is not None and p.numel() != c:
        raise RuntimeError(f"{name} should contain {c} elements not {p.numel()}")


def batch_norm(input: Tensor, running_mean: Optional[Tensor], running_var: Optional[Tensor],
               weight: Optional[Tensor] = None, bias: Optional[Tensor] = None,
               training: bool = False, momentum: Optional[float] = 0.1,
               eps: float = 1e-5) -> Tensor:
    """Normalise each channel (dim 1) by the batch's statistics (training: also updating the
    running ones in place, the variance unbiased) or by the running statistics.

    >>> import tapegrad as tg, tapegrad.nn.functional as F
    >>> x = tg.tensor([[1., 2.], [3., 6.]])
    >>> F.batch_norm(x, None, None, training=True)
    tensor([[-1.0000, -1.0000],
            [ 1.0000,  1.0000]])
    """
    if input.ndim < 2:
        raise ValueError(f"expected 2D or 3D input (got {input.ndim}D input)")
    c = input.shape[1]
    for name, p in (("weight", weight), ("bias", bias), ("running_mean", running_mean),
                    ("running_var", running_var)):
        _check_channels(name, p, c)
    dims = (0, *range(2, input.ndim))
    if training:
        n = input.numel() // max(c, 1)
        if n <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input "
                             f"size {Size(input.shape)}")
        mean = input.mean(dims, keepdim=True)
        xc = input - mean
        var = (xc * xc).mean(dims, keepdim=True)
        y = xc * (var + eps).rsqrt()
        if running_mean is not None or running_var is not None:
            _update_running(running_mean, running_var, mean, var, n, momentum)
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError("running_mean and running_var must be defined in evaluation mode")
        reads(running_mean)
        reads(running_var)
        rm, rv = _per_channel(running_mean, input.ndim), _per_channel(running_var, input.ndim)
        y = (input - rm) * (rv + eps).rsqrt()
    if weight is not None:
        y = y * _per_channel(weight, input.ndim)
    return y if bias is None else y + _per_channel(bias, input.ndim)


def _update_running(rm: Optional[Tensor], rv: Optional[Tensor], mean: Tensor, var: Tensor,
                    n: int, momentum: float) -> None:
    """running = (1 - momentum) * running + momentum * batch (variance unbiased: n / (n - 1))."""
    m = 0.0 if momentum is None else float(momentum)
    with no_grad():
        if rm is not None:
            rm.mul_(1.0 - m).add_(mean.detach().reshape(-1).to(rm.dtype) * m)
        if rv is not None:
            rv.mul_(1.0 - m).add_(var.detach().reshape(-1).to(rv.dtype) * (m * n / (n - 1)))


def instance_norm(input: Tensor, running_mean: Optional[Tensor] = None,
                  running_var: Optional[Tensor] = None, weight: Optional[Tensor] = None,
                  bias: Optional[Tensor] = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each (sample, channel) over its spatial dims."""
    if not use_input_stats:
        return batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)
    y = _normalized(input, tuple(range(2, input.ndim)), eps)
    if weight is not None:
        y = y * _per_channel(weight, input.ndim)
    return y if bias is None else y + _per_channel(bias, input.ndim)


def group_norm(input: Tensor, num_groups: int, weight: Optional[Tensor] = None,
               bias: Optional[Tensor] = None, eps: float = 1e-5) -> Tensor:
    """Normalise each sample over groups of channels, then scale and shift per channel."""
    if input.ndim < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received "
                           f"{input.ndim}")
    n, c = input.shape[0], input.shape[1]
    if c % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by "
                           f"num_groups, but got input of shape {_size_str(input.shape)} and "
                           f"num_groups={num_groups}")
    y = _normalized(input.reshape(n, num_groups, -1), (2,), eps).reshape(input.shape)
    if weight is not None:
        y = y * _per_channel(weight, input.ndim)
    return y if bias is None else y + _per_channel(bias, input.ndim)


# ------------------------------------------------------------------------------------------------
# embedding, bilinear, distances
# ------------------------------------------------------------------------------------------------

def embedding(input: Tensor, weight: Tensor, padding_idx: Optional[int] = None,
              max_norm: Optional[float] = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of `weight` at the integer indices `input` (shape ``(*input.shape, dim)``); the row
    `padding_idx` gets no gradient; `max_norm` renormalises the rows used, in place.
    ``F.embedding(tg.tensor([1]), tg.eye(2))`` -> ``tensor([[0., 1.]])``."""
    if not isinstance(input, Tensor) or input._data.dtype.kind not in "iu":
        dt = input.type() if isinstance(input, Tensor) else type(input).__name__
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got {dt} instead (while "
                           f"checking arguments for embedding)")
    if weight.ndim != 2:
        raise RuntimeError("'weight' must be 2-D")
    if sparse:
        raise NotImplementedError("embedding: sparse gradients are not supported by tapegrad "
                                  "(use sparse=False)")
    if scale_grad_by_freq:
        raise NotImplementedError("embedding: scale_grad_by_freq is not supported by tapegrad")
    num = weight.shape[0]
    idx = input._data
    if idx.size and (idx.min() < -num or idx.max() >= num):
        raise IndexError("index out of range in self")
    if max_norm is not None:
        _renorm_rows(weight, np.unique(idx % num), float(max_norm), float(norm_type))
    out = weight.index_select(0, input.reshape(-1)).reshape(*input.shape, weight.shape[1])
    if padding_idx is None:
        return out
    pad = padding_idx % num if -num <= padding_idx < num else None
    if pad is None:
        raise AssertionError("Padding_idx must be within num_embeddings")
    reads(input)
    mask = _wrap(((idx % num) == pad)[..., None])
    return where(mask, out.detach(), out) if mask._data.any() else out


def _renorm_rows(weight: Tensor, rows: np.ndarray, max_norm: float, p: float) -> None:
    """torch's ``embedding_renorm_``: rows whose p-norm exceeds max_norm scaled down to it."""
    from ..ops.inplace import changed
    w = weight._data
    norms = np.linalg.norm(w[rows], ord=p, axis=1)
    big = norms > max_norm
    if big.any():
        w[rows[big]] *= (max_norm / (norms[big] + 1e-7))[:, None].astype(w.dtype)
        changed(weight)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor,
             bias: Optional[Tensor] = None) -> Tensor:
    """y_k = x1 @ weight[k] @ x2 + bias[k] over the last dims (any leading batch dims)."""
    if weight.ndim != 3:
        raise RuntimeError(f"bilinear(): weight must be 3-dimensional, but got "
                           f"{weight.ndim}-dimensional weight")
    o, i1, i2 = weight.shape
    if input1.shape[-1] != i1 or input2.shape[-1] != i2 or input1.shape[:-1] != input2.shape[:-1]:
        raise RuntimeError(f"bilinear(): input dimensions do not match: got "
                           f"{_size_str(input1.shape)} and {_size_str(input2.shape)} for weight "
                           f"of size {_size_str(weight.shape)}")
    lead = tuple(input1.shape[:-1])
    x1, x2 = input1.reshape(-1, i1), input2.reshape(-1, i2)
    t = (x1 @ weight.permute(1, 0, 2).reshape(i1, o * i2)).reshape(-1, o, i2)
    y = (t * x2.unsqueeze(1)).sum(-1)
    if bias is not None:
        y = y + bias
    return y.reshape(*lead, o)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,
              out=None) -> Tensor:
    """input / max(||input||_p over dim, eps).
    ``F.normalize(tg.tensor([[3., 4.]]))`` -> ``tensor([[0.6000, 0.8000]])``."""
    return input / input.norm(p, dim, keepdim=True).clamp(min=eps)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Cosine of the angle between x1 and x2 along `dim` (broadcasting), each norm clamped
    at eps as torch's."""
    n1 = x1.norm(2, dim, keepdim=True).clamp(min=eps)
    n2 = x2.norm(2, dim, keepdim=True).clamp(min=eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """||x1 - x2 + eps||_p along the last dim."""
    return (x1 - x2 + eps).norm(p, -1, keepdim=keepdim)


# ------------------------------------------------------------------------------------------------
# losses by formula
# ------------------------------------------------------------------------------------------------

def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{reduction} is not a valid value for reduction")


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight=None) -> Tensor:
    """0.5 d^2 where |d| < delta, else delta * (|d| - 0.5 delta), for d = input - target."""
    from .functional import smooth_l1_loss
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    return smooth_l1_loss(input, target, reduction=reduction, beta=delta) * delta


def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """Pointwise target * (log target - input) (input: log-probabilities), reduced; 'batchmean'
    divides the sum by the batch size (what the KL divergence means)."""
    if reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns with "
                      "the KL div math definition.'mean' will be changed to behave the same as "
                      "'batchmean' in the next major release.", UserWarning, stacklevel=2)
    if log_target:
        pointwise = target.exp() * (target - input)
    else:
        pos = target > 0
        safe = where(pos, target, 1.0)
        pointwise = target * safe.log() - target * input
    if reduction == "batchmean":
        return pointwise.sum() / (input.shape[0] if input.ndim else 1)
    return _reduce(pointwise, reduction)


# ------------------------------------------------------------------------------------------------
# channel dropout
# ------------------------------------------------------------------------------------------------

def _channel_dropout(name: str, input: Tensor, p: float, training: bool, spatial: int) -> Tensor:
    from .functional import dropout
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if input.ndim not in (spatial + 1, spatial + 2):
        raise RuntimeError(f"{name}: Expected {spatial + 1}D or {spatial + 2}D input, but "
                           f"received a {input.ndim}D input.")
    if not training or p == 0.0:
        return input
    lead = input.shape[:input.ndim - spatial]
    ones = _wrap(np.ones((*lead, *([1] * spatial)), input._data.dtype))
    return input * dropout(ones, p, True)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, L) input with probability p, scale the rest."""
    return _channel_dropout("dropout1d", input, p, training, 1)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, H, W) input with probability p, scale the rest."""
    return _channel_dropout("dropout2d", input, p, training, 2)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, D, H, W) input with probability p, scale the rest."""
    return _channel_dropout("dropout3d", input, p, training, 3)

