"""In-place ops (``add_`` ... ``copy_``, ``x[key] = v``) with torch's memory model.

An in-place op writes the tensor's memory, so every view and alias of it sees the change; the
memory's version counter (`_version.py`) tells the tapes that saved the old values, so backward
raises torch's "modified by an inplace operation" error exactly when an entry recorded before the
change reads them. Inside a graph (grad mode on, and the tensor or an operand requiring grad):

* the op is recorded out of place on the tensor's current slot, and the tensor is bound to the
  result; when nothing else can see the tensor's memory (no view, alias or numpy export) it simply
  takes the result's memory ("move"), otherwise the result is written into the memory and, when
  the op's backward reads the old values, they are first kept in a `snapshot` entry (torch keeps
  a clone of the original for these ops too);
* an in-place op on a view is recorded on its base as torch's ``CopySlices`` (the base's
  gradient flows to the old base outside the written region and to the new values inside it),
  and every other view of that base that is bound to a tape is rebound to an ``AsStrided``
  entry of the new base, as torch regenerates views;
* outside a graph the memory is written; tensors bound to a slot holding a copy of the old values
  (views, aliases) get a `snapshot` entry with the new values, so that later entries read them.

`snapshot` entries are transparent: `grad_fn` and ``next_functions`` look through them.
"""
from __future__ import annotations

import numpy as np

from .._trace import mark_pure
from .._grad_mode import STATE
from .._opdef import OPS, kernel, lanes_strided, unary
from .._record import _F32, _live_tape, apply_kernel, slot_in, tape_for
from ..engine.tape import resolve
from .._version import Poisoned, version_of
from ..tensor import Tensor, _address, _nonleaf, _wrap
from ._util import into

_KI = "tapegrad.ops._kernels_index:"
_FS = "tapegrad.ops._forward_shape:"  # the forwards a replay runs


def _inplace_test(h, x):
    """Test spec: the in-place op runs on a recorded copy of x (x itself is a leaf)."""
    return x


SNAPSHOT = unary("snapshot", lambda x, out: into(x.copy(), out), "g", "CloneBackward0",
                 usage="(internal: old values an in-place op or a refresh keeps)",
                 transparent=True,
                 test=("same", lambda h, x: lambda x: _snapshot_of(x * 1)),
    replay='x')
AS_STRIDED = kernel("as_strided", "tapegrad.ops._kernels_shape:adj_strided", "AsStridedBackward0",
                    replay=_FS + "fwd_strided", lanes=lanes_strided,
                    usage="(a view rebound after its base changed in place)",
    test=("nonscalar", lambda h, x: lambda x, i=h.draw(h.st.integers(0, x.shape[0] - 1)):
          _regenerated(x, i)))
AS_STRIDED_TAKE = kernel("as_strided_take", "tapegrad.ops._kernels_shape:adj_take", "AsStridedBackward0",
                         replay=_FS + "fwd_take",
                         usage="(the same, over a base whose memory is not C-ordered)",
    test=(lambda h: (h.tensor((h.draw(h.st.integers(2, 3)), h.draw(h.st.integers(2, 3)))),),
          lambda h, x: _regenerated_take))
COPY_SLICES = kernel("copy_slices", _KI + "adj_copy_slices", "CopySlices",
                     replay=_FS + "fwd_copy_slices",
                     usage="view.op_(...), x[i:j] = v (x in a graph)",
    test=(lambda h: (lambda x: (x, h.tensor(x.shape[1:])))(h.tensor(h.shape(min_dims=1))),
          lambda h, x, v: lambda x, v, i=h.draw(h.st.integers(0, x.shape[0] - 1)):
          _set_row(x * 1, i, v)))
COPY_SLICES_TAKE = kernel("copy_slices_take", _KI + "adj_index_put", "CopySlices",
                          replay=_FS + "fwd_put",
                          usage="(the same, on a base whose memory is not C-ordered)",
    test=(lambda h: (lambda x: (x, h.tensor(x.shape[:1])))(h.tensor(
              (h.draw(h.st.integers(2, 3)), h.draw(h.st.integers(2, 3))))),
          lambda h, x, v: _set_column_of_transposed))
ZERO = kernel("zero", _KI + "adj_copy", "ZeroBackward0", usage="x.zero_()",
              replay=_FS + "fwd_copy",
              test=("same", lambda h, x: lambda x: (x * 1).zero_() + x))
