"""Numba's on-disk cache, made to heal itself: a corrupted index or data file (a crash while it
was written, a full disk, a stray edit) makes Numba raise from ``pickle`` on every later run,
with nothing telling the user what to do. Here such a file counts as a cache miss: it is
removed, the function is compiled again (and cached again), and one warning says so.

This patches `numba.core.caching.IndexDataCacheFile` for the process (so users' own cached Numba
functions heal too); if that class ever changes shape, nothing is patched.
"""
from __future__ import annotations

import os
import warnings

from numba.core import caching

class KernelCacheWarning(UserWarning):
    """A fault of an on-disk kernel cache that tapegrad worked around (said once)."""


_FAULTS = (EOFError, ValueError, TypeError, AttributeError, ImportError, IndexError, KeyError,
           caching.pickle.UnpicklingError)
_warned: set = set()


def _healed(path: str, err: BaseException) -> None:
    try:
        os.remove(path)
    except OSError:
        pass
    if path not in _warned:
        _warned.add(path)
        warnings.warn(f"tapegrad: a corrupted Numba cache file was removed and its function "
                      f"compiled again ({path}: {type(err).__name__}: {err})",
                      KernelCacheWarning, stacklevel=2)


def _patch() -> None:
    cls = getattr(caching, "IndexDataCacheFile", None)
    if cls is None or getattr(cls, "_tapegrad_healing", False) or not all(
            hasattr(cls, n) for n in ("_load_index", "_load_data", "_data_path")):
        return
    load_index, load_data = cls._load_index, cls._load_data

    def _load_index(self):
        try:
            return load_index(self)
        except _FAULTS as err:
            _healed(self._index_path, err)
            return {}

    def _load_data(self, name):
        try:
            return load_data(self, name)
        except _FAULTS as err:
            _healed(self._data_path(name), err)
            raise OSError("corrupted cache data") from err  # (load() treats it as missing)

    cls._load_index, cls._load_data, cls._tapegrad_healing = _load_index, _load_data, True


_patch()
