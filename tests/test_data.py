"""tapegrad.utils.data: datasets, samplers, DataLoader and collation.

The deterministic behaviour (batch contents and order, container types, dtypes, lengths, errors
and warnings, worker assignment) is compared with torch's recorded observations
(tests/torch_ref/data.py -> tests/data/torch_data.json). Seeded shuffling, which uses numpy's
PCG64 and so differs from torch's numbers, is checked for reproducibility and for torch's
structure of draws; the TensorDataset fast path is checked against the general path.
"""
from __future__ import annotations

import json
import math
import pathlib
import random

import numpy as np
import pytest

import tapegrad
import tapegrad.utils.data as tud
from tapegrad._generator import Generator, draw_seed, numpy_rng
from tapegrad.utils.data import (BatchSampler, DataLoader, DistributedSampler, RandomSampler,
                                 SequentialSampler, Subset, SubsetRandomSampler, TensorDataset,
                                 WeightedRandomSampler, default_collate, get_worker_info,
                                 random_split)
from tests.torch_ref import data as torch_cases

REFERENCE = json.loads((pathlib.Path(__file__).parent / "data" / "torch_data.json")
                       .read_text())["observations"]


# -- against torch's recorded observations ---------------------------------------------------

@pytest.mark.parametrize("cid", sorted(torch_cases.CASES))
def test_same_as_torch(cid):
    got = json.loads(json.dumps(torch_cases.run(tapegrad, cid)))
    assert got == REFERENCE[cid]


def test_every_case_was_recorded():
    assert sorted(torch_cases.CASES) == sorted(REFERENCE)


# -- helpers ---------------------------------------------------------------------------------

def _ds(n=60, width=3):
    x = tapegrad.arange(n * width, dtype=tapegrad.float32).reshape(n, width)
    return TensorDataset(x, tapegrad.arange(n), tapegrad.arange(n) % 2 == 0)


def _labels(loader) -> list:
    return [batch[1].tolist() for batch in loader]


def _general(batch):
    """default_collate under another name: the loader cannot take its fast path."""
    return default_collate(batch)


def _same_batches(a, b) -> None:
    a, b = list(a), list(b)
    assert len(a) == len(b)
    for ba, bb in zip(a, b):
        assert len(ba) == len(bb)
        for ta, tb in zip(ba, bb):
            assert ta.dtype == tb.dtype and ta.shape == tb.shape
            assert ta.tolist() == tb.tolist()


# -- seeded shuffling --------------------------------------------------------------------------

def test_shuffle_reproducible_with_manual_seed():
    loader = DataLoader(_ds(), batch_size=7, shuffle=True)
    tapegrad.manual_seed(5)
    first = _labels(loader)
    tapegrad.manual_seed(5)
    assert _labels(loader) == first
    assert sorted(v for b in first for v in b) == list(range(60))
    assert first != [list(range(i, min(i + 7, 60))) for i in range(0, 60, 7)]


def test_shuffle_epochs_differ_and_seeds_differ():
    loader = DataLoader(_ds(), batch_size=60, shuffle=True)
    tapegrad.manual_seed(1)
    e1, e2 = _labels(loader), _labels(loader)
    tapegrad.manual_seed(2)
    assert e1 != e2 and _labels(loader) != e1


def test_shuffle_reproducible_with_generator_and_independent_of_global():
    def epoch(seed):
        g = Generator().manual_seed(seed)
        tapegrad.manual_seed(random.randrange(1000))  # the global stream must not matter
        return _labels(DataLoader(_ds(), batch_size=8, shuffle=True, generator=g))
    assert epoch(3) == epoch(3) != epoch(4)


def test_shuffle_draws_as_torch_does_with_a_generator():
    # torch: the iterator draws a base seed from the loader's generator, then RandomSampler
    # permutes with that same generator
    g = Generator().manual_seed(11)
    got = [v for b in _labels(DataLoader(_ds(), batch_size=9, shuffle=True, generator=g))
           for v in b]
    rng = np.random.default_rng(11)
    rng.integers(0, 1 << 63)
    assert got == rng.permutation(60).tolist()


def test_shuffle_draws_as_torch_does_without_a_generator():
    # torch: base seed from the global generator, then the sampler's own seed from it, and the
    # permutation from a private generator seeded with that
    tapegrad.manual_seed(8)
    got = [v for b in _labels(DataLoader(_ds(), batch_size=9, shuffle=True)) for v in b]
    rng = np.random.default_rng(8)
    rng.integers(0, 1 << 63)
    sampler_seed = int(rng.integers(0, 1 << 63))
    assert got == np.random.default_rng(sampler_seed).permutation(60).tolist()
    assert numpy_rng(None).bit_generator.state == rng.bit_generator.state


