"""`DistributedSampler`: each of `num_replicas` processes loads its own share of a dataset.

tapegrad has no ``torch.distributed``: `num_replicas` and `rank` must be given (without them
torch's "Requires distributed package to be available" is raised). The shuffled order comes
from a `tapegrad.Generator` seeded with ``seed + epoch``, as torch's, so every replica agrees
on it (numpy's PCG64: a different order than torch's for the same seed).
"""
from __future__ import annotations

import math
from typing import Iterator, Optional

from ..._generator import Generator, numpy_rng
from .sampler import Sampler

__all__ = ["DistributedSampler"]


class DistributedSampler(Sampler):
    """The indices of replica `rank` out of `num_replicas`: every `num_replicas`-th index of
    the epoch's order (padded by repeating its start so that each replica gets as many, or
    trimmed with ``drop_last``). Call ``set_epoch(e)`` each epoch for a new shuffle.

    >>> [list(DistributedSampler(range(5), num_replicas=2, rank=r, shuffle=False))
    ...  for r in (0, 1)]
    [[0, 2, 4], [1, 3, 0]]
    """

    def __init__(self, dataset, num_replicas: Optional[int] = None, rank: Optional[int] = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None or rank is None:
            raise RuntimeError("Requires distributed package to be available")
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def _order(self) -> list:
        n = len(self.dataset)
        if not self.shuffle:
            return list(range(n))
        g = Generator().manual_seed(self.seed + self.epoch)
        return numpy_rng(g).permutation(n).tolist()

    def __iter__(self) -> Iterator[int]:
        indices = self._order()
        if not self.drop_last:
            pad = self.total_size - len(indices)
            if pad <= len(indices):
                indices += indices[:pad]
            else:
                indices += (indices * math.ceil(pad / len(indices)))[:pad]
        else:
            indices = indices[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use `epoch` in the next shuffle's seed (``seed + epoch``)."""
        self.epoch = epoch
