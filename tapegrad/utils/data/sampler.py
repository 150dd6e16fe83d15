"""Samplers: the order in which a `DataLoader` visits a dataset's indices.

Random samplers draw from their ``generator`` (a `tapegrad.Generator`) or, without one, from the
global generator that `tapegrad.manual_seed` seeds, when an iteration starts (so
``tapegrad.manual_seed(s)`` before an epoch makes its order reproducible). As in torch, a
`RandomSampler` without a generator takes one seed from the global generator per epoch and
shuffles with a private generator seeded by it. The streams are numpy's PCG64, not torch's:
the same seed gives a different order than in torch.
"""
from __future__ import annotations

import itertools
from typing import Generic, Iterable, Iterator, Optional, Sequence, Sized, TypeVar, Union

import numpy as np

from ..._generator import draw_seed, numpy_rng

T_co = TypeVar("T_co", covariant=True)

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler"]


class Sampler(Generic[T_co]):
    """Base class of samplers: ``__iter__`` yields indices (or lists of indices, for a batch
    sampler); ``__len__`` is optional.

    >>> class Evens(Sampler):
    ...     def __init__(self, n): self.n = n
    ...     def __iter__(self): return iter(range(0, self.n, 2))
    >>> list(Evens(5))
    [0, 2, 4]
    """

    def __iter__(self) -> Iterator[T_co]:
        raise NotImplementedError


class _ArraySampler(Sampler[int]):
    """A sampler whose epoch is one index array (`_index_array`, drawn when iteration starts):
    a `BatchSampler` or a `DataLoader` over it slices the array instead of collecting indices
    one by one."""

    def _index_array(self) -> np.ndarray:
        raise NotImplementedError

    def __iter__(self) -> Iterator[int]:
        yield from self._index_array().tolist()


