"""Record torch's observations of the `api_extras` cases (run with an interpreter that has torch):

    /path/to/python-with-torch -m tests.torch_ref.record_api_extras

writes tests/data/torch_api_extras.json, which tests/test_api_extras.py compares tapegrad with.
"""
from __future__ import annotations

import json
import pathlib

from . import api_extras

DATA = pathlib.Path(__file__).resolve().parents[1] / "data" / "torch_api_extras.json"


def record() -> pathlib.Path:
    import torch
    torch.set_default_dtype(torch.float32)
    obs = {cid: api_extras.run(torch, *args) for cid, args in api_extras.cases()}
    meta = {"torch": torch.__version__, "cases": len(obs)}
    DATA.write_text(json.dumps({"meta": meta, "observations": obs}, indent=0, sort_keys=True))
    return DATA


if __name__ == "__main__":
    print("wrote", record())
