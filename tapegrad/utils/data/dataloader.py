"""`DataLoader`: batches from a dataset, with torch's arguments, checks and iteration order.

Differences from torch, all invisible in the batches a map-style dataset gives:

* No worker processes. ``num_workers=N > 0`` is accepted and emulated in the main process (see
  `tapegrad.utils.data._utils.worker`): batch k of an epoch is loaded by virtual worker
  ``k % N`` (torch's assignment), each worker has its own dataset copy, `get_worker_info`, and
  random streams, and ``worker_init_fn`` runs once per worker. An `IterableDataset` therefore
  gives torch's order too: each worker's stream (sharded with `get_worker_info`, or duplicated
  if it is not) and the workers' batches interleaved round robin. ``timeout``,
  ``prefetch_factor``, ``pin_memory`` and ``multiprocessing_context`` are checked as torch
  checks them and otherwise have no effect (there is nothing to wait for or pin).
* A `TensorDataset` (or a `Subset` of one, e.g. from `random_split`) with the default collate
  function and tapegrad's samplers is loaded by one numpy fancy-index per tensor and batch
  instead of indexing each sample and stacking: the same indices in the same order, the same
  values and dtypes.
* Shuffling draws from numpy's PCG64 (``generator=``, else the global generator that
  `tapegrad.manual_seed` seeds), so the order for a seed differs from torch's; as in torch,
  each epoch first draws a base seed from that generator (the workers' seeds) and a
  `RandomSampler` without a generator then draws its own seed from the global one.
"""
from __future__ import annotations

import itertools
import math
import multiprocessing
import warnings
from typing import Any, Callable, Generic, Iterable, Optional, TypeVar

import numpy as np

from ..._generator import draw_seed
from ...tensor import Tensor, _wrap
from ._utils.collate import default_collate, default_convert
from ._utils.fetch import _IterableDatasetFetcher, _MapDatasetFetcher
from ._utils.worker import VirtualWorker, get_worker_info
from .dataset import Dataset, IterableDataset, Subset, TensorDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler, array_batches

T_co = TypeVar("T_co", covariant=True)

__all__ = ["DataLoader", "get_worker_info", "default_collate", "default_convert"]


class _DatasetKind:
    Map = 0
    Iterable = 1

    @staticmethod
    def create_fetcher(kind, dataset, auto_collation, collate_fn, drop_last):
        if kind == _DatasetKind.Map:
            return _MapDatasetFetcher(dataset, auto_collation, collate_fn, drop_last)
        return _IterableDatasetFetcher(dataset, auto_collation, collate_fn, drop_last)


class _InfiniteConstantSampler(Sampler):
    """The sampler of an iterable dataset: None forever (its indices mean nothing)."""

    def __iter__(self):
        while True:
            yield None


def _check_workers(num_workers, timeout, prefetch_factor, persistent_workers):
    """torch's checks of the multiprocessing options; returns the prefetch factor to keep."""
    if num_workers < 0:
        raise ValueError("num_workers option should be non-negative; use num_workers=0 to "
                         "disable multiprocessing.")
    if timeout < 0:
        raise ValueError("timeout option should be non-negative")
    if num_workers == 0 and prefetch_factor is not None:
        raise ValueError("prefetch_factor option could only be specified in multiprocessing."
                         "let num_workers > 0 to enable multiprocessing, otherwise set "
                         "prefetch_factor to None.")
    if num_workers > 0 and prefetch_factor is None:
        prefetch_factor = 2
    elif prefetch_factor is not None and prefetch_factor < 0:
        raise ValueError("prefetch_factor option should be non-negative")
    if persistent_workers and num_workers == 0:
        raise ValueError("persistent_workers option needs num_workers > 0")
    return prefetch_factor


