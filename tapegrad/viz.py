"""Looking at a tape: a table of its entries (`tape` / `history`) and a picture of its graph
(`graph`).

>>> import tapegrad as tg
>>> from tapegrad import viz
>>> x = tg.tensor([1.0, 2.0], requires_grad=True)
>>> y = (x * 3).sum()
>>> print(viz.tape(y, values=False))        # doctest: +NORMALIZE_WHITESPACE
tape of y: 3 entries (1 input, 2 ops)
entry  op          grad_fn         inputs  out  shape  dtype    name
-----  ----------  --------------  ------  ---  -----  -------  ----
    0  leaf        AccumulateGrad             0  (2,)   float32  x
    1  mul_scalar  MulBackward0    0          1  (2,)   float32
    2  sum         SumBackward0    1          2  ()     float32  y

In a notebook the table renders as HTML; in a terminal it prints as aligned text. `graph(t)`
draws the grad_fn graph (as torch's `next_functions` see it) with Graphviz, which is optional:
it needs the `graphviz` Python package and Graphviz's `dot` program.

This module is not imported by ``import tapegrad``, and it imports nothing beyond numpy at
import time (graphviz is imported when `graph` is called).
"""
from __future__ import annotations

import html
import shutil
import sys
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from .engine.kernels import IN_CONST, IN_LEAF, T_SIZE
from ._opdef import BY_CODE
from .engine.tape import Tape, resolve
from .tensor import Tensor

__all__ = ["tape", "history", "graph", "TapeView", "GraphView"]

_DTYPES = {True: "float32", False: "float64"}


# -- the tape as a table ---------------------------------------------------------------------
@dataclass
class Row:
    """One tape entry: a recorded op, or an input (leaf / constant) of the tape."""

    entry: int
    op: str                 # tapegrad op name, or 'leaf' / 'const' / 'freed' for inputs
    grad_fn: str            # torch's node name ('MulBackward0', 'AccumulateGrad', '' for consts)
    inputs: tuple           # input slots
    shape: tuple
    dtype: str
    name: str = ""          # the variable holding this value, if known
    value: Optional[np.ndarray] = None
    adjoint: Optional[np.ndarray] = None

    @property
    def out(self) -> int:
        """The output slot; in tapegrad it is the entry number (one record per value)."""
        return self.entry

    @property
    def is_input(self) -> bool:
        return self.op in ("leaf", "const", "freed")


def _short(a: Optional[np.ndarray], maxel: int = 6) -> str:
    if a is None:
        return ""
    a = np.asarray(a)
    if a.ndim == 0 or a.size == 1:
        return f"{float(a.reshape(-1)[0]):.4g}"
    flat = a.reshape(-1)
    body = ", ".join(f"{v:.4g}" for v in flat[:maxel])
    more = f", ... ({a.size} values)" if a.size > maxel else ""
    return f"[{body}{more}]"


@dataclass
class TapeView:
    """A table of tape entries; `_repr_html_` in Jupyter, aligned text with `str`/`repr`."""

    rows: list
    title: str = ""
    notes: list = field(default_factory=list)

    def columns(self) -> list:
        cols = ["entry", "op", "grad_fn", "inputs", "out", "shape", "dtype", "name"]
        if any(r.value is not None for r in self.rows):
            cols.append("value")
        if any(r.adjoint is not None for r in self.rows):
            cols.append("adjoint")
        return cols

    def cells(self, r: Row) -> dict:
        return {"entry": str(r.entry), "op": r.op, "grad_fn": r.grad_fn,
                "inputs": " ".join(map(str, r.inputs)), "out": str(r.out),
                "shape": str(tuple(r.shape)), "dtype": r.dtype, "name": r.name,
                "value": _short(r.value), "adjoint": _short(r.adjoint)}

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __getitem__(self, i) -> Row:
        return self.rows[i]

    def __str__(self) -> str:
        cols = self.columns()
        table = [cols] + [[self.cells(r)[c] for c in cols] for r in self.rows]
        width = [max(len(line[i]) for line in table) for i in range(len(cols))]
        right = {"entry", "out"}

        def fmt(line):
            return "  ".join(v.rjust(w) if c in right else v.ljust(w)
                             for c, v, w in zip(cols, line, width)).rstrip()

        out = [self.title] if self.title else []
        out.append(fmt(cols))
        out.append("  ".join("-" * w for w in width))
        out.extend(fmt(line) for line in table[1:])
        out.extend(self.notes)
        return "\n".join(out)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        cols = self.columns()
        e = html.escape
        cell = "padding:2px 8px;white-space:nowrap;font-family:monospace;text-align:{}"
        right = {"entry", "out"}
        head = "".join(f'<th style="{cell.format("right" if c in right else "left")}">{e(c)}'
                       f"</th>" for c in cols)
        body = []
        for r in self.rows:
            cells = self.cells(r)
            style = ' style="background-color:rgba(100,149,237,0.14)"' if r.is_input else ""
            tds = "".join(f'<td style="{cell.format("right" if c in right else "left")}">'
                          f"{e(cells[c])}</td>" for c in cols)
            body.append(f"<tr{style}>{tds}</tr>")
        caption = (f'<caption style="text-align:left;font-weight:bold">{e(self.title)}</caption>'
                   if self.title else "")
        notes = "".join(f"<p>{e(n)}</p>" for n in self.notes)
        return (f'<table class="tapegrad-tape">{caption}<thead><tr>{head}</tr></thead>'
                f'<tbody>{"".join(body)}</tbody></table>{notes}')


