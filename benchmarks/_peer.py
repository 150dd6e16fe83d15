"""Run one torch workload for `harness.measure_torch` in an interpreter that has torch.

Usage: ``python -m benchmarks._peer '{"factory": "mod:fn", "kwargs": {}, "repeats": 5,
"warmup": 1}'``; prints one JSON line ``{"samples": [...], "result": ...}``. Needs numpy and
torch only (not numba or tapegrad).
"""
from __future__ import annotations

import json
import sys

from benchmarks.harness import load, measure


def main(argv: list) -> None:
    job = json.loads(argv[1])
    t = measure(load(job["factory"])(**job["kwargs"]), job["repeats"], job["warmup"])
    result = t.result.tolist() if hasattr(t.result, "tolist") else t.result
    print(json.dumps({"samples": t.samples, "result": result}))


if __name__ == "__main__":
    main(sys.argv)