def _check_iterable(shuffle, sampler, batch_sampler) -> None:
    """An iterable dataset takes no shuffle, sampler or batch_sampler (torch's errors)."""
    if shuffle not in {False, None}:
        raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle "
                         f"option, but got shuffle={shuffle}")
    if sampler is not None:
        raise ValueError(f"DataLoader with IterableDataset: expected unspecified sampler "
                         f"option, but got sampler={sampler}")
    if batch_sampler is not None:
        raise ValueError(f"DataLoader with IterableDataset: expected unspecified batch_sampler "
                         f"option, but got batch_sampler={batch_sampler}")


class DataLoader(Generic[T_co]):
    """Iterate over `dataset` in batches: the samples that a sampler picks, put together by
    `collate_fn` (`default_collate` stacks tensors and turns numbers into tensors). Takes
    torch's arguments and raises torch's errors for conflicting ones; see this module's
    docstring for how workers and shuffling are done without processes.

    >>> import tapegrad as tg
    >>> from tapegrad.utils.data import TensorDataset
    >>> ds = TensorDataset(tg.arange(10.).reshape(5, 2), tg.arange(5))
    >>> loader = DataLoader(ds, batch_size=2)
    >>> len(loader), [y.tolist() for _, y in loader]
    (3, [[0, 1], [2, 3], [4]])
    >>> g = tg.Generator().manual_seed(0)
    >>> sorted(y for _, ys in DataLoader(ds, batch_size=2, shuffle=True, generator=g)
    ...        for y in ys.tolist())
    [0, 1, 2, 3, 4]
    """

    dataset: Dataset
    batch_size: Optional[int]
    num_workers: int
    pin_memory: bool
    drop_last: bool
    timeout: float
    sampler: Any
    pin_memory_device: str
    prefetch_factor: Optional[int]
    __initialized = False

    def __init__(self, dataset: Dataset, batch_size: Optional[int] = 1,
                 shuffle: Optional[bool] = None, sampler: Optional[Iterable] = None,
                 batch_sampler: Optional[Iterable] = None, num_workers: int = 0,
                 collate_fn: Optional[Callable[[list], Any]] = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Optional[Callable[[int], None]] = None,
                 multiprocessing_context=None, generator=None, *,
                 prefetch_factor: Optional[int] = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True) -> None:
        prefetch_factor = _check_workers(num_workers, timeout, prefetch_factor,
                                         persistent_workers)
        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.in_order = in_order
        # (the dataset is checked before the samplers, as torch does: an iterable dataset's
        # user first learns that it takes no sampler at all)
        if isinstance(dataset, IterableDataset):
            self._dataset_kind = _DatasetKind.Iterable
            _check_iterable(shuffle, sampler, batch_sampler)
        else:
            shuffle = bool(shuffle)
            self._dataset_kind = _DatasetKind.Map
        sampler, batch_sampler, batch_size, drop_last = self._samplers(
            dataset, batch_size, shuffle, sampler, batch_sampler, drop_last, generator)
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self.persistent_workers = persistent_workers
        self.__initialized = True
        self._IterableDataset_len_called = None
        self._iterator = None

    def _samplers(self, dataset, batch_size, shuffle, sampler, batch_sampler, drop_last,
                  generator) -> tuple:
        """torch's rules: (sampler, batch_sampler, batch_size, drop_last) to keep."""
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
        if sampler is None:
            if self._dataset_kind == _DatasetKind.Iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        return sampler, batch_sampler, batch_size, drop_last

    @property
    def multiprocessing_context(self):
        return self.__multiprocessing_context

    @multiprocessing_context.setter
    def multiprocessing_context(self, multiprocessing_context) -> None:
        # torch's checks; the context is kept but unused (no processes are started)
        if multiprocessing_context is not None:
            if self.num_workers <= 0:
                raise ValueError(f"multiprocessing_context can only be used with multi-process "
                                 f"loading (num_workers > 0), but got "
                                 f"num_workers={self.num_workers}")
            if isinstance(multiprocessing_context, str):
                valid = multiprocessing.get_all_start_methods()
                if multiprocessing_context not in valid:
                    raise ValueError(f"multiprocessing_context option should specify a valid "
                                     f"start method in {valid!r}, but got "
                                     f"multiprocessing_context={multiprocessing_context!r}")
                multiprocessing_context = multiprocessing.get_context(multiprocessing_context)
            if not isinstance(multiprocessing_context, multiprocessing.context.BaseContext):
                raise TypeError(f"multiprocessing_context option should be a valid context "
                                f"object or a string specifying the start method, but got "
                                f"multiprocessing_context={multiprocessing_context}")
        self.__multiprocessing_context = multiprocessing_context

    def __setattr__(self, attr, val) -> None:
        if self.__initialized and attr in ("batch_size", "batch_sampler", "sampler",
                                           "drop_last", "dataset", "persistent_workers"):
            raise ValueError(f"{attr} attribute should not be set after "
                             f"{self.__class__.__name__} is initialized")
        super().__setattr__(attr, val)

    def __iter__(self) -> "_DataLoaderIter":
        # persistent workers: one iterator (and one set of workers) for the loader's lifetime
        if self.persistent_workers and self.num_workers > 0:
            if self._iterator is None:
                self._iterator = _DataLoaderIter(self)
            else:
                self._iterator._reset(self)
            return self._iterator
        return _DataLoaderIter(self)

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def __len__(self) -> int:
        if self._dataset_kind == _DatasetKind.Iterable:
            # (remembered: iterating past it warns, as in torch)
            length = self._IterableDataset_len_called = len(self.dataset)
            if self.batch_size is not None:
                length = (length // self.batch_size if self.drop_last
                          else math.ceil(length / self.batch_size))
            return length
        return len(self._index_sampler)


