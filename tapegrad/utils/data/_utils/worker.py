"""Data-loading workers, emulated in the main process (torch's ``_utils.worker``).

tapegrad starts no worker processes: a `DataLoader` with ``num_workers=N > 0`` keeps N virtual
workers, and while one of them loads a batch (or runs ``worker_init_fn``), `get_worker_info`
describes it and the random streams are that worker's own, as in a torch worker process:
tapegrad's global generator, Python's `random` and numpy's legacy `np.random` are swapped for
streams seeded from ``base_seed + worker_id`` and swapped back afterwards, so the main process's
streams do not move. Each worker holds a shallow copy of the dataset (torch: a copy per
process).
"""
from __future__ import annotations

import contextlib
import copy
import random
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional

import numpy as np

__all__ = ["WorkerInfo", "get_worker_info"]

_worker_info: list = [None]  # the virtual worker loading right now (None: the main process)


@dataclass(frozen=True)
class WorkerInfo:
    """What `get_worker_info` returns inside a worker: its ``id`` (0 .. num_workers - 1),
    ``num_workers``, the ``seed`` its random streams were seeded with, and its ``dataset``
    (the worker's own copy).

    >>> WorkerInfo(id=0, num_workers=2, seed=7, dataset=None).num_workers
    2
    """

    id: int
    num_workers: int
    seed: int
    dataset: Any
    rng: Any = None
    worker_method: Optional[str] = "in-process"


def get_worker_info() -> Optional[WorkerInfo]:
    """The `WorkerInfo` of the data-loading worker running this code, or None in the main
    process: use it in an `IterableDataset`'s ``__iter__`` (or a ``worker_init_fn``) to give
    each worker its share of the data.

    >>> get_worker_info() is None
    True
    """
    return _worker_info[0]


def _copy_dataset(dataset):
    try:
        return copy.copy(dataset)
    except Exception:  # noqa: BLE001 -- an uncopyable dataset is shared, as a thread would
        return dataset


class VirtualWorker:
    """One emulated worker: its `WorkerInfo`, dataset copy and random streams."""

    def __init__(self, worker_id: int, num_workers: int, base_seed: int, dataset,
                 init_fn: Optional[Callable[[int], None]]) -> None:
        seed = base_seed + worker_id
        self.info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed,
                               dataset=_copy_dataset(dataset))
        self._tg = np.random.default_rng(seed)
        self._py = random.Random(seed).getstate()
        legacy = np.random.RandomState(np.random.SeedSequence([worker_id, base_seed])
                                       .generate_state(4))
        self._np = legacy.get_state()
        self.fetcher = None
        if init_fn is not None:
            with self.active():
                init_fn(worker_id)

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """Run the body as this worker: its info and random streams in place of the main
        process's, which are restored afterwards (even on an error)."""
        from ....factories import _RNG
        saved = (_worker_info[0], _RNG[0], random.getstate(), np.random.get_state())
        _worker_info[0], _RNG[0] = self.info, self._tg
        random.setstate(self._py)
        np.random.set_state(self._np)
        try:
            yield
        finally:
            self._tg, self._py, self._np = _RNG[0], random.getstate(), np.random.get_state()
            _worker_info[0], _RNG[0] = saved[0], saved[1]
            random.setstate(saved[2])
            np.random.set_state(saved[3])