FILL = kernel("fill", _KI + "adj_copy", "FillBackward2", usage="x.fill_(value)",
              replay=_FS + "fwd_copy",
              test=("same", lambda h, x: lambda x: (x * 1).fill_(1.5) * x))
FILL_T = kernel("fill_tensor", _KI + "adj_copy", "FillBackward3",
                replay=_FS + "fwd_copy",
                usage="x.fill_(0-d tensor)",
    test=(lambda h: (h.tensor(h.shape()), h.tensor(())),
          lambda h, x, v: lambda x, v: (x * 1).fill_(v) * x))
COPY = kernel("copy", _KI + "adj_copy", "CopyBackwards", usage="x.copy_(src)",
              replay=_FS + "fwd_copy",
    test=("broadcast", lambda h, x, y: lambda x, y: _copied(x, y)))


def _snapshot_of(x: Tensor) -> Tensor:
    tape = _live_tape(x)
    return x.clone() if tape is None else _snapshot(x, tape)  # (unrecorded: the same value)


def _regenerated(x: Tensor, i: int) -> Tensor:
    y = x * 1
    v = y[i]
    y.mul_(2)  # v is rebound to an AsStrided entry of y's new value
    return v * y[i]


def _regenerated_take(x: Tensor) -> Tensor:
    from ..factories import from_numpy
    buf = from_numpy(np.zeros(x.shape[::-1]).T)  # memory not in C order
    col = buf[:, 0]
    buf.copy_(x)  # col is rebound to an AsStrided entry of buf's new value
    return col * x[:, 0]


def _set_row(y: Tensor, i: int, v: Tensor) -> Tensor:
    y[i] = v
    return y


def _set_column_of_transposed(x: Tensor, v: Tensor) -> Tensor:
    from ..factories import from_numpy
    buf = from_numpy(np.asfortranarray(np.full(x.shape, 2.0)))  # memory not in C order
    buf[:, 0] = v
    return buf * x


def _copied(x: Tensor, y: Tensor) -> Tensor:
    shape = np.broadcast_shapes(x.shape, y.shape)
    z = (x * 1).expand(*shape) * 1
    return z.copy_(y) * z


# ------------------------------------------------------------------------------------------------
# the machinery
# ------------------------------------------------------------------------------------------------
_MULTI = ("Output {k} of {name} is a view and {what}. This view is the output of a function that "
          "returns multiple views. Such functions do not allow the output views to be modified "
          "inplace. You should replace the inplace operation by an out-of-place one.")
_NO_GRAD_VIEW = ("A view was created in no_grad mode and {what} with grad mode enabled. Given that "
                 "this use case is ambiguous and error-prone, it is forbidden. You can clarify "
                 "your code by moving both the view and the inplace either both inside the no_grad "
                 "block (if you don't want the inplace to be tracked) or both outside (if you want "
                 "the inplace to be tracked).")
_SCALAR_KIDS = ("{name}: this tensor's unbind() elements are 0-d float64 scalars kept as Python "
                "floats (the scalar fast path), which an in-place change would not reach; clone() "
                "it before unbinding, or use an out-of-place op")


def _root(t: Tensor) -> Tensor:
    b = getattr(t, "_bs", None)
    return t if b is None else b


_OVERLAP = ("unsupported operation: more than one element of the written-to tensor refers to a "
            "single memory location. Please clone() the tensor before performing the operation.")


def _check_target(self: Tensor, name: str, overlap_ok: bool = False) -> None:
    """Errors before any memory is written: memory that several elements share (torch lets
    only a fill with a number write it: `overlap_ok`), read-only memory, a tensor whose
    fast-path unbind() elements would miss the change."""
    d = self._data
    if not overlap_ok and any(st == 0 and n > 1 for st, n in zip(d.strides, d.shape)):
        raise RuntimeError(_OVERLAP)
    if not d.flags.writeable:
        raise RuntimeError(f"{name}: the tensor's memory is read-only (a numpy array that is not "
                           f"writeable)")
    vc = self._vc
    if vc is not None and vc.sk and self._multi is None:
        raise RuntimeError(_SCALAR_KIDS.format(name=name))


