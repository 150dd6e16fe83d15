"""Shape ops (reshape/view, permute/transpose/t, basic indexing, flatten/squeeze/expand/...,
flip/roll/tril/diagonal, cat/stack/split/unbind) and casts/copies.

reshape, casts and clone are flat identities for the adjoint (`unary` kind, ``g``) but are
recorded through `apply_kernel` because their output's shape or dtype differs from the input's.
"""
from __future__ import annotations

import builtins
import math
from functools import partial
from typing import Sequence

import numpy as np

from .._device import check_device
from .._dtype import result_type, torch_name
from .._grad_mode import STATE
from .._opdef import kernel, lanes_strided, unary
from numpy.lib.stride_tricks import as_strided

from .._record import _F32, apply_kernel, apply_unary, slot_in
from .. import _scalar
from .._version import attach_view, mark_scalar_kids
from ..tensor import Tensor, _nonleaf, _Vec, _wrap, normalize_dim
from ._util import into

_F64 = np.dtype(np.float64)
_FS = "tapegrad.ops._forward_shape:"  # the forwards a replay runs

# flat identities: reshape/view, dtype casts, clone (recorded with their own output shape/dtype)
VIEW = unary("view", None, "g", "ViewBackward0",
             usage="x.reshape(...), x.view(...)",
    test=("same", lambda h, x: lambda x, s=h.reshape_target(x): x.reshape(s)),
    replay='x')
TO = unary("to_copy", None, "g", "ToCopyBackward0", tol=dict(eps=1e-2, atol=1e-4),
           usage="x.to(dtype), x.double(), x.float()",
    test=("same", lambda h, x: lambda x: x.float()),
    replay='x')  # float32 output: a coarser step
CLONE = unary("clone", lambda x, out: into(x.copy(), out), "g", "CloneBackward0",
    replay='x')
UNSAFE_VIEW = unary("unsafe_view", None, "g", "UnsafeViewBackward0",
                    usage="x.reshape(...) of memory that needs a copy",
    test=(lambda h: (h.tensor((h.draw(h.st.integers(2, 3)), h.draw(h.st.integers(2, 3)))),),
          lambda h, x: lambda x: x.t().reshape(-1)),
    replay='x')


# ------------------------------------------------------------------------------------------------
# shapes
# ------------------------------------------------------------------------------------------------
PERMUTE = kernel("permute", "tapegrad.ops._kernels_shape:adj_permute", "PermuteBackward0",
                 replay=_FS + "fwd_permute",
                 usage="x.permute(dims), x.T",
    test=("same", lambda h, x: lambda x, p=h.perm(x): x.permute(p)))
TRANSPOSE = kernel("transpose", "tapegrad.ops._kernels_shape:adj_permute", "TransposeBackward0",
                   replay=_FS + "fwd_permute",
                   usage="x.transpose(d0, d1)",
    test=("same", lambda h, x: partial(transpose, dim0=h.dim(x), dim1=h.dim(x))))
T_OP = kernel("t", "tapegrad.ops._kernels_shape:adj_permute", "TBackward0", usage="x.t()",
              replay=_FS + "fwd_permute",
    test=("matrix", lambda h, x: t))


def _permuted(op, x: Tensor, perm: tuple) -> Tensor:
    return _view_op(op, x, np.transpose(x._data, perm), perm)


