"""torch-level names that are not ops: ``out=`` on the common functions, the legacy tensor
types (``FloatTensor`` ...), ``finfo``/``iinfo``, default device, ``inference_mode``, print
options, the global generator's seed and state, thread counts, dtype promotion queries,
``asarray``/``frombuffer``, and the layout / memory-format placeholders.

``out=`` is added once, here, by wrapping the public functions (`with_out`): the result is
computed as without `out`, then written into `out` (cast to its dtype when torch's casting rules
allow, resized -- with torch's warning when it had elements -- when its shape differs), and
`out` is returned. As in torch, a function with ``out=`` refuses to record a graph.

>>> import tapegrad as tg
>>> o = tg.empty(0)
>>> tg.add(tg.ones(2), 1, out=o) is o, o
(True, tensor([2., 2.]))
"""
from __future__ import annotations

import builtins
import functools
import secrets
import threading
import warnings
from typing import Callable, Optional

import numpy as np

from . import _dtype, _printing, factories, ops
from ._device import CPU, check_device, device
from ._dtype import as_dtype, get_default_dtype, torch_name
from ._generator import Generator, _seed_value
from ._grad_mode import STATE, no_grad, set_modes
from .tensor import Tensor, _wrap

# ------------------------------------------------------------------------------------------------
# out=
# ------------------------------------------------------------------------------------------------
_RESIZE = ("An output with one or more elements was resized since it had shape {old}, which does "
           "not match the required output shape {new}. This behavior is deprecated, and in a "
           "future PyTorch release outputs will not be resized unless they have zero elements. "
           "You can explicitly reuse an out tensor t by resizing it, inplace, to zero elements "
           "with t.resize_(0).")
_RESIZE_ARANGE = ("The number of elements in the out tensor of shape {old} is {n} which does not "
                  "match the computed number of elements {m}. Note that this may occur as a "
                  "result of rounding error. The out tensor will be resized to a tensor of shape "
                  "{shape}.")
_NO_AUTOGRAD = ("{name}(): functions with out=... arguments don't support automatic "
                "differentiation, but one of the arguments requires grad.")


def can_cast(from_, to) -> bool:
    """Whether torch's casting rules allow `from_` to be cast to `to` (no float -> integer, no
    number -> bool).

    >>> import tapegrad as tg
    >>> tg.can_cast(tg.float64, tg.float32), tg.can_cast(tg.float32, tg.int64)
    (True, False)
    """
    a, b = as_dtype(from_), as_dtype(to)
    if a.is_floating_point and not b.is_floating_point:
        return False
    return not (a.name != "bool" and b.name == "bool")


def promote_types(type1, type2) -> _dtype.dtype:
    """The smallest dtype both can be cast to (bool < integers < floating, then by size).

    >>> import tapegrad as tg
    >>> tg.promote_types(tg.int64, tg.float32)
    tapegrad.float32
    """
    a, b = as_dtype(type1), as_dtype(type2)
    return builtins.max((a, b), key=lambda d: (d._cat, d.itemsize))


def result_type(tensor1, tensor2) -> _dtype.dtype:
    """The dtype an op of these two operands (tensors or numbers) computes in, with torch's
    promotion (0-d tensors and numbers do not widen a tensor's category).

    >>> import tapegrad as tg
    >>> tg.result_type(tg.tensor([1, 2]), 1.0)
    tapegrad.float32
    """
    return _dtype.result_type(tensor1, tensor2)


def _any_rg(args) -> bool:
    for a in args:
        if isinstance(a, Tensor):
            if a._rg:
                return True
        elif isinstance(a, (list, tuple)) and _any_rg(a):
            return True
    return False


def _write_out(out: Tensor, res: Tensor, name: str, arange: bool = False,
               warn: bool = True) -> Tensor:
    """Copy `res` into `out` with torch's out= semantics (cast check, resize, version)."""
    from .ops.inplace import write
    od, rd = out._data, res._data
    if not can_cast(_dtype.from_numpy_dtype(rd.dtype), _dtype.from_numpy_dtype(od.dtype)):
        raise RuntimeError(f"result type {torch_name(rd.dtype)} can't be cast to the desired "
                           f"output type {torch_name(od.dtype)}")
    if od.shape != rd.shape:
        if not warn:  # (torch's factories resize silently)
            pass
        elif od.size and arange:
            warnings.warn(_RESIZE_ARANGE.format(old=list(od.shape), n=od.size, m=rd.size,
                                                shape=tuple(rd.shape)), UserWarning, stacklevel=3)
        elif od.size:
            warnings.warn(_RESIZE.format(old=list(od.shape), new=list(rd.shape)), UserWarning,
                          stacklevel=3)
        out._data = np.empty(rd.shape, od.dtype)  # (torch reallocates the storage too)
    with no_grad():  # (never recorded: a graph was refused above)
        return write(out, f"{name}_out", lambda x: res.to(x.dtype), None,
                     lambda d, _: np.copyto(d, rd, casting="unsafe"), reads_self=False)


