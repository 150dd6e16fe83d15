"""``torch.utils.data`` programs (datasets, samplers, DataLoader, collation) whose outcome is
deterministic: batch contents and order, container types, dtypes, lengths, errors and warnings.
Each case is ``fn(lib)`` for lib = torch or tapegrad (``lib.utils.data`` must be importable).

Record torch's observations (into tests/data/torch_data.json) with an interpreter that has
torch:

    /path/to/python -m tests.torch_ref.data

The worker cases start real worker processes in torch (fork); tapegrad emulates them.
"""
from __future__ import annotations

import collections
import json
import math
import pathlib
import warnings

import numpy as np

from . import error_of, norm_msg

DATA = pathlib.Path(__file__).resolve().parents[1] / "data" / "torch_data.json"
Point = collections.namedtuple("Point", ["x", "label"])


def describe(x):
    """A JSON form of `x` that keeps what a user can tell apart: container and number types,
    tensor dtypes, shapes and values."""
    name = type(x).__name__
    if hasattr(x, "dtype") and hasattr(x, "tolist") and not isinstance(x, np.ndarray) \
            and not isinstance(x, np.generic):
        return {"tensor": str(x.dtype).split(".")[-1], "class": name,
                "shape": list(x.shape), "values": _num(x.detach().tolist())}
    if isinstance(x, np.ndarray):
        return {"ndarray": str(x.dtype), "values": _num(x.tolist())}
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return {"namedtuple": name, "fields": [describe(v) for v in x]}
    if isinstance(x, (list, tuple)):
        return {name: [describe(v) for v in x]}
    if isinstance(x, dict):
        return {name: [[describe(k), describe(v)] for k, v in x.items()]}
    if isinstance(x, (bool, int, float, np.generic)):
        return {name: _num(x.item() if isinstance(x, np.generic) else x)}
    if isinstance(x, bytes):
        return {"bytes": x.decode("latin-1")}
    return x


def _num(v):
    if isinstance(v, float) and not math.isfinite(v):
        return repr(v)
    if isinstance(v, list):
        return [_num(e) for e in v]
    return v


def _D(lib):
    return lib.utils.data


def _rows(lib, n=7, width=2):
    return lib.arange(n * width, dtype=lib.float32).reshape(n, width)


def _tds(lib, n=7):
    return _D(lib).TensorDataset(_rows(lib, n), lib.arange(n))


class Items:
    """A map-style dataset over a list (a plain class: torch's and tapegrad's DataLoader
    accept any object with __getitem__ and __len__)."""

    def __init__(self, items):
        self.items = items

    def __getitem__(self, i):
        return self.items[i]

    def __len__(self):
        return len(self.items)


def _stream_class(lib):
    class Stream(_D(lib).IterableDataset):
        """range(start, end), sharded over workers as in torch's documentation."""

        def __init__(self, start, end, shard=True, length=None):
            self.start, self.end, self.shard, self.length = start, end, shard, length

        def __iter__(self):
            info = _D(lib).get_worker_info()
            lo, hi = self.start, self.end
            if info is not None and self.shard:
                per = int(math.ceil((hi - lo) / float(info.num_workers)))
                lo = lo + info.id * per
                hi = min(lo + per, self.end)
            return iter(range(lo, hi))

        def __len__(self):
            if self.length is None:
                raise TypeError("no length")
            return self.length

        def __repr__(self):
            return "Stream"
    return Stream


def _batches(loader):
    return [b for b in loader]


def _which_worker(lib):
    class WhoLoads(_D(lib).Dataset):
        def __getitem__(self, i):
            info = _D(lib).get_worker_info()
            return (i, -1 if info is None else info.id)

        def __len__(self):
            return 7
    return WhoLoads()


def _worker_init_for(lib):
    def init(worker_id):
        info = _D(lib).get_worker_info()
        ds = info.dataset
        per = int(math.ceil((ds.end - ds.start) / float(info.num_workers)))
        start = ds.start + worker_id * per
        ds.start, ds.end = start, min(start + per, ds.end)
    return init


