"""Shared memory and version counters: torch's model of views and in-place changes.

Tensors that share memory (a base, its views, its ``detach()`` aliases) share one `Version`:
torch's version counter (``t._version``), plus what a change to the memory must reach.

* ``saved``: every tape slot that holds this memory's values -- the slot a non-leaf was recorded
  into when its ``_data`` *is* that arena memory ("own"), or a copy taken when a view was
  recorded or a leaf entered a tape ("snapshot"). When the memory is written, each such slot is
  marked on its tape (`Tape.modified`): entries recorded before that point that read the slot's
  values make backward raise torch's "modified by an inplace operation" error, exactly where torch
  would (its saved tensors carry the version they were saved at). A snapshot is stale after the
  change and is dropped; an own slot keeps reading the current memory and stays listed.
* ``members``: weak references to the tensors of this memory that are bound to a tape slot, so
  that after a change each gets a slot holding its new value (see `tapegrad.ops.inplace`).
* ``shared``: the memory is reachable from more than one tensor, or from numpy: an in-place op
  must write it (rather than give the tensor new memory).

This module knows tapes only as objects with ``ref()``, ``into``/``shift`` (merges), ``freed``
and ``modified``; it never imports `Tensor`.
"""
from __future__ import annotations

import weakref


class Version:
    """The version counter and alias registry of one block of memory (see module docstring)."""

    __slots__ = ("v", "saved", "stale", "members", "shared", "sk", "link", "_prune_at")

    def __init__(self, sk: bool = False, link: "Version" = None):
        self.v = 0
        self.link = link         # ``.data``: the counter of the memory's tensor, which a change
        #                          through this alias leaves alone (torch does not track it)
        self.saved: list = []    # (tape weakref, slot, inputs key or None, own, version, view)
        self.stale: list = []    # (tape weakref, slot): copies already marked changed, whose
        #                          reported version later changes advance (torch's message)
        self.members: list = []  # weakrefs to tensors bound to a tape
        self.shared = False
        self.sk = sk             # unbind() gave 0-d elements kept as Python floats (ops.inplace)
        self._prune_at = 16

    def save(self, tape, slot: int, key=None, own: bool = False, view: bool = False) -> None:
        """Slot `slot` of `tape` holds this memory's current values (`key`: the tape's input
        cache entry for it, dropped when the memory changes; `view`: a view's slot)."""
        self.saved.append((tape.ref(), slot, key, own, self.v, view))
        if len(self.saved) > self._prune_at:  # tapes that are gone or freed: a leaf used in
            self.saved = [e for e in self.saved if _live(e[0]) is not None]  # every step
            self._prune_at = 2 * len(self.saved) + 16

    def add_member(self, t) -> None:
        self.members.append(weakref.ref(t))
        if len(self.members) > 16 and len(self.members) & (len(self.members) - 1) == 0:
            self.members = [r for r in self.members if r() is not None]

    def live_members(self) -> list:
        out, seen = [], set()
        for r in self.members:
            t = r()
            if t is not None and id(t) not in seen:
                seen.add(id(t))
                out.append(t)
        self.members = [weakref.ref(t) for t in out]
        return out

    def changed(self, marks: dict = None) -> None:
        """The memory was written: a new version; every slot that held the old values is marked
        at its tape's current end (or at ``marks[tape]``, where an in-place op's own entries
        begin)."""
        self.v += 1
        stale = []
        for ref, slot in self.stale:
            tape, slot = _resolve(ref, slot)
            if tape is not None:
                tape.restamp(slot, self.v)
                stale.append((tape.ref(), slot))
        keep = []
        for ref, slot, key, own, ver, view in self.saved:
            tape, slot = _resolve(ref, slot)
            if tape is None:
                continue
            tape.modified(slot, ver, self.v, marks.get(tape, tape.n) if marks else tape.n, key,
                          view)
            if own:
                keep.append((tape.ref(), slot, key, own, ver, view))
            else:
                stale.append((tape.ref(), slot))
        self.saved, self.stale = keep, stale

    def forget(self) -> None:
        """The memory was written through ``.data``, which torch's version checks do not see:
        no new version, no error at backward; only the tapes' copies of a leaf's old values are
        no longer handed to later uses."""
        for ref, slot, key, own, ver, view in self.saved:
            tape, slot = _resolve(ref, slot)
            if tape is not None and key is not None:
                tape.modified(slot, ver, None, 0, key)


def _live(ref):
    tape = ref()
    while tape is not None and tape.into is not None:
        tape = tape.into
    return None if tape is None or tape.freed else tape


def _resolve(ref, slot: int) -> tuple:
    """(live tape, slot) after merges, or (None, slot) when the tape is gone or freed."""
    tape = ref()
    while tape is not None and tape.into is not None:
        slot += tape.shift
        tape = tape.into
    if tape is None or tape.freed:
        return None, slot
    return tape, slot


def version_of(t) -> Version:
    """`t`'s version counter, made on first need (a bound non-leaf's slot is its first entry:
    its own memory, or for a view or a fast scalar a copy)."""
    vc = t._vc
    if vc is None:
        vc = t._vc = Version(t._sk)
        tape = t._tape
        if tape is not None:
            while tape.into is not None:  # (as `engine.tape.resolve`)
                t._slot += tape.shift
                tape = tape.into
            t._tape = tape
            if not tape.freed:
                vc.save(tape, t._slot, own=not t._snap, view=getattr(t, "_bs", None) is not None)
                vc.add_member(t)
    return vc


def attach_view(base, view, multi=None):
    """`view`, whose ``_data`` is a numpy view of `base`'s, joins base's memory: the same
    version counter and root (``_base``); when it is bound to a tape (a recorded view: its slot
    is a copy), that slot is listed, and it is refreshed after changes. `multi`: torch's node name
    when it is one of several outputs (unbind/split/chunk), which torch forbids changing in
    place. Returns `view`."""
    from ._grad_mode import STATE
    vc = version_of(base)
    vc.shared = True
    root = getattr(base, "_bs", None)
    view._bs = base if root is None else root
    view._vc = vc
    if multi is not None:
        view._multi = multi
    if view._tape is not None:
        view._snap = True
        vc.save(view._tape, view._slot, view=True)
    elif not STATE.enabled:
        view._ngv = True  # torch: such a view must not be changed in place with grad mode on
        view._rg = base._rg
    vc.add_member(view)  # (one not bound yet may join a graph when its base does)
    tr = STATE.trace
    if tr is not None:
        if id(base) in tr.pure:  # a view of a constant is a constant
            tr.pure[id(view)] = (view, None)
        elif view._data.dtype.kind != "f":  # (of an integer argument: guarded by its values)
            from ._trace import derived
            derived(tr, view, (base,))
    return view


class Poisoned:
    """Stands in for the tape of a view that torch forbids using after its base was changed in
    place inside a graph (an output of unbind/split/chunk, or a view made under no_grad): every
    use that needs its history raises torch's error."""

    __slots__ = ("msg",)
    ok = False
    into = None

    def __init__(self, msg: str):
        self.msg = msg

    def __getattr__(self, name: str):
        raise RuntimeError(self.msg)


def mark_scalar_kids(t) -> None:
    """unbind() of `t` gave 0-d elements that keep their values as Python floats: an in-place
    change of t's memory could not reach them (`ops.inplace` refuses it)."""
    t._sk = True
    if t._vc is not None:
        t._vc.sk = True