def test_sequential_loader_also_draws_a_base_seed():
    tapegrad.manual_seed(0)
    list(DataLoader(_ds(), batch_size=10))
    after = tapegrad.rand(3).tolist()
    tapegrad.manual_seed(0)
    draw_seed(None)
    assert tapegrad.rand(3).tolist() == after


# -- the TensorDataset fast path -----------------------------------------------------------------

@pytest.mark.parametrize("kw", [dict(batch_size=7), dict(batch_size=7, drop_last=True),
                                dict(batch_size=60), dict(batch_size=1, shuffle=True),
                                dict(batch_size=13, shuffle=True, drop_last=True),
                                dict(batch_size=4, sampler=SubsetRandomSampler([5, 1, 9, 3]))])
def test_fast_path_equals_general_path(kw):
    g1, g2 = Generator().manual_seed(2), Generator().manual_seed(2)
    if "sampler" in kw:
        kw["sampler"].generator = Generator().manual_seed(2)
        fast = list(DataLoader(_ds(), **kw))
        kw["sampler"].generator = Generator().manual_seed(2)
        slow = list(DataLoader(_ds(), collate_fn=_general, **kw))
    else:
        fast = list(DataLoader(_ds(), generator=g1, **kw))
        slow = list(DataLoader(_ds(), generator=g2, collate_fn=_general, **kw))
    _same_batches(fast, slow)


def test_fast_path_does_not_stack(monkeypatch):
    ds = _ds()
    expected = [list(map(lambda t: t.tolist(), b)) for b in DataLoader(ds, batch_size=16,
                                                                       collate_fn=_general)]

    def refuse(*a, **k):
        raise AssertionError("stack called")
    monkeypatch.setattr(tapegrad, "stack", refuse)
    got = [list(map(lambda t: t.tolist(), b)) for b in DataLoader(ds, batch_size=16)]
    assert got == expected
    with pytest.raises(AssertionError, match="stack called"):
        list(DataLoader(ds, batch_size=16, collate_fn=_general))


def test_fast_path_over_random_split_subsets():
    ds = _ds()
    parts = random_split(ds, [0.7, 0.3], generator=Generator().manual_seed(0))
    for part in parts:
        fast = list(DataLoader(part, batch_size=8))
        slow = list(DataLoader(part, batch_size=8, collate_fn=_general))
        _same_batches(fast, slow)
        assert [v for b in fast for v in b[1].tolist()] == list(part.indices)


def test_fast_path_batches_are_copies_and_see_inplace_changes():
    x = tapegrad.zeros(4, 2)
    ds = TensorDataset(x)
    (b,) = next(iter(DataLoader(ds, batch_size=2)))
    b.add_(5)
    assert x.tolist() == [[0.0, 0.0]] * 4
    x.add_(1)
    (b,) = next(iter(DataLoader(ds, batch_size=2)))
    assert b.tolist() == [[1.0, 1.0]] * 2


def test_tensor_requiring_grad_gives_recorded_batches():
    w = tapegrad.ones(4, 2, requires_grad=True)
    (b,) = next(iter(DataLoader(TensorDataset(w), batch_size=3)))
    assert b.requires_grad
    (b * tapegrad.tensor([[1.0, 2.0]])).sum().backward()
    assert w.grad.tolist() == [[1.0, 2.0]] * 3 + [[0.0, 0.0]]


def test_subclass_overriding_getitem_is_respected():
    class Doubled(TensorDataset):
        def __getitem__(self, i):
            return tuple(t[i] * 2 for t in self.tensors)
    ds = Doubled(tapegrad.arange(4))
    assert [b[0].tolist() for b in DataLoader(ds, batch_size=2)] == [[0, 2], [4, 6]]


# -- no batching, iterable datasets ------------------------------------------------------------

def test_batch_size_none_gives_samples_converted():
    class NumpyItems(tud.Dataset):
        def __getitem__(self, i):
            return {"x": np.full(2, i, np.float32), "i": i}

        def __len__(self):
            return 3
    out = list(DataLoader(NumpyItems(), batch_size=None))
    assert [type(o["x"]).__name__ for o in out] == ["Tensor"] * 3
    assert [o["x"].dtype for o in out] == [tapegrad.float32] * 3
    assert [o["i"] for o in out] == [0, 1, 2]


def test_iterable_dataset_order_and_no_sampler_draws():
    class Stream(tud.IterableDataset):
        def __iter__(self):
            return iter(range(5))
    loader = DataLoader(Stream(), batch_size=2)
    assert [b.tolist() for b in loader] == [[0, 1], [2, 3], [4]]
    assert [b.tolist() for b in loader] == [[0, 1], [2, 3], [4]]  # a new iterator each epoch


