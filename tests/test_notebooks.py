"""The notebooks run top to bottom, and the tutorial prints what PyTorch printed.

Each notebooks/*.ipynb is executed on a fresh kernel with nbclient. The kernel is this test
process's interpreter (sys.executable, i.e. .venv/bin/python under `.venv/bin/python -m pytest`):
its kernelspec is made on the fly rather than looked up, so a user-wide or system-wide "python3"
kernelspec pointing at some other Python cannot hijack the run, and nothing needs installing
besides the test extras (nbclient, nbformat, ipykernel). The kernel's working directory is the
repo root.
"""
from __future__ import annotations

import pathlib
import sys

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from demo import seed  # noqa: E402  (tests/conftest.py puts the repo root on sys.path)

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
TUTORIAL = ROOT / "notebooks" / "01_autograd_tutorial.ipynb"
CELL_TIMEOUT = 600  # seconds; the first tapegrad cell may trigger Numba compilation


def _kernel_manager(kernel_name: str):
    """A KernelManager that starts an IPython kernel on sys.executable, whatever the name."""
    from ipykernel.kernelspec import get_kernel_dict
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from jupyter_client.manager import KernelManager

    class ThisPython(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            spec = get_kernel_dict()  # ipykernel's own python3 spec ...
            spec["argv"][0] = sys.executable  # ... pinned to this interpreter
            return KernelSpec(**spec)

    return KernelManager(kernel_name=kernel_name, kernel_spec_manager=ThisPython())


_executed: dict[pathlib.Path, nbformat.NotebookNode] = {}


def _execute(path: pathlib.Path) -> nbformat.NotebookNode:
    """Run the notebook on a fresh kernel (once per session); raise on the first error."""
    if path not in _executed:
        nb = nbformat.read(path, as_version=4)
        name = nb.metadata.get("kernelspec", {}).get("name", "python3")
        client = nbclient.NotebookClient(
            nb, km=_kernel_manager(name), kernel_name=name, timeout=CELL_TIMEOUT,
            allow_errors=False, record_timing=False,
            resources={"metadata": {"path": str(ROOT)}})
        client.execute()
        _executed[path] = nb
    return _executed[path]


def _stdout(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == "stdout").rstrip("\n")


def _check_against_transcript(nb) -> None:
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    expected = seed.cells()
    assert [c.source for c in code_cells] == [seed.as_tapegrad(code) for code, _ in expected], \
        "the tutorial's code cells are out of step with the transcript; " \
        "regenerate with .venv/bin/python notebooks/make_tutorial.py"
    for n, (cell, (code, want)) in enumerate(zip(code_cells, expected), 1):
        got = _stdout(cell)
        assert seed.normalize(got) == seed.normalize(want), (
            f"code cell {n} prints differently from PyTorch\n--- cell:\n{cell.source}\n"
            f"--- PyTorch printed:\n{want}\n--- tapegrad printed:\n{got}")


def test_there_are_notebooks():
    assert TUTORIAL in NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_without_errors(path):
    nb = _execute(path)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out.get("output_type") != "error", f"{path.name}: {out.get('ename')}"


def test_tutorial_prints_what_pytorch_printed():
    _check_against_transcript(_execute(TUTORIAL))


def test_committed_tutorial_outputs_are_current():
    """The outputs stored in the .ipynb (what GitHub shows) also match the transcript."""
    nb = nbformat.read(TUTORIAL, as_version=4)
    assert all(c.get("execution_count") for c in nb.cells if c.cell_type == "code"), \
        "the committed tutorial was not executed; run .venv/bin/python notebooks/make_tutorial.py"
    _check_against_transcript(nb)
