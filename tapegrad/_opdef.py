"""The op-definition mechanism: an `Op` record and the registry the engine reads.

Every differentiable op is one `Op` made in `tapegrad/ops/`. The record holds all there is to
know about the op: its opcode (given here, in registration order), its forward (numpy), its adjoint
(a Numba source fragment spliced into the generated reverse sweep, see `engine/codegen.py`), the
torch name of its `grad_fn`, and its test spec (input domain) for the property tests. The engine
(`engine/`) never names a particular op.

Kernel families (the `kind` of an op) and what their adjoint fragment sees:

* ``unary``   -- elementwise, one input, out has the input's size. Fragment is an expression in
  ``g`` (output adjoint), ``x`` (input value), ``out`` (output value), ``p0``/``p1`` (float params),
  giving d(loss)/dx for one element. Also used for reshapes/casts (flat identity).
* ``binary``  -- elementwise with broadcasting; two expressions (``gx``, ``gy``) that may also use
  ``y``. Un-broadcasting is done once, by the template, through index maps.
Test spec (``test=(shapes, make)``): ``shapes`` names how the property test draws inputs
(``same``: one tensor of any shape; ``nonscalar``: at least 1-D; ``matrix``: at most 2-D;
``broadcast``: two broadcast-compatible tensors; ``mm``, ``dot``, ``mv``, ``vm``, ``bmm``: matmul
operands) or is a function ``shapes(h) -> tuple of tensors`` drawing its own (with
``h.tensor(shape, domain)``, ``h.st``/``h.hnp`` strategies); ``make(h, *inputs)`` returns the
function of the inputs to differentiate, drawing any other arguments (dims, shapes) from ``h``
(see ``tests/test_gradients.py``). Elementwise ops default to their public function.

* ``python``  -- custom Functions: no kernel; backward pauses the sweep and calls Python.
* ``forward`` -- recorded only while tracing for `tapegrad.compile` (comparisons): a replayed
  forward, no adjoint.

Every op but Python ones also has a ``replay`` forward, what a replayed program
(`engine/replay.py`) runs for its entries: for elementwise ops an expression in ``x`` (``y``,
``p0``, ``p1``) spliced into generated kernels like the adjoint fragments; for kernel ops a
``"module:function"`` with the signature ``f(e, tab, rec, fl, w, env)`` (``w``: an array of the
entry's dtype, to read slots with ``values_like``), in ``ops/_forward_<family>.py``.
* ``kernel``  -- anything else: the fragment names an `@njit` function by module and name
  (``"tapegrad.ops._kernels_reduce:adj_x"``),
  with the uniform signature ``f(e, ent, fl, slots, shapes, ints, cptr, clen, adj, live)``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Optional


@dataclass(frozen=True)
class Domain:
    """Where an op's inputs are smooth: values in [lo, hi] and at least `gap` away from `kinks`."""

    lo: float = -3.0
    hi: float = 3.0
    kinks: tuple = ()
    gap: float = 0.05


REAL = Domain()
POSITIVE = Domain(0.1, 3.0)
NONZERO = Domain(-3.0, 3.0, kinks=(0.0,), gap=0.2)