# -- emulated workers ---------------------------------------------------------------------------

class _Noisy(tud.Dataset):
    """Samples that draw from the global generator (augmentation) and report their worker."""

    def __getitem__(self, i):
        info = get_worker_info()
        return (int(numpy_rng(None).integers(0, 10**9)), -1 if info is None else info.id,
                tapegrad.rand(1).item())

    def __len__(self):
        return 6


def test_workers_have_their_own_random_streams():
    tapegrad.manual_seed(3)
    batches = list(DataLoader(_Noisy(), batch_size=2, num_workers=2))
    first = [b[0].tolist() for b in batches]
    after = tapegrad.rand(2).tolist()
    tapegrad.manual_seed(3)
    again = list(DataLoader(_Noisy(), batch_size=2, num_workers=2))
    assert first == [b[0].tolist() for b in again]
    assert [b[2].tolist() for b in batches] == [b[2].tolist() for b in again]
    # the main stream moved by the base seed only, not by the workers' draws
    tapegrad.manual_seed(3)
    draw_seed(None)
    assert tapegrad.rand(2).tolist() == after
    # worker 0 loads batches 0 and 2: its draws continue one stream
    tapegrad.manual_seed(3)
    base = draw_seed(None)
    for w in (0, 1):
        g = np.random.default_rng(base + w)
        ints = [int(g.integers(0, 10**9))]
        g.random(1, dtype=np.float32)  # (what rand(1) may draw; only the order matters)
        assert first[w][0] == ints[0] and [b[1].tolist() for b in batches][w] == [w, w]


def test_workers_restore_python_and_numpy_streams():
    random.seed(1)
    np.random.seed(1)
    state = (random.random(), np.random.random())
    random.seed(1)
    np.random.seed(1)

    class UsesRandom(tud.Dataset):
        def __getitem__(self, i):
            return random.random() + np.random.random()

        def __len__(self):
            return 4
    list(DataLoader(UsesRandom(), batch_size=1, num_workers=2))
    assert (random.random(), np.random.random()) == state


def test_worker_init_fn_runs_once_per_worker_with_info():
    seen = []

    def init(worker_id):
        info = get_worker_info()
        seen.append((worker_id, info.id, info.num_workers, info.seed - worker_id))
    g = Generator().manual_seed(4)
    list(DataLoader(_Noisy(), batch_size=2, num_workers=3, worker_init_fn=init, generator=g))
    base = draw_seed(Generator().manual_seed(4))
    assert seen == [(0, 0, 3, base), (1, 1, 3, base), (2, 2, 3, base)]
    assert get_worker_info() is None


def test_persistent_workers_init_once_and_fresh_streams_per_epoch():
    calls = []
    loader = DataLoader(_Noisy(), batch_size=3, num_workers=2, persistent_workers=True,
                        worker_init_fn=calls.append)
    e1 = [b[1].tolist() for b in loader]
    e2 = [b[1].tolist() for b in loader]
    assert calls == [0, 1] and e1 == e2 == [[0, 0, 0], [1, 1, 1]]
    assert iter(loader) is iter(loader)


def test_worker_error_restores_main_process_state():
    class Broken(tud.Dataset):
        def __getitem__(self, i):
            raise KeyError("bad sample")

        def __len__(self):
            return 2
    tapegrad.manual_seed(0)
    with pytest.raises(KeyError, match="bad sample"):
        list(DataLoader(Broken(), num_workers=2))
    assert get_worker_info() is None
    after = tapegrad.rand(1).tolist()
    tapegrad.manual_seed(0)
    draw_seed(None)
    assert tapegrad.rand(1).tolist() == after


# -- samplers ----------------------------------------------------------------------------------

def test_random_sampler_generator_reproducible():
    def order(seed, **kw):
        return list(RandomSampler(range(20), generator=Generator().manual_seed(seed), **kw))
    assert order(1) == order(1) != order(2)
    assert sorted(order(1)) == list(range(20))
    rep = order(1, replacement=True, num_samples=50)
    assert rep == order(1, replacement=True, num_samples=50) and len(rep) == 50
    assert all(0 <= i < 20 for i in rep)


def test_random_sampler_without_generator_follows_manual_seed():
    tapegrad.manual_seed(9)
    a = list(RandomSampler(range(30)))
    tapegrad.manual_seed(9)
    assert list(RandomSampler(range(30))) == a
    tapegrad.manual_seed(9)
    assert list(RandomSampler(range(30))) == np.random.default_rng(
        draw_seed(Generator().manual_seed(9))).permutation(30).tolist()