def with_out(fn: Callable, name: Optional[str] = None, *, factory: bool = False,
             differentiable: bool = True) -> Callable:
    """`fn` with torch's ``out=`` keyword (see the module docstring). `name` is the op name
    torch's messages use; a `factory` takes its dtype from `out` (and accepts `layout`,
    `pin_memory`, `memory_format` placeholders); a function that is not `differentiable`
    (comparisons, integer results) accepts an `out` that requires grad."""
    label = name or fn.__name__
    if factory:
        label = f"aten::{label}"

    @functools.wraps(fn)
    def wrapper(*args, out=None, **kwargs):
        if factory:
            _placeholders(kwargs)
        if out is None:
            return fn(*args, **kwargs)
        if not isinstance(out, Tensor):
            raise TypeError(f"{fn.__name__}(): argument 'out' must be Tensor, not "
                            f"{type(out).__name__}")
        if STATE.enabled and differentiable and (out._rg or _any_rg(args) or
                                                 _any_rg(kwargs.values())):
            if factory and fn.__name__ in ("empty", "randn"):
                raise RuntimeError("cannot resize variables that require grad")
            raise RuntimeError(_NO_AUTOGRAD.format(name=label))
        if factory:
            dt = kwargs.get("dtype")
            if dt is None:
                kwargs["dtype"] = out.dtype
            elif as_dtype(dt).np_dtype != out._data.dtype:
                raise RuntimeError(f"dtype {torch_name(as_dtype(dt).np_dtype)} does not match "
                                   f"dtype of out parameter ({torch_name(out._data.dtype)})")
        res = fn(*args, **kwargs)
        arange = fn.__name__ == "arange"
        _write_out(out, res, label, arange=arange, warn=arange or not factory)
        if factory and out._tape is None:  # torch sets a factory's requires_grad on out
            out._rg = bool(kwargs.get("requires_grad", False))
        return out
    return wrapper


def _placeholders(kwargs: dict) -> None:
    """Accept torch's layout / pin_memory / memory_format arguments of factories (strided
    dense CPU memory is all tapegrad has)."""
    lay = kwargs.pop("layout", None)
    if lay is not None and lay is not strided:
        raise RuntimeError(f"tapegrad supports only the strided layout, not {lay!r}")
    if kwargs.pop("pin_memory", False):
        raise RuntimeError("Cannot access accelerator device when none is available.")
    kwargs.pop("memory_format", None)