class SequentialSampler(_ArraySampler):
    """The indices 0, 1, ..., len(data_source) - 1 in order.

    >>> list(SequentialSampler("abc"))
    [0, 1, 2]
    """

    data_source: Sized

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def _index_array(self) -> np.ndarray:
        return np.arange(len(self.data_source))

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(_ArraySampler):
    """The indices in a random order: a permutation per epoch (``replacement=False``;
    `num_samples` larger than the data repeats whole permutations), or `num_samples` indices
    drawn independently (``replacement=True``).

    >>> import tapegrad as tg
    >>> order = list(RandomSampler(range(5), generator=tg.Generator().manual_seed(1)))
    >>> sorted(order)
    [0, 1, 2, 3, 4]
    >>> len(RandomSampler(range(5), replacement=True, num_samples=12))
    12
    """

    data_source: Sized
    replacement: bool

    def __init__(self, data_source: Sized, replacement: bool = False,
                 num_samples: Optional[int] = None, generator=None) -> None:
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(self.replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got "
                            f"replacement={self.replacement}")
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={self.num_samples}")

    @property
    def num_samples(self) -> int:
        # (the dataset's length may change between epochs, as in torch)
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _rng(self) -> np.random.Generator:
        if self.generator is None:  # torch: one seed from the global generator per epoch
            return np.random.default_rng(draw_seed(None))
        return numpy_rng(self.generator)

    def _index_array(self) -> np.ndarray:
        n, k = len(self.data_source), self.num_samples
        rng = self._rng()
        if self.replacement:
            return rng.integers(0, n, k)
        parts = [rng.permutation(n) for _ in range(k // n)]
        parts.append(rng.permutation(n)[:k % n])
        return np.concatenate(parts)

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(_ArraySampler):
    """The given `indices`, in a random order each epoch.

    >>> sorted(SubsetRandomSampler([7, 3, 9]))
    [3, 7, 9]
    """

    indices: Sequence[int]

    def __init__(self, indices: Sequence[int], generator=None) -> None:
        self.indices = indices
        self.generator = generator

    def _perm(self) -> np.ndarray:
        return numpy_rng(self.generator).permutation(len(self.indices))

    def _index_array(self) -> np.ndarray:
        return np.asarray(self.indices, dtype=np.int64)[self._perm()]

    def __iter__(self) -> Iterator[int]:
        for i in self._perm().tolist():
            yield self.indices[i]

    def __len__(self) -> int:
        return len(self.indices)


def _check_multinomial(w: np.ndarray) -> None:
    """torch.multinomial's errors for a weight vector it refuses."""
    if not (w >= 0).all():  # (NaN fails this too; torch reports it as "< 0")
        raise RuntimeError("invalid multinomial distribution (encountering probability "
                           "entry < 0)")
    if not np.isfinite(w).all():
        raise RuntimeError("invalid multinomial distribution (encountering probability "
                           "entry = infinity or NaN)")
    if not w.sum() > 0:
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")


class WeightedRandomSampler(_ArraySampler):
    """`num_samples` indices of ``range(len(weights))``, each drawn with probability
    proportional to its weight (torch's ``multinomial``: without replacement, an index is not
    drawn twice; zero-weight indices come only after every other one was drawn).

    >>> list(WeightedRandomSampler([0.0, 1.0, 0.0], 3))
    [1, 1, 1]
    """

    weights: object
    num_samples: int
    replacement: bool

    def __init__(self, weights: Sequence[float], num_samples: int, replacement: bool = True,
                 generator=None) -> None:
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got "
                             f"replacement={replacement}")
        from ...factories import as_tensor
        w = as_tensor(weights, dtype=np.float64)
        if len(w.shape) != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape "
                             f"{tuple(w.shape)}")
        self.weights = w
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def _index_array(self) -> np.ndarray:
        w = np.asarray(self.weights._data, dtype=np.float64)
        _check_multinomial(w)
        rng = numpy_rng(self.generator)
        if self.replacement:
            return rng.choice(len(w), size=self.num_samples, p=w / w.sum())
        if self.num_samples > len(w):
            raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                               "replacement")
        # exponential races: the smallest keys win; a weight 0 has key inf, so it is drawn
        # only after every positive weight (torch's CPU order too)
        with np.errstate(divide="ignore"):
            keys = rng.exponential(size=len(w)) / w
        return np.argsort(keys, kind="stable")[:self.num_samples]

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler[list]):
    """Groups the indices of `sampler` into lists of `batch_size` (the last one shorter, or
    dropped with ``drop_last``).

    >>> list(BatchSampler(SequentialSampler(range(7)), batch_size=3, drop_last=False))
    [[0, 1, 2], [3, 4, 5], [6]]
    >>> list(BatchSampler(SequentialSampler(range(7)), batch_size=3, drop_last=True))
    [[0, 1, 2], [3, 4, 5]]
    """

    def __init__(self, sampler: Union[Sampler[int], Iterable[int]], batch_size: int,
                 drop_last: bool) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got "
                             f"drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list]:
        if index_array_of(self.sampler) is not None:
            for idx in _array_batches(self):
                yield idx.tolist()
            return
        sampler_iter = iter(self.sampler)
        if self.drop_last:
            for batch in zip(*[sampler_iter] * self.batch_size):
                yield [*batch]
        else:
            batch = [*itertools.islice(sampler_iter, self.batch_size)]
            while batch:
                yield batch
                batch = [*itertools.islice(sampler_iter, self.batch_size)]

    def __len__(self) -> int:
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return (len(self.sampler) + self.batch_size - 1) // self.batch_size


# the samplers whose __iter__ yields exactly their `_index_array` (a subclass that changes
# __iter__ is iterated as it says)
_ARRAY_ITERS = {_ArraySampler.__iter__, SequentialSampler.__iter__, RandomSampler.__iter__,
                SubsetRandomSampler.__iter__, WeightedRandomSampler.__iter__}


def index_array_of(sampler):
    """`sampler`'s `_index_array` method when iterating it yields exactly that array's
    values (tapegrad's own samplers), else None."""
    if isinstance(sampler, _ArraySampler) and type(sampler).__iter__ in _ARRAY_ITERS:
        return sampler._index_array
    return None


def _array_batches(batch_sampler: BatchSampler) -> Iterator[np.ndarray]:
    """The batches of a `BatchSampler` over an array sampler, as index arrays (the epoch's
    order is drawn once, when the first batch is asked for, as torch's samplers draw)."""
    idx = batch_sampler.sampler._index_array()
    bs = batch_sampler.batch_size
    stop = len(idx) - len(idx) % bs if batch_sampler.drop_last else len(idx)
    for i in range(0, stop, bs):
        yield idx[i:i + bs]


def array_batches(batch_sampler) -> Optional[Iterator[np.ndarray]]:
    """The batches of `batch_sampler` as numpy index arrays when it is a plain `BatchSampler`
    over one of tapegrad's array samplers (the same indices, in the same order, as iterating
    it), else None. A generator: nothing is drawn before the first batch."""
    if (not isinstance(batch_sampler, BatchSampler)
            or type(batch_sampler).__iter__ is not BatchSampler.__iter__
            or index_array_of(batch_sampler.sampler) is None):
        return None
    return _array_batches(batch_sampler)