def _check_result(self: Tensor, name: str, new: Tensor) -> None:
    """torch's errors for an in-place result of another dtype or shape."""
    nd, sd = new._data, self._data
    if nd.dtype != sd.dtype and not np.can_cast(nd.dtype, sd.dtype, "same_kind"):
        raise RuntimeError(f"result type {new.dtype.torch_name} can't be cast to the desired "
                           f"output type {self.dtype.torch_name}")
    if nd.shape != sd.shape:
        raise RuntimeError(f"{name}: output with shape {list(sd.shape)} doesn't match the "
                           f"broadcast shape {list(nd.shape)}")


def write(self: Tensor, name: str, fn, other=None, np_op=None, reads_self: bool = True,
          overlap_ok: bool = False) -> Tensor:
    """Run in-place op `name` on `self`: ``fn(x)`` is its out-of-place result for input x
    (recorded when grad mode is on and an input requires grad); ``np_op(data, other)`` writes it
    straight into memory outside graphs (else the result of `fn` is copied in). `reads_self`:
    the op's backward reads the old values of self; `overlap_ok`: it may write memory that
    several elements share (a fill with a number). Returns self."""
    if type(self._data) is not np.ndarray:  # (a fast scalar's memory is made here; a 0-d
        self._data = np.array(self._data)  # result of numpy may be a numpy scalar: no aliases)
    if STATE.enabled and (self._rg or (isinstance(other, Tensor) and other._rg)):
        return _recorded(self, name, fn, other, reads_self, overlap_ok)
    _check_target(self, name, overlap_ok)
    if np_op is not None:
        try:
            np_op(self._data, other._data if isinstance(other, Tensor) else other)
        except (TypeError, ValueError):
            _check_result(self, name, fn(self))
            raise
    else:
        new = fn(self)
        _check_result(self, name, new)
        np.copyto(self._data, new._data, casting="same_kind")
    changed(self)
    return self


def changed(t: Tensor) -> None:
    """`t`'s memory was written outside a graph: a new version and the slots holding the old
    values marked; the base keeps its node, its views get new ones (`_regenerate`)."""
    vc = version_of(t)
    vc.changed()
    _regenerate(vc, _root(t), graph=False)
    _through_data(vc)


def _through_data(vc) -> None:
    """After a change through a ``.data`` alias: the memory's own tensors keep their version and
    nodes (torch's), but those bound to a copy of the old values get a snapshot of the new."""
    link = vc.link
    if link is None:
        return
    link.forget()
    for m in link.live_members():
        if m._tape is not None and m._snap and not isinstance(m._tape, Poisoned) and \
                _live_tape(m) is not None:
            _rebind(m, m._tape, _snapshot(m, m._tape)._slot)


def _snapshot(t: Tensor, tape) -> Tensor:
    """A `snapshot` entry holding t's current values (read in place of t's slot)."""
    d = t._data
    s, view = tape.record(SNAPSHOT.code, d.shape, d.size, d.dtype == _F32, (t._slot,))
    view[...] = d
    return _nonleaf(view, tape, s)


def _rebind(t: Tensor, tape, slot: int, own: bool = False) -> None:
    """Bind `t` to `slot` (whose value equals t's memory: the memory itself when `own`)."""
    if t._tape is not None and not isinstance(t._tape, Poisoned) and resolve(t) is tape:
        tape.renamed[t._slot] = slot
    t._tape, t._slot, t._rg, t._snap = tape, slot, True, not own
    vc = version_of(t)
    vc.save(tape, slot, own=own, view=_root(t) is not t)
    vc.add_member(t)