def _like(fn: Callable) -> Callable:
    """A ``*_like`` factory or ``clone`` that accepts torch's `memory_format` / `layout`."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        _placeholders(kwargs)
        return fn(*args, **kwargs)
    return wrapper


# the functions that get out= (torch's op name in the message when it differs from ours)
_OUT = {
    "add": None, "sub": None, "mul": None, "div": None, "pow": None, "matmul": None, "mm": None,
    "bmm": None, "mv": None, "dot": None, "addmm": None, "outer": "mul", "cat": None,
    "concat": "cat", "concatenate": "cat", "stack": None, "sum": None, "mean": None,
    "prod": None, "exp": None, "log": None, "sqrt": None, "rsqrt": None, "sin": None,
    "cos": None, "tan": None, "tanh": None, "sigmoid": None, "abs": None, "neg": None,
    "clamp": None, "where": None, "maximum": None, "minimum": None, "remainder": None,
    "fmod": None, "atan2": None, "lerp": None, "square": "pow", "reciprocal": None,
    "round": None, "sign": None, "erf": None, "floor": None, "ceil": None, "trunc": None,
    "log1p": None, "expm1": None, "log2": None, "log10": None, "cumsum": None, "cumprod": None,
    "amax": None, "amin": None, "logsumexp": None, "std": None, "var": None,
    "norm": "linalg_vector_norm", "gather": None, "index_select": None, "tril": None,
    "triu": None, "cross": "linalg_cross", "addcmul": None, "addcdiv": None, "hstack": "cat",
    "vstack": "cat", "dstack": "cat", "column_stack": "cat", "kron": "mul", "take": None,
    "nan_to_num": None, "masked_select": None, "tensordot": None, "frac": None,
    "clamp_min": None, "clamp_max": None, "diff": "sub", "asin": None, "acos": None,
    "atan": None, "sinh": None, "cosh": None, "asinh": None, "acosh": None, "atanh": None,
    "hypot": None, "floor_divide": None, "cdist": None,
}
_OUT_NO_GRAD = ("eq", "ne", "lt", "le", "gt", "ge", "argmax", "argmin", "logical_and",
                "logical_or", "logical_xor", "logical_not", "bitwise_and", "bitwise_or",
                "bitwise_xor", "bitwise_not", "isin", "heaviside", "searchsorted", "bucketize",
                "histc", "nonzero", "count_nonzero", "signbit")
_OUT_FACTORIES = ("zeros", "ones", "empty", "full", "arange", "linspace", "eye", "rand", "randn",
                  "randint", "logspace", "randperm")
_LIKE = ("zeros_like", "ones_like", "empty_like", "rand_like", "randn_like", "full_like",
         "clone")


def _source(name: str):
    return getattr(ops, name, None) or getattr(factories, name)


_WRAPPED = {name: with_out(_source(name), torch_name) for name, torch_name in _OUT.items()}
_WRAPPED.update({name: with_out(_source(name), differentiable=False) for name in _OUT_NO_GRAD})
_WRAPPED.update({name: with_out(_source(name), factory=True) for name in _OUT_FACTORIES})
_WRAPPED.update({name: _like(_source(name)) for name in _LIKE})
globals().update(_WRAPPED)


# ------------------------------------------------------------------------------------------------
# legacy tensor types
# ------------------------------------------------------------------------------------------------
class _LegacyType(type):
    """The metaclass of ``FloatTensor`` & co.: ``isinstance(x, FloatTensor)`` holds for float32
    tensors, as in torch."""

    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, Tensor) and obj.dtype.np_dtype == cls.dtype

    def __repr__(cls) -> str:
        return f"<class 'tapegrad.{cls.__name__}'>"


def _legacy(name: str, dt: _dtype.dtype):
    def __new__(cls, *args, device=None):
        """``FloatTensor(2, 3)``: uninitialised; ``FloatTensor([1, 2])``: from data."""
        check_device(device)
        return Tensor.__new__(Tensor, *args, dtype=dt) if args else factories.empty(0, dtype=dt)
    # `dtype` as a numpy dtype: numpy (and so ``x.type(tg.FloatTensor)``) reads it
    return _LegacyType(name, (), {"__new__": __new__, "dtype": dt.np_dtype,
                                  "__module__": "tapegrad", "__qualname__": name,
                                  "__doc__": f"torch's legacy constructor of {dt!r} tensors."})


FloatTensor = _legacy("FloatTensor", _dtype.float32)
DoubleTensor = _legacy("DoubleTensor", _dtype.float64)
LongTensor = _legacy("LongTensor", _dtype.int64)
IntTensor = _legacy("IntTensor", _dtype.int32)
BoolTensor = _legacy("BoolTensor", _dtype.bool_)


def typename(obj) -> str:
    """The type name torch prints: ``'tapegrad.FloatTensor'`` for a float32 tensor, else the
    object's module and qualified name.

    >>> import tapegrad as tg
    >>> tg.typename(tg.ones(1)), tg.typename(3)
    ('tapegrad.FloatTensor', 'int')
    """
    if isinstance(obj, Tensor):
        return _dtype.legacy_type_name(obj.dtype.np_dtype)
    module = getattr(obj, "__module__", "") or ""
    if hasattr(obj, "__qualname__"):
        qualname = obj.__qualname__
    elif hasattr(obj, "__name__"):
        qualname = obj.__name__
    else:
        module = obj.__class__.__module__ or ""
        qualname = obj.__class__.__qualname__
    return qualname if module in ("", "builtins") else f"{module}.{qualname}"


def is_floating_point(input: Tensor) -> bool:
    """Whether the tensor's dtype is a floating one.

    >>> import tapegrad as tg
    >>> tg.is_floating_point(tg.ones(1)), tg.is_floating_point(tg.tensor([1]))
    (True, False)
    """
    return input.dtype.is_floating_point


def is_complex(input: Tensor) -> bool:
    """False: tapegrad has no complex dtypes."""
    return False


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad: bool = False) -> Tensor:
    """A tensor from `obj`, sharing memory with a tensor or numpy array when the dtype allows
    (and `copy` is not True); a copy otherwise.

    >>> import numpy as np, tapegrad as tg
    >>> a = np.zeros(2); t = tg.asarray(a); a[0] = 1; t
    tensor([1., 0.], dtype=tapegrad.float64)
    """
    check_device(device)
    nd = as_dtype(dtype).np_dtype if dtype is not None else None
    if isinstance(obj, Tensor):
        t = obj if nd is None or nd == obj._data.dtype else obj.to(nd)
        if copy and t is obj:
            t = _wrap(obj._data.copy())
    elif isinstance(obj, np.ndarray):
        target = nd if nd is not None else as_dtype(obj.dtype).np_dtype
        if copy is False and target != obj.dtype:
            raise ValueError("asarray(): a copy is needed to convert the array's dtype")
        t = _wrap(obj.copy() if copy else obj) if target == obj.dtype else _wrap(
            obj.astype(target))
    else:
        t = factories.tensor(obj, dtype=dtype)
    if requires_grad:
        t.requires_grad_(True)
    return t


def frombuffer(buffer, *, dtype, count: int = -1, offset: int = 0,
               requires_grad: bool = False) -> Tensor:
    """A 1-D tensor over the memory of an object exposing the buffer protocol (no copy).

    >>> import tapegrad as tg
    >>> tg.frombuffer(bytearray(b'\\x01\\x00\\x00\\x00\\x02\\x00\\x00\\x00'), dtype=tg.int32)
    tensor([1, 2], dtype=tapegrad.int32)
    """
    t = _wrap(np.frombuffer(buffer, dtype=as_dtype(dtype).np_dtype, count=count, offset=offset))
    if requires_grad:
        t.requires_grad_(True)
    return t


# ------------------------------------------------------------------------------------------------
# layouts and memory formats (placeholders: tapegrad's tensors are strided, dense, C-ordered)
# ------------------------------------------------------------------------------------------------
class layout:
    """torch's layout object; tapegrad has one layout, ``tapegrad.strided``."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"tapegrad.{self.name}"


