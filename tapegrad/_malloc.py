"""glibc's malloc, kept from giving freed megabytes back to the OS after every step.

A training step allocates and frees arrays of a few MB (gradients, update temporaries). glibc
serves them from the heap or from mmap by thresholds it adjusts as it goes, and trims the heap
top on free: depending on what else was freed in between, a step then faults in every page of
its arrays afresh (measured: 880 page faults and +1.4 ms of system time per MLP step at batch
1, 3.7x the step's time otherwise). Fixing the thresholds, as ``MALLOC_MMAP_THRESHOLD_`` and
``MALLOC_TRIM_THRESHOLD_`` would, keeps up to `TRIM` bytes of freed memory for reuse; blocks
over `MMAP` bytes still come from mmap. torch's CPU guide recommends jemalloc/tcmalloc for the
same reason. Off with TAPEGRAD_MALLOC_TUNING=0, or when the user set either glibc variable.
"""
from __future__ import annotations

import ctypes
import os
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters
MMAP = 32 << 20   # glibc's largest mmap threshold on 64-bit systems
TRIM = 64 << 20


def tune() -> bool:
    """Set the thresholds (glibc on Linux only); whether they were set."""
    if (not sys.platform.startswith("linux") or os.environ.get("TAPEGRAD_MALLOC_TUNING") == "0"
            or "MALLOC_MMAP_THRESHOLD_" in os.environ or "MALLOC_TRIM_THRESHOLD_" in os.environ):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM))
