"""Tensor factories (`tensor`, `ones`, `randn`, ...) and the global random generator."""
from __future__ import annotations

import builtins
import math
from typing import Optional

import numpy as np

from ._device import check_device
from ._dtype import as_dtype, get_default_dtype
from ._generator import numpy_rng
from ._trace import factory
from .tensor import Size, Tensor, _leaf_check_dtype, _wrap

_RNG = [np.random.default_rng()]


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the generator behind `randn`, `rand` and friends (numpy's PCG64, not torch's stream)."""
    _RNG[0] = np.random.default_rng(int(seed))
    return _RNG[0]


def _finish(data: np.ndarray, requires_grad: bool) -> Tensor:
    t = _wrap(data)
    if requires_grad:
        _leaf_check_dtype(data)
        t._rg = True
    return t


_I64 = np.iinfo(np.int64)


def _python_ints(data, dtype=None) -> np.ndarray:
    """`data` (Python numbers, nested) as an array, with torch's error for an int that no int64
    holds when the tensor is to hold integers (numpy would make it uint64, which wraps, float64
    or an object array)."""
    arr = np.asarray(data)
    if dtype is not None and as_dtype(dtype).np_dtype.kind == "f":
        return arr
    big = arr.dtype.kind in "uO" or (arr.dtype.kind == "f" and arr.size and not
                                     np.abs(arr).max() < 2.0 ** 63)
    if big:
        values = list(_flat(data))
        if not any(isinstance(v, float) for v in values) and any(  # (a float: a float tensor)
                isinstance(v, int) and not _I64.min <= v <= _I64.max for v in values):
            raise ValueError("Overflow when unpacking long long")
    return arr.astype(np.int64) if arr.dtype.kind == "u" else arr


def _flat(data):
    if isinstance(data, (list, tuple)):
        for d in data:
            yield from _flat(d)
    else:
        yield data


def _check_fits(arr: np.ndarray, nd: np.dtype) -> None:
    """torch's error when integers do not fit the integer dtype asked for."""
    if nd.kind in "iu" and arr.dtype.kind in "iu" and arr.size:
        info = np.iinfo(nd)
        if int(arr.max()) > info.max or int(arr.min()) < info.min:
            name = "int64_t" if nd == np.int64 else nd.name
            raise RuntimeError(f"value cannot be converted to type {name} without overflow")


def _infer_dtype(data) -> np.dtype:
    """torch's inference for Python data: floats -> default dtype, ints -> int64, bools -> bool."""
    arr = _python_ints(data)
    if arr.dtype.kind == "f":
        return get_default_dtype().np_dtype
    if arr.dtype.kind in "iu":
        return np.dtype(np.int64)
    if arr.dtype.kind == "b":
        return np.dtype(np.bool_)
    raise TypeError(f"tensor(): could not infer dtype of {type(data).__name__}")


def _unwrap_nested(data):
    if isinstance(data, Tensor):
        return data._data
    if isinstance(data, (list, tuple)):
        return [_unwrap_nested(d) for d in data]
    return data


@factory("pure")
def tensor(data, *, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """A new leaf tensor holding a copy of `data` (nested lists, numbers, ndarrays, tensors).

    >>> import tapegrad as tg
    >>> tg.tensor([[1, 2], [3, 4]], dtype=tg.float64)
    tensor([[1., 2.],
            [3., 4.]], dtype=tapegrad.float64)
    """
    check_device(device)
    if isinstance(data, Tensor):
        arr = data._data
    elif isinstance(data, np.ndarray):
        arr = data
    elif isinstance(data, np.generic):
        arr = np.asarray(data)
    else:
        raw = _unwrap_nested(data)
        arr = _python_ints(raw, dtype)
        if dtype is None:
            with np.errstate(over="ignore"):  # (1e300 in float32 is inf, silently, as torch)
                arr = arr.astype(_infer_dtype(raw))
    nd = as_dtype(dtype).np_dtype if dtype is not None else as_dtype(arr.dtype).np_dtype
    _check_fits(arr, nd)
    return _finish(np.array(arr, dtype=nd, copy=True), requires_grad)


@factory("pure")
def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like `tensor`, but shares memory with a numpy array (or tensor) of the same dtype."""
    check_device(device)
    if isinstance(data, Tensor):
        return data if dtype is None or as_dtype(dtype).np_dtype == data._data.dtype \
            else data.to(dtype)
    if isinstance(data, np.ndarray):
        nd = as_dtype(dtype).np_dtype if dtype is not None else as_dtype(data.dtype).np_dtype
        return _wrap(data if data.dtype == nd else data.astype(nd))
    return tensor(data, dtype=dtype)


@factory("pure")
def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A tensor sharing memory with `ndarray` (changes to one show in the other).

    >>> import numpy as np, tapegrad as tg
    >>> a = np.zeros(2); t = tg.from_numpy(a); a[0] = 5; t
    tensor([5., 0.], dtype=tapegrad.float64)
    """
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    if ndarray.dtype not in (np.float64, np.float32, np.int64, np.int32, np.bool_):
        raise TypeError(f"can't convert np.ndarray of type numpy.{ndarray.dtype}. The only "
                        f"supported types are: float64, float32, int64, int32, and bool.")
    return _wrap(ndarray)


def _size(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (list, tuple, Size)):
        size = tuple(size[0])
    out = []
    for s in size:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
            raise TypeError(f"size must be a sequence of ints, got {type(s).__name__}")
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: "
                               f"{list(size)}")
        out.append(int(s))
    return tuple(out)