class memory_format:
    """torch's memory-format object (accepted by ``memory_format=``; values are the same in
    every format, tapegrad always lays memory out in C order)."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"tapegrad.{self.name}"


strided = layout("strided")
contiguous_format = memory_format("contiguous_format")
preserve_format = memory_format("preserve_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")


# ------------------------------------------------------------------------------------------------
# dtype information
# ------------------------------------------------------------------------------------------------
def _g(v: float) -> str:
    return f"{v:g}"


class finfo:
    """Machine limits of a floating dtype (the default dtype when none is given), with torch's
    attributes and repr.

    >>> import tapegrad as tg
    >>> tg.finfo(tg.float32)
    finfo(resolution=1e-06, min=-3.40282e+38, max=3.40282e+38, eps=1.19209e-07,
          smallest_normal=1.17549e-38, tiny=1.17549e-38, dtype=float32)
    """

    def __init__(self, type=None):  # noqa: A002 -- torch's name
        d = get_default_dtype() if type is None else as_dtype(type)
        if not d.is_floating_point:
            raise TypeError("torch.finfo() requires a floating point input type. Use torch.iinfo "
                            "to handle 'torch.finfo'")
        info = np.finfo(d.np_dtype)
        self.bits = int(info.bits)
        self.eps = float(info.eps)
        self.max = float(info.max)
        self.min = float(info.min)
        self.tiny = float(info.tiny)
        self.smallest_normal = float(info.smallest_normal)
        self.resolution = 10.0 ** -int(info.precision)  # (torch: a power of ten, in double)
        self.dtype = d.name

    def __repr__(self) -> str:
        return (f"finfo(resolution={_g(self.resolution)}, min={_g(self.min)}, max={_g(self.max)}, "
                f"eps={_g(self.eps)}, smallest_normal={_g(self.smallest_normal)}, "
                f"tiny={_g(self.tiny)}, dtype={self.dtype})")

    def __eq__(self, other) -> bool:
        return isinstance(other, finfo) and other.dtype == self.dtype

    def __hash__(self) -> int:
        return hash(("finfo", self.dtype))


class iinfo:
    """Limits of an integer dtype, with torch's attributes and repr.

    >>> import tapegrad as tg
    >>> tg.iinfo(tg.int32).max, tg.iinfo(tg.int64)
    (2147483647, iinfo(min=-9.22337e+18, max=9.22337e+18, dtype=int64))
    """

    def __init__(self, type):  # noqa: A002
        d = as_dtype(type)
        if d.name == "bool":
            raise TypeError("torch.bool is not supported by torch.iinfo")
        if d.is_floating_point:
            raise TypeError("torch.iinfo() requires an integer input type. Use torch.finfo to "
                            "handle 'torch.iinfo'")
        info = np.iinfo(d.np_dtype)
        self.bits, self.max, self.min = int(info.bits), int(info.max), int(info.min)
        self.dtype = d.name

    def __repr__(self) -> str:
        return f"iinfo(min={_g(self.min)}, max={_g(self.max)}, dtype={self.dtype})"

    def __eq__(self, other) -> bool:
        return isinstance(other, iinfo) and other.dtype == self.dtype

    def __hash__(self) -> int:
        return hash(("iinfo", self.dtype))


# dtypes tapegrad may support one day: exported only when `_dtype` has them
_OPTIONAL_DTYPES = {name: getattr(_dtype, name) for name in
                    ("uint8", "int8", "int16", "float16", "half", "bfloat16")
                    if isinstance(getattr(_dtype, name, None), _dtype.dtype)}
globals().update(_OPTIONAL_DTYPES)


# ------------------------------------------------------------------------------------------------
# default device
# ------------------------------------------------------------------------------------------------
def set_default_device(device) -> None:  # noqa: A002 -- torch's name
    """Where factories put tensors by default: the CPU (or None); any other device raises the
    error that using it raises.

    >>> import tapegrad as tg
    >>> tg.set_default_device("cpu"); tg.get_default_device()
    device(type='cpu')
    """
    check_device(device)


def get_default_device() -> device:
    """``device(type='cpu')``: tapegrad's only device."""
    return CPU