def permute(input: Tensor, *dims) -> Tensor:
    """Reorder dimensions. ``x.permute(1, 0)``."""
    if len(dims) == 1 and isinstance(dims[0], (list, tuple)):
        dims = tuple(dims[0])
    nd = input.ndim
    if len(dims) != nd:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does "
                           f"not match the length of the desired ordering of dimensions i.e. "
                           f"input.dim() = {nd} is not equal to len(dims) = {len(dims)}")
    perm = tuple(normalize_dim(d, nd) for d in dims)
    if len(set(perm)) != nd:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return _permuted(PERMUTE, input, perm)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dimensions."""
    nd = input.ndim
    d0, d1 = normalize_dim(dim0, nd), normalize_dim(dim1, nd)
    perm = list(range(nd))
    if nd:  # a 0-d tensor transposes to itself
        perm[d0], perm[d1] = perm[d1], perm[d0]
    return _permuted(TRANSPOSE, input, tuple(perm))


def t(input: Tensor) -> Tensor:
    """Transpose of a matrix (0-D and 1-D tensors are returned as they are)."""
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                           f"{input.ndim}D")
    return _permuted(T_OP, input, tuple(range(input.ndim - 1, -1, -1)))


def _infer_shape(shape: Sequence[int], size: int) -> tuple:
    shape = tuple(int(s) for s in shape)
    neg = [i for i, s in enumerate(shape) if s == -1]
    known = math.prod([s for s in shape if s != -1]) if shape else 1
    bad = len(neg) > 1 or builtins.any(s < -1 for s in shape)
    if neg and not bad:
        if known == 0 or size % known:
            bad = True
        else:
            shape = shape[:neg[0]] + (size // known,) + shape[neg[0] + 1:]
    if len(neg) > 1:
        raise RuntimeError("only one dimension can be inferred")
    if bad or math.prod(shape) != size:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {size}")
    return shape


def _viewed(xd: np.ndarray, shape: tuple):
    """`xd` seen with `shape` without a copy (numpy's rules are torch's), or None."""
    v = xd.view()
    try:
        v.shape = shape
    except AttributeError:
        return None
    return v


def reshape(input: Tensor, *shape) -> Tensor:
    """Same data, new shape (one dim may be -1): a view when the memory allows, else a copy.
    ``x.reshape(2, -1)``."""
    if len(shape) == 1 and isinstance(shape[0], (list, tuple)):
        shape = tuple(shape[0])
    xd = input._data
    new = _infer_shape(shape, xd.size)
    lv = _viewed(xd, new)
    if lv is not None:
        return _view_op(VIEW, input, lv)
    c = clone(input)  # torch: a copy, then an unsafe view of it
    return apply_kernel(UNSAFE_VIEW, (c,), new, xd.dtype,
                        lambda out: into(c._data.reshape(new), out))


# ------------------------------------------------------------------------------------------------
# casts and copies
# ------------------------------------------------------------------------------------------------
def to(input: Tensor, *args, dtype=None, copy: bool = False, **kwargs) -> Tensor:
    """Convert to a dtype (``x.to(tapegrad.float64)``); a device string 'cpu' is accepted."""
    from .._dtype import as_dtype
    from .._dtype import dtype as _dt
    for a in args:
        if isinstance(a, _dt) or isinstance(a, type) or isinstance(a, np.dtype):
            dtype = a
        elif isinstance(a, Tensor):
            dtype = a.dtype
        else:
            check_device(a)
    check_device(kwargs.get("device"))
    if dtype is None:
        return input.clone() if copy else input
    nd = as_dtype(dtype).np_dtype
    xd = input._data
    if nd == xd.dtype and not copy:
        return input
    if nd.kind != "f" or not input._rg:
        return _wrap(xd.astype(nd))
    return apply_kernel(TO, (input,), xd.shape, nd,
                        lambda out: into(xd.astype(nd), out))


def type_(input: Tensor, dtype=None, non_blocking: bool = False, **kwargs):
    """torch's legacy ``x.type()``: the type name (``'tapegrad.FloatTensor'``) without an
    argument, else ``x.to(dtype)`` (also from a name such as ``'tapegrad.DoubleTensor'``)."""
    from .._dtype import legacy_type_name
    if dtype is None:
        return legacy_type_name(input._data.dtype)
    if isinstance(dtype, str):
        from .._dtype import from_legacy_type_name
        dtype = from_legacy_type_name(dtype)
    return to(input, dtype)


def clone(input: Tensor) -> Tensor:
    """A copy with its own memory (recorded: gradients flow back to `input`)."""
    return apply_unary(CLONE, input, out_dtype=input._data.dtype)


def contiguous(input: Tensor) -> Tensor:
    return input if input._data.flags.c_contiguous else clone(input)


def _view(input: Tensor, *shape) -> Tensor:
    """``x.view(*shape)``: the same memory with a new shape; torch's error when the memory's
    layout does not allow it (``reshape`` copies then)."""
    if len(shape) == 1 and isinstance(shape[0], (list, tuple)):
        shape = tuple(shape[0])
    xd = input._data
    new = _infer_shape(shape, xd.size)
    if _viewed(xd, new) is None:
        raise RuntimeError("view size is not compatible with input tensor's size and stride (at "
                           "least one dimension spans across two contiguous subspaces). Use "
                           ".reshape(...) instead.")
    return reshape(input, new)


def view_as(input: Tensor, other: Tensor) -> Tensor:
    """``x.view(other.shape)``."""
    return _view(input, other._data.shape)


# ------------------------------------------------------------------------------------------------
# views and rearrangements (issue #3): flat identities, strided views, gathers, cat/stack, pieces
# ------------------------------------------------------------------------------------------------
def _shape_test(max_side: int = 3, min_dims: int = 0):
    """Input spec: one tensor whose shape often has size-1 dims (for squeeze/expand)."""
    return lambda h: (h.tensor(h.draw(h.hnp.array_shapes(min_dims=min_dims, max_dims=4,
                                                         min_side=1, max_side=max_side))),)


def _int(h, lo: int, hi: int) -> int:
    return h.draw(h.st.integers(lo, hi))


def _as_tuple(d) -> tuple:
    return tuple(d) if isinstance(d, (list, tuple)) else (d,)


def _expand_target(h, x) -> tuple:
    lead = tuple(_int(h, 1, 2) for _ in range(_int(h, 0, 2)))
    return lead + tuple(_int(h, 1, 3) if n == 1 else h.draw(h.st.sampled_from([n, -1]))
                        for n in x.shape)


def _roll_args(h, x):
    if x.ndim == 0 or h.flag():
        return _int(h, -4, 4), None
    dims = h.draw(h.st.lists(h.st.integers(-x.ndim, x.ndim - 1), min_size=1, max_size=3))
    return tuple(_int(h, -4, 4) for _ in dims), tuple(dims)


def _narrow_args(h, x):
    d = h.dim(x)
    n = x.shape[d]
    start = _int(h, -n, n - 1)
    return d, start, _int(h, 1, n - (start % n))


def _two_dims(h, x):
    d1 = h.dim(x)
    d2 = h.draw(h.st.integers(-x.ndim, x.ndim - 1).filter(lambda d: d % x.ndim != d1 % x.ndim))
    return d1, d2


def _cat_inputs(h) -> tuple:
    shape = h.shape(min_dims=1)
    d = _int(h, 0, len(shape) - 1)
    sizes = h.draw(h.st.lists(h.st.integers(1, 3), min_size=1, max_size=3))
    return tuple(h.tensor(shape[:d] + (k,) + shape[d + 1:]) for k in sizes)


def _cat_dims(xs) -> list:
    """The dims along which tensors `xs` can be concatenated (all other sizes agree)."""
    sh = [x.shape for x in xs]
    ok = [d for d in range(len(sh[0]))
          if builtins.all(s[:d] + s[d + 1:] == sh[0][:d] + sh[0][d + 1:] for s in sh)]
    return ok + [d - len(sh[0]) for d in ok]


def _cat_fn(*xs, d):
    return cat(xs, d)


def _stack_fn(*xs, d):
    return stack(xs, d)


def _unbind_fn(x, _, d):
    return unbind(x, d)


def _piece(x, how, i):
    """Piece i (mod their number, skipping empty ones) of ``fn(x, arg, dim)``."""
    fn, arg, d = how
    ps = [p for p in fn(x, arg, d) if p.numel()]
    return ps[i % len(ps)]


def _sections(h, n: int) -> list:
    cuts = sorted(h.draw(h.st.lists(h.st.integers(0, n), max_size=3)))
    return [b - a for a, b in zip([0] + cuts, cuts + [n])]


SQUEEZE = unary("squeeze", None, "g", "SqueezeBackward0", usage="x.squeeze()",
    test=(_shape_test(2), lambda h, x: squeeze),
    replay='x')
SQUEEZE_DIM = unary("squeeze_dim", None, "g", "SqueezeBackward1", usage="x.squeeze(dim)",
    test=(_shape_test(2), lambda h, x: partial(squeeze, dim=h.dim(x))),
    replay='x')
SQUEEZE_DIMS = unary("squeeze_dims", None, "g", "SqueezeBackward2", usage="x.squeeze((d0, d1))",
    test=(_shape_test(2), lambda h, x: partial(squeeze, dim=_as_tuple(h.dims(x)))),
    replay='x')
UNSQUEEZE = unary("unsqueeze", None, "g", "UnsqueezeBackward0", usage="x.unsqueeze(dim)",
    test=("same", lambda h, x: partial(unsqueeze, dim=_int(h, -x.ndim - 1, x.ndim))),
    replay='x')
EXPAND = kernel("expand", "tapegrad.ops._kernels_shape:adj_strided", "ExpandBackward0",
                replay=_FS + "fwd_strided", lanes=lanes_strided,
                usage="x.expand(*sizes), x.expand_as(y), broadcast_to(x, shape)",
    test=(_shape_test(2), lambda h, x: lambda x, s=_expand_target(h, x): x.expand(*s)))
REPEAT = kernel("repeat", "tapegrad.ops._kernels_shape:adj_walk", "RepeatBackward0",
                replay=_FS + "fwd_walk",
                usage="x.repeat(*sizes)",
    test=("same", lambda h, x: lambda x, r=tuple(_int(h, 1, 2) for _ in range(
        x.ndim + _int(h, 0 if x.ndim else 1, 1))): x.repeat(*r)))
FLIP = kernel("flip", "tapegrad.ops._kernels_shape:adj_strided", "FlipBackward0", usage="x.flip(dims)",
              replay=_FS + "fwd_strided", lanes=lanes_strided,
    test=("same", lambda h, x: partial(flip, dims=_as_tuple(h.dims(x)))))
ROLL = kernel("roll", "tapegrad.ops._kernels_shape:adj_roll", "RollBackward0",
              replay=_FS + "fwd_roll",
              usage="x.roll(shifts, dims)",
    test=("same", lambda h, x: lambda x, a=_roll_args(h, x): roll(x, *a)))
NARROW = kernel("narrow", "tapegrad.ops._kernels_shape:adj_strided", "SliceBackward0", usage="x.narrow(dim, start, length)",
                replay=_FS + "fwd_strided", lanes=lanes_strided,
    test=("nonscalar", lambda h, x: lambda x, a=_narrow_args(h, x): narrow(x, *a)))
TRIL = kernel("tril", "tapegrad.ops._kernels_shape:adj_tri", "TrilBackward0",
              replay=_FS + "fwd_tri",
              usage="x.tril(diagonal)",
    test=(_shape_test(3, 2), lambda h, x: partial(tril, diagonal=_int(h, -3, 3))))
TRIU = kernel("triu", "tapegrad.ops._kernels_shape:adj_tri", "TriuBackward0",
              replay=_FS + "fwd_tri",
              usage="x.triu(diagonal)",
    test=(_shape_test(3, 2), lambda h, x: partial(triu, diagonal=_int(h, -3, 3))))
DIAGONAL = kernel("diagonal", "tapegrad.ops._kernels_shape:adj_strided", "DiagonalBackward0",
                  replay=_FS + "fwd_strided", lanes=lanes_strided,
                  usage="x.diagonal(offset, dim1, dim2)",
    test=(_shape_test(3, 2), lambda h, x: lambda x, o=_int(h, -2, 2), d=_two_dims(h, x):
          diagonal(x, o, *d)))
CAT = kernel("cat", "tapegrad.ops._kernels_shape:adj_cat", "CatBackward0",
             replay=_FS + "fwd_cat", lanes="same",
             usage="cat(tensors, dim), concat(...)",
    test=(_cat_inputs, lambda h, *xs: partial(_cat_fn, d=h.draw(h.st.sampled_from(
        _cat_dims(xs))))))
STACK = kernel("stack", "tapegrad.ops._kernels_shape:adj_cat", "StackBackward0",
               replay=_FS + "fwd_cat", lanes="same",
               usage="stack(tensors, dim)",
    test=(lambda h: (lambda s: tuple(h.tensor(s) for _ in range(_int(h, 1, 3))))(h.shape()),
          lambda h, *xs: partial(_stack_fn, d=_int(h, -xs[0].ndim - 1, xs[0].ndim))))
SPLIT = kernel("split", "tapegrad.ops._kernels_shape:adj_strided", "SplitBackward0",
               replay=_FS + "fwd_strided", lanes=lanes_strided,
               usage="x.split(size, dim), x.chunk(chunks, dim)",
    test=("nonscalar", lambda h, x: partial(_piece, how=(
        split if h.flag() else chunk, _int(h, 1, 3), h.dim(x)), i=_int(h, 0, 2))))
SPLIT_SIZES = kernel("split_with_sizes", "tapegrad.ops._kernels_shape:adj_strided", "SplitWithSizesBackward0",
                     replay=_FS + "fwd_strided", lanes=lanes_strided,
                     usage="x.split([sizes], dim)",
    test=("nonscalar", lambda h, x: (lambda d: partial(_piece, how=(
        split, _sections(h, x.shape[d]), d), i=_int(h, 0, 3)))(h.dim(x))))
UNBIND = kernel("unbind", "tapegrad.ops._kernels_shape:adj_strided", "UnbindBackward0", usage="x.unbind(dim), list(x)",
                replay=_FS + "fwd_strided", lanes=lanes_strided,
    test=("nonscalar", lambda h, x: partial(_piece, how=(_unbind_fn, None, h.dim(x)),
                                            i=_int(h, 0, 2))))


def _cstrides(shape: tuple) -> tuple:
    """C-order element strides of `shape` (the layout of every adjoint buffer)."""
    st, acc = [], 1
    for n in reversed(shape):
        st.append(acc)
        acc *= n
    return tuple(reversed(st))


def _view_op(op, x: Tensor, lv: np.ndarray, ints: tuple = (), tape=None, multi=None) -> Tensor:
    """A tensor over `lv`, a numpy view of x's memory (so changes to either reach the other),
    recorded as `op` when x is in a graph (its slot then holds a copy, read by backward).
    `multi`: (torch's node name, index) for the outputs of unbind/split/chunk."""
    t = apply_kernel(op, (x,), lv.shape, x._data.dtype, lambda out: into(lv, out), ints,
                     tape=tape, live=lv)
    return attach_view(x, t, multi)


def _strided(op, x: Tensor, view: np.ndarray, offset: int, strides: tuple, tape=None,
             multi=None) -> Tensor:
    """`view` (a view of x's data), recorded as x's C-order buffer read at offset + strides."""
    return _view_op(op, x, view, (offset,) + strides, tape, multi)


def _flat(op, x: Tensor, shape: tuple) -> Tensor:
    """Same elements in the same order, new shape (a flat identity for the adjoint)."""
    return _view_op(op, x, x._data.reshape(shape))


def _sizes(args: tuple) -> tuple:
    """``f(2, 3)`` or ``f((2, 3))`` / ``f([2, 3])`` / ``f(x.shape)`` -> (2, 3)."""
    if len(args) == 1 and isinstance(args[0], (list, tuple)):
        args = tuple(args[0])
    return tuple(int(a) for a in args)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims start_dim..end_dim into one. ``x.flatten(1)``: (2, 3, 4) -> (2, 12)."""
    shape = input._data.shape
    nd = len(shape)
    s, e = normalize_dim(start_dim, nd), normalize_dim(end_dim, nd)
    if nd == 0:
        return reshape(input, 1)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return input
    return reshape(input, shape[:s] + (math.prod(shape[s:e + 1]),) + shape[e + 1:])


def unflatten(input: Tensor, dim: int, sizes) -> Tensor:
    """Split dim into `sizes` (one may be -1). ``x.unflatten(1, (2, -1))``: (3, 4) -> (3, 2, 2)."""
    shape = input._data.shape
    if not shape:
        raise RuntimeError("unflatten got an unexpected error:\nDimension specified as 0 but "
                           "tensor has no dimensions")
    d = normalize_dim(dim, len(shape))
    sizes = tuple(int(s) for s in sizes)
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    if sizes.count(-1) > 1:
        raise RuntimeError("unflatten got an unexpected error:\nonly one dimension can be inferred")
    for i, s in enumerate(sizes):
        if s < -1:
            raise RuntimeError(f"unflatten got an unexpected error:\ninvalid shape dimension {s} "
                               f"at index {i} of shape {list(sizes)}")
    n = shape[d]
    known = math.prod([s for s in sizes if s != -1])
    new = sizes
    if -1 in sizes and known and n % known == 0:
        new = tuple(n // known if s == -1 else s for s in sizes)
    if math.prod(new) != n or -1 in new:
        raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size "
                           f"of dim {d} ({n}) in the input tensor")
    return reshape(input, shape[:d] + new + shape[d + 1:])


def _dim_set(dims, nd: int) -> tuple:
    """Distinct normalized dims, with torch's error for a repeated one."""
    out = tuple(normalize_dim(d, nd) for d in dims)
    for i, d in enumerate(out):
        if d in out[:i]:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    return out


def squeeze(input: Tensor, dim=None) -> Tensor:
    """Drop size-1 dims (all, or those in `dim`). ``x.squeeze(0)``: (1, 3) -> (3,)."""
    shape = input._data.shape
    if dim is None:
        op, drop = SQUEEZE, range(len(shape))
    elif isinstance(dim, (list, tuple)):
        op, drop = SQUEEZE_DIMS, _dim_set(dim, len(shape))
    else:
        op, drop = SQUEEZE_DIM, (normalize_dim(dim, len(shape)),)
    return _flat(op, input, tuple(n for i, n in enumerate(shape) if n != 1 or i not in drop))


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Insert a size-1 dim at `dim` (in [-ndim-1, ndim]). ``x.unsqueeze(-1)``: (3,) -> (3, 1)."""
    shape = input._data.shape
    d = normalize_dim(dim, len(shape) + 1)
    return _flat(UNSQUEEZE, input, shape[:d] + (1,) + shape[d:])




def expand(input: Tensor, *sizes) -> Tensor:
    """Repeat size-1 dims (and add leading ones) without copying in torch; -1 keeps a size.
    ``x.expand(2, -1)``: (1, 3) -> (2, 3)."""
    xd = input._data
    shape = xd.shape
    sizes = _sizes(sizes)
    lead = len(sizes) - len(shape)
    if lead < 0:
        raise RuntimeError(f"expand(torch.{torch_name(xd.dtype)}Tensor{{"
                           f"{list(shape)}}}, size={list(sizes)}): the number of sizes provided "
                           f"({len(sizes)}) must be greater or equal to the number of dimensions "
                           f"in the tensor ({len(shape)})")
    cst = _cstrides(shape)
    out, strides = [], []
    for i, want in enumerate(sizes):
        if i < lead:
            if want < 0:
                raise RuntimeError(f"The expanded size of the tensor ({want}) isn't allowed in a "
                                   f"leading, non-existing dimension {i}")
            out.append(want)
            strides.append(0)
            continue
        have = shape[i - lead]
        if want == -1:
            want = have
        if want != have and (have != 1 or want < 0):
            raise RuntimeError(f"The expanded size of the tensor ({want}) must match the existing "
                               f"size ({have}) at non-singleton dimension {i}.  Target sizes: "
                               f"{list(sizes)}.  Tensor sizes: {list(shape)}")
        out.append(want)
        strides.append(0 if want != have else cst[i - lead])
    out = tuple(out)  # (fill_/zero_ may write it, as torch's; other in-place ops refuse)
    view = as_strided(xd, out, tuple(0 if s == 0 else xd.strides[i - (len(out) - xd.ndim)]
                                     for i, s in enumerate(strides)))
    return _strided(EXPAND, input, view, 0, tuple(strides))


def expand_as(input: Tensor, other: Tensor) -> Tensor:
    """``x.expand(other.shape)``."""
    return expand(input, other._data.shape)


def broadcast_to(input: Tensor, size) -> Tensor:
    """`input` broadcast to `size` (as `Tensor.expand`). ``broadcast_to(x, (2, 3))``."""
    return expand(input, tuple(size))


def movedim(input: Tensor, source, destination) -> Tensor:
    """Move dims `source` to positions `destination`, the others keep their order.
    ``x.movedim(0, -1)``: (2, 3, 4) -> (3, 4, 2)."""
    nd = input.ndim
    src, dst = _as_tuple(source), _as_tuple(destination)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({list(src)} "
                           f"dims) should contain the same number of dims as destination "
                           f"({list(dst)} dims)")
    ns = tuple(normalize_dim(d, nd) for d in src)
    nt = tuple(normalize_dim(d, nd) for d in dst)
    for name, given, norm in (("source", src, ns), ("destination", dst, nt)):
        if len(set(norm)) != len(norm):
            raise RuntimeError(f"movedim: repeated dim in `{name}` ({list(given)})")
    perm = [-1] * nd
    for s, t_ in zip(ns, nt):
        perm[t_] = s
    rest = iter(d for d in range(nd) if d not in ns)
    perm = tuple(p if p >= 0 else next(rest) for p in perm)
    return _permuted(PERMUTE, input, perm)


moveaxis = movedim


def repeat(input: Tensor, *sizes) -> Tensor:
    """Tile the tensor `sizes` times along each dim (leading sizes add dims).
    ``x.repeat(2, 1)``: (2, 3) -> (4, 3)."""
    if not sizes:
        raise TypeError('repeat() missing 1 required positional arguments: "repeats"')
    reps = _sizes(sizes)
    xd = input._data
    if len(reps) < xd.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number "
                           "of dimensions of tensor")
    padded = (1,) * (len(reps) - xd.ndim) + xd.shape
    out = tuple(r * n for r, n in zip(reps, padded))
    for n in out:
        if n < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {n}: {list(out)}")
    # out in C order walks (r0, n0, r1, n1, ...): the repeat index reads with stride 0
    walk = tuple(v for rn in zip(reps, padded) for v in rn)
    wst = tuple(v for st in _cstrides(padded) for v in (0, st))
    return apply_kernel(REPEAT, (input,), out, xd.dtype,
                        lambda o: into(np.tile(xd.reshape(padded), reps), o), (0,) + walk + wst)


def flip(input: Tensor, dims) -> Tensor:
    """Reverse the order of elements along `dims`. ``flip(x, (0,))``."""
    xd = input._data
    shape = xd.shape
    axes = tuple(d for d in _dim_set(_as_tuple(dims), xd.ndim) if shape)
    st = _cstrides(shape)
    offset = builtins.sum((shape[d] - 1) * st[d] for d in axes if shape[d])
    strides = tuple(-s if d in axes else s for d, s in enumerate(st))
    flipped = np.flip(xd, axes)  # not a view in torch: a copy
    return apply_kernel(FLIP, (input,), shape, xd.dtype,
                        lambda out: into(flipped, out) if out is not None else flipped.copy(),
                        (offset,) + strides)


def _flip_method(self: Tensor, *dims) -> Tensor:
    return flip(self, dims[0] if len(dims) == 1 and isinstance(dims[0], (list, tuple)) else dims)


def roll(input: Tensor, shifts, dims=None) -> Tensor:
    """Rotate elements along `dims` by `shifts` (flattened when dims is None): what falls off
    one end comes back at the other. ``x.roll(1, 0)``."""
    xd = input._data
    shifts = tuple(int(s) for s in _as_tuple(shifts))
    dims = () if dims is None else _as_tuple(dims)
    if not shifts:
        raise RuntimeError("`shifts` required")
    if not dims and len(shifts) == 1:  # roll the flattened tensor
        shape, per_dim = (xd.size,), shifts
        axes = None
    else:
        if len(shifts) != len(dims):
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, "
                               f"dims:{len(dims)}")
        if not xd.ndim:
            raise IndexError("Dimension specified as 0 but tensor has no dimensions")
        axes = tuple(normalize_dim(d, xd.ndim) for d in dims)
        shape, per = xd.shape, [0] * xd.ndim
        for s, d in zip(shifts, axes):
            per[d] += s  # repeated dims add up
        per_dim = tuple(per)
    per_dim = tuple(s % n if n else 0 for s, n in zip(per_dim, shape))
    compute = (lambda o: into(np.roll(xd.reshape(-1), per_dim[0]).reshape(xd.shape), o)
               ) if axes is None else (lambda o: into(np.roll(xd, shifts, axes), o))
    return apply_kernel(ROLL, (input,), xd.shape, xd.dtype, compute, shape + per_dim)


def _along(op, x: Tensor, d: int, start: int, length: int, tape=None, multi=None) -> Tensor:
    """x's elements start..start+length-1 along dim d (a strided view)."""
    xd = x._data
    st = _cstrides(xd.shape)
    idx = (slice(None),) * d + (slice(start, start + length),)
    return _strided(op, x, xd[idx], start * st[d] if length else 0, st, tape, multi)


def _select(op, x: Tensor, d: int, i: int, tape=None, multi=None) -> Tensor:
    """x's element i along dim d, which is dropped (a strided view)."""
    xd = x._data
    st = _cstrides(xd.shape)
    return _strided(op, x, xd[(slice(None),) * d + (i, ...)], i * st[d], st[:d] + st[d + 1:],
                    tape, multi)


def _fn_name(op) -> str:
    """torch's name of the forward function of a node: ``UnbindBackward0`` -> ``Unbind``."""
    return op.grad_fn[:op.grad_fn.index("Backward")]


def _pieces(op, make, n: int) -> tuple:
    """`make(i, tape, multi)` for i < n, all recorded on the first piece's tape: the pieces of
    one call are consecutive records there (so they share one grad_fn node, as in torch), and
    views that torch forbids changing in place."""
    out, tape = [], None
    for i in range(n):
        p = make(i, tape, (_fn_name(op), i))
        tape = p._tape
        out.append(p)
    return tuple(out)


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """Elements start..start+length-1 along `dim` (start may be negative).
    ``x.narrow(0, 1, 2)`` is ``x[1:3]``."""
    shape = input._data.shape
    if not shape:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    d = normalize_dim(dim, len(shape))
    n, start, length = shape[d], int(start), int(length)
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    if not -n <= start <= n:
        raise IndexError(f"start out of range (expected to be in range of [{-n}, {n}], but got "
                         f"{start})")
    start = start + n if start < 0 else start
    if start + length > n:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({n}).")
    return _along(NARROW, input, d, start, length)


def _tri(op, name: str, x: Tensor, diagonal: int, upper: bool) -> Tensor:
    xd = x._data
    if xd.ndim < 2:
        raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")
    if isinstance(diagonal, bool) or not isinstance(diagonal, (int, np.integer)):
        raise TypeError(f"{name}(): argument 'diagonal' (position 1) must be int, not "
                        f"{type(diagonal).__name__}")
    fn = np.triu if upper else np.tril
    return apply_kernel(op, (x,), xd.shape, xd.dtype, lambda o: into(fn(xd, diagonal), o),
                        (int(diagonal), int(upper)))


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """Lower triangle of the last two dims (elements with col - row <= diagonal), zeros
    elsewhere. ``x.tril(-1)``."""
    return _tri(TRIL, "tril", input, diagonal, False)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """Upper triangle of the last two dims (elements with col - row >= diagonal), zeros
    elsewhere. ``x.triu(1)``."""
    return _tri(TRIU, "triu", input, diagonal, True)


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal of the (dim1, dim2) planes, as a new last dim; offset > 0 is above the main
    diagonal. ``x.diagonal()`` of a (3, 3) matrix has shape (3,)."""
    xd = input._data
    shape = xd.shape
    d1, d2 = normalize_dim(dim1, xd.ndim), normalize_dim(dim2, xd.ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    st = _cstrides(shape)
    offset = int(offset)
    if offset >= 0:
        n, start = min(shape[d1], shape[d2] - offset), offset * st[d2]
    else:
        n, start = min(shape[d1] + offset, shape[d2]), -offset * st[d1]
    rest = tuple(s for d, s in enumerate(st) if d not in (d1, d2))
    n = max(n, 0)
    # numpy's diagonal view is read-only, torch's writable: the same view through as_strided
    idx = [slice(None)] * xd.ndim
    idx[d1], idx[d2] = slice(max(-offset, 0), None), slice(max(offset, 0), None)
    keep = [i for i in range(xd.ndim) if i not in (d1, d2)]
    view = as_strided(xd[tuple(idx)], tuple(shape[i] for i in keep) + (n,),
                      tuple(xd.strides[i] for i in keep) + (xd.strides[d1] + xd.strides[d2],))
    return _strided(DIAGONAL, input, view, start if n > 0 else 0, rest + (st[d1] + st[d2],))


def _tensor_list(fn: str, tensors) -> tuple:
    if isinstance(tensors, Tensor):
        raise TypeError(f"{fn}(): argument 'tensors' (position 1) must be tuple of Tensors, not "
                        f"Tensor")
    tensors = tuple(tensors)
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got "
                            f"{type(t).__name__}")
    return tensors


def cat(tensors, dim: int = 0) -> Tensor:
    """Join tensors along an existing dim (other sizes must match; 1-D empty tensors are
    skipped). ``cat([x, y], 1)``."""
    tensors = _tensor_list("cat", tensors)
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if not t._data.ndim:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
    # torch's legacy rule: tensors of shape (0,) join anything
    parts = [(i, t) for i, t in enumerate(tensors) if t._data.shape != (0,)] or list(
        enumerate(tensors))
    ref = parts[0][1]._data.shape
    nd = len(ref)
    d = normalize_dim(dim, nd)
    for i, t in parts:
        sh = t._data.shape
        if len(sh) != nd:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {nd} and "
                               f"{len(sh)}")
        for k in range(nd):
            if k != d and sh[k] != ref[k]:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. "
                                   f"Expected size {ref[k]} but got size {sh[k]} for tensor "
                                   f"number {i} in the list.")
    dt = result_type(*tensors).np_dtype
    ins = tuple(t for _, t in parts)
    arrays = [t._data for t in ins]
    extents = tuple(a.shape[d] for a in arrays)
    shape = ref[:d] + (builtins.sum(extents),) + ref[d + 1:]
    return apply_kernel(CAT, ins, shape, dt, lambda o: np.concatenate(arrays, d, out=o) if
                        o is not None else np.concatenate(arrays, d).astype(dt, copy=False),
                        (d,) + extents)


def concat(tensors, dim: int = 0) -> Tensor:
    """Alias of `cat`."""
    return cat(tensors, dim)


def concatenate(tensors, axis: int = 0) -> Tensor:
    """Alias of `cat` (numpy's argument name)."""
    return cat(tensors, axis)


def stack(tensors, dim: int = 0) -> Tensor:
    """Join same-shaped tensors along a new dim. ``stack([a, b])``: two (3,) -> (2, 3)."""
    if (type(tensors) is list or type(tensors) is tuple) and (dim == 0 or dim == -1):
        fast = _scalar.stack_of(tensors, STACK.code)
        if fast is None:
            fast = _stack_scalars(tensors, dim)
        if fast is not None:
            return fast
    tensors = _tensor_list("stack", tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    s0 = tensors[0]._data.shape
    d = normalize_dim(dim, len(s0) + 1)
    for i, t in enumerate(tensors):
        if t._data.shape != s0:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(s0)} at "
                               f"entry 0 and {list(t._data.shape)} at entry {i}")
    dt = result_type(*tensors).np_dtype
    arrays = [t._data for t in tensors]
    return apply_kernel(STACK, tensors, s0[:d] + (len(tensors),) + s0[d:], dt,
                        lambda o: np.stack(arrays, d, out=o) if o is not None else
                        np.stack(arrays, d).astype(dt, copy=False),
                        (d,) + (1,) * len(tensors))


def _stack_scalars(tensors, dim):
    """`stack` of 0-d float tensors of one dtype, the non-leaves all on one live tape (scalar code
    stacks a few nodes to softmax them): recorded here with no argument parsing; None when the
    case does not apply."""
    if not tensors or not STATE.enabled:
        return None
    tape = dt = None
    for t in tensors:
        if type(t) is not Tensor:
            return None
        d = t._data
        if d.ndim or (dt is not None and d.dtype is not dt):
            return None
        dt = d.dtype
        tp = t._tape
        if tp is not None and tp is not tape:
            if tape is not None or tp.ok is not STATE.key:
                return None
            tape = tp
    if tape is None or dt.kind != "f":
        return None
    slots = tuple(t._slot if t._tape is tape else slot_in(tape, t, dt) for t in tensors)
    n = len(slots)
    s, view = tape.record(STACK.code, (n,), n, dt is _F32, slots, (), (0,) + (1,) * n)
    for i, t in enumerate(tensors):
        view[i] = t._data
    return _nonleaf(view, tape, s)


def split(tensor: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Pieces of `split_size` along `dim` (the last may be smaller), or of the given sizes.
    ``x.split(2)``: (5,) -> (2,), (2,), (1,); ``x.split([1, 4])``."""
    shape = tensor._data.shape
    if not shape:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    d = normalize_dim(dim, len(shape))
    n = shape[d]
    if isinstance(split_size_or_sections, (list, tuple)):
        sizes = [int(s) for s in split_size_or_sections]
        if builtins.any(s < 0 for s in sizes):
            raise RuntimeError(f"split_with_sizes expects split_sizes have only non-negative "
                               f"entries, but got split_sizes={sizes}")
        if builtins.sum(sizes) != n:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input "
                               f"tensor's size at dimension {dim}), but got split_sizes={sizes}")
        op = SPLIT_SIZES
    else:
        k = int(split_size_or_sections)
        if k < 0:
            raise RuntimeError(f"split expects split_size be non-negative, but got split_size={k}")
        if k == 0 and n:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got "
                               f"dimension size of {n}")
        sizes = [min(k, n - s) for s in range(0, n, k)] if n else [0]
        op = SPLIT
    starts = np.cumsum([0] + sizes[:-1]).tolist()
    return _pieces(op, lambda i, tape, multi: _along(op, tensor, d, starts[i], sizes[i], tape,
                                                     multi), len(sizes))


def _split_method(self: Tensor, split_size, dim: int = 0) -> tuple:
    return split(self, split_size, dim)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """At most `chunks` pieces of equal size ceil(n / chunks) along `dim` (the last may be
    smaller). ``x.chunk(2)``: (5,) -> (3,), (2,)."""
    shape = input._data.shape
    if not shape:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    d = normalize_dim(dim, len(shape))
    n = shape[d]
    if not n:  # torch: `chunks` empty pieces
        return _pieces(SPLIT_SIZES, lambda i, tape, multi: _along(SPLIT_SIZES, input, d, 0, 0,
                                                                  tape, multi), chunks)
    return split(input, -(-n // chunks), d)


def unbind(input: Tensor, dim: int = 0) -> tuple:
    """The slices along `dim`, with it removed. ``x.unbind()``: (2, 3) -> two (3,) rows."""
    if isinstance(input, _Vec) and (dim == 0 or dim == -1):
        r = _scalar.unbind_of(input, UNBIND.code)
        if r is not None:
            return r
    xd = input._data
    if not xd.ndim:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    d = normalize_dim(dim, xd.ndim)
    tape = input._tape
    if d == 0 and tape is not None and tape.ok is STATE.ek:
        # the common case (rows of a recorded tensor, e.g. a softmax's outputs), recorded here
        n = xd.shape[0]
        rest = xd.shape[1:]
        size = xd.size // n if n else 0
        st = _cstrides(rest)
        record, code, ins, is32 = tape.record, UNBIND.code, (input._slot,), xd.dtype is _F32
        outs = []
        if not rest and xd.dtype is _F64:
            # a vector's elements: Python floats are the cheapest to write, and they stay on
            # the scalar fast path (as views: each knows its vector and index)
            mark_scalar_kids(input)
            for i, v in enumerate(xd.tolist()):
                s, view = record(code, (), 1, is32, ins, (), (i,))
                view[()] = v
                r = _scalar.result(view, tape, s)
                r._bs = (input, i)
                outs.append(r)
            return tuple(outs)
        name = _fn_name(UNBIND)
        for i in range(n):
            s, view = record(code, rest, size, is32, ins, (), (i * size,) + st)
            lv = xd[i, ...]
            view[...] = lv
            outs.append(attach_view(input, _nonleaf(lv, tape, s), (name, i)))
        return tuple(outs)
    return _pieces(UNBIND, lambda i, tape, multi: _select(UNBIND, input, d, i, tape, multi),
                   xd.shape[d])


def _vec_unbind(self, dim: int = 0) -> tuple:
    """`unbind` of a `_Vec` (the scalar fast path): straight to its elements."""
    if dim == 0 or dim == -1:
        r = _scalar.unbind_of(self, UNBIND.code)
        if r is not None:
            return r
    return unbind(self, dim)


__all__ = ['reshape', 'permute', 'transpose', 't', 'to', 'clone', 'contiguous',
           'flatten', 'unflatten', 'squeeze', 'unsqueeze', 'broadcast_to', 'movedim', 'moveaxis',
           'flip', 'roll', 'narrow', 'tril', 'triu', 'diagonal', 'cat', 'concat', 'concatenate',
           'stack', 'split', 'chunk', 'unbind']
METHODS = dict(
    reshape=reshape, view=_view, view_as=view_as, permute=permute, transpose=transpose,
    swapaxes=transpose, swapdims=transpose, t=t, to=to, clone=clone,
    contiguous=contiguous,
    flatten=flatten, unflatten=unflatten, squeeze=squeeze, unsqueeze=unsqueeze, expand=expand,
    expand_as=expand_as, broadcast_to=broadcast_to, movedim=movedim, moveaxis=movedim,
    repeat=repeat, flip=_flip_method, roll=roll, narrow=narrow, tril=tril, triu=triu,
    diagonal=diagonal, split=_split_method, chunk=chunk, unbind=unbind,
    cpu=lambda self, memory_format=None: self, cuda=lambda self, device=None, **kw: to(
        self, "cuda" if device is None else device),
    double=lambda self: to(self, np.float64), float=lambda self: to(self, np.float32),
    long=lambda self: to(self, np.int64), int=lambda self: to(self, np.int32),
    bool=lambda self: to(self, np.bool_), type=type_,
)
# methods of `_Vec` (a few float64 scalars stacked, on the scalar fast path)
VEC_METHODS = dict(unbind=_vec_unbind)
