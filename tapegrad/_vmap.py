"""`tapegrad.func.vmap`: a function over a batch of inputs, as one batched replay of its tape.

The function is recorded at one lane's inputs (``tapegrad.compile``'s recording: the same
guards), then its program runs for all lanes at once (`engine/lanes.py`). ``vmap(grad(f))`` and
``vmap(value_and_grad(f))`` record `f` and run its reverse sweep batched too, one seed per lane.
Lanes where a recorded decision does not hold (a branch on a value, an ``item()``, integer
inputs that differ from the recorded ones) are left out of that run and computed by another
recording made at one of them, until every lane is done. Whatever cannot be replayed runs as a
Python loop over lanes, with one warning saying why; so does a call whose result must carry a
graph (an input, or a captured tensor, requires grad with grad mode on), and a call made while
another function is being recorded (it is then recorded as that loop).
"""
from __future__ import annotations

import math
import sys
import threading
import warnings
from typing import Any, Callable, Optional

import numba
import numpy as np

from . import _compile
from ._grad_mode import STATE
from .engine.lanes import LanePlan
from .engine.tape import _ENV
from .engine.threads import executor
from ._pytree import count as _count, flatten as _flatten, leaf_range as _leaf_range
from ._pytree import spec_key as _spec_key, spec_str as _spec_str, unflatten as _unflatten
from .autograd import Function
from .tensor import Tensor, _wrap

_BLOCK_BYTES = 1 << 22     # a block of lanes' buffers (about what stays in cache): a batch runs
#                            block after block, at most one block per thread in memory at once
_MIN_LANES = 1024          # ... but at least this many lanes while a block stays under
_MAX_BLOCK_BYTES = 1 << 24  # this: each entry's kernel call costs ~0.2 µs, which fewer lanes
#                            than that do not amortize (a 1k-entry program: 1.3x faster)


def _lanes_per_block(lane_bytes: int) -> int:
    lane_bytes = max(lane_bytes, 1)
    return max(1, _BLOCK_BYTES // lane_bytes, min(_MIN_LANES, _MAX_BLOCK_BYTES // lane_bytes))
MAX_LANE_RECORDINGS = 16   # recordings one call may make before its other lanes run one by one


class VmapWarning(UserWarning):
    """A vmapped function runs lane by lane (a Python loop) instead of as a batched replay."""


def vmap(func: Callable, in_dims: Any = 0, out_dims: Any = 0, randomness: str = "error", *,
         chunk_size: Optional[int] = None) -> Callable:
    """`func` mapped over a batch dimension of its inputs (torch.func.vmap's signature).

    ``in_dims`` per argument (an int, None for an unbatched argument, or a nested structure
    matching the argument's); outputs are stacked along ``out_dims``. ``randomness``: 'error'
    (random ops raise), 'different' (fresh draws per lane) or 'same' (one draw for all).

    >>> import tapegrad as tg
    >>> from tapegrad.func import vmap, grad
    >>> vmap(grad(lambda x: (x ** 3).sum()))(tg.tensor([[1., 2.], [3., 4.]]))
    tensor([[ 3., 12.],
            [27., 48.]])
    """
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or "
                           f"'same'. Got {randomness}")
    if chunk_size is not None and chunk_size <= 0:
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")
    return _Vmapped(func, in_dims, out_dims, randomness, chunk_size)


