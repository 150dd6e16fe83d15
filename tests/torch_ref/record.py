"""Record torch's observations for the differential suites (run with an interpreter that has
torch; numba and tapegrad are not needed):

    TAPEGRAD_TORCH_PYTHON=/path/to/python make torch-ref
    /path/to/python -m tests.torch_ref.record [suite ...]
"""
from __future__ import annotations

import json
import pathlib
import sys

from . import edges, nn, refusals, scenarios, views

DATA = pathlib.Path(__file__).resolve().parents[1] / "data"
SUITES = {"views": views, "edges": edges, "refusals": refusals, "scenarios": scenarios, "nn": nn}


def record(name: str) -> pathlib.Path:
    import torch
    torch.set_default_dtype(torch.float32)
    suite = SUITES[name]
    obs = {cid: suite.run(torch, *args) for cid, args in suite.cases()}
    path = DATA / f"torch_{name}.json"
    meta = {"torch": torch.__version__, "cases": len(obs)}
    path.write_text(json.dumps({"meta": meta, "observations": obs}, indent=0, sort_keys=True))
    return path


if __name__ == "__main__":
    for name in sys.argv[1:] or list(SUITES):
        print("wrote", record(name))
