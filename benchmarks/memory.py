"""Workload "memory": resident memory over 1,000 steps of the MLP training step (workload "mlp",
float64, batch 64); and the peak of one large float32 graph (``x`` of N elements requiring grad,
``(x.sin() * 2).sum()``, backward), where every copy of a value shows.

Each system runs in a fresh subprocess (``python -m benchmarks.memory SYSTEM STEPS``), so the
peak is the workload's and not the benchmark driver's: it prints the RSS after the first step,
after 100 steps and at the end, and the process's peak RSS (``VmHWM``, imports included).
"Flat" means the RSS after the last step is no more than after 100 (allowing 5 MB for the
allocators' noise). torch runs in the torch interpreter (see `harness`). No Numba import here.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

from benchmarks.harness import ROOT, Config, Row, Timing, torch_python

DTYPE, BATCH = "float64", 64
SLACK_MB = 5.0


def _status_mb(field: str) -> float:
    """A field of /proc/self/status in MB (VmRSS: now; VmHWM: the peak since exec — unlike
    ru_maxrss, which a child inherits from the process that forked it)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def rss_mb() -> float:
    return _status_mb("VmRSS")


def child(system: str, steps: int) -> dict:
    """Run `steps` training steps of `system` here; the RSS figures in MB."""
    from benchmarks import mlp
    if system == "tapegrad":
        step = mlp.tapegrad_step(DTYPE, BATCH)
    elif system == "torch":
        step = mlp.torch_step(DTYPE, BATCH)
    else:
        step = mlp.NumpyMLP(DTYPE, BATCH).step
    out = {}
    for i in range(1, steps + 1):
        step()
        if i in (1, 100, steps):
            out[f"rss_{i}"] = rss_mb()
    out["peak"] = _status_mb("VmHWM")
    return out


def large(system: str, n: int) -> dict:
    """One backward of a graph over `n` float32 values; the peak RSS (MB) with and without it."""
    lib = __import__(system)
    x = lib.randn(n, requires_grad=True)
    before = _status_mb("VmHWM")
    (x.sin() * 2).sum().backward()
    return {"peak": _status_mb("VmHWM"), "before": before, "grad": float(x.grad[0])}


def measure_rss(python: str, system: str, steps: int, what: str = "steps") -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
    proc = subprocess.run([python, "-m", "benchmarks.memory", system, str(steps), what],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"memory run of {system} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(cfg: Config, steps: int = 1000) -> list:
    """Workload "memory": peak RSS (the table's value, in MB) and the RSS trend per system."""
    name = f"memory: MLP step (f64, batch {BATCH}) × {steps:,}"
    res = {"numpy": measure_rss(sys.executable, "numpy", steps),
           "tapegrad": measure_rss(sys.executable, "tapegrad", steps)}
    tpy = torch_python()
    if tpy is not None:
        res["torch"] = measure_rss(tpy, "torch", steps)

    def peak(system: str):
        return Timing([res[system]["peak"]]) if system in res else None

    def r(a: str, b: str):
        return None if b not in res else res[a]["peak"] / res[b]["peak"]

    def trend(system: str) -> tuple:
        m = res[system]
        growth = m[f"rss_{steps}"] - m["rss_100"]
        return growth, (f"RSS after step 1 / 100 / {steps:,}: {m['rss_1']:,.1f} / "
                        f"{m['rss_100']:,.1f} / {m[f'rss_{steps}']:,.1f} MB "
                        f"(growth after step 100: {growth:+.1f} MB)")

    growth, note = trend("tapegrad")
    rows = [Row(name, "tapegrad (peak RSS)", peak("tapegrad"), r("tapegrad", "numpy"),
                r("tapegrad", "torch"), f"flat: ≤ +{SLACK_MB:.0f} MB after step 100",
                growth <= SLACK_MB, [note], unit="MB")]
    for system, label in (("torch", "torch eager (peak RSS)"),
                          ("numpy", "numpy by hand (reference, peak RSS)")):
        if system in res:
            rows.append(Row(name, label, peak(system), r(system, "numpy"), r(system, "torch"),
                            notes=[trend(system)[1]], unit="MB"))
    return rows + large_rows(cfg)


def large_rows(cfg: Config) -> list:
    """The large float32 graph: tapegrad's peak against torch's, goal <= 1.5x."""
    n = 10_000_000 if cfg.quick else 50_000_000
    name = f"memory: (x.sin() * 2).sum() backward, x of {n:,} float32"
    res = {"tapegrad": measure_rss(sys.executable, "tapegrad", n, "large")}
    tpy = torch_python()
    if tpy is not None:
        res["torch"] = measure_rss(tpy, "torch", n, "large")
    ratio = res["tapegrad"]["peak"] / res["torch"]["peak"] if "torch" in res else None
    rows = [Row(name, "tapegrad (peak RSS)", Timing([res["tapegrad"]["peak"]]), None, ratio,
                "≤ 1.5× torch", None if ratio is None else ratio <= 1.5,
                ["float32 values and adjoints; values no adjoint reads are freed before the "
                 "backward's buffers are made"],
                unit="MB")]
    if "torch" in res:
        rows.append(Row(name, "torch eager (peak RSS)", Timing([res["torch"]["peak"]]), None,
                        1.0, unit="MB"))
    return rows


if __name__ == "__main__":
    fn = large if sys.argv[3:] == ["large"] else child
    print(json.dumps(fn(sys.argv[1], int(sys.argv[2]))))