@dataclass
class Op:
    name: str
    kind: str                      # 'unary' | 'binary' | 'kernel'
    grad_fn: str                   # torch's grad_fn class name, e.g. 'MulBackward0'
    forward: Optional[Callable] = None
    gx: str = ""                   # adjoint fragment for input 0 (expression, or kernel call)
    gy: str = ""                   # adjoint fragment for input 1 (binary ops)
    domain: tuple = (REAL,)        # per-input test domains
    code: int = -1                 # opcode, assigned at registration
    nfloat: int = 0                # floats per record (set at registration)
    keeps_int: bool = False        # integer inputs give integer outputs (no-grad path)
    float_out: bool = False        # integer inputs give the default float dtype (binary ops)
    takes_params: bool = False     # unary forward is f(x, p0, p1, out) rather than f(x, out)
    test: tuple = ()               # (input shapes kind, make(h, *inputs) -> fn): see below
    usage: str = ""                # how a user calls it (README's op table)
    reads_inputs: bool = True      # the adjoint reads input values (set at registration)
    reads_output: bool = True      # ... or its own output's values
    scalar: Optional[Callable] = None  # forward on Python floats (the scalar fast path):
    #                                    f(x), f(x, p0, p1) with params, f(x, y) for binary ops
    scalar_head: int = 0           # first word of its compact records (`engine.kernels.compact`)
    scalar_head32: int = 0         # ... of its float32 ones
    transparent: bool = False      # an internal copy entry: `grad_fn` shows its input's node
    value_ints: bool = False       # its ints depend on the input values (argmax positions): a
    #                                replayed program drops them and the adjoint finds them again
    replay: str = ""               # its Numba forward, for replaying a recorded program
    #                                (`engine/replay.py`): an expression in x (y, p0, p1) for
    #                                elementwise ops, "module:function" for kernel ops
    lanes: object = None           # its batched replay's rule (`engine/lanes.py`): "same" -- its
    #                                kernels on lanes-last shapes ``(*s, L)`` with its ints as
    #                                recorded compute every lane; a function (ints, L, ndim of
    #                                its first input) -> ints rewriting them; None -- it runs
    #                                once per lane
    initialises: bool = False      # its adjoint kernel initialises an input's adjoint that is
    #                                not yet live (assigns: the sweep does not zero it first);
    #                                the elementwise families' always do (`engine.codegen`)
    fast: tuple = ()               # (expression, guard[, float32 expression]): the adjoint
    #                                where the guard holds, in a form that vectorizes
    #                                (elementwise ops; the rest take gx)
    extra: dict = field(default_factory=dict)


OPS: dict[str, Op] = {}
# the module whose Numba functions elementwise adjoint fragments may call (``pow_m05(x)``)
FRAGMENT_HELPERS = "tapegrad.ops._kernels_elementwise"
# hand-written adjoints that move gradients around without reading any value
_STRUCTURAL = {"adj_reduce", "adj_permute", "adj_strided", "adj_take", "adj_cat", "adj_walk",
               "adj_max_dim", "adj_min_dim",  # (eager: they read the recorded positions)
               "adj_roll", "adj_tri", "adj_index_put", "adj_copy", "adj_copy_slices",
               "adj_scatter_add", "adj_masked_fill"}  # (positions are in the record)
BY_CODE: list[Op] = []


def register(op: Op) -> Op:
    if op.name in OPS:
        raise ValueError(f"op {op.name!r} registered twice")
    op.code = len(BY_CODE)
    op.replay = op.extra.pop("replay", "")
    op.value_ints = bool(op.extra.pop("value_ints", False))
    op.lanes = op.extra.pop("lanes", "same" if op.kind in ("unary", "binary", "forward") else None)
    # ops with float params record two floats (their adjoint or their replayed forward reads them)
    reads = re.search(r"\bp[01]\b", op.gx + " " + op.gy)
    op.nfloat = 2 if ("params" in op.extra or reads) else 0
    op.keeps_int = bool(op.extra.get("keeps_int"))
    op.float_out = bool(op.extra.get("float_out"))
    op.takes_params = "params" in op.extra
    op.transparent = bool(op.extra.pop("transparent", False))
    op.fast = tuple(op.extra.pop("fast", ()))
    op.initialises = op.kind in ("unary", "binary") or bool(op.extra.pop("initialises", False))
    op.scalar = op.extra.pop("scalar", None)
    if op.scalar is not None:  # the value, after p0/p1 when the adjoint reads them
        from .engine.kernels import compact
        nin = 2 if op.kind == "binary" else 1
        op.scalar_head = compact(op.code, nin, 0, 3 if op.nfloat else 1)
        op.scalar_head32 = compact(op.code, nin, 0, 3 if op.nfloat else 1, is32=1)
    op.test = op.extra.pop("test", None) or _default_test(op)
    # does the adjoint read input / output values? (in-place changes to them then matter)
    frag = op.gx + " " + op.gy
    if op.kind == "forward":
        op.reads_inputs = op.reads_output = False
    elif op.kind in ("unary", "binary"):
        op.reads_inputs = bool(re.search(r"\b[xy]\b", frag))
        op.reads_output = bool(re.search(r"\bout\b", frag))
    else:
        structural = op.kind == "python" or frag.split(":")[-1].strip() in _STRUCTURAL
        op.reads_inputs = op.reads_output = not structural
    op.usage = op.extra.pop("usage", None) or (
        f"x.{op.name}()" if op.kind == "unary" else f"x.{op.name}(y)")
    OPS[op.name] = op
    BY_CODE.append(op)
    return op


