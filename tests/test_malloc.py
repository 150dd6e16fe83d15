"""glibc malloc tuning at import (`tapegrad._malloc`): a step's freed arrays are reused."""
import subprocess
import sys

import pytest

from tapegrad import _malloc


def test_off_when_the_user_set_glibc_thresholds(monkeypatch):
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "1000")
    assert _malloc.tune() is False


def test_off_by_environment(monkeypatch):
    monkeypatch.setenv("TAPEGRAD_MALLOC_TUNING", "0")
    assert _malloc.tune() is False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_freed_megabytes_are_reused_without_page_faults():
    # (in a fresh interpreter: what the test process did before would change glibc's state)
    code = (
        "import resource, numpy as np, tapegrad\n"
        "big = [np.ones(1 << 18) for _ in range(2)]\n"
        "for _ in range(3):\n"
        "    a = [np.ones(1 << 18) for _ in range(6)]; del a\n"
        "f = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
        "for _ in range(20):\n"
        "    a = [np.ones(1 << 18) for _ in range(6)]; del a\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f)\n")
    faults = int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                check=True).stdout)
    # 20 rounds of 6 x 2 MiB: 61,440 pages if each round faulted its memory in again
    assert faults < 2000