def _caller_names(depth: int) -> dict:
    """name -> Tensor for the tensors among the caller's variables (skipping _private)."""
    try:
        frame = sys._getframe(depth + 1)
    except ValueError:
        return {}
    found = {}
    for scope in (frame.f_globals, frame.f_locals):
        for k, v in scope.items():
            if isinstance(v, Tensor) and not k.startswith("_"):
                found[k] = v
    return found


def _slot_names(tp: Tape, names: dict) -> dict:
    """slot -> variable name(s) for the tensors of `names` that live on `tp`."""
    by_id = {id(t): s for t, s in tp.leaves}
    input_ids = {key[0]: s for key, s in tp.inputs.items()}
    out: dict = {}
    for k, t in names.items():
        s = None
        if t._tape is not None:
            if resolve(t) is tp:
                s = t._slot
            elif id(t) in input_ids:      # non-leaf of a freed tape, used here as an input
                s = input_ids[id(t)]
        elif id(t) in by_id:
            s = by_id[id(t)]
        elif t._rg and t._ser == tp.serial:  # a leaf of a tape released by backward()
            s = t._slot
        elif id(t) in input_ids:
            s = input_ids[id(t)]
        if s is not None:
            out.setdefault(s, []).append(k)
    return {s: ", ".join(v) for s, v in out.items()}


def _values(tp: Tape, tab: np.ndarray, fields: list) -> list:
    """The value of every slot, read from the arena (None when the arena was freed)."""
    from .engine.kernels import T_ADDR
    # the arena, and the floats (where the scalar fast path keeps its values)
    bufs = tp.chunks + ([] if tp.freed else [tp.fls.data])
    chunks = [(c.ctypes.data, c.ctypes.data + c.nbytes, c) for c in bufs]
    vals = []
    for s, (_, _, is32, shape) in enumerate(fields):
        addr, size = int(tab[s, T_ADDR]), int(tab[s, T_SIZE])
        v = None
        for lo, hi, c in chunks:
            if lo <= addr < hi:
                flat = c.reshape(-1).view(np.float32 if is32 else np.float64)
                i = (addr - lo) // flat.itemsize
                v = flat[i:i + size].reshape(shape).copy()
                break
        vals.append(v)
    return vals


def _adjoints(tp: Tape, slot: int) -> list:
    """d(sum of slot's value) / d(every slot), by one reverse sweep on a scratch buffer (the
    tape, the tensors' .grad and the graph are left untouched; tensor hooks do run)."""
    from .engine.tape import adjoint, release, sweep_tape
    tab, adj, live = sweep_tape(tp, [(slot, np.ones(int(tp.table()[slot, T_SIZE])))])
    try:
        return [adjoint(tab, adj, s).astype(np.float64) if live[s] else None
                for s in range(tp.n)]
    finally:
        release(adj)