def _warn_pin_memory(loader: DataLoader) -> None:
    if loader.pin_memory and loader.pin_memory_device:
        warnings.warn(f"pin_memory_device is deprecated, the current accelerator will be used "
                      f"as the device,ignore pin_memory_device='{loader.pin_memory_device}'.",
                      stacklevel=4)
    if loader.pin_memory:
        warnings.warn("'pin_memory' argument is set as true but no accelerator is found, then "
                      "device pinned memory won't be used.", stacklevel=4)


def _fast_arrays(dataset) -> Optional[tuple]:
    """(the TensorDataset, index map or None) when `dataset` is a `TensorDataset` (or a
    `Subset` chain over one) whose batches can be fancy-indexed, else None."""
    if isinstance(dataset, Subset):
        if (type(dataset).__getitem__ is not Subset.__getitem__
                or type(dataset).__getitems__ is not Subset.__getitems__):
            return None
        inner = _fast_arrays(dataset.dataset)
        if inner is None:
            return None
        idx = np.asarray(dataset.indices, dtype=np.int64)
        return inner[0], idx if inner[1] is None else inner[1][idx]
    if (not isinstance(dataset, TensorDataset) or getattr(dataset, "__getitems__", None)
            or type(dataset).__getitem__ is not TensorDataset.__getitem__):
        return None
    tensors = dataset.tensors
    if not tensors or not all(isinstance(t, Tensor) and not t.requires_grad for t in tensors):
        return None  # (a tensor requiring grad: batches are recorded ops, as in torch)
    return dataset, None