# ------------------------------------------------------------------------------------------------
# inference mode
# ------------------------------------------------------------------------------------------------
class _Inference(threading.local):
    depth = 0


_INFERENCE = _Inference()


class inference_mode:
    """``no_grad`` that also reports `is_inference_mode_enabled()` (a context manager and a
    decorator, with or without parentheses); ``inference_mode(False)`` turns both off (grad
    mode on), as torch's.

    >>> import tapegrad as tg
    >>> with tg.inference_mode():
    ...     print(tg.is_inference_mode_enabled(), tg.is_grad_enabled())
    True False
    """

    def __new__(cls, mode=True):
        if callable(mode) and not isinstance(mode, bool):  # used as a bare decorator
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode: bool = True):
        self.mode = bool(mode)

    def __enter__(self):
        self._prev = (STATE.enabled, _INFERENCE.depth)
        # torch's InferenceMode(enabled) sets grad mode to (not enabled): False re-enables it
        set_modes(not self.mode, STATE.anomaly)
        _INFERENCE.depth = _INFERENCE.depth + 1 if self.mode else 0

    def __exit__(self, *exc):
        set_modes(self._prev[0], STATE.anomaly)
        _INFERENCE.depth = self._prev[1]
        return False

    def __call__(self, fn):
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with inference_mode(mode):
                return fn(*args, **kwargs)
        return wrapper


def is_inference_mode_enabled() -> bool:
    """True inside an `inference_mode` block."""
    return _INFERENCE.depth > 0


# ------------------------------------------------------------------------------------------------
# printing
# ------------------------------------------------------------------------------------------------
_PROFILES = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80),
             "full": (4, float("inf"), 3, 80)}
_SCI_MODE: list = [None]


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None) -> None:
    """torch's print options: digits after the point, the element count above which tensors
    are summarised, the edge items shown then, the line width, and the profiles 'default',
    'short', 'full'. (`sci_mode` other than None is not applied yet: a warning says so.)

    >>> import tapegrad as tg
    >>> tg.set_printoptions(precision=2); tg.tensor([1.23456])
    tensor([1.23])
    >>> tg.set_printoptions(profile="default")
    """
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"unknown profile {profile!r}")
        (_printing.PRECISION, _printing.THRESHOLD, _printing.EDGEITEMS,
         _printing.LINEWIDTH) = _PROFILES[profile]
    if precision is not None:
        _printing.PRECISION = int(precision)
    if threshold is not None:
        _printing.THRESHOLD = threshold
    if edgeitems is not None:
        _printing.EDGEITEMS = int(edgeitems)
    if linewidth is not None:
        _printing.LINEWIDTH = int(linewidth)
    _SCI_MODE[0] = sci_mode  # (torch resets it on every call, as here)
    if sci_mode is not None:
        warnings.warn("tapegrad.set_printoptions: sci_mode is not applied yet; tensors print "
                      "with torch's automatic choice of scientific notation", UserWarning,
                      stacklevel=2)


