"""tapegrad.viz: the tape table (text and HTML) and the graph picture (graphviz optional)."""
from __future__ import annotations

import builtins
import shutil
import subprocess
import sys
from html.parser import HTMLParser

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import viz


def small():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w = tg.tensor(2.0, requires_grad=True)
    h = x * w + 1
    y = h.sin().sum()
    return x, w, h, y


def test_import_tapegrad_does_not_import_viz_deps():
    code = ("import sys, tapegrad; bad = [m for m in sys.modules if m.split('.')[0] in "
            "('matplotlib', 'graphviz', 'IPython', 'tapegrad.viz')] + "
            "[m for m in sys.modules if m == 'tapegrad.viz']; print(bad); assert not bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_text_table_of_small_computation():
    x, w, h, y = small()
    view = viz.tape(y)
    assert [(r.entry, r.op, r.grad_fn, r.inputs, r.out, r.shape, r.dtype) for r in view] == [
        (0, "leaf", "AccumulateGrad", (), 0, (3,), "float32"),
        (1, "leaf", "AccumulateGrad", (), 1, (), "float32"),
        (2, "mul", "MulBackward0", (0, 1), 2, (3,), "float32"),
        (3, "add_scalar", "AddBackward0", (2,), 3, (3,), "float32"),
        (4, "sin", "SinBackward0", (3,), 4, (3,), "float32"),
        (5, "sum", "SumBackward0", (4,), 5, (), "float32"),
    ]
    assert [r.name for r in view] == ["x", "w", "", "h", "", "y"]   # from the caller's variables
    text = str(view)
    lines = text.splitlines()
    assert lines[0] == "tape of y: 6 entries (2 inputs, 4 ops)"
    header = lines[1].split()
    assert header[:8] == ["entry", "op", "grad_fn", "inputs", "out", "shape", "dtype", "name"]
    assert "value" in header
    assert set(lines[2]) <= {"-", " "}
    assert lines[5].split()[:7] == ["2", "mul", "MulBackward0", "0", "1", "2", "(3,)"]
    # aligned: every column starts at the same offset on every row
    col = lines[1].index("grad_fn")
    assert all(line[col:].split()[0].endswith("Backward0") or "AccumulateGrad" in line[col:]
               for line in lines[3:9])
    assert repr(view) == text
    np.testing.assert_allclose(view[3].value, [3.0, 5.0, 7.0])


def test_dependencies_only_unless_whole():
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    d = a * 2
    c = d.exp()          # on the same tape (it uses d), not an ancestor of b
    b = d + 1
    view = viz.tape(b, values=False)
    assert [r.op for r in view] == ["leaf", "mul_scalar", "add_scalar"]
    assert [r.op for r in viz.tape(b, whole=True)] == ["leaf", "mul_scalar", "exp", "add_scalar"]
    assert "value" not in str(view).splitlines()[1]
    del c


def test_constants_and_leaf_tensors():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    k = tg.tensor([3.0, 4.0])                       # a constant input
    y = (x * k).sum()
    ops = [(r.op, r.grad_fn) for r in viz.tape(y)]
    assert ops[:2] == [("leaf", "AccumulateGrad"), ("const", "")]
    leaf = viz.tape(x)
    assert len(leaf) == 1 and leaf[0].op == "leaf" and "no tape" in str(leaf)


def test_adjoints_match_backward_and_leave_grads_alone():
    x, w, h, y = small()
    view = viz.tape(y, adjoints=True)
    assert x.grad is None and w.grad is None          # the extra sweep wrote no .grad
    y.backward()
    np.testing.assert_allclose(view[0].adjoint, x.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(view[1].adjoint, w.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(view[4].adjoint, [1.0, 1.0, 1.0])
    np.testing.assert_allclose(view[3].adjoint, np.cos([3.0, 5.0, 7.0]), rtol=1e-6)
    after = viz.tape(y, adjoints=True)               # freed tape: leaves show their .grad
    assert "freed" in after.title
    np.testing.assert_allclose(after[0].adjoint, x.grad.numpy())
    assert after[3].adjoint is None and after[3].value is None


def test_no_grad_and_detach_shrink_the_tape():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    with tg.no_grad():
        z = x * 2
    assert z.is_leaf and len(viz.tape(z)) == 1
    y = (x.detach() * 3 + x).sum()
    assert [r.op for r in viz.tape(y)] == ["const", "leaf", "add", "sum"]  # x.detach() * 3: not recorded


class _Checker(HTMLParser):
    VOID = {"br", "hr", "img", "meta", "link", "input", "col"}

    def __init__(self):
        super().__init__()
        self.stack, self.rows, self.cells, self.ok = [], 0, [], True

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.stack.append(tag)
        if tag == "tr":
            self.rows += 1

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.ok = False

    def handle_data(self, data):
        if self.stack and self.stack[-1] == "td":
            self.cells.append(data)


def test_html_is_well_formed_and_has_the_rows():
    x, w, h, y = small()
    out = viz.tape(y)._repr_html_()
    p = _Checker()
    p.feed(out)
    p.close()
    assert p.ok and not p.stack
    assert p.rows == 1 + 6                              # header + one row per entry
    for want in ("MulBackward0", "AddBackward0", "SinBackward0", "SumBackward0",
                 "AccumulateGrad", "add_scalar", "0 1"):
        assert want in p.cells
    assert out.startswith('<table class="tapegrad-tape">')


def test_html_escapes_names():
    x = tg.tensor([1.0], requires_grad=True)
    y = x * 2
    out = viz.tape(y, names={"<b>": y})._repr_html_()
    assert "&lt;b&gt;" in out and "<b>" not in out


def test_graph_names_missing_graphviz_package(monkeypatch):
    real_import = builtins.__import__

    def fake_import(name, *args, **kw):
        if name == "graphviz" or name.startswith("graphviz."):
            raise ImportError("No module named 'graphviz'")
        return real_import(name, *args, **kw)

    monkeypatch.setitem(sys.modules, "graphviz", None)
    monkeypatch.setattr(builtins, "__import__", fake_import)
    x, w, h, y = small()
    with pytest.raises(ImportError) as e:
        viz.graph(y)
    msg = str(e.value)
    assert "graphviz" in msg and "pip install graphviz" in msg and "dot" in msg


def test_graph_names_missing_dot_binary(monkeypatch):
    pytest.importorskip("graphviz")
    monkeypatch.setattr(viz.shutil, "which", lambda name: None)
    x, w, h, y = small()
    with pytest.raises(RuntimeError) as e:
        viz.graph(y)
    msg = str(e.value)
    assert "`dot`" in msg and "apt-get install graphviz" in msg


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_graph_svg_has_the_nodes():
    pytest.importorskip("graphviz")
    x, w, h, y = small()
    g = viz.graph(y)
    svg = g._repr_svg_()
    assert "<svg" in svg and "</svg>" in svg
    for name in ("SumBackward0", "SinBackward0", "AddBackward0", "MulBackward0",
                 "AccumulateGrad"):
        assert name in svg
    assert svg.count("AccumulateGrad") == 2