def _recorded(self: Tensor, name: str, fn, other, reads_self: bool, overlap_ok: bool) -> Tensor:
    """`write` inside a graph (see the module docstring)."""
    root = _root(self)
    if self._multi is not None:
        raise RuntimeError(_MULTI.format(k=self._multi[1], name=self._multi[0],
                                         what="is being modified inplace"))
    if self._ngv:
        raise RuntimeError(_NO_GRAD_VIEW.format(what="is being modified inplace"))
    if self._tape is None and self._rg and root is self:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                           "operation.")
    if root is not self and root._tape is None and root._rg:
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an "
                           "in-place operation.")
    _check_target(self, name, overlap_ok)
    # merge the tapes involved first: entries from `mark` on are this op's
    taped = [t for t in (self, root, other) if isinstance(t, Tensor) and _live_tape(t) is not None]
    tape = tape_for(*taped) if taped else None
    mark = tape.n if tape is not None else 0
    bound = self._tape is not None and _live_tape(self) is not None
    own = bound and not self._snap and root is self
    movable = own and (self._vc is None or not self._vc.shared)
    new = fn(_snapshot(self, tape) if own and not movable and reads_self else self)
    _check_result(self, name, new)
    if new._data.dtype != self._data.dtype:
        new = new.to(self.dtype)
    while tape is not None and tape.into is not None:  # fn met a tape of another computation
        mark += tape.shift
        tape = tape.into
    tape, slot = resolve(new), new._slot  # (no tape before: the op's entries began one)
    vc = version_of(self)
    if movable:  # nothing else sees this memory: the tensor takes the result's
        vc.changed({tape: mark})
        vc.saved = []
        self._data = new._data
        _rebind(self, tape, slot, own=not new._snap)
        return self
    a = None
    if root is not self:  # the base's slot before the write (it may enter the tape now)
        a = root._slot if _live_tape(root) is tape else slot_in(tape, root, root._data.dtype)
    np.copyto(self._data, new._data, casting="same_kind")
    vc.changed({tape: mark})
    if root is self:
        _rebind(self, tape, slot)
    else:
        _copy_slices(root, a, self, slot, tape)
    _regenerate(vc, root)
    _through_data(vc)
    return self