def _dl(lib, *args, **kw):
    return _D(lib).DataLoader(*args, **kw)


def _samples(lib):
    return [
        {"x": np.array([1.0, 2.0], dtype=np.float32), "n": i, "f": i / 2, "b": i % 2 == 0,
         "s": "abc"[i], "t": (lib.tensor([i, i + 1]), [np.int32(i), np.float64(i)]),
         "p": Point(np.float32(i), np.bool_(i > 0))}
        for i in range(3)]


CASES = {
    # -- DataLoader over map-style datasets: order, batching, lengths
    "sequential batches": lambda lib: _batches(_dl(lib, _tds(lib), batch_size=3)),
    "sequential drop_last": lambda lib: _batches(_dl(lib, _tds(lib), batch_size=3,
                                                     drop_last=True)),
    "len": lambda lib: [len(_dl(lib, _tds(lib), batch_size=b, drop_last=d))
                        for b in (1, 2, 3, 7, 8) for d in (False, True)],
    "batch_size 1 default": lambda lib: _batches(_dl(lib, _tds(lib, 3))),
    "batch_size None": lambda lib: _batches(_dl(lib, _tds(lib, 3), batch_size=None)),
    "batch_size None numpy": lambda lib: _batches(_dl(lib, Items(
        [np.arange(2), {"a": np.float32(1)}, (np.int64(3), "s")]), batch_size=None)),
    "shuffle covers each once": lambda lib: sorted(
        int(v) for _, ys in _dl(lib, _tds(lib), batch_size=3, shuffle=True) for v in ys),
    "shuffle batch sizes": lambda lib: [len(y) for _, y in _dl(lib, _tds(lib), batch_size=3,
                                                              shuffle=True)],
    "custom sampler": lambda lib: _batches(_dl(lib, _tds(lib), batch_size=2,
                                               sampler=[6, 0, 5, 1, 4])),
    "custom batch_sampler": lambda lib: _batches(_dl(lib, _tds(lib),
                                                     batch_sampler=[[3, 1], [0], [6, 5, 4]])),
    "len custom batch_sampler": lambda lib: len(_dl(lib, _tds(lib),
                                                    batch_sampler=[[3, 1], [0], [6, 5, 4]])),
    "batch_sampler over BatchSampler": lambda lib: _batches(_dl(lib, _tds(lib), batch_sampler=(
        _D(lib).BatchSampler(_D(lib).SequentialSampler(range(7)), 4, True)))),
    "sampler with batch_size None": lambda lib: _batches(_dl(lib, _tds(lib), batch_size=None,
                                                             sampler=[2, 0])),
    "custom collate_fn": lambda lib: _batches(_dl(lib, Items(list(range(5))), batch_size=2,
                                                  collate_fn=lambda b: sum(b))),
    "subset loader": lambda lib: _batches(_dl(lib, _D(lib).Subset(_tds(lib), [5, 2, 0]),
                                              batch_size=2)),
    "subset of subset loader": lambda lib: _batches(_dl(lib, _D(lib).Subset(
        _D(lib).Subset(_tds(lib), [6, 5, 4, 3]), [3, 0]), batch_size=2)),
    "concat loader": lambda lib: _batches(_dl(lib, _tds(lib, 2) + _tds(lib, 3), batch_size=2)),
    "stack dataset loader": lambda lib: _batches(_dl(lib, _D(lib).StackDataset(
        a=_tds(lib, 3), b=Items(["x", "y", "z"])), batch_size=2)),
    "1-d and 3-d tensors": lambda lib: _batches(_dl(lib, _D(lib).TensorDataset(
        lib.arange(4.0, dtype=lib.float64), lib.ones(4, 2, 1, dtype=lib.bool),
        lib.arange(8, dtype=lib.int32).reshape(4, 2)), batch_size=3)),
    "dict samples": lambda lib: _batches(_dl(lib, Items(_samples(lib)), batch_size=2)),
    "setattr after init": lambda lib: setattr(_dl(lib, _tds(lib)), "batch_size", 3),
    "other attributes": lambda lib: [(lambda d: [d.batch_size, d.drop_last, d.num_workers,
                                                 d.prefetch_factor, d.timeout,
                                                 type(d.sampler).__name__,
                                                 type(d.batch_sampler).__name__])(
        _dl(lib, _tds(lib), **kw)) for kw in ({}, {"batch_size": None}, {"shuffle": True},
                                               {"num_workers": 2})],
    "timeout without workers": lambda lib: _batches(_dl(lib, _tds(lib), timeout=1)),
    "pin_memory warns": lambda lib: len(_batches(_dl(lib, _tds(lib), pin_memory=True))),
    # -- argument checks
    "err batch_sampler and batch_size": lambda lib: _dl(lib, _tds(lib), batch_size=2,
                                                        batch_sampler=[[0]]),
    "err batch_sampler and shuffle": lambda lib: _dl(lib, _tds(lib), shuffle=True,
                                                     batch_sampler=[[0]]),
    "err batch_sampler and drop_last": lambda lib: _dl(lib, _tds(lib), drop_last=True,
                                                       batch_sampler=[[0]]),
    "err batch_sampler and sampler": lambda lib: _dl(lib, _tds(lib), sampler=[0],
                                                     batch_sampler=[[0]]),
    "err sampler and shuffle": lambda lib: _dl(lib, _tds(lib), sampler=[0], shuffle=True),
    "err batch_size None drop_last": lambda lib: _dl(lib, _tds(lib), batch_size=None,
                                                     drop_last=True),
    "err batch_size 0": lambda lib: _dl(lib, _tds(lib), batch_size=0),
    "err batch_size float": lambda lib: _dl(lib, _tds(lib), batch_size=2.0),
    "err drop_last int": lambda lib: _dl(lib, _tds(lib), drop_last=1),
    "err num_workers negative": lambda lib: _dl(lib, _tds(lib), num_workers=-1),
    "err timeout negative": lambda lib: _dl(lib, _tds(lib), timeout=-1),
    "err prefetch without workers": lambda lib: _dl(lib, _tds(lib), prefetch_factor=2),
    "err prefetch negative": lambda lib: _dl(lib, _tds(lib), num_workers=1,
                                             prefetch_factor=-1),
    "err persistent without workers": lambda lib: _dl(lib, _tds(lib),
                                                      persistent_workers=True),
    "err mp context without workers": lambda lib: _dl(lib, _tds(lib),
                                                      multiprocessing_context="fork"),
    "err mp context bad name": lambda lib: _dl(lib, _tds(lib), num_workers=1,
                                               multiprocessing_context="nope"),
    "err mp context bad type": lambda lib: _dl(lib, _tds(lib), num_workers=1,
                                               multiprocessing_context=3),
    "err iterable shuffle": lambda lib: _dl(lib, _stream_class(lib)(0, 3), shuffle=True),
    "err iterable sampler": lambda lib: _dl(lib, _stream_class(lib)(0, 3),
                                            sampler=_D(lib).SequentialSampler(range(3))),
    "err iterable batch_sampler": lambda lib: _dl(lib, _stream_class(lib)(0, 3),
                                                  batch_sampler=[[0]]),
    "iterable shuffle False ok": lambda lib: _batches(_dl(lib, _stream_class(lib)(0, 3),
                                                          shuffle=False)),
    # -- iterable datasets
    "iterable batches": lambda lib: _batches(_dl(lib, _stream_class(lib)(0, 7), batch_size=3)),
    "iterable drop_last": lambda lib: _batches(_dl(lib, _stream_class(lib)(0, 7), batch_size=3,
                                                   drop_last=True)),
    "iterable batch_size None": lambda lib: _batches(_dl(lib, _stream_class(lib)(0, 3),
                                                         batch_size=None)),
    "iterable len": lambda lib: [len(_dl(lib, _stream_class(lib)(0, 7, length=7), batch_size=b,
                                         drop_last=d)) for b in (2, 7) for d in (False, True)],
    "iterable len missing": lambda lib: len(_dl(lib, _stream_class(lib)(0, 7))),
    "iterable len too short warns": lambda lib: (lambda d: (len(d), _batches(d)))(
        _dl(lib, _stream_class(lib)(0, 5, length=2), batch_size=2)),
    "iterable len too short warns with workers": lambda lib: (lambda d: (len(d), _batches(d)))(
        _dl(lib, _stream_class(lib)(0, 5, length=2), batch_size=2, num_workers=2)),
    "subset bad index": lambda lib: _batches(_dl(lib, _D(lib).Subset(_tds(lib), [1, 9]),
                                                 batch_size=2)),
    "chain dataset": lambda lib: _batches(_dl(lib, _stream_class(lib)(0, 2)
                                              + _stream_class(lib)(10, 13), batch_size=2)),
    "chain dataset len": lambda lib: len(_D(lib).ChainDataset(
        [_stream_class(lib)(0, 2, length=2), _stream_class(lib)(0, 2, length=3)])),
    "chain dataset not iterable": lambda lib: list(_D(lib).ChainDataset([_tds(lib)])),
    # -- workers (torch: processes; tapegrad: emulated in the main process)
    "workers map-style who loads": lambda lib: _batches(_dl(lib, _which_worker(lib),
                                                            batch_size=2, num_workers=2)),
    "workers map-style 3 who loads": lambda lib: _batches(_dl(lib, _which_worker(lib),
                                                              batch_size=1, num_workers=3)),
    "workers map-style values": lambda lib: _batches(_dl(lib, _tds(lib), batch_size=2,
                                                         num_workers=2)),
    "workers iterable sharded": lambda lib: _batches(_dl(lib, _stream_class(lib)(3, 10),
                                                         batch_size=2, num_workers=2)),
    "workers iterable uneven": lambda lib: _batches(_dl(lib, _stream_class(lib)(0, 7),
                                                        batch_size=1, num_workers=3)),
    "workers iterable unsharded": lambda lib: _batches(_dl(lib, _stream_class(lib)(
        0, 3, shard=False), batch_size=2, num_workers=2)),
    "workers iterable drop_last": lambda lib: _batches(_dl(lib, _stream_class(lib)(0, 9),
                                                           batch_size=2, num_workers=2,
                                                           drop_last=True)),
    "workers iterable init_fn": lambda lib: _batches(_dl(lib, _stream_class(lib)(
        3, 10, shard=False), batch_size=2, num_workers=2, worker_init_fn=_worker_init_for(lib))),
    "workers persistent two epochs": lambda lib: [_batches(d) for d in [_dl(
        lib, _stream_class(lib)(0, 5), batch_size=2, num_workers=2,
        persistent_workers=True)] for _ in range(2)],
    "workers batch_size None": lambda lib: _batches(_dl(lib, _stream_class(lib)(0, 5),
                                                        batch_size=None, num_workers=2)),
    "main process has no worker info": lambda lib: _D(lib).get_worker_info(),
    # -- collation
    "collate nested": lambda lib: _D(lib).default_collate(_samples(lib)),
    "collate floats are float64": lambda lib: _D(lib).default_collate([0.5, 1.0, 2.0]),
    "collate ints are int64": lambda lib: _D(lib).default_collate([1, 2, 3]),
    "collate bools": lambda lib: _D(lib).default_collate([True, False]),
    "collate strings": lambda lib: _D(lib).default_collate(["a", "bc"]),
    "collate bytes": lambda lib: _D(lib).default_collate([b"a", b"bc"]),
    "collate numpy scalars": lambda lib: [_D(lib).default_collate(b) for b in (
        [np.float32(1), np.float32(2)], [np.float64(1)], [np.int64(3), np.int64(4)],
        [np.int32(3)], [np.bool_(True), np.bool_(False)])],
    "collate numpy arrays": lambda lib: [_D(lib).default_collate(b) for b in (
        [np.zeros((2, 1), np.float32), np.ones((2, 1), np.float32)],
        [np.arange(3), np.arange(3)], [np.array(True)], [np.float64([1.5])])],
    "collate tuples give lists": lambda lib: _D(lib).default_collate([(1, "a"), (2, "b")]),
    "collate lists keep lists": lambda lib: _D(lib).default_collate([[1, 2.0], [3, 4.0]]),
    "collate namedtuple": lambda lib: _D(lib).default_collate([Point(1.0, 0), Point(2.0, 1)]),
    "collate ordered dict": lambda lib: _D(lib).default_collate(
        [collections.OrderedDict(b=1, a=2.0)] * 2),
    "collate defaultdict": lambda lib: _D(lib).default_collate(
        [collections.defaultdict(int, a=1)] * 2),
    "collate tensors stacked": lambda lib: _D(lib).default_collate(
        [lib.ones(2, 3), lib.zeros(2, 3)]),
    "collate 0-d tensors": lambda lib: _D(lib).default_collate([lib.tensor(1.5), lib.tensor(2.)]),
    "collate tensor dtypes kept": lambda lib: [_D(lib).default_collate([lib.ones(1, dtype=d)])
                                               for d in (lib.float64, lib.int64, lib.int32,
                                                         lib.bool)],
    "collate requires_grad stacked": lambda lib: (lambda x: (lambda b: [
        b.requires_grad, type(b.grad_fn).__name__])(_D(lib).default_collate([x, x * 2])))(
        lib.ones(2, requires_grad=True)),
    "collate err object": lambda lib: _D(lib).default_collate([object(), object()]),
    "collate err None": lambda lib: _D(lib).default_collate([None, None]),
    "collate err nested object": lambda lib: _D(lib).default_collate([{"a": object()}] * 2),
    "collate err numpy str array": lambda lib: _D(lib).default_collate([np.array(["a"])]),
    "collate err numpy object array": lambda lib: _D(lib).default_collate(
        [np.array([None], dtype=object)]),
    "collate err uneven lists": lambda lib: _D(lib).default_collate([[1, 2], [3]]),
    "collate err uneven tensors": lambda lib: _D(lib).default_collate(
        [lib.ones(2), lib.ones(3)]),
    "collate err empty": lambda lib: _D(lib).default_collate([]),
    "convert nested": lambda lib: _D(lib).default_convert(
        {"a": np.arange(2), "b": [np.float32(1.5), (np.int64(2), "s")], "c": 3.0,
         "p": Point(np.float64(1), np.array(["x"])), "t": lib.ones(1)}),
    "convert tuple gives list": lambda lib: _D(lib).default_convert((np.int64(1), 2)),
    "convert string array kept": lambda lib: _D(lib).default_convert(np.array(["a", "b"])),
    # -- datasets
    "tensor dataset item": lambda lib: _tds(lib)[2],
    "tensor dataset slice": lambda lib: _tds(lib)[1:3],
    "tensor dataset size mismatch": lambda lib: _D(lib).TensorDataset(lib.ones(2), lib.ones(3)),
    "concat dataset": lambda lib: (lambda d: [len(d), d[0], d[4], d[-1], d.cumulative_sizes])(
        _D(lib).ConcatDataset([Items([1, 2]), Items([3]), Items([4, 5, 6])])),
    "concat negative out of range": lambda lib: _D(lib).ConcatDataset([Items([1, 2])])[-3],
    "concat empty": lambda lib: _D(lib).ConcatDataset([]),
    "concat iterable": lambda lib: _D(lib).ConcatDataset([_stream_class(lib)(0, 2)]),
    "dataset add": lambda lib: (lambda d: [type(d).__name__, len(d), d[3]])(
        _tds(lib, 2) + _tds(lib, 3)),
    "stack dataset tuple": lambda lib: _D(lib).StackDataset(Items([1, 2]), Items("ab"))[1],
    "stack dataset dict getitems": lambda lib: _D(lib).StackDataset(
        x=Items([1, 2, 3]), y=_D(lib).Subset(Items("abc"), [2, 1, 0])).__getitems__([0, 2]),
    "stack dataset mismatch": lambda lib: _D(lib).StackDataset(Items([1]), Items([1, 2])),
    "stack dataset both": lambda lib: _D(lib).StackDataset(Items([1]), y=Items([1])),
    "stack dataset none": lambda lib: _D(lib).StackDataset(),
    "subset": lambda lib: (lambda s: [len(s), s[0], s[[0, 1]], s.__getitems__([2, 1])])(
        _D(lib).Subset(_tds(lib), [4, 1, 6])),
    "subset override getitem only": lambda lib: type(
        "Sub", (_D(lib).Subset,), {"__getitem__": lambda self, i: 0})(Items([1]), [0]),
    "base dataset getitem": lambda lib: _D(lib).Dataset()[0],
    # -- random_split (lengths; the permutation itself differs between the libraries)
    "random_split lengths": lambda lib: [len(s) for s in _D(lib).random_split(range(10),
                                                                             [3, 7])],
    "random_split fractions": lambda lib: [[len(s) for s in _D(lib).random_split(range(n), f)]
                                           for n, f in ((10, [0.5, 0.3, 0.2]),
                                                        (11, [0.5, 0.3, 0.2]),
                                                        (7, [1 / 3, 1 / 3, 1 / 3]),
                                                        (5, [0.1, 0.1, 0.8]),
                                                        (3, [0.9, 0.05, 0.05]))],
    "random_split partition": lambda lib: sorted(i for s in _D(lib).random_split(
        range(9), [0.4, 0.6]) for i in s),
    "random_split zero warns": lambda lib: [len(s) for s in _D(lib).random_split(
        range(2), [0.1, 0.1, 0.8])],
    "random_split err sum": lambda lib: _D(lib).random_split(range(10), [3, 6]),
    "random_split err fractions sum": lambda lib: _D(lib).random_split(range(10), [0.5, 0.4]),
    "random_split err fraction range": lambda lib: _D(lib).random_split(range(10), [1.5, -0.5]),
    "random_split subsets": lambda lib: [type(s).__name__ for s in _D(lib).random_split(
        range(4), [2, 2])],
    # -- samplers
    "sequential sampler": lambda lib: [list(_D(lib).SequentialSampler(range(4))),
                                       len(_D(lib).SequentialSampler(range(4)))],
    "batch sampler": lambda lib: [list(_D(lib).BatchSampler(range(7), 3, d)) for d in
                                  (False, True)],
    "batch sampler len": lambda lib: [len(_D(lib).BatchSampler(range(n), 3, d))
                                      for n in (0, 5, 6) for d in (False, True)],
    "batch sampler err size": lambda lib: _D(lib).BatchSampler(range(3), 0, False),
    "batch sampler err bool size": lambda lib: _D(lib).BatchSampler(range(3), True, False),
    "batch sampler err drop_last": lambda lib: _D(lib).BatchSampler(range(3), 2, 0),
    "random sampler permutation": lambda lib: sorted(_D(lib).RandomSampler(range(6))),
    "random sampler num_samples": lambda lib: (lambda s: [len(s), len(list(s)),
                                                          sorted(set(s))])(
        _D(lib).RandomSampler(range(3), num_samples=7)),
    "random sampler repeats permutations": lambda lib: (lambda o: [sorted(o[:3]),
                                                                   sorted(o[3:6])])(
        list(_D(lib).RandomSampler(range(3), num_samples=7))),
    "random sampler replacement len": lambda lib: (lambda s: [len(s), len(list(s)),
                                                              all(0 <= i < 3 for i in s)])(
        _D(lib).RandomSampler(range(3), replacement=True, num_samples=70)),
    "random sampler err replacement": lambda lib: _D(lib).RandomSampler(range(3),
                                                                        replacement=1),
    "random sampler err num_samples": lambda lib: _D(lib).RandomSampler(range(3),
                                                                        num_samples=0),
    "random sampler err empty": lambda lib: _D(lib).RandomSampler(range(0)),
    "subset random sampler": lambda lib: [sorted(_D(lib).SubsetRandomSampler([7, 3, 9])),
                                          len(_D(lib).SubsetRandomSampler([7, 3, 9]))],
    "weighted sampler one weight": lambda lib: list(_D(lib).WeightedRandomSampler(
        [0.0, 1.0, 0.0], 3)),
    "weighted no replacement zero last": lambda lib: (lambda o: [o[0], sorted(o)])(list(
        _D(lib).WeightedRandomSampler([0.0, 1.0, 0.0], 3, replacement=False))),
    "weighted no replacement distinct": lambda lib: sorted(_D(lib).WeightedRandomSampler(
        [1.0, 2.0, 3.0, 4.0], 4, replacement=False)),
    "weighted weights tensor": lambda lib: _D(lib).WeightedRandomSampler([1, 2], 2).weights,
    "weighted err negative": lambda lib: list(_D(lib).WeightedRandomSampler([-1.0, 1.0], 2)),
    "weighted err zero": lambda lib: list(_D(lib).WeightedRandomSampler([0.0, 0.0], 2)),
    "weighted err inf": lambda lib: list(_D(lib).WeightedRandomSampler([math.inf, 1.0], 2)),
    "weighted err nan": lambda lib: list(_D(lib).WeightedRandomSampler([math.nan, 1.0], 2)),
    "weighted err empty": lambda lib: list(_D(lib).WeightedRandomSampler([], 2)),
    "weighted err too many": lambda lib: list(_D(lib).WeightedRandomSampler(
        [1.0, 1.0], 3, replacement=False)),
    "weighted err 2-d": lambda lib: _D(lib).WeightedRandomSampler([[1.0, 1.0]], 2),
    "weighted err num_samples": lambda lib: _D(lib).WeightedRandomSampler([1.0], 0),
    "weighted err replacement": lambda lib: _D(lib).WeightedRandomSampler([1.0], 1,
                                                                          replacement=1),
    "distributed no shuffle": lambda lib: [list(_D(lib).DistributedSampler(
        range(5), num_replicas=2, rank=r, shuffle=False, drop_last=d)) for d in (False, True)
        for r in (0, 1)],
    "distributed len": lambda lib: [len(_D(lib).DistributedSampler(
        range(n), num_replicas=3, rank=0, drop_last=d)) for n in (7, 9) for d in (False, True)],
    "distributed shuffle partition": lambda lib: sorted(i for r in range(3) for i in _D(lib)
                                                        .DistributedSampler(range(9), 3, r)),
    "distributed err rank": lambda lib: _D(lib).DistributedSampler(range(5), num_replicas=2,
                                                                   rank=2),
}


def run(lib, name: str) -> dict:
    """The case's value (described) or error, plus the warnings it raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = {"value": describe(CASES[name](lib))}
        except Exception as e:  # noqa: BLE001 -- the error is the observation
            out = error_of(e)
    out["warnings"] = [norm_msg(str(w.message)) for w in caught if not _machine_warning(w)]
    return out


def _machine_warning(w) -> bool:
    """Warnings that depend on the recording machine, not on the program: torch's "more workers
    than cores" (tapegrad starts no processes), deprecations."""
    return (issubclass(w.category, DeprecationWarning)
            or str(w.message).startswith("This DataLoader will create"))


def cases() -> list:
    return [(name, (name,)) for name in CASES]


def record() -> pathlib.Path:
    import torch
    import torch.utils.data  # noqa: F401
    torch.set_default_dtype(torch.float32)
    obs = {cid: run(torch, *args) for cid, args in cases()}
    meta = {"torch": torch.__version__, "cases": len(obs)}
    DATA.write_text(json.dumps({"meta": meta, "observations": obs}, indent=0, sort_keys=True))
    return DATA


if __name__ == "__main__":
    print("wrote", record())
