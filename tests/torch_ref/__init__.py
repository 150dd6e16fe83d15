"""Differential tests against torch's behaviour, recorded once from torch itself.

Each case is a small program written against a library module `lib` (torch or tapegrad) that
returns a JSON-able dict of what a user would observe: values, gradients, grad_fn names, version
counters, and errors (type and message). `record.py`, run by an interpreter that has torch,
writes the observations to tests/data/torch_<suite>.json; the tests run the same programs with
tapegrad and compare. So expected values come from torch, not from the code under test, and CI
needs no torch:

    TAPEGRAD_TORCH_PYTHON=/path/to/python-with-torch make torch-ref   # re-record
"""
from __future__ import annotations

import math
import re

_ADDR = re.compile(r" at 0x[0-9a-f]+")


def norm_msg(msg: str) -> str:
    """An error message in library-neutral form (torch's names -> tapegrad's)."""
    msg = _ADDR.sub("", msg)
    return msg.replace("torch.", "tapegrad.")


def jsonable(x):
    """Tensors -> {"dtype", "values"}; floats keep nan/inf as strings; containers recurse."""
    if hasattr(x, "detach") and hasattr(x, "tolist"):
        return {"dtype": str(x.dtype).split(".")[-1], "values": jsonable(x.detach().tolist())}
    if isinstance(x, float):
        if math.isnan(x):
            return "nan"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        return x
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, dict):
        return {k: jsonable(v) for k, v in x.items()}
    return x


def error_of(e: BaseException) -> dict:
    return {"error": type(e).__name__, "message": norm_msg(str(e))}


def observe(fn):
    """fn() -> value as JSON, or the error it raised as {"error", "message"}."""
    try:
        return jsonable(fn())
    except Exception as e:  # noqa: BLE001 -- the error is the observation
        return error_of(e)


def name_of(node) -> str | None:
    return None if node is None else type(node).__name__