def _geometry(root: np.ndarray, view: np.ndarray):
    """(offset, *strides) of `view` in elements of `root`'s C order, or None when root's memory
    is not C-ordered (then `_positions`)."""
    if not root.flags.c_contiguous:
        return None
    item = root.itemsize
    off = (_address(view) - _address(root)) // item if view.size else 0
    return (off,) + tuple(s // item for s in view.strides)


def _positions(root: np.ndarray, view: np.ndarray) -> tuple:
    """The flat C-order index in `root` of every element of `view` (any memory layout)."""
    def bytepos(a, start):
        pos = np.full(a.shape, start, np.int64)
        for d, (n, st) in enumerate(zip(a.shape, a.strides)):
            pos += (np.arange(n, dtype=np.int64) * st).reshape((n,) + (1,) * (a.ndim - d - 1))
        return pos.reshape(-1)
    rpos = bytepos(root, 0)
    order = np.argsort(rpos, kind="stable")
    vpos = bytepos(view, _address(view) - _address(root))
    return tuple(order[np.searchsorted(rpos[order], vpos)].tolist())


def _copy_slices(root: Tensor, a: int, view: Tensor, new_slot: int, tape) -> None:
    """Bind `root` to a CopySlices entry: its old value `a` outside the written view, the view's
    new value `new_slot` inside. When root's memory is C-ordered the entry's value *is* that
    memory (no copy of a possibly large base per write)."""
    rd = root._data
    geo = _geometry(rd, view._data)
    if geo is not None and rd.dtype.kind == "f":
        s = tape.record_at(COPY_SLICES.code, rd, (a, new_slot), geo)
        own = True
    else:
        s, out = tape.record(COPY_SLICES_TAKE.code, rd.shape, rd.size, rd.dtype == _F32,
                             (a, new_slot), (), _positions(rd, view._data))
        out[...] = rd
        own = False
    _rebind(root, tape, s, own)
    vd = view._data
    if any(st == 0 and n > 1 for st, n in zip(vd.strides, vd.shape)):  # (fill_/zero_ only)
        tape.pyops[s] = _Refuse(_OVERLAP)  # torch: its backward cannot split the gradient


class _Refuse:
    """A Python callback at an entry whose backward torch refuses: raises when reached."""

    def __init__(self, msg: str):
        self.msg = msg

    def run(self, *args) -> None:
        raise RuntimeError(self.msg)

    run_graph = run

    def shift(self, n: int) -> None:
        pass


def _regenerate(vc, root: Tensor, graph: bool = True) -> None:
    """After `root`'s memory changed (inside a graph: root has a new node): every view of it
    bound to a tape is rebound to an AsStrided entry of root's value, as torch regenerates views,
    or poisoned where torch forbids its further use; inside a graph, views not bound yet join it.
    Tensors bound to a copy of the old values that are not views (root after a change outside a
    graph, aliases that joined a graph on their own) get a `snapshot` of the new values."""
    for m in vc.live_members():
        if isinstance(m._tape, Poisoned):
            continue
        if m is not root and getattr(m, "_bs", None) is root:
            if m._multi is not None and (graph or m._tape is not None):
                m._tape, m._rg = Poisoned(_MULTI.format(
                    k=m._multi[1], name=m._multi[0],
                    what="its base or another view of its base has been modified inplace")), True
            elif m._ngv and graph:
                m._tape, m._rg = Poisoned(_NO_GRAD_VIEW.format(
                    what="its base or another view of its base has been modified inplace")), True
            elif not m._ngv and (graph or m._tape is not None):
                _as_strided(m, root)
        elif m._tape is not None and m._snap and _live_tape(m) is not None:
            _rebind(m, m._tape, _snapshot(m, m._tape)._slot)


def _as_strided(m: Tensor, root: Tensor) -> None:
    """Bind view `m` to an AsStrided entry reading root's current value."""
    tape = _live_tape(root) or _live_tape(m) or tape_for(root)
    a = root._slot if root._tape is tape else slot_in(tape, root, root._data.dtype)
    md, rd = m._data, root._data
    geo = _geometry(rd, md)
    op, ints = (AS_STRIDED, geo) if geo is not None else (AS_STRIDED_TAKE, _positions(rd, md))
    s, out = tape.record(op.code, md.shape, md.size, md.dtype == _F32, (a,), (), ints)
    out[...] = md
    _rebind(m, tape, s)


# ------------------------------------------------------------------------------------------------
# the in-place methods
# ------------------------------------------------------------------------------------------------
def _is_rg(other) -> bool:
    return isinstance(other, Tensor) and other._rg


def add_(self: Tensor, other, *, alpha=1) -> Tensor:
    """self += alpha * other."""
    if alpha != 1:
        other = other * alpha
    return write(self, "add_", lambda x: x + other, other,
                 lambda d, o: np.add(d, o, out=d, casting="same_kind"), reads_self=False)


def sub_(self: Tensor, other, *, alpha=1) -> Tensor:
    """self -= alpha * other."""
    if alpha != 1:
        other = other * alpha
    return write(self, "sub_", lambda x: x - other, other,
                 lambda d, o: np.subtract(d, o, out=d, casting="same_kind"), reads_self=False)


def mul_(self: Tensor, other) -> Tensor:
    return write(self, "mul_", lambda x: x * other, other,
                 lambda d, o: np.multiply(d, o, out=d, casting="same_kind"), _is_rg(other))


def div_(self: Tensor, other) -> Tensor:
    np_op = (lambda d, o: np.true_divide(d, o, out=d, casting="same_kind")) \
        if self._data.dtype.kind == "f" else None
    return write(self, "div_", lambda x: x / other, other, np_op, _is_rg(other))


def pow_(self: Tensor, exponent) -> Tensor:
    return write(self, "pow_", lambda x: x ** exponent, exponent)


def clamp_(self: Tensor, min=None, max=None) -> Tensor:  # noqa: A002
    return write(self, "clamp_", lambda x: x.clamp(min, max))


def _unary_inplace(name: str):
    def method(self: Tensor) -> Tensor:
        return write(self, f"{name}_", lambda x: getattr(x, name)(),
                     reads_self=OPS[name].reads_inputs)
    method.__name__ = f"{name}_"
    method.__doc__ = f"In place: ``x.{name}()``."
    return method


def zero_(self: Tensor) -> Tensor:
    """Fill with zeros in place (e.g. ``p.grad.zero_()``): NaN and inf are overwritten."""
    return write(self, "zero_", lambda x: _filled(ZERO, x, 0.0), None,
                 lambda d, o: d.fill(0), reads_self=False, overlap_ok=True)


def fill_(self: Tensor, value) -> Tensor:
    """Set every element to `value` (a number or a 0-d tensor)."""
    if isinstance(value, Tensor):
        if value._data.ndim:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor "
                               f"with {value._data.ndim} dimensions.")
        return write(self, "fill_", lambda x: _copy_of(FILL_T, x, value), value,
                     lambda d, o: d.fill(o), reads_self=False)
    return write(self, "fill_", lambda x: _filled(FILL, x, value), None,
                 lambda d, o: d.fill(value), reads_self=False, overlap_ok=True)