def get_printoptions() -> dict:
    """The current print options (as ``torch._tensor_str.get_printoptions()``)."""
    return dict(precision=_printing.PRECISION, threshold=_printing.THRESHOLD,
                edgeitems=_printing.EDGEITEMS, linewidth=_printing.LINEWIDTH,
                sci_mode=_SCI_MODE[0])


# ------------------------------------------------------------------------------------------------
# the global generator: seed and state
# ------------------------------------------------------------------------------------------------
_MASK64 = (1 << 64) - 1
_STATE_SEED: list = [None, 0]  # (numpy generator set by set_rng_state, the seed it carries)


def seed() -> int:
    """Seed the global generator from the operating system's entropy; returns the seed.

    >>> import tapegrad as tg
    >>> s = tg.seed(); tg.initial_seed() == s
    True
    """
    s = secrets.randbits(63)
    factories.manual_seed(s)
    return s


def initial_seed() -> int:
    """The seed of the global generator (what `manual_seed` or `seed` last set).

    >>> import tapegrad as tg
    >>> _ = tg.manual_seed(7); tg.initial_seed()
    7
    """
    rng = factories._RNG[0]
    if rng is _STATE_SEED[0]:
        return _STATE_SEED[1]
    entropy = rng.bit_generator.seed_seq.entropy
    return int(entropy) & _MASK64 if isinstance(entropy, int) else 0


def get_rng_state() -> Tensor:
    """The global generator's state as an int64 tensor, for `set_rng_state` (numpy's PCG64
    state, see `Generator.get_state`; not interchangeable with torch's byte tensor).

    >>> import tapegrad as tg
    >>> s = tg.get_rng_state(); a = tg.rand(2); tg.set_rng_state(s)
    >>> bool((tg.rand(2) == a).all())
    True
    """
    g = Generator.__new__(Generator)
    g._rng, g._seed = factories._RNG[0], _seed_value(initial_seed())
    return g.get_state()


def set_rng_state(new_state: Tensor) -> None:
    """Resume the global generator from a state `get_rng_state` returned."""
    g = Generator.__new__(Generator)
    g.set_state(new_state)
    factories._RNG[0] = g._rng
    _STATE_SEED[0], _STATE_SEED[1] = g._rng, g._seed


# ------------------------------------------------------------------------------------------------
# threads
# ------------------------------------------------------------------------------------------------
def set_num_threads(n: int) -> None:
    """The number of threads Numba's parallel kernels use (at most the number Numba started
    with).

    >>> import tapegrad as tg
    >>> n = tg.get_num_threads(); tg.set_num_threads(1); tg.get_num_threads()
    1
    >>> tg.set_num_threads(n)
    """
    import numba
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
        raise RuntimeError("set_num_threads expects a positive integer")
    numba.set_num_threads(builtins.min(int(n), numba.config.NUMBA_NUM_THREADS))


def get_num_threads() -> int:
    """The number of threads Numba's parallel kernels use."""
    import numba
    return numba.get_num_threads()


_INTEROP = [1]


def set_num_interop_threads(n: int) -> None:
    """Accepted for torch's API (tapegrad runs no inter-op thread pool)."""
    if n <= 0:
        raise RuntimeError("Expected positive number of threads")
    _INTEROP[0] = int(n)


def get_num_interop_threads() -> int:
    """What `set_num_interop_threads` was given (1 by default)."""
    return _INTEROP[0]


__all__ = sorted(list(_WRAPPED) + list(_OPTIONAL_DTYPES) + [
    "can_cast", "promote_types", "result_type", "FloatTensor", "DoubleTensor", "LongTensor",
    "IntTensor", "BoolTensor", "typename", "is_floating_point", "is_complex", "asarray",
    "frombuffer", "layout", "memory_format", "strided", "contiguous_format", "preserve_format",
    "channels_last", "channels_last_3d", "finfo", "iinfo", "set_default_device",
    "get_default_device", "inference_mode", "is_inference_mode_enabled", "set_printoptions",
    "get_printoptions", "seed", "initial_seed", "get_rng_state", "set_rng_state",
    "set_num_threads", "get_num_threads", "set_num_interop_threads", "get_num_interop_threads"])
