"""The kernel cache's faults: a corrupted generated kernel, a corrupted Numba cache file, an
unwritable cache directory. Each run is a fresh process (so the caches are really read), with
its own TAPEGRAD_CACHE_DIR; each must compute the right gradient and say what it did once."""
import glob
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PROGRAM = """
import warnings
warnings.simplefilter("always")
import tapegrad as tg
x = tg.tensor([1.0, 2.0], dtype=tg.float64, requires_grad=True)
(x.exp() * 3).sum().backward()
print("grad", [round(v, 6) for v in x.grad.tolist()])
"""
WANT = "grad [8.154845, 22.167168]"


def run(cache: pathlib.Path):
    env = dict(os.environ, TAPEGRAD_CACHE_DIR=str(cache), PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True,
                         env=env, timeout=600)
    return out.returncode, out.stdout + out.stderr


@pytest.fixture
def cache(tmp_path):
    code, text = run(tmp_path)   # fills the cache
    assert code == 0 and WANT in text, text
    return tmp_path


def test_a_corrupted_generated_kernel_is_written_again(cache):
    kernel = next(p for p in cache.glob("adj_exp_*.py"))
    kernel.write_text(kernel.read_text()[:200] + "\n)(garbage\n")
    code, text = run(cache)
    assert code == 0 and WANT in text, text
    assert "was corrupted; it is written again" in text
    code, text = run(cache)      # healed: quiet from now on
    assert code == 0 and WANT in text and "corrupted" not in text, text


def test_a_corrupted_numba_cache_file_is_compiled_again(cache):
    index = glob.glob(str(cache / "__pycache__" / "adj_exp_*.nbi"))
    data = glob.glob(str(cache / "__pycache__" / "adj_mul_scalar_*.nbc"))
    assert index and data
    pathlib.Path(index[0]).write_bytes(b"garbage")
    pathlib.Path(data[0]).write_bytes(b"\x80\x04garbage")
    code, text = run(cache)
    assert code == 0 and WANT in text, text
    assert "a corrupted Numba cache file was removed" in text
    code, text = run(cache)
    assert code == 0 and WANT in text and "corrupted" not in text, text


def test_an_unwritable_cache_directory_falls_back_to_a_temporary_one(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache directory should go")
    code, text = run(blocker / "cache")
    assert code == 0 and WANT in text, text
    assert text.count("cannot be written") == 1, text