def copy_(self: Tensor, src) -> Tensor:
    """Copy `src` (broadcast to self's shape, cast to its dtype) into self."""
    s = src if isinstance(src, Tensor) else mark_pure(_wrap(np.asarray(src)))
    try:
        np.broadcast_shapes(s._data.shape, self._data.shape)
        if np.broadcast_shapes(s._data.shape, self._data.shape) != self._data.shape:
            raise ValueError
    except ValueError:
        raise RuntimeError(f"copy_: the source of shape {list(s._data.shape)} cannot be "
                           f"broadcast to the destination of shape "
                           f"{list(self._data.shape)}") from None
    return write(self, "copy_", lambda x: _copy_of(COPY, x, s), s,
                 lambda d, o: np.copyto(d, o, casting="unsafe"), reads_self=False)


def _filled(op, x: Tensor, value) -> Tensor:
    """`op`'s value: x's shape and dtype, every element `value` (x's old value gets no
    gradient, but is reached: its gradient is zero, as torch's)."""
    d = x._data
    return apply_kernel(op, (x,), d.shape, d.dtype, lambda o: into(np.full(d.shape, value, d.dtype),
                                                                   o), (), (float(value),))


def _copy_of(op, x: Tensor, src: Tensor) -> Tensor:
    """`op`'s value: `src` broadcast to x's shape, in x's dtype (gradient: summed back to src)."""
    d, sd = x._data, src._data
    return apply_kernel(op, (x, src), d.shape, d.dtype,
                        lambda o: into(np.broadcast_to(sd, d.shape).astype(d.dtype), o))


def _random_fill(self: Tensor, name: str, draw, generator) -> Tensor:
    """Overwrite self with ``draw(numpy_generator, shape)`` (torch's in-place samplers: the
    old values get no gradient, as a copy_)."""
    from .._generator import numpy_rng
    from ..factories import _RNG
    rng = _RNG[0] if generator is None else numpy_rng(generator)
    if self._data.dtype.kind != "f":
        raise NotImplementedError(f"\"{name}\" not implemented for '{self.dtype.torch_name}'")
    src = _wrap(np.asarray(draw(rng, self._data.shape), self._data.dtype))
    return write(self, name, lambda x: _copy_of(COPY, x, src), src,
                 lambda d, o: np.copyto(d, o), reads_self=False)


def uniform_(self: Tensor, a: float = 0.0, b: float = 1.0, *, generator=None) -> Tensor:
    """Fill with samples of U(a, b) in place (tapegrad's generator, `manual_seed`)."""
    return _random_fill(self, "uniform_", lambda r, s: r.uniform(a, b, s), generator)


def normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, *, generator=None) -> Tensor:
    """Fill with samples of N(mean, std^2) in place."""
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    return _random_fill(self, "normal_", lambda r, s: r.normal(mean, std, s), generator)


def bernoulli_(self: Tensor, p: float = 0.5, *, generator=None) -> Tensor:
    """Fill with 0/1 samples that are 1 with probability p, in place."""
    if not 0.0 <= p <= 1.0:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
    return _random_fill(self, "bernoulli_", lambda r, s: r.random(s) < p, generator)


def exponential_(self: Tensor, lambd: float = 1.0, *, generator=None) -> Tensor:
    """Fill with samples of the exponential distribution of rate `lambd`, in place."""
    return _random_fill(self, "exponential_", lambda r, s: r.exponential(1.0 / lambd, s),
                        generator)


METHODS = dict(
    add_=add_, sub_=sub_, mul_=mul_, div_=div_, pow_=pow_, clamp_=clamp_, zero_=zero_,
    fill_=fill_, copy_=copy_, uniform_=uniform_, normal_=normal_, bernoulli_=bernoulli_,
    exponential_=exponential_, __iadd__=add_, __isub__=sub_, __imul__=mul_, __itruediv__=div_,
    **{f"{n}_": _unary_inplace(n) for n in (
        "exp", "neg", "sigmoid", "tanh", "sqrt", "relu", "abs", "log", "sin", "cos",
        "reciprocal", "floor", "ceil", "round", "trunc")},
)
__all__: list = []