def python_op(name: str, grad_fn: str, usage: str) -> Op:
    """Register an op whose backward is a Python callback (custom Functions): no kernel; the
    sweep pauses at its entries and `engine.tape._callbacks` runs it. Tested in tests/test_autograd.py."""
    return register(Op(name, "python", grad_fn, None, "python callback", "", (), extra=dict(
        usage=usage, test=("python", None))))


def forward_op(name: str, replay: str, usage: str) -> Op:
    """Register an op with no gradient that is recorded only while a function is traced for
    `tapegrad.compile` (comparisons: their 0/1 result feeds `where` and branch guards), so that
    it replays. No adjoint kernel: the sweep skips its entries."""
    return register(Op(name, "forward", name, None, "no gradient", "", (), extra=dict(
        usage=usage, test=("forward", None), replay=replay)))


def _default_test(op: Op) -> tuple:
    """Elementwise ops are tested through the public function of the same name."""
    import tapegrad
    kinds = {"unary": "same", "binary": "broadcast"}
    if op.kind not in kinds:
        raise ValueError(f"op {op.name!r} needs a test spec (test=(shapes, make))")
    return kinds[op.kind], lambda h, *xs: getattr(tapegrad, op.name)


def unary(name: str, forward: Callable, grad: str, grad_fn: str, domain: Domain = REAL, **extra) -> Op:
    """Register an elementwise one-input op; `grad` is d(loss)/dx for one element.

    `forward(x, out)` (a numpy ufunc fits), or `forward(x, p0, p1, out)` when the op declares
    ``params=(p0, p1)`` (the values its property test uses). ``scalar=`` gives the same
    forward on Python floats, for the scalar fast path (`_scalar.py`)."""
    return register(Op(name, "unary", grad_fn, forward, grad, "", (domain,), extra=extra))


def binary(name: str, forward: Callable, gx: str, gy: str, grad_fn: str,
           domain: tuple = (REAL, REAL), **extra) -> Op:
    """Register an elementwise two-input op with broadcasting; `gx`/`gy` per element."""
    return register(Op(name, "binary", grad_fn, forward, gx, gy, domain, extra=extra))


def lanes_strided(ints, L: int, nd: int):
    """The lanes rule of ops whose ints are ``(offset, *strides)`` of a view of their input:
    with the lanes last, every offset and stride is L times larger, and the lanes step by 1."""
    return [ints[0] * L] + [st * L for st in ints[1:]] + [1]


def kernel(name: str, adjoint: str, grad_fn: str, domain: tuple = (REAL,), **extra) -> Op:
    """Register an op whose adjoint is a hand-written kernel (``"module:function"``)."""
    return register(Op(name, "kernel", grad_fn, None, adjoint, "", domain, extra=extra))




def op_table_markdown() -> str:
    """The README's op table, generated from the registry (a test keeps the README in sync)."""
    rows = ["| op | called as | grad_fn | adjoint (d loss / d input) |", "|---|---|---|---|"]
    for op in BY_CODE:
        adj = f"`{op.gx}`" + (f", `{op.gy}`" if op.gy else "")
        if op.kind == "kernel":
            adj = f"kernel `{op.gx}`"
        elif op.kind == "python":
            adj = "Python callback (`backward` of the Function)"
        elif op.kind == "forward":
            adj = "none (recorded only for replay)"
        adj = adj.replace("|", "\\|")
        rows.append(f"| {op.name} | `{op.usage}` | {op.grad_fn} | {adj} |")
    return "\n".join(rows)


def update_readme(path: str) -> None:
    """Rewrite the op table between README.md's op-table markers (``make readme``)."""
    text = open(path).read()
    head, rest = text.split("<!-- op-table:begin -->\n", 1)
    tail = rest.split("\n<!-- op-table:end -->", 1)[1]
    with open(path, "w") as f:
        f.write(f"{head}<!-- op-table:begin -->\n{op_table_markdown()}\n<!-- op-table:end -->{tail}")
