"""Per-thread grad mode: `no_grad`, `enable_grad`, `set_grad_enabled`, `is_grad_enabled`."""
from __future__ import annotations

import functools
import threading


class _State(threading.local):
    """Per thread. A tape made in this thread holds `key` in its ``ok`` while it may be
    appended to, so one identity test (``tape.ok is STATE.ek``) asks at once whether the tape is
    live, whether it is this thread's, and whether grad mode is on (`ek`; `fk`: and the scalar
    fast path may record)."""

    enabled = True   # grad mode
    anomaly = False  # anomaly mode (`autograd.set_detect_anomaly`)
    fast = True      # enabled and not anomaly: the scalar fast path may record (`_scalar.py`)
    trace = None     # the `_trace.Trace` of a function being recorded for `tapegrad.compile`

    def __init__(self):
        self.key = self.ek = self.fk = object()


STATE = _State()


def set_modes(enabled: bool, anomaly: bool) -> None:
    """Set this thread's grad and anomaly modes (and the fast path's combined flags)."""
    STATE.enabled = enabled
    STATE.anomaly = anomaly
    STATE.fast = enabled and not anomaly
    STATE.ek = STATE.key if enabled else None
    STATE.fk = STATE.key if STATE.fast else None


def is_grad_enabled() -> bool:
    """True when operations in this thread are being recorded on a tape."""
    return STATE.enabled


class _GradMode:
    """Context manager and decorator that sets grad mode for this thread, restoring it on exit."""

    mode = True

    def __enter__(self):
        self._prev = STATE.enabled
        set_modes(self.mode, STATE.anomaly)

    def __exit__(self, *exc):
        set_modes(self._prev, STATE.anomaly)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)
        return wrapper


class no_grad(_GradMode):
    """Suspend recording: ops inside produce tensors without history.

    >>> import tapegrad as tg
    >>> x = tg.ones(2, requires_grad=True)
    >>> with tg.no_grad():
    ...     print((x * 2).requires_grad)
    False
    """

    mode = False


class enable_grad(_GradMode):
    """Re-enable recording inside a `no_grad` block (or as a decorator)."""

    mode = True


class set_grad_enabled(_GradMode):
    """`set_grad_enabled(False)` switches recording off for this thread; also a context manager.

    >>> import tapegrad as tg
    >>> with tg.set_grad_enabled(False):
    ...     tg.is_grad_enabled()
    False
    """

    def __init__(self, mode: bool):
        self._prev = STATE.enabled
        self.mode = bool(mode)
        set_modes(self.mode, STATE.anomaly)

    def __enter__(self):
        pass

    def __call__(self, fn):
        set_modes(self._prev, STATE.anomaly)  # used as a decorator: do not change the mode now
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)
        return wrapper
