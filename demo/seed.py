"""The seed walkthrough: a PyTorch autograd tutorial transcript, run with `import tapegrad as torch`.

`cells()` splits the transcript (tests/data/autograd_tutorial.txt, a copy of
shared/seed/autograd_tutorial.txt) into (code, expected output) pairs; `run()` executes the code
with tapegrad standing in for torch and returns what it printed. The golden test, the demo, the
notebook and the first-gradient benchmark all use this one parser.
"""
from __future__ import annotations

import contextlib
import io
import pathlib
import re
import sys

TRANSCRIPT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "autograd_tutorial.txt"
_ADDR = re.compile(r"0x[0-9a-f]+")


def blocks(path: pathlib.Path = TRANSCRIPT) -> list[tuple[str, ...]]:
    """The transcript in order: ("prose", text) and ("cell", code, expected_output) blocks."""
    lines = path.read_text().splitlines()
    out: list[tuple[str, ...]] = []
    prose: list[str] = []
    i = 0
    while i < len(lines):
        if not re.match(r"In \[\d+\]:", lines[i]):
            prose.append(lines[i])
            i += 1
            continue
        if prose:
            out.append(("prose", "\n".join(prose)))
            prose = []
        i += 1
        code = []
        while i < len(lines) and lines[i].strip():
            code.append(lines[i])
            i += 1
        while i < len(lines) and not lines[i].strip():
            i += 1
        expected = []
        while i < len(lines) and not re.match(r"In \[\d+\]:", lines[i]) \
                and not lines[i].startswith("# "):
            expected.append(lines[i])
            i += 1
        while expected and not expected[-1].strip():
            expected.pop()
        out.append(("cell", "\n".join(code), "\n".join(expected)))
    if prose:
        out.append(("prose", "\n".join(prose)))
    return out


def cells(path: pathlib.Path = TRANSCRIPT) -> list[tuple[str, str]]:
    """[(code, expected_output)] for every `In [n]:` cell of the transcript, in order."""
    return [(b[1], b[2]) for b in blocks(path) if b[0] == "cell"]


def as_tapegrad(code: str) -> str:
    """The seed's one change: ``import torch`` becomes ``import tapegrad as torch``."""
    return re.sub(r"^import torch$", "import tapegrad as torch", code, flags=re.M)


def run(echo: bool = False) -> list[tuple[str, str, str]]:
    """Execute every cell in one namespace; [(code, expected, printed)]."""
    ns: dict = {}
    results = []
    for code, expected in cells():
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            exec(compile(as_tapegrad(code), "<seed>", "exec"), ns)
        printed = buf.getvalue().rstrip("\n")
        results.append((code, expected, printed))
        if echo:
            print(">>> " + code.replace("\n", "\n... "))
            if printed:
                print(printed)
    return results


def normalize(text: str) -> str:
    """Object addresses differ from run to run; everything else must match."""
    return _ADDR.sub("0x…", text)


if __name__ == "__main__":
    bad = 0
    for code, expected, printed in run(echo=True):
        if normalize(expected) != normalize(printed):
            bad += 1
            print(f"!! differs from the PyTorch transcript; expected:\n{expected}", file=sys.stderr)
    print(f"\nseed walkthrough: {len(cells()) - bad}/{len(cells())} cells print what PyTorch printed")
    sys.exit(1 if bad else 0)
