"""`tapegrad.utils.data`: torch's ``torch.utils.data`` -- datasets, samplers, `DataLoader`
and collation, under torch's names.

>>> import tapegrad as tg
>>> from tapegrad.utils.data import DataLoader, TensorDataset, random_split
>>> train, test = random_split(TensorDataset(tg.arange(8.)), [0.75, 0.25])
>>> [x.shape for (x,) in DataLoader(train, batch_size=4)]
[tapegrad.Size([4]), tapegrad.Size([2])]
"""
from ._utils.collate import default_collate, default_convert
from ._utils.worker import WorkerInfo, get_worker_info
from .dataloader import DataLoader, _DatasetKind
from .dataset import (ChainDataset, ConcatDataset, Dataset, IterableDataset, StackDataset,
                      Subset, TensorDataset, random_split)
from .distributed import DistributedSampler
from .sampler import (BatchSampler, RandomSampler, Sampler, SequentialSampler,
                      SubsetRandomSampler, WeightedRandomSampler)

__all__ = ["BatchSampler", "ChainDataset", "ConcatDataset", "DataLoader", "Dataset",
           "DistributedSampler", "IterableDataset", "RandomSampler", "Sampler",
           "SequentialSampler", "StackDataset", "Subset", "SubsetRandomSampler",
           "TensorDataset", "WeightedRandomSampler", "WorkerInfo", "_DatasetKind",
           "default_collate", "default_convert", "get_worker_info", "random_split"]
