"""Whole PyTorch-tutorial programs (tests/programs/) run with tapegrad print what they print
with torch (transcripts recorded by tests/programs/record.py): the same text, the numbers equal
to 1e-8 relative in the float64 programs (losses over hundreds of steps), to 1e-5 in the
float32 one (torch's and tapegrad's float32 sums may differ in the last bit)."""
import pathlib
import re
import subprocess
import sys

import pytest

from tests.programs.record import PROGRAMS

HERE = pathlib.Path(__file__).resolve().parent
RTOL = {"quickstart": 1e-5, "blitz_nn": 1e-5, "nn_really": 1e-5,  # float32; the others run
        "per_sample_grads": 1e-5}                                # in float64
ADDRESS = re.compile(r" at 0x[0-9a-f]+")
NUMBER = re.compile(r"-?\d+\.\d+(?:e[-+]?\d+)?")


def _split(text: str) -> tuple:
    text = ADDRESS.sub(" at 0x", text.replace("torch.", "tapegrad."))
    return NUMBER.sub("#", text), [float(v) for v in NUMBER.findall(text)]


@pytest.mark.parametrize("name", PROGRAMS)
def test_program_prints_what_torch_prints(name, tmp_path):
    got = subprocess.run([sys.executable, str(HERE / "programs" / f"{name}.py"), "tapegrad"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert got.returncode == 0, got.stderr[-3000:]
    want = (HERE / "data" / f"program_{name}.txt").read_text()
    got_text, got_nums = _split(got.stdout)
    want_text, want_nums = _split(want)
    assert got_text == want_text
    assert got_nums == pytest.approx(want_nums, rel=RTOL.get(name, 1e-8), abs=1e-12 if name not in RTOL else 1e-6)