def tape(t=None, *, whole: bool = False, values: bool = True, adjoints: bool = False,
         names=None) -> TapeView:
    """The tape entries that tensor `t` depends on (all entries of its tape with `whole=True`).

    One row per entry, in recording order: entry number, tapegrad op name, torch's grad_fn name,
    input slots, output slot, shape and dtype; leaves (``AccumulateGrad``) and constants appear
    as input rows. Columns shown when available:

    * ``name``: the variables holding each value, taken from the caller's variables, or from
      ``names`` (a dict name -> tensor; ``names={}`` shows none);
    * ``value``: the value stored on the tape (``values=False`` hides it; gone once a backward
      without ``retain_graph`` has freed the tape);
    * ``adjoint`` (``adjoints=True``): d sum(t) / d(entry) for every entry, from one extra reverse
      sweep that writes no ``.grad``; needs a tape that has not been freed. After a backward,
      the leaves' ``.grad`` is shown instead.

    `t` may also be a `Tape`; a leaf tensor gives a one-row table."""
    if names is None:
        names = _caller_names(1)
    if isinstance(t, Tape):
        tp, root = t, None
        while tp.into is not None:
            tp = tp.into
        whole = True
    elif isinstance(t, Tensor):
        if t._tape is None:
            name = next((k for k, v in names.items() if v is t), "")
            grad = t._grad._data if t._grad is not None else None
            row = Row(0, "leaf" if t._rg else "const", "AccumulateGrad" if t._rg else "",
                      (), tuple(t._data.shape), str(t._data.dtype), name,
                      t._data.copy() if values else None, grad if adjoints else None)
            return TapeView([row], f"{name or 'tensor'} is a leaf: it has no tape")
        tp, root = resolve(t), t._slot
    else:
        raise TypeError(f"tape() takes a Tensor or a Tape, not {type(t).__name__}")

    n = tp.n if root is None or whole else root + 1
    fields = [tp.fields(s) for s in range(tp.n)] if tp.n else []
    keep = set(range(n))
    if not whole and root is not None:   # the entries `root` depends on
        keep, stack = set(), [root]
        while stack:
            s = stack.pop()
            if s not in keep:
                keep.add(s)
                stack.extend(fields[s][1])
    slot_names = _slot_names(tp, names)
    tab = tp.table() if tp.n else None
    vals = _values(tp, tab, fields) if values and tp.n else [None] * tp.n
    notes = []
    adjs = [None] * tp.n
    if adjoints:
        if tp.freed:
            notes.append("(the tape was freed by backward(): adjoints shown for leaves are their "
                         ".grad; use backward(retain_graph=True) to see every entry's adjoint)")
        elif root is not None:
            adjs = _adjoints(tp, root)
        else:
            notes.append("(adjoints need a root tensor: pass the tensor rather than its tape)")
    if values and tp.freed:
        notes.append("(values are gone: backward() freed the tape's arena)")
    leaf_of = {s: lt for lt, s in tp.leaves}
    for lt in names.values():            # leaves of a tape released by backward()
        if lt._tape is None and lt._rg and lt._ser == tp.serial:
            leaf_of.setdefault(lt._slot, lt)
    rows = []
    for s in sorted(keep):
        op, ins, is32, shape = fields[s]
        if op >= 0:
            d = BY_CODE[op]
            kind, gname = d.name, d.grad_fn
        elif op == IN_LEAF:
            kind, gname = ("freed" if s in tp.dead else "leaf"), "AccumulateGrad"
        else:
            kind, gname = ("freed" if s in tp.dead else "const"), ""
        adj = adjs[s]
        if adj is not None:
            adj = adj.reshape(shape)
        elif adjoints and s in leaf_of and leaf_of[s]._grad is not None:
            adj = leaf_of[s]._grad._data
        rows.append(Row(s, kind, gname, ins, shape, _DTYPES[bool(is32)], slot_names.get(s, ""),
                        vals[s], adj))
    nin = sum(r.is_input for r in rows)
    what = slot_names.get(root, "") if root is not None else ""
    what = what or ("the tape" if root is None or whole else f"entry {root}")
    scope = " (whole tape)" if whole and root is not None else ""
    title = (f"tape of {what}{scope}: {len(rows)} entries ({nin} input{'s' * (nin != 1)}, "
             f"{len(rows) - nin} op{'s' * (len(rows) - nin != 1)})")
    if tp.freed:
        title += " [freed by backward]"
    return TapeView(rows, title, notes)