def test_batch_sampler_array_path_equals_iteration():
    for sampler in (RandomSampler(range(23), generator=Generator().manual_seed(0)),
                    SubsetRandomSampler([9, 2, 7, 4, 1], generator=Generator().manual_seed(0)),
                    WeightedRandomSampler([1.0, 2.0, 0.5], 11,
                                          generator=Generator().manual_seed(0))):
        flat = list(sampler)
        sampler.generator.manual_seed(0)
        batches = list(BatchSampler(sampler, 4, False))
        assert [i for b in batches for i in b] == flat
        assert all(type(i) is int for b in batches for i in b)


def test_sampler_subclass_iter_is_used():
    class Reversed(SequentialSampler):
        def __iter__(self):
            return iter(reversed(range(len(self.data_source))))
    assert list(BatchSampler(Reversed(range(5)), 2, False)) == [[4, 3], [2, 1], [0]]
    loader = DataLoader(_ds(5), batch_size=2, sampler=Reversed(range(5)))
    assert _labels(loader) == [[4, 3], [2, 1], [0]]


def test_weighted_sampler_frequencies():
    s = WeightedRandomSampler([0.0, 1.0, 3.0], 4000, generator=Generator().manual_seed(0))
    counts = np.bincount(list(s), minlength=3)
    assert counts[0] == 0 and abs(counts[2] / 4000 - 0.75) < 0.03
    s = WeightedRandomSampler([1.0, 0.0, 5.0, 2.0], 4, replacement=False,
                              generator=Generator().manual_seed(1))
    assert sorted(s) == [0, 1, 2, 3] and list(s)[-1] == 1


def test_distributed_sampler_shuffle_and_epochs():
    def shards(epoch):
        out = []
        for r in range(3):
            s = DistributedSampler(range(10), num_replicas=3, rank=r, seed=5)
            s.set_epoch(epoch)
            out.append(list(s))
        return out
    e0 = shards(0)
    assert len({i for s in e0 for i in s}) == 10 and all(len(s) == 4 for s in e0)
    assert shards(0) == e0 != shards(1)
    with pytest.raises(RuntimeError, match="Requires distributed package"):
        DistributedSampler(range(3))


# -- random_split and the generator helpers --------------------------------------------------

def test_random_split_reproducible_and_disjoint():
    def split(seed):
        return [list(s.indices) for s in random_split(range(50), [0.2, 0.3, 0.5],
                                                      generator=Generator().manual_seed(seed))]
    a = split(0)
    assert a == split(0) != split(1)
    assert [len(p) for p in a] == [10, 15, 25]
    assert sorted(i for p in a for i in p) == list(range(50))
    tapegrad.manual_seed(3)
    b = [list(s.indices) for s in random_split(range(50), [25, 25])]
    tapegrad.manual_seed(3)
    assert [list(s.indices) for s in random_split(range(50), [25, 25])] == b


def test_numpy_rng_helpers():
    tapegrad.manual_seed(1)
    assert numpy_rng(None) is numpy_rng()
    g = Generator()
    assert numpy_rng(g) is g._rng
    with pytest.raises(TypeError, match="generator must be a tapegrad.Generator, not int"):
        numpy_rng(3)
    seeds = {draw_seed(Generator().manual_seed(s)) for s in range(20)}
    assert len(seeds) == 20 and all(0 <= s < 1 << 63 for s in seeds)


def test_generator_state_round_trip_through_loader():
    g = Generator().manual_seed(2)
    state = g.get_state()
    a = _labels(DataLoader(_ds(), batch_size=60, shuffle=True, generator=g))
    g.set_state(state)
    assert _labels(DataLoader(_ds(), batch_size=60, shuffle=True, generator=g)) == a


def test_public_names_match_torch():
    torch_names = {"BatchSampler", "ChainDataset", "ConcatDataset", "DataLoader", "Dataset",
                   "DistributedSampler", "IterableDataset", "RandomSampler", "Sampler",
                   "SequentialSampler", "StackDataset", "Subset", "SubsetRandomSampler",
                   "TensorDataset", "WeightedRandomSampler", "default_collate",
                   "default_convert", "get_worker_info", "random_split"}
    assert torch_names <= set(tud.__all__)
    assert all(hasattr(tud, n) for n in tud.__all__)


def test_len_of_loader_over_weighted_sampler():
    loader = DataLoader(_ds(), batch_size=4, sampler=WeightedRandomSampler([1.0] * 60, 10))
    assert len(loader) == 3 and sum(len(b[1]) for b in loader) == 10
    assert math.ceil(10 / 4) == len(loader)
