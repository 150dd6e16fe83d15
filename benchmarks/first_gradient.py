"""Workload "first gradient": wall time from a fresh ``python -c`` to the seed's first gradient.

Each run is a subprocess of the same interpreter (process start to exit). Warm: one untimed run
fills Numba's and tapegrad's on-disk caches, then the median of 3 runs. Cold: every run gets
fresh empty NUMBA_CACHE_DIR and TAPEGRAD_CACHE_DIR (Python's own bytecode cache stays warm).
The torch baseline runs the same script with ``import torch`` (see `harness` for where torch runs).
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from typing import Callable, Optional

from benchmarks.harness import ROOT, Config, Row, measure, peer, ratio, torch_python

SCRIPT = ("import tapegrad as torch; X=torch.ones(2,2,requires_grad=True); y=X+2; z=y*y*3; "
          "out=z.mean(); out.backward(); print(X.grad)")
TORCH_SCRIPT = SCRIPT.replace("import tapegrad as torch", "import torch")
EXPECTED = "4.5"
# a 1,000-op random scalar graph through tapegrad.compile: record, then the first replayed
# gradient; and the same graph's first gradient in eager mode
COMPILED_SCRIPT = ("from benchmarks.random_graph import compiled_step; s = compiled_step(1000); "
                   "s(); s(); print(4.5)")
EAGER_SCRIPT = ("from benchmarks.random_graph import tapegrad_step; s = tapegrad_step(1000); "
                "s(); print(4.5)")
JAX_SCRIPT = ("from benchmarks.random_graph import jax_step; s = jax_step(1000); s(); "
              "print(4.5)")


def launcher(python: str, script: str, cold: bool = False) -> Callable[[], str]:
    """A callable running `script` in a fresh `python` (with empty JIT caches if `cold`)."""
    def go() -> str:
        env = dict(os.environ)
        # as on a user's machine, Python keeps compiled bytecode (pip did that for torch): a
        # PYTHONDONTWRITEBYTECODE=1 environment would recompile tapegrad's sources every run
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        with tempfile.TemporaryDirectory(prefix="tapegrad-cold-") as tmp:
            if cold:
                env["NUMBA_CACHE_DIR"] = os.path.join(tmp, "numba")
                env["TAPEGRAD_CACHE_DIR"] = os.path.join(tmp, "tapegrad")
            proc = subprocess.run([python, "-c", script], cwd=ROOT, env=env,
                                  capture_output=True, text=True)
        if proc.returncode != 0 or EXPECTED not in proc.stdout:
            raise RuntimeError(f"first-gradient script failed ({python}):\n"
                               f"{proc.stdout}\n{proc.stderr[-2000:]}")
        return proc.stdout
    return go


def run(cfg: Config) -> list:
    """Warm and cold first gradient in tapegrad; torch's as the baseline when available."""
    py = sys.executable
    warm = measure(launcher(py, SCRIPT), 3, warmup=1)
    cold = measure(launcher(py, SCRIPT, cold=True), 2, warmup=0)
    tpy: Optional[str] = torch_python()
    th = None if tpy is None else measure(launcher(tpy, TORCH_SCRIPT), 3, warmup=1)
    name = "first gradient (seed example)"
    rows = [Row(name, "tapegrad warm cache", warm, None, ratio(warm, th), "≤ 0.7 s",
                warm.median <= 0.7),
            Row(name, "tapegrad cold cache", cold, ratio(cold, warm), ratio(cold, th), "≤ 5 s",
                cold.median <= 5.0, ["ratio to reference: cold / warm"])]
    if th is not None:
        rows.append(Row(name, "torch", th, None, 1.0))
    name = "first compiled gradient (1,000-op scalar graph: record + first replay)"
    eager = measure(launcher(py, EAGER_SCRIPT), 3, warmup=1)
    c_warm = measure(launcher(py, COMPILED_SCRIPT), 3, warmup=1)
    c_cold = measure(launcher(py, COMPILED_SCRIPT, cold=True), 2, warmup=0)
    rows += [Row(name, "tapegrad.compile warm cache", c_warm, ratio(c_warm, eager), None,
                 notes=["ratio to reference: against eager mode's first gradient, warm"]),
             Row(name, "tapegrad.compile cold cache", c_cold, ratio(c_cold, eager), None,
                 notes=["jax jit's compile of a 1k-op graph: 8 s here (DESIGN.md)"]),
             Row(name, "tapegrad eager, warm cache (reference)", eager, 1.0, None)]
    if peer("jax") is not None:
        jx = measure(launcher(py, JAX_SCRIPT), 2, warmup=1)
        rows.append(Row(name, "jax jit(grad), first call", jx, ratio(jx, eager), None,
                        notes=[f"tapegrad.compile cold / jax: {c_cold.median / jx.median:.2f}"]))
    return rows