class _Vmapped:
    """What `vmap` returns; ``stats()`` tells how its calls ran."""

    def __init__(self, func, in_dims, out_dims, randomness, chunk_size):
        self.func, self.in_dims, self.out_dims = func, in_dims, out_dims
        self.randomness, self.chunk_size = randomness, chunk_size
        self.name = getattr(func, "__name__", type(func).__name__)
        self._compiled: dict = {}   # argument structure -> CompiledFunction
        self._warned: set = set()
        self._stats = dict(batched_lanes=0, loop_lanes=0, recordings=0, runs=0)

    def stats(self) -> dict:
        """Lanes run batched and in the Python loop, recordings made, batched runs."""
        return dict(self._stats)

    def __call__(self, *args, **kwargs):
        if not args:
            raise ValueError(f"vmap({self.name})(<inputs>): got no inputs. Maybe you forgot to "
                             f"add inputs, or you are trying to vmap over a function with no "
                             f"inputs. The latter is unsupported.")
        leaves, spec = _flatten(args)
        dims = self._leaf_dims(args, leaves)
        sizes = [leaf.shape[d] for leaf, d in zip(leaves, dims) if d is not None]
        if not sizes:
            raise ValueError("vmap: Expected at least one Tensor to vmap over")
        if len(set(sizes)) > 1:
            raise ValueError(f"vmap: Expected all tensors to have the same size in the mapped "
                             f"dimension, got sizes {sizes} for the mapped dimension")
        B = sizes[0]
        if B == 0:
            return self._place(self._no_lanes(leaves, dims, spec, kwargs))
        lanes = [None if d is None else np.ascontiguousarray(np.moveaxis(leaf._data, d, 0))
                 for leaf, d in zip(leaves, dims)]
        why = self._eager_reason(leaves)
        outs = None
        if why is None:
            outs, why = _Batched(self, leaves, lanes, dims, spec, kwargs, B).run()
        if outs is None:
            if why:
                self._warn(why)
            outs = self._loop(leaves, dims, spec, kwargs, B, range(B))
        return self._place(outs)

    # -- inputs --------------------------------------------------------------------------------
    def _leaf_dims(self, args: tuple, leaves: list) -> list:
        head = f"vmap({self.name}, in_dims={self.in_dims}, ...)(<inputs>)"
        dims = _broadcast_dims(self.in_dims, args, head)
        for leaf, d in zip(leaves, dims):
            if d is None:
                continue
            if not isinstance(d, int) or isinstance(d, bool):
                raise ValueError(f"{head}: Got in_dim={d} for an input but in_dim must be "
                                 f"either an integer dimension or None.")
            if not isinstance(leaf, Tensor):
                raise ValueError(f"{head}: Got in_dim={d} for an input but the input is of "
                                 f"type {type(leaf)}. We cannot vmap over non-Tensor arguments, "
                                 f"please use None as the respective in_dim")
            nd = leaf.dim()
            if not -nd <= d < nd:
                raise ValueError(f"{head}: Got in_dim={d} for some input, but that input is a "
                                 f"Tensor of dimensionality {nd} so expected in_dim to satisfy "
                                 f"-{nd} <= in_dim < {nd}.")
        return [None if d is None else d % leaf.dim() for leaf, d in zip(leaves, dims)]

    def _eager_reason(self, leaves: list) -> Optional[str]:
        """Why this call runs lane by lane ('' when that is expected and needs no warning), or
        None: it is replayed."""
        if STATE.trace is not None:
            return ""  # (the loop is what the enclosing recording records)
        if STATE.enabled and getattr(self.func, "_tg_grad", None) and any(
                isinstance(t, Tensor) and t._rg for t in leaves):
            return ""  # (gradients with a graph of their own: create_graph semantics)
        return None

    def _warn(self, why: str) -> None:
        if why not in self._warned:
            self._warned.add(why)
            warnings.warn(f"tapegrad.func.vmap: {self.name} runs lane by lane: {why}",
                          VmapWarning, stacklevel=3)

    # -- the Python loop -----------------------------------------------------------------------
    def _loop(self, leaves: list, dims: list, spec, kwargs: dict, B: int, which) -> "_Outs":
        """The outputs of calling func at lanes `which`, one after another (eager calls: the
        result carries a graph when the inputs do)."""
        from ._torch_api import get_rng_state, set_rng_state
        self._stats["loop_lanes"] += len(which)
        state = get_rng_state() if self.randomness == "same" else None
        per_lane, struct = [], None
        for b in which:
            if state is not None:
                set_rng_state(state)   # (every lane draws the same numbers)
            lane = [leaf if d is None else leaf.select(d, b) for leaf, d in zip(leaves, dims)]
            out = self.func(*_unflatten(spec, lane), **kwargs)
            flat, struct = _flatten_out(out, self.name)
            per_lane.append(flat)
        return _Outs(struct, [list(col) for col in zip(*per_lane)], None)

    def _no_lanes(self, leaves: list, dims: list, spec, kwargs: dict) -> "_Outs":
        """A batch of 0: the outputs' structure and shapes from one call at zeros, no lanes."""
        from .factories import zeros
        lane = [leaf if d is None else
                zeros(leaf.shape[:d] + leaf.shape[d + 1:], dtype=leaf.dtype)
                for leaf, d in zip(leaves, dims)]
        flat, struct = _flatten_out(self.func(*_unflatten(spec, lane), **kwargs), self.name)
        return _Outs(struct, [np.zeros((0,) + tuple(t.shape), t._data.dtype) for t in flat],
                     [True] * len(flat))

    # -- outputs -------------------------------------------------------------------------------
    def _place(self, outs: "_Outs"):
        from .ops import stack
        dims = _broadcast_out_dims(self.out_dims, outs.struct, self.name)
        res = []
        for k, (col, d) in enumerate(zip(outs.cols, dims)):
            batched = outs.batched[k] if outs.batched is not None else None
            if isinstance(col, Tensor):  # a batched run whose result carries a graph
                t = col
                if d is None:
                    raise ValueError(f"vmap({self.name}, ...): `{self.name}` can not return "
                                     f"a BatchedTensor when out_dim is None")
            elif isinstance(col, np.ndarray):  # a batched run: (B, *shape) values
                t = _wrap(col)
                if d is None:
                    if batched:
                        raise ValueError(f"vmap({self.name}, ...): `{self.name}` can not return "
                                         f"a BatchedTensor when out_dim is None")
                    res.append(_wrap(col[0].copy()))
                    continue
            else:
                if d is None:
                    if any(not np.array_equal(c._data, col[0]._data, equal_nan=True)
                           for c in col[1:]):
                        raise ValueError(f"vmap({self.name}, ...): `{self.name}` can not return "
                                         f"a BatchedTensor when out_dim is None")
                    res.append(col[0])
                    continue
                t = stack(col)
            nd = t.dim()
            if not -nd <= d < nd:
                raise IndexError(f"Dimension out of range (expected to be in range of "
                                 f"[{-nd}, {nd - 1}], but got {d})")
            res.append(t.movedim(0, d) if d % nd else t)
        return _unflatten(outs.struct, res)


