"""numpy's floating-point warnings ("overflow encountered in exp") from tapegrad's own
computations never reach the user: inf and nan are the answer, and torch says nothing. Their
own numpy calls keep warning as before.

A warnings filter for tapegrad's modules does it. Code that swaps the filter list
(``warnings.catch_warnings()``, as pytest does around every test) drops it, so `ensure` puts it
back when the list is not the one it last saw: on every new tape and every unrecorded op
(recorded ops run on a tape made in the same context).
"""
from __future__ import annotations

import warnings

_MODULE = r"tapegrad(\.|$)"
_SEEN = [None]  # the filter list the filter was last put into


def ensure() -> None:
    if warnings.filters is not _SEEN[0]:
        warnings.filterwarnings("ignore", category=RuntimeWarning, module=_MODULE)
        _SEEN[0] = warnings.filters
