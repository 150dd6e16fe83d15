"""Worker threads of the engine: one pool, shared by the batched replay (lanes in blocks) and
the eager sweep (long elementwise entries cut in slices). The work they run is Numba compiled
with ``nogil``, so the threads run in parallel; their number follows `numba.get_num_threads()`
(`tapegrad.set_num_threads`). A Python pool rather than Numba's parallel loops: those need a
threading layer that is both thread-safe and fork-safe, which none of numba's is everywhere."""
from __future__ import annotations

import concurrent.futures
import threading

_pool: list = []  # [(threads, executor)]
_PREFIX = "tapegrad-engine"


def executor(threads: int) -> concurrent.futures.ThreadPoolExecutor:
    """The pool with `threads` workers (made again when the count changes)."""
    if not _pool or _pool[0][0] != threads:
        _pool[:] = [(threads, concurrent.futures.ThreadPoolExecutor(threads, _PREFIX))]
    return _pool[0][1]


def in_worker() -> bool:
    """Whether this thread is one of the pool's (work it submits and waits for could then wait
    on itself: such work runs in the thread instead)."""
    return threading.current_thread().name.startswith(_PREFIX)
