"""The seed walkthrough (a PyTorch tutorial transcript) prints what PyTorch printed.

The transcript is the project's own copy (tests/data/autograd_tutorial.txt, taken from the
shared seed), so the tests need nothing outside the repository."""
import pathlib

import pytest

from demo import seed


def test_transcript_has_the_expected_cells():
    cells = seed.cells()
    assert len(cells) == 11
    assert cells[0] == ("import torch", "")


@pytest.mark.parametrize("i", range(11))
def test_seed_cell_prints_what_torch_printed(i, seed_run):
    code, expected, printed = seed_run[i]
    assert seed.normalize(printed) == seed.normalize(expected), code


@pytest.fixture(scope="module")
def seed_run():
    return seed.run()


def test_the_showcase_of_make_demo_runs():
    import subprocess
    import sys
    root = pathlib.Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-m", "demo.showcase"], cwd=root, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    for section in ("== fit y = 3x - 0.5", "against central differences: True",
                    "== the flat tape ==", "== scalar code ==", "µs per op"):
        assert section in out.stdout
