"""Structures of arguments and results (pytrees): tuples, lists (namedtuples too) and dicts,
nested; anything else is a leaf. A structure ("spec") is ``("leaf",)``, ``(type, [specs])``
or, for a dict, ``(type, [specs], keys)``; `tapegrad.func` and `vmap` read their arguments
through these.

>>> leaves, spec = flatten({"a": 1, "b": (2, 3)})
>>> leaves, unflatten(spec, [x * 10 for x in leaves])
([1, 2, 3], {'a': 10, 'b': (20, 30)})
"""
from __future__ import annotations


def flatten(x) -> tuple:
    """(leaves, structure) of `x`."""
    if isinstance(x, (tuple, list, dict)):
        keys = list(x) if isinstance(x, dict) else None
        leaves, specs = [], []
        for v in (x.values() if keys is not None else x):
            lv, sp = flatten(v)
            leaves += lv
            specs.append(sp)
        return leaves, (type(x), specs) if keys is None else (type(x), specs, keys)
    return [x], ("leaf",)


def count(spec) -> int:
    """The number of leaves of a structure."""
    return 1 if spec[0] == "leaf" else sum(count(s) for s in spec[1])


def unflatten(spec, leaves: list):
    """The structure `spec` rebuilt with `leaves` (in `flatten`'s order)."""
    it = iter(leaves)

    def build(sp):
        if sp[0] == "leaf":
            return next(it)
        kids = [build(s) for s in sp[1]]
        if len(sp) == 3:
            return sp[0](zip(sp[2], kids))
        return sp[0](*kids) if hasattr(sp[0], "_fields") else sp[0](kids)
    return build(spec)


def spec_key(spec) -> tuple:
    """A hashable form of a structure (a cache key)."""
    if spec[0] == "leaf":
        return ("leaf",)
    return (spec[0], tuple(spec_key(s) for s in spec[1])) + (
        (tuple(spec[2]),) if len(spec) == 3 else ())


def leaf_range(spec, i: int) -> range:
    """The leaves of top-level item i of a tuple's structure."""
    start = sum(count(s) for s in spec[1][:i])
    return range(start, start + count(spec[1][i]))


def spec_str(spec) -> str:
    """torch's way of showing a structure in errors, roughly: ``tuple(*, dict(*, *))``."""
    if spec[0] == "leaf":
        return "*"
    return f"{spec[0].__name__}({', '.join(spec_str(s) for s in spec[1])})"