class _Outs:
    """A call's outputs: their structure, one column per output leaf (a (B, *shape) array from
    a batched run, or a list of per-lane tensors from the loop), and which were batched."""

    __slots__ = ("struct", "cols", "batched")

    def __init__(self, struct, cols: list, batched: Optional[list]):
        self.struct, self.cols, self.batched = struct, cols, batched


class _Batched:
    """One call run as batched replays (see module docstring)."""

    def __init__(self, owner: _Vmapped, leaves: list, lanes: list, dims: list, spec,
                 kwargs: dict, B: int):
        names = sorted(kwargs)   # (keyword arguments are not batched)
        self.dims = list(dims) + [None] * len(names)
        self.leaves = list(leaves) + [kwargs[k] for k in names]
        self.lanes = list(lanes) + [None] * len(names)
        self.owner, self.spec, self.kwargs, self.B = owner, spec, kwargs, B
        self.n_pos = len(leaves)
        g = getattr(owner.func, "_tg_grad", None)   # vmap(grad(f)): f's tape, swept batched
        self.grad = g
        self.fn = g[0] if g else owner.func
        if g:
            nums = (g[1],) if isinstance(g[1], int) else tuple(g[1])
            self.argnums = nums
            self.grad_leaves = [_leaf_range(spec, i) for i in nums]
        wants = {i for r in self.grad_leaves for i in r} if g else set()
        # a plain vmap under grad mode whose inputs require grad: its result carries a graph
        # (one node whose backward is the batched sweep, `BatchedReplay`)
        self.graph = g is None and STATE.enabled
        if self.graph:
            wants |= {i for i, t in enumerate(leaves) if isinstance(t, Tensor) and t._rg
                      and t._data.dtype.kind == "f"}
        self.wants = wants
        self.runs: list = []   # (recording, lanes) of each batched run (the node's backward)

    def _compiled(self):
        key = (_spec_key(self.spec), tuple(sorted(self.kwargs)))
        cf = self.owner._compiled.get(key)
        if cf is None:
            spec, fn = self.spec, self.fn

            def lanes_fn(*leaves, **kw):
                return fn(*_unflatten(spec, list(leaves)), **kw)
            lanes_fn.__name__ = lanes_fn.__qualname__ = self.owner.name
            lanes_fn._tg_captures_of = fn   # (what it reads through closures and globals)
            cf = self.owner._compiled[key] = _compile.CompiledFunction(
                lanes_fn, quiet=True, max_recordings=4 * MAX_LANE_RECORDINGS)
        return cf

    def lane_flat(self, b: int) -> tuple:
        """Lane b's arguments as a recording takes them (leaves, then keyword values)."""
        out = []
        for i, (leaf, lane) in enumerate(zip(self.leaves[:self.n_pos], self.lanes)):
            if lane is not None:
                leaf = _wrap(lane[b, ...])  # (a 0-d array, not a numpy scalar)
            elif isinstance(leaf, Tensor):
                leaf = leaf.detach()
            if i in self.wants:
                leaf = leaf.detach().requires_grad_(True)
            out.append(leaf)
        return tuple(out)

    def run(self) -> tuple:
        """(outputs, None), or (None, why the call runs lane by lane)."""
        owner, B = self.owner, self.B
        cf = self._compiled()
        pending = np.arange(B)
        done_cols, struct, batched_out = None, None, None
        tried: set = set()
        made = 0
        loop_lanes = []
        while pending.size:
            b = int(pending[0])
            flat = self.lane_flat(b)
            rec, why, fresh = cf.recording_for(flat, self.kwargs, exclude=tried)
            made += fresh
            if rec is None:
                return None, why
            got = self._check_outputs(rec)
            if got is not None:
                return None, got
            if owner.randomness == "error" and any(k == "rand" for _, k, _ in rec.fills):
                raise RuntimeError("vmap: called random operation while in randomness error "
                                   "mode. Please either use the 'same' or 'different' "
                                   "randomness flags on vmap or perform the randomness "
                                   "operation out of vmap")
            idx = pending[self._int_mask(rec, pending)]
            shapes = self._shapes(rec)
            if done_cols is None:
                done_cols = [_result_array((B,) + shape, dt) for shape, dt in shapes]
                struct, batched_out = self._struct(rec), [False] * len(shapes)
            elif shapes != [(c.shape[1:], c.dtype) for c in done_cols]:
                return None, "lanes' outputs differ in shape"
            ok, bat, inputs = self._replay(rec, idx, done_cols)
            owner._stats["runs"] += 1
            if self.graph:  # (the backward runs it again: with the same random draws)
                self.runs.append((rec, idx[ok], [(s, v[ok] if b else v, b)
                                                 for s, v, b in inputs]))
            batched_out = [x or y for x, y in zip(batched_out, bat)]
            if not ok[0]:   # (its own lane fails it: a fresh recording is made there)
                if fresh:
                    loop_lanes.append(b)
                    ok[0] = True
                tried.add(id(rec))
            if ok.all() and idx.size == pending.size:
                pending = pending[:0]   # (the common case, without setdiff1d's sort)
            else:
                pending = np.setdiff1d(pending, idx[ok], assume_unique=True)
            if made >= MAX_LANE_RECORDINGS and pending.size:
                owner._warn(f"its lanes needed more than {MAX_LANE_RECORDINGS} recordings (their "
                            f"branches or integer inputs differ); the other lanes run one by "
                            f"one")
                loop_lanes.extend(pending.tolist())
                break
        owner._stats["recordings"] += made
        if loop_lanes and self.graph and self._graph_inputs():
            return None, ""   # (lanes run eagerly would need a graph of their own: all do)
        owner._stats["batched_lanes"] += B - len(loop_lanes)
        if loop_lanes:
            dims = [None if lane is None else 0 for lane in self.lanes]
            leaves = [leaf if lane is None else _wrap(lane) for leaf, lane in
                      zip(self.leaves[:self.n_pos], self.lanes)]
            extra = owner._loop(leaves, dims, self.spec, self.kwargs, B, loop_lanes)
            for c, d in zip(extra.cols, done_cols):
                for b, t in zip(loop_lanes, c):
                    d[b] = t.detach()._data
        if self.graph and self._graph_inputs():
            self.node_cols = done_cols
            done_cols = list(BatchedReplay.apply(self, *self._graph_inputs()))
        return _Outs(struct, done_cols, batched_out), None

    def _graph_inputs(self) -> list:
        """The tensors the result's graph reaches: arguments and captures requiring grad."""
        got, seen = [], set()
        for rec, _, _ in self.runs:
            for kind, src, _ in rec.node_inputs:
                t = self.leaves[src] if kind == "arg" else src
                if t._rg and id(t) not in seen:
                    seen.add(id(t))
                    got.append(t)
        return got

    def backward(self, grads: list) -> dict:
        """The node's backward: id(input) -> its gradient, from the outputs' gradients
        (B, *shape) -- each run again, forward and reverse sweep, seeded per lane."""
        out: dict = {}
        for rec, idx, inputs in self.runs:
            plan = self._plan(rec)
            per = min(_lanes_per_block(plan.lane_bytes), idx.size)
            for a in range(0, idx.size, per):
                z = min(a + per, idx.size)
                self._block_backward(rec, plan, inputs, (a, z), idx, grads, out)
        return out

    def backward_graph(self, grads: tuple, ins: tuple) -> tuple:
        """create_graph through the node: the function run lane by lane eagerly at the call's
        inputs, differentiated with a graph (as `compile`'s node does)."""
        from .autograd import grad as _grad
        from .ops import stack
        n = self.n_pos
        outs = self.owner._loop(self.leaves[:n], self.dims[:n], self.spec, self.kwargs,
                                self.B, range(self.B))
        pairs = [(stack(col), g) for col, g in zip(outs.cols, grads) if g is not None]
        return tuple(_grad([o for o, _ in pairs], list(ins), [g for _, g in pairs],
                           create_graph=True, allow_unused=True))

    def _block_backward(self, rec, plan, inputs, blk, idx, grads, out) -> None:
        a, z = blk
        rows = idx[a:z]
        frame = self._forward_block(plan, inputs, a, z)
        try:
            seeds = [(s, g[rows]) for (s, _), g in zip(rec.outputs, grads) if g is not None]
            plan.backward(frame, _ENV, seeds)
            for kind, src, s in rec.node_inputs:
                if not frame.live[s]:
                    continue
                t = self.leaves[src] if kind == "arg" else src
                g = frame.adjoint(plan, s)
                lane = self.lanes[src] if kind == "arg" else None
                acc = out.get(id(t))
                if lane is None:   # shared by the lanes: the sum of theirs
                    g = g.sum(axis=0).reshape(t.shape)
                    out[id(t)] = g if acc is None else acc + g
                    continue
                if acc is None:
                    acc = out[id(t)] = np.zeros(lane.shape, g.dtype)
                acc[rows] += g.reshape((z - a,) + lane.shape[1:])
        finally:
            plan.give_back(frame)

    def _check_outputs(self, rec) -> Optional[str]:
        if self.grad is None:
            return None
        if self.grad[3] == "jac":  # (jacrev of f: f returns one tensor)
            return None if len(rec.outputs) == 1 else "jacrev of a function with several outputs"
        s, shape = rec.outputs[0]
        if math.prod(shape) != 1:
            raise RuntimeError(f"grad_and_value(f)(*args): Expected f(*args) to return a scalar "
                               f"Tensor, got tensor with {len(shape)} dims. Maybe you wanted to "
                               f"use the vjp or jacrev APIs instead?")
        if (len(rec.outputs) > 1) != bool(self.grad[2]):
            return "its outputs are not what has_aux says"
        return None

    def _int_mask(self, rec, idx: np.ndarray) -> np.ndarray:
        """Which of lanes `idx` hold the recorded integer inputs."""
        mask = np.ones(idx.size, bool)
        for k, vals in rec.int_args:
            lane = self.lanes[k] if k < len(self.lanes) else None
            if lane is not None:
                got = lane[idx].reshape(idx.size, -1)
                mask &= (got == vals.reshape(1, -1)).all(axis=1)
        return mask

    # -- a batched replay ----------------------------------------------------------------------
    def _replay(self, rec, idx: np.ndarray, outs: list) -> tuple:
        """Run `rec` for lanes `idx`, writing their results into rows `idx` of `outs` (those
        of lanes that fail a guard are written again later): (ok per lane, batched per
        output, the inputs written)."""
        plan = self._plan(rec)
        n = idx.size
        inputs = self._inputs(rec, plan, idx)
        threads = max(1, numba.get_num_threads())
        per = _lanes_per_block(plan.lane_bytes)
        if self.owner.chunk_size:
            per = min(per, self.owner.chunk_size)
        per = min(per, max(1, -(-n // threads)), n)
        blocks = [(a, min(a + per, n)) for a in range(0, n, per)]
        ok = np.ones(n, bool)
        run = lambda blk: self._block(rec, plan, inputs, blk, idx, outs, ok)  # noqa: E731
        if threads > 1 and len(blocks) > 1:
            ex = executor(threads)
            for f in [ex.submit(run, blk) for blk in blocks]:
                f.result()
        else:
            for blk in blocks:
                run(blk)
        return ok, [what != "value" or bool(plan.batched[x]) for what, x in
                    self._columns(rec)], inputs

    def _plan(self, rec) -> LanePlan:
        cache = rec.__dict__.setdefault("_lane_plans", {})
        bmask = np.zeros(rec.prog.n, np.uint8)
        for s, kind, src in rec.fills:
            if kind == "arg" and self.lanes[src] is not None:
                bmask[s] = 1
            elif kind == "rand" and self.owner.randomness == "different":
                bmask[s] = 1
        key = bmask.tobytes()
        plan = cache.get(key)
        if plan is None:
            plan = cache[key] = LanePlan(rec.prog, bmask)
        return plan

    def _inputs(self, rec, plan, idx: np.ndarray) -> list:
        """[(slot, values, batched)] for every input slot: (n, *shape) for batched ones."""
        out = []
        rows = idx
        if idx.size and idx[-1] - idx[0] == idx.size - 1:  # (idx ascends: see _block)
            rows = slice(int(idx[0]), int(idx[-1]) + 1)   # (a view, not a copy)
        for s, kind, src in rec.fills:
            if kind == "arg":
                lane = self.lanes[src]
                v = lane[rows] if lane is not None else self.leaves[src]._data
            elif kind == "cap":
                v = src._data
            elif kind == "rand":
                if plan.batched[s]:
                    v = np.stack([src[1]() for _ in range(idx.size)])
                else:
                    v = src[1]()
            else:
                v = src
            out.append((s, v, bool(plan.batched[s])))
        return out

    def _columns(self, rec) -> list:
        """The result's leaves in order: ('value', slot) or ('grad', argument leaf)."""
        outs = [("value", s) for s, _ in rec.outputs]
        if self.grad is None:
            return outs
        grads = [("grad", i) for r in self.grad_leaves for i in r]
        if self.grad[3] == "jac":  # (one Jacobian per argument: d out / d argument)
            return [("jac", i) for _, i in grads]
        aux = outs[1:] if self.grad[2] else []
        return outs[:1] + aux + grads if self.grad[3] == "value" else grads + aux

    def _gradient(self, rec, plan, frame, i: int, shape: tuple) -> np.ndarray:
        """Argument leaf i's adjoint per lane after a sweep, ``(L, *shape)`` (the sum over
        the slots it fills; zeros when it does not reach the output)."""
        slots = [s for kind, src, s in rec.node_inputs
                 if kind == "arg" and src == i and frame.live[s]]
        if not slots:
            _, is32, _ = rec.prog.layout(rec.outputs[0][0])
            return np.zeros((frame.L,) + tuple(shape), np.float32 if is32 else np.float64)
        g = frame.adjoint(plan, slots[0]).reshape((frame.L,) + tuple(shape))
        for s in slots[1:]:
            g = g + frame.adjoint(plan, s).reshape(g.shape)
        return g

    def _struct(self, rec):
        """The structure of the call's result (leaves in the order of `_columns`)."""
        if self.grad is None:
            n = len(rec.outputs)
            return ("leaf",) if rec.single else (rec.out_type, [("leaf",)] * n)
        _, argnums, has_aux, kind = self.grad
        gs = [self.spec[1][i] for i in self.argnums]
        g = gs[0] if isinstance(argnums, int) else (tuple, gs)
        aux = None
        if has_aux:
            n = len(rec.outputs) - 1
            aux = ("leaf",) if n == 1 else (tuple, [("leaf",)] * n)
        if kind == "jac":
            return g
        if kind == "value":
            head = (tuple, [("leaf",), aux]) if has_aux else ("leaf",)
            return (tuple, [head, g])
        return (tuple, [g, aux]) if has_aux else g

    def _shapes(self, rec) -> list:
        """(shape, dtype) of each result leaf of one lane."""
        out = []
        for what, x in self._columns(rec):
            if what == "value":
                _, is32, shape = rec.prog.layout(x)
                out.append((shape, np.dtype(np.float32 if is32 else np.float64)))
            else:
                lane, leaf = self.lanes[x], self.leaves[x]
                shape = tuple(lane.shape[1:]) if lane is not None else tuple(leaf.shape)
                if what == "jac":
                    shape = tuple(rec.outputs[0][1]) + shape
                out.append((shape, leaf._data.dtype))
        return out

    @staticmethod
    def _forward_block(plan, inputs: list, a: int, z: int):
        """A frame for lanes a..z of a run's inputs, its forward done (guard marks in
        ``frame.ok``); the caller gives it back."""
        frame = plan.acquire(z - a)
        try:
            for s, v, batched in inputs:
                frame.put(plan, s, v[a:z] if batched else v)
            plan.forward(frame, _ENV)
        except BaseException:
            plan.give_back(frame)
            raise
        return frame

    def _block(self, rec, plan, inputs: list, blk: tuple, idx: np.ndarray, outs: list,
               ok: np.ndarray) -> None:
        a, z = blk
        rows = idx[a:z]
        if rows.size and rows[-1] - rows[0] == rows.size - 1:
            rows = slice(int(rows[0]), int(rows[-1]) + 1)  # (a plain copy, not a scatter)
        frame = self._forward_block(plan, inputs, a, z)
        try:
            ok[a:z] &= frame.ok.astype(bool)
            cols = list(zip(outs, self._columns(rec)))
            for col, (what, x) in cols:
                if what == "value":
                    col[rows] = frame.lanes(plan, x)
            if self.grad is None:
                return
            s0, shape = rec.outputs[0]
            if self.grad[3] != "jac":
                plan.backward(frame, _ENV, [(s0, 1.0)])
                for col, (what, x) in cols:
                    if what == "grad":
                        col[rows] = self._gradient(rec, plan, frame, x, col.shape[1:])
                return
            m = math.prod(shape)   # jacrev: one batched reverse sweep per output element
            jacs = [(col, x, np.empty((z - a, m) + col.shape[1 + len(shape):], col.dtype))
                    for col, (what, x) in cols if what == "jac"]
            seed = np.zeros((z - a, m), frame.adjoint(plan, s0).dtype)
            for k in range(m):
                seed[:, k - 1] = 0.0
                seed[:, k] = 1.0
                plan.backward(frame, _ENV, [(s0, seed.reshape((z - a,) + tuple(shape)))])
                for col, x, jac in jacs:
                    jac[:, k] = self._gradient(rec, plan, frame, x, jac.shape[2:])
            for col, x, jac in jacs:
                col[rows] = jac.reshape((z - a,) + col.shape[1:])
        finally:
            plan.give_back(frame)


_kept: dict = {}      # (shape, dtype) -> [result arrays of earlier calls]
_KEEP_BYTES = 1 << 28
_kept_lock = threading.Lock()


def _result_array(shape: tuple, dt) -> np.ndarray:
    """An uninitialised array for a call's results: one of an earlier call's that nothing
    references any more when there is one. A large fresh array costs a page fault per 4 KiB
    on first touch (glibc maps blocks over 32 MiB afresh at every call): per-sample gradients
    of a 200k-parameter layer spent 3/4 of their time there."""
    key = (shape, np.dtype(dt))
    with _kept_lock:
        kept = _kept.setdefault(key, [])
        for arr in kept:
            if sys.getrefcount(arr) == 3:  # (the list, `arr`, getrefcount's argument)
                return arr
        arr = np.empty(shape, dt)
        if arr.nbytes >= 1 << 16 and \
                sum(a.nbytes for v in _kept.values() for a in v) + arr.nbytes <= _KEEP_BYTES:
            kept.append(arr)
        return arr


class BatchedReplay(Function):
    """A batched run's result as one autograd node (``BatchedReplayBackward``): its backward
    runs the batched sweep again (`_Batched.backward`). `apply(batched, *inputs)`, the
    result's values in ``batched.node_cols``."""

    @staticmethod
    def forward(ctx, batched, *inputs):
        ctx.batched, ctx.ins = batched, inputs
        return tuple(_wrap(c) for c in batched.node_cols)

    @staticmethod
    def backward(ctx, *grads):
        b = ctx.batched
        if STATE.enabled:  # create_graph: gradients with a graph of their own, from eager lanes
            return (None,) + b.backward_graph(grads, ctx.ins)
        got = b.backward([None if g is None else g.detach().numpy() for g in grads])
        res = [None]
        for t in ctx.ins:
            g = got.get(id(t))
            if g is not None:
                d = next((d for leaf, d in zip(b.leaves, b.dims) if leaf is t), None)
                if d is not None:
                    g = np.moveaxis(g, 0, d)   # (the lanes back at the argument's dim)
                g = _wrap(np.array(g, t._data.dtype, order="C"))  # (0-d stays 0-d)
            res.append(g)
        return tuple(res)


def _broadcast_dims(dims, tree, head: str) -> list:
    """One in_dim per leaf of `tree` (the arguments' tuple), as torch broadcasts `in_dims`."""
    if not isinstance(dims, (int, tuple)) and dims is not None:
        raise ValueError(f"{head}: expected `in_dims` to be int or a (potentially nested) tuple "
                         f"matching the structure of inputs, got: {type(dims)}.")
    if not isinstance(dims, tuple):
        return [dims] * len(_flatten(tree)[0])
    if len(dims) != len(tree):
        raise ValueError(f"{head}: in_dims is not compatible with the structure of `inputs`. "
                         f"in_dims has structure {_spec_str(_flatten(dims)[1])} but inputs has "
                         f"structure {_spec_str(_flatten(tree)[1])}.")
    out = []
    for d, t in zip(dims, tree):
        out += _match(d, t, head, dims, tree)
    return out


def _match(d, t, head, dims, tree) -> list:
    if d is None or not isinstance(d, (tuple, list, dict)):
        return [d] * len(_flatten(t)[0])
    same = (isinstance(t, (tuple, list)) and isinstance(d, (tuple, list)) and len(d) == len(t)) \
        or (isinstance(t, dict) and isinstance(d, dict) and set(d) == set(t))
    if not same:
        raise ValueError(f"{head}: in_dims is not compatible with the structure of `inputs`. "
                         f"in_dims has structure {_spec_str(_flatten(dims)[1])} but inputs has "
                         f"structure {_spec_str(_flatten(tree)[1])}.")
    keys = list(t) if isinstance(t, dict) else range(len(t))
    return [x for k in keys for x in _match(d[k], t[k], head, dims, tree)]


def _flatten_out(out, name: str) -> tuple:
    leaves, spec = _flatten(out)
    for v in leaves:
        if not isinstance(v, Tensor):
            raise ValueError(f"vmap({name}, ...): `{name}` must only return Tensors, got type "
                             f"{type(v)}. Did you mean to set out_dims= to None for output?")
    return leaves, spec


def _broadcast_out_dims(dims, struct, name: str) -> list:
    n = _count(struct)
    if dims is None or isinstance(dims, int):
        return [dims] * n
    if not isinstance(dims, tuple) or struct[0] == "leaf" or len(dims) != len(struct[1]):
        raise ValueError(f"vmap({name}, ..., out_dims={dims})(<inputs>): out_dims is not "
                         f"compatible with the structure of `outputs`. out_dims has structure "
                         f"{_spec_str(_flatten(dims)[1])} but outputs has structure "
                         f"{_spec_str(struct)}.")
    out = []
    for d, s in zip(dims, struct[1]):
        out += [d] * _count(s)
    return out


__all__ = ["vmap", "VmapWarning"]