def _float_dtype(dtype) -> np.dtype:
    return as_dtype(dtype).np_dtype if dtype is not None else get_default_dtype().np_dtype


@factory("pure")
def ones(*size, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """A tensor of ones. ``tapegrad.ones(2, 2, requires_grad=True)``."""
    check_device(device)
    return _finish(np.ones(_size(size), _float_dtype(dtype)), requires_grad)


@factory("pure")
def zeros(*size, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """A tensor of zeros."""
    check_device(device)
    return _finish(np.zeros(_size(size), _float_dtype(dtype)), requires_grad)


@factory("pure")
def empty(*size, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """An uninitialised tensor."""
    check_device(device)
    return _finish(np.empty(_size(size), _float_dtype(dtype)), requires_grad)


@factory("pure")
def full(size, fill_value, *, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """A tensor filled with `fill_value` (its dtype inferred from the value, as torch)."""
    check_device(device)
    if isinstance(fill_value, int) and not _I64.min <= fill_value <= _I64.max and (
            dtype is None or as_dtype(dtype).np_dtype.kind != "f"):
        raise RuntimeError("value cannot be converted to type int64_t without overflow")
    if dtype is None:
        dtype = _infer_dtype(fill_value)
    nd = as_dtype(dtype).np_dtype
    if isinstance(fill_value, int):
        _check_fits(np.array(fill_value), nd)
    return _finish(np.full(_size((size,)), fill_value, nd), requires_grad)


_BLOCK = 1 << 20  # samples drawn at a time into a float32 result (no float64 copy of it all)


def _sampled(draw, shape: tuple, dt: np.dtype) -> np.ndarray:
    """`draw(n)` (float64 samples) cast to `dt`, drawn in blocks: the same numbers as one
    draw, without a float64 array of the whole size at once."""
    n = math.prod(shape)
    if dt == np.float64 or n <= _BLOCK:
        return draw(n).astype(dt).reshape(shape)
    out = np.empty(n, dt)
    for i in range(0, n, _BLOCK):
        out[i:i + _BLOCK] = draw(min(_BLOCK, n - i))
    return out.reshape(shape)


@factory("random")
def randn(*size, dtype=None, requires_grad: bool = False, generator=None, device=None) -> Tensor:
    """Standard normal samples (seeded by `manual_seed`)."""
    check_device(device)
    rng = _RNG[0] if generator is None else numpy_rng(generator)
    return _finish(_sampled(rng.standard_normal, _size(size), _float_dtype(dtype)), requires_grad)


@factory("random")
def rand(*size, dtype=None, requires_grad: bool = False, generator=None, device=None) -> Tensor:
    """Uniform samples in [0, 1) (seeded by `manual_seed`)."""
    check_device(device)
    rng = _RNG[0] if generator is None else numpy_rng(generator)
    return _finish(_sampled(rng.random, _size(size), _float_dtype(dtype)), requires_grad)


@factory("random")
def randint(low, high=None, size=(), *, dtype=None, generator=None, device=None) -> Tensor:
    """Integers in [low, high): ``randint(high, size)`` or ``randint(low, high, size)``, as torch.

    >>> import tapegrad as tg
    >>> tg.randint(10, (3,)).shape
    tapegrad.Size([3])
    """
    check_device(device)
    if isinstance(high, (tuple, list)) or (hasattr(high, "__len__") and not size):
        low, high, size = 0, low, high   # randint(high, size)
    elif high is None:
        low, high = 0, low
    rng = _RNG[0] if generator is None else numpy_rng(generator)
    nd = as_dtype(dtype).np_dtype if dtype is not None else np.dtype(np.int64)
    return _wrap(rng.integers(low, high, _size((size,))).astype(nd))


@factory("pure")
def arange(start, end=None, step=1, *, dtype=None, requires_grad: bool = False,
           device=None) -> Tensor:
    """Values from start to end (exclusive); integer arguments give int64, as torch."""
    check_device(device)
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if dtype is None:
        dtype = np.int64 if builtins.all(isinstance(v, (int, np.integer)) for v in vals) \
            else get_default_dtype().np_dtype
    nd = as_dtype(dtype).np_dtype
    return _finish(np.arange(*vals, dtype=np.float64 if nd.kind == "f" else None).astype(nd),
                   requires_grad)


@factory("pure")
def linspace(start, end, steps: int, *, dtype=None, requires_grad: bool = False,
             device=None) -> Tensor:
    """`steps` evenly spaced values from start to end inclusive."""
    check_device(device)
    if steps < 0:
        raise RuntimeError("linspace(): number of steps must be non-negative")
    return _finish(np.linspace(start, end, steps).astype(_float_dtype(dtype)), requires_grad)


@factory("pure")
def eye(n: int, m: Optional[int] = None, *, dtype=None, requires_grad: bool = False,
        device=None) -> Tensor:
    """The identity matrix (n x m)."""
    check_device(device)
    return _finish(np.eye(n, m, dtype=_float_dtype(dtype)), requires_grad)


def _like(fn):
    def like(input: Tensor, *, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
        check_device(device)
        return fn(*input.shape, dtype=dtype if dtype is not None else input.dtype,
                  requires_grad=requires_grad)
    like.__name__ = fn.__name__ + "_like"
    like.__doc__ = f"`{fn.__name__}` with the shape (and by default the dtype) of `input`."
    return like


ones_like, zeros_like, empty_like = _like(ones), _like(zeros), _like(empty)
randn_like, rand_like = _like(randn), _like(rand)


@factory("pure")
def full_like(input: Tensor, fill_value, *, dtype=None, requires_grad: bool = False,
              device=None) -> Tensor:
    """`full` with the shape (and by default the dtype) of `input`."""
    check_device(device)
    return full(tuple(input.shape), fill_value, dtype=dtype if dtype is not None else input.dtype,
                requires_grad=requires_grad)


# -- Tensor.new_*: a new tensor with this tensor's dtype (and device) by default ------------------
def _new(fn):
    def new(self: Tensor, *size, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
        check_device(device)
        return fn(*size, dtype=dtype if dtype is not None else self.dtype,
                  requires_grad=requires_grad)
    new.__name__ = "new_" + fn.__name__
    new.__doc__ = (f"``x.new_{fn.__name__}(2, 3)``: `{fn.__name__}` with x's dtype unless "
                   f"`dtype` is given.")
    return new


def _new_full(self: Tensor, size, fill_value, *, dtype=None, requires_grad: bool = False,
              device=None) -> Tensor:
    """``x.new_full((2, 3), 1.5)``: `full` with x's dtype unless `dtype` is given."""
    check_device(device)
    return full(tuple(size), fill_value, dtype=dtype if dtype is not None else self.dtype,
                requires_grad=requires_grad)


def _new_tensor(self: Tensor, data, *, dtype=None, requires_grad: bool = False,
                device=None) -> Tensor:
    """``x.new_tensor([1, 2])``: a copy of `data` with x's dtype unless `dtype` is given."""
    return tensor(data, dtype=dtype if dtype is not None else self.dtype,
                  requires_grad=requires_grad, device=device)


METHODS = dict(new_ones=_new(ones), new_zeros=_new(zeros), new_empty=_new(empty),
               new_full=_new_full, new_tensor=_new_tensor)
for _name, _fn in METHODS.items():
    setattr(Tensor, _name, _fn)