class _DataLoaderIter:
    """One pass over a `DataLoader` (torch's ``_BaseDataLoaderIter`` and both subclasses)."""

    def __init__(self, loader: DataLoader) -> None:
        if loader.num_workers == 0 and loader.timeout != 0:
            raise AssertionError("_SingleProcessDataLoaderIter requires timeout == 0")
        self._dataset = loader.dataset
        self._dataset_kind = loader._dataset_kind
        self._auto_collation = loader._auto_collation
        self._drop_last = loader.drop_last
        self._index_sampler = loader._index_sampler
        self._num_workers = loader.num_workers
        self._collate_fn = loader.collate_fn
        _warn_pin_memory(loader)
        self._fast = None
        self._sampler_iter = self._start(loader)
        # torch draws this once per iterator, after the sampler's iterator is made and before
        # any of its (lazy) draws: the workers' seeds
        self._base_seed = draw_seed(loader.generator)
        self._workers = [VirtualWorker(i, loader.num_workers, self._base_seed, self._dataset,
                                       loader.worker_init_fn)
                         for i in range(loader.num_workers)]
        self._reset(loader, first_iter=True)

    def _start(self, loader: DataLoader):
        """The epoch's sampler iterator (index arrays on the fast path)."""
        self._fast = None
        if (self._dataset_kind == _DatasetKind.Map and self._collate_fn is default_collate
                and (loader.num_workers == 0 or loader.worker_init_fn is None)):
            batches = array_batches(self._index_sampler)
            fast = _fast_arrays(self._dataset) if batches is not None else None
            if fast is not None:
                self._fast = fast
                return batches
        return iter(self._index_sampler)

    def _reset(self, loader: DataLoader, first_iter: bool = False) -> None:
        if not first_iter:
            self._sampler_iter = self._start(loader)
        self._num_yielded = 0
        self._IterableDataset_len_called = loader._IterableDataset_len_called
        self._cycle = itertools.cycle(range(max(self._num_workers, 1)))
        self._active = [True] * max(self._num_workers, 1)
        if self._workers:
            for w in self._workers:
                with w.active():
                    w.fetcher = self._fetcher(w.info.dataset)
        else:
            self._main_fetcher = self._fetcher(self._dataset)

    def _fetcher(self, dataset):
        return _DatasetKind.create_fetcher(self._dataset_kind, dataset, self._auto_collation,
                                           self._collate_fn, self._drop_last)

    def __iter__(self) -> "_DataLoaderIter":
        return self

    def __len__(self) -> int:
        return len(self._index_sampler)

    def _fetch_fast(self, idx: np.ndarray) -> list:
        ds, index_map = self._fast
        if index_map is not None:
            idx = index_map[idx]
        # one gather per tensor (``take``: t._data[idx], a little faster), reading ``_data`` at
        # fetch time because an in-place op may have given the tensor new memory
        try:
            return [_wrap(t._data.take(idx, axis=0)) for t in ds.tensors]
        except IndexError:  # (a Subset's bad index: the general path raises tapegrad's error)
            return self._fetch(idx.tolist())

    def _fetch(self, index):
        """One batch from the next worker in torch's round robin (iterable datasets: a worker
        whose stream ended is skipped from then on)."""
        if not self._workers:
            return self._main_fetcher.fetch(index)
        while True:
            w = next(self._cycle)
            if self._active[w]:
                break
        worker = self._workers[w]
        try:
            with worker.active():
                return worker.fetcher.fetch(index)
        except StopIteration:
            if self._dataset_kind == _DatasetKind.Map:
                raise
            self._active[w] = False
            if not any(self._active):
                raise
            return self._fetch(index)

    def _next_data(self):
        index = next(self._sampler_iter)  # may raise StopIteration
        if self._fast is not None:
            return self._fetch_fast(index)
        return self._fetch(index)

    def __next__(self) -> Any:
        data = self._next_data()
        self._num_yielded += 1
        if (self._dataset_kind == _DatasetKind.Iterable
                and self._IterableDataset_len_called is not None
                and self._num_yielded > self._IterableDataset_len_called):
            msg = (f"Length of IterableDataset {self._dataset} was reported to be "
                   f"{self._IterableDataset_len_called}(when accessing len(dataloader)), but "
                   f"{self._num_yielded} samples have been fetched. ")
            if self._num_workers > 0:
                msg += ("For multiprocessing data-loading, this could be caused by not properly "
                        "configuring the IterableDataset replica at each worker. Please see "
                        "https://pytorch.org/docs/stable/data.html#torch.utils.data."
                        "IterableDataset for examples.")
            warnings.warn(msg, stacklevel=2)
        return data

    def __getstate__(self):
        raise NotImplementedError("{} cannot be pickled", self.__class__.__name__)

