"""`Generator`: torch's random-number generator object, over a numpy PCG64 generator.

``tapegrad.Generator().manual_seed(42)`` gives a private stream that `randn`, `rand`, `randint`,
`DataLoader`, `RandomSampler` and `random_split` accept as ``generator=``, independent of the
global one that `tapegrad.manual_seed` seeds. The numbers are numpy's PCG64 stream, not torch's
Mersenne Twister: the same seed gives different numbers than in torch (but always the same ones
in tapegrad).
"""
from __future__ import annotations

import secrets

import numpy as np

_DEFAULT_SEED = 67280421310721  # torch's seed of a new Generator (torch.Generator().initial_seed())
_MASK64 = (1 << 64) - 1


def _seed_value(seed) -> int:
    """`seed` as torch takes it: any int64 or uint64 (a negative seed wraps to uint64)."""
    if isinstance(seed, np.integer):
        seed = int(seed)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise RuntimeError(f"manual_seed expected a long, but got {type(seed).__name__}")
    if not -(1 << 63) <= seed <= _MASK64:
        raise ValueError("Overflow when unpacking long long")
    return seed & _MASK64


def _int64(u: int) -> int:
    """A uint64 as the int64 with the same bits."""
    return u - (1 << 64) if u >= 1 << 63 else u


class Generator:
    """A random-number generator (torch's ``torch.Generator``; the CPU only).

    A new generator starts from torch's fixed default seed, so it is reproducible without
    `manual_seed`. `manual_seed` returns the generator, for torch's idiom:

    >>> import tapegrad as tg
    >>> a = tg.randn(3, generator=tg.Generator().manual_seed(0))
    >>> b = tg.randn(3, generator=tg.Generator().manual_seed(0))
    >>> bool((a == b).all())
    True
    >>> g = tg.Generator(); s = g.get_state(); x = tg.rand(2, generator=g)
    >>> bool((tg.rand(2, generator=g.set_state(s)) == x).all())
    True
    """

    def __init__(self, device="cpu"):
        from ._device import CPU, check_device
        check_device(device)
        self.device = CPU
        self.manual_seed(_DEFAULT_SEED)

    def manual_seed(self, seed: int) -> "Generator":
        """Restart the stream from `seed`; returns this generator."""
        self._seed = _seed_value(seed)
        self._rng = np.random.default_rng(self._seed)
        return self

    def seed(self) -> int:
        """Seed from the operating system's entropy; returns the seed used."""
        s = secrets.randbits(63)
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        """The seed this generator was last seeded with."""
        return self._seed

    def get_state(self):
        """The stream's state as an int64 tensor (give it to `set_state` to resume from here).

        torch's state is a uint8 tensor of its Mersenne Twister; this one holds numpy's PCG64
        state (128-bit state and increment as four int64 halves, the buffered 32-bit draw, and
        the seed), so states do not transfer between the two libraries."""
        from .factories import tensor
        st = self._rng.bit_generator.state
        s, inc = st["state"]["state"], st["state"]["inc"]
        words = [s >> 64, s & _MASK64, inc >> 64, inc & _MASK64, st["has_uint32"],
                 st["uinteger"], self._seed]
        return tensor([_int64(w) for w in words], dtype=np.int64)

    def set_state(self, new_state) -> "Generator":
        """Resume from a state that `get_state` returned; returns this generator."""
        from .tensor import Tensor
        if (not isinstance(new_state, Tensor) or new_state.dtype.name != "int64"
                or tuple(new_state.shape) != (7,)):
            raise TypeError("RNG state must be a tapegrad int64 tensor of 7 values, as "
                            "Generator.get_state() returns")
        w = [v & _MASK64 for v in new_state.tolist()]
        state = {"bit_generator": "PCG64",
                 "state": {"state": (w[0] << 64) | w[1], "inc": (w[2] << 64) | w[3]},
                 "has_uint32": w[4], "uinteger": w[5]}
        rng = np.random.default_rng()
        rng.bit_generator.state = state
        self._rng, self._seed = rng, w[6]
        return self

    def __repr__(self) -> str:
        return f"<tapegrad.Generator object at {id(self):#x}>"


def numpy_rng(generator=None) -> np.random.Generator:
    """The numpy generator behind `generator`: a `Generator`, a numpy generator (what
    `tapegrad.manual_seed` returns), or None for the global one (looked up now, because
    `tapegrad.manual_seed` replaces it).

    >>> numpy_rng(Generator()) is not numpy_rng(None)
    True
    """
    if generator is None:
        from .factories import _RNG
        return _RNG[0]
    if isinstance(generator, Generator):
        return generator._rng
    if isinstance(generator, np.random.Generator):
        return generator
    raise TypeError(f"generator must be a tapegrad.Generator, not {type(generator).__name__}")


def draw_seed(generator=None) -> int:
    """A fresh seed in [0, 2**63) from `generator` (None: the global one): what torch's
    ``torch.empty((), dtype=torch.int64).random_(generator=g).item()`` is used for, e.g. the
    per-epoch seed of a `RandomSampler` without a generator.

    >>> draw_seed(Generator().manual_seed(3)) == draw_seed(Generator().manual_seed(3))
    True
    """
    return int(numpy_rng(generator).integers(0, 1 << 63))