def history(t=None, **kw) -> TapeView:
    """Same as `tape` (the name torch users may look for)."""
    if kw.get("names") is None:
        kw["names"] = _caller_names(1)
    return tape(t, **kw)


# -- the graph as a picture ------------------------------------------------------------------
_DOT_HELP = ("install Graphviz, which provides `dot`: `apt-get install graphviz` (Debian/Ubuntu), "
             "`brew install graphviz` (macOS), `conda install graphviz`, or see "
             "https://graphviz.org/download/")


def _require_graphviz():
    try:
        import graphviz
    except ImportError as e:
        raise ImportError("tapegrad.viz.graph() needs the `graphviz` Python package, which is "
                          "not installed: `pip install graphviz`. It also needs Graphviz's `dot` "
                          "program: " + _DOT_HELP) from e
    if shutil.which("dot") is None:
        raise RuntimeError("tapegrad.viz.graph() needs Graphviz's `dot` program, which was not "
                           "found on PATH (the `graphviz` Python package is only a wrapper): "
                           + _DOT_HELP)
    return graphviz


class GraphView:
    """An SVG picture of a graph (shown inline by Jupyter); `.svg` is the SVG text, `.source`
    the Graphviz source."""

    def __init__(self, dot):
        self.dot = dot
        self.source = dot.source
        self.svg = dot.pipe(format="svg").decode("utf-8")

    def _repr_svg_(self) -> str:
        return self.svg

    def save(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.svg)

    def __repr__(self) -> str:
        return f"<GraphView: {self.source.count('->')} edges; .svg, .source>"


def graph(t: Tensor, *, names=None, show_shapes: bool = True) -> GraphView:
    """The backward graph of `t` as an SVG: one node per grad_fn (torch's name, the tapegrad op
    and the output shape), `AccumulateGrad` nodes for leaves (blue), and the tensor itself
    (green). Edges follow `next_functions` (from input to consumer); constants are not drawn,
    as in torch.

    Needs the `graphviz` Python package and Graphviz's `dot` program; raises ImportError /
    RuntimeError saying which is missing and how to install it."""
    if names is None:
        names = _caller_names(1)
    gv = _require_graphviz()
    if not isinstance(t, Tensor):
        raise TypeError(f"graph() takes a Tensor, not {type(t).__name__}")
    dot = gv.Digraph(graph_attr={"rankdir": "BT", "fontsize": "11"},
                     node_attr={"shape": "box", "style": "filled,rounded", "fontsize": "11",
                                "fontname": "Helvetica", "fillcolor": "#f2f2f2", "height": "0.3"})

    def shp(shape):
        return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"

    if t._tape is None:
        label = "AccumulateGrad" if t._rg else "tensor (no grad_fn)"
        dot.node("leaf", f"{label}\n{shp(t._data.shape)}", fillcolor="lightblue")
        return GraphView(dot)
    tp = resolve(t)
    slot_names = _slot_names(tp, names)
    seen, stack = set(), [t._slot]
    while stack:
        s = stack.pop()
        if s in seen:
            continue
        seen.add(s)
        op, ins, _, shape = tp.fields(s)
        name = slot_names.get(s, "")
        if op >= 0:
            d = BY_CODE[op]
            label = d.grad_fn + (f"\n{d.name} {shp(shape)}" if show_shapes else "")
            if name and s != t._slot:
                label += f"\n-> {name}"
            dot.node(f"s{s}", label)
            for i in ins:
                if tp.fields(i)[0] == IN_CONST:
                    continue
                dot.edge(f"s{i}", f"s{s}")
                stack.append(i)
        else:
            head = name + "\n" if name else ""
            dot.node(f"s{s}", f"{head}AccumulateGrad\n{shp(shape)}" if op == IN_LEAF
                     else f"{head}(freed graph)\n{shp(shape)}", fillcolor="lightblue")
    root_name = slot_names.get(t._slot, "") or "output"
    dot.node("out", f"{root_name}\n{shp(t._data.shape)}", fillcolor="darkolivegreen1")
    dot.edge(f"s{t._slot}", "out", style="dashed")
    return GraphView(dot)
