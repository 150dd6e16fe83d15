"""Timing, the torch peer, and table output shared by all workloads.

Every figure is a ratio to a baseline measured in the same run; nothing here asserts wall-clock
limits. A workload is a function ``run(cfg: Config) -> list[Row]`` (see `benchmarks.run`).

torch baselines: if ``import torch`` works in the interpreter running the benchmark, torch
workloads run in-process. Otherwise, if the environment variable ``TAPEGRAD_TORCH_PYTHON`` names
an interpreter that has torch (e.g. ``TAPEGRAD_TORCH_PYTHON=/tmp/tv/bin/python``), they run there
in a subprocess (`benchmarks._peer`), so that interpreter needs numpy and torch but not numba or
tapegrad. Otherwise torch rows are skipped. This module imports only the standard library, so the
peer can import it too.
"""
from __future__ import annotations

import datetime
import gc
import importlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TORCH_PYTHON_ENV = "TAPEGRAD_TORCH_PYTHON"


# -- timing ---------------------------------------------------------------------------------------
@dataclass
class Timing:
    """Seconds per repeat, plus the last value the timed function returned."""

    samples: list
    result: Any = None

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def min(self) -> float:
        return min(self.samples)

    @property
    def max(self) -> float:
        return max(self.samples)


MIN_SAMPLE = 0.005  # seconds: shorter calls are timed in loops of this length (as timeit)


def measure(fn: Callable[[], Any], repeats: int, warmup: int = 1) -> Timing:
    """Call `fn` `warmup` times untimed, then time `repeats` samples with perf_counter (with
    a garbage collection before each). A sample of a call shorter than MIN_SAMPLE is a loop
    of calls back to back, divided by their number: a call's steady-state time, as in a
    training loop, not the time of one call right after a collection emptied the caches."""
    result, once = None, MIN_SAMPLE  # (no warm-up: one call per sample)
    for _ in range(warmup):
        t0 = time.perf_counter()
        result = fn()
        once = time.perf_counter() - t0
    number = max(1, min(1000, int(MIN_SAMPLE / max(once, 1e-9))))
    samples = []
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        for _ in range(number):
            result = fn()
        samples.append((time.perf_counter() - t0) / number)
    return Timing(samples, result)


def measure_parts(fn: Callable[[], dict], repeats: int, warmup: int = 1) -> dict:
    """For a self-timing `fn` returning {part: seconds}: {part: Timing} over the repeats."""
    for _ in range(warmup):
        fn()
    parts: dict = {}
    for _ in range(repeats):
        gc.collect()
        for name, sec in fn().items():
            parts.setdefault(name, Timing([])).samples.append(sec)
    return parts


def load(spec: str) -> Callable:
    """'package.module:function' -> the function."""
    mod, _, name = spec.partition(":")
    return getattr(importlib.import_module(mod), name)


# -- torch, in-process or in a peer interpreter ---------------------------------------------------
_torch_state: dict = {}


def torch_here() -> bool:
    """Whether ``import torch`` works in this interpreter (tried once)."""
    if "here" not in _torch_state:
        try:
            import torch  # noqa: F401
            _torch_state["here"] = True
        except ImportError:
            _torch_state["here"] = False
    return _torch_state["here"]


def torch_python() -> Optional[str]:
    """An interpreter with torch: this one, else $TAPEGRAD_TORCH_PYTHON, else None."""
    if torch_here():
        return sys.executable
    return os.environ.get(TORCH_PYTHON_ENV) or None


def torch_version() -> Optional[str]:
    """torch's version (tagged with the peer interpreter when not in-process), or None."""
    if torch_here():
        import torch
        return torch.__version__
    py = torch_python()
    if py is None:
        return None
    if "peer" not in _torch_state:
        try:
            out = subprocess.run([py, "-c", "import numpy, torch; print(torch.__version__)"],
                                 capture_output=True, text=True, timeout=300)
        except OSError as exc:
            raise SystemExit(f"{TORCH_PYTHON_ENV}={py}: {exc}") from exc
        if out.returncode != 0:
            raise SystemExit(f"{TORCH_PYTHON_ENV}={py} cannot import numpy and torch:\n"
                             + "\n".join(out.stderr.strip().splitlines()[-1:]))
        _torch_state["peer"] = f"{out.stdout.strip()} (peer: {py})"
    return _torch_state["peer"]


def measure_torch(factory: str, kwargs: dict, repeats: int, warmup: int = 1) -> Optional[Timing]:
    """Time ``load(factory)(**kwargs)()`` with torch in-process or in the peer; None without torch.

    The factory builds its inputs from `kwargs` (e.g. a seed) and returns the callable to time;
    a numpy result comes back (as a list from the peer) for correctness checks."""
    if torch_here():
        return measure(load(factory)(**kwargs), repeats, warmup)
    py = torch_python()
    if py is None:
        return None
    job = json.dumps(dict(factory=factory, kwargs=kwargs, repeats=repeats, warmup=warmup))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
    proc = subprocess.run([py, "-m", "benchmarks._peer", job], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"torch peer {py} failed on {factory}:\n{proc.stderr[-2000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    return Timing(out["samples"], out["result"])


# -- the in-process-only peers (jax, HIPS autograd) -----------------------------------------------
_peer_state: dict = {}
PEERS = ("jax", "autograd")


def peer(name: str):
    """The module `name` (a peer without subprocess support: jax, autograd) or None when it is
    not importable here. jax gets float64 enabled (arrays keep their own dtype)."""
    if name not in _peer_state:
        try:
            mod = importlib.import_module(name)
            if name == "jax":
                mod.config.update("jax_enable_x64", True)
            _peer_state[name] = mod
        except Exception:  # ImportError, or a broken install: skip it either way
            _peer_state[name] = None
    return _peer_state[name]


def peer_notes() -> list:
    """One line per missing in-process peer."""
    return [f"{n} not importable here: its rows are skipped (make bench-peers installs it)"
            for n in PEERS if peer(n) is None]


def torch_note() -> Optional[str]:
    """The line to print when torch rows will be missing or come from a peer."""
    if torch_here():
        return None
    py = torch_python()
    if py is None:
        return "torch not installed: run make bench-peers"
    torch_version()  # fail now, not after the first workloads, if the peer has no torch
    return f"torch not importable here: torch rows run in the peer {TORCH_PYTHON_ENV}={py}"


# -- rows and the table ---------------------------------------------------------------------------
@dataclass
class Config:
    """Options every workload sees."""

    quick: bool = False

    def repeats(self, full: int, quick: int) -> int:
        return quick if self.quick else full


@dataclass
class Row:
    """One line of the table. Ratios are this row's median over the named baseline's median."""

    workload: str
    system: str
    timing: Timing
    ref_ratio: Optional[float] = None
    torch_ratio: Optional[float] = None
    goal: str = ""
    met: Optional[bool] = None           # None: no goal, or not decidable (e.g. torch missing)
    notes: list = field(default_factory=list)
    unit: str = "s"                      # what timing's samples are: "s" (seconds) or "MB"


def ratio(a: Optional[Timing], b: Optional[Timing]) -> Optional[float]:
    return None if a is None or b is None else a.median / b.median


def fmt_time(sec: float) -> str:
    if sec < 1e-3:
        return f"{sec * 1e6:.1f} µs"
    if sec < 1:
        return f"{sec * 1e3:.2f} ms"
    return f"{sec:.3f} s"


def fmt_value(v: float, unit: str) -> str:
    return fmt_time(v) if unit == "s" else f"{v:,.1f} {unit}"


def fmt_ratio(r: Optional[float]) -> str:
    return "—" if r is None else f"{r:.3g}×"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment() -> list:
    """[(label, value)] describing this run."""
    def version(mod: str) -> str:
        try:
            return importlib.import_module(mod).__version__
        except ImportError:
            return "not installed"

    return [("date", datetime.datetime.now().astimezone().isoformat(timespec="seconds")),
            ("cpu", f"{cpu_model()} ({os.cpu_count()} logical cores)"),
            ("python", platform.python_version()),
            ("numpy", version("numpy")), ("numba", version("numba")),
            ("torch", torch_version() or "not installed"),
            ("jax", peer("jax").__version__ if peer("jax") else "not installed"),
            ("autograd (HIPS)", _dist_version("autograd") if peer("autograd") else "not installed"),
            ("BLAS / OpenMP threads", _threads())]


def _dist_version(name: str) -> str:
    try:
        from importlib.metadata import version
        return version(name)
    except Exception:
        return "unknown"


def _threads() -> str:
    vals = {v: os.environ.get(v, "unset") for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    return ", ".join(f"{k}={v}" for k, v in vals.items()) + " (TAPEGRAD_BENCH_THREADS)"


def render(rows: list, env: list, title: str = "tapegrad benchmarks") -> str:
    """The markdown report: environment, table, notes."""
    out = [f"# {title}", ""]
    out += [f"- {k}: {v}" for k, v in env]
    out += ["", "median, min, max: over the repeats (seconds per step unless a unit says "
            "otherwise)", "", "| workload | system | median | min | max | ratio to reference | ratio to torch "
            "| goal | goal met |", "|" + " --- |" * 9]
    for r in rows:
        t = r.timing
        met = "—" if not r.goal else ("n/a" if r.met is None else ("yes" if r.met else "no"))
        f = lambda v: fmt_value(v, r.unit)  # noqa: E731
        out.append(f"| {r.workload} | {r.system} | {f(t.median)} | {f(t.min)} "
                   f"| {f(t.max)} | {fmt_ratio(r.ref_ratio)} | {fmt_ratio(r.torch_ratio)} "
                   f"| {r.goal or '—'} | {met} |")
    notes = [f"- {r.workload} / {r.system}: {n}" for r in rows for n in r.notes]
    if notes:
        out += ["", "Notes:", ""] + notes
    return "\n".join(out) + "\n"


# -- where the time goes (for the note on a missed goal) ------------------------------------------
def profile_shares(fn: Callable[[], Any], calls: int) -> str:
    """cProfile `calls` calls of a tapegrad workload and split its own time into: the Numba
    reverse sweep (the jitted dispatcher `sweep`), numpy array work (numpy's builtins/methods and
    the op lambdas in tapegrad/ops that wrap one numpy call each) and Python overhead (the rest:
    recording, checks, tensor objects). cProfile inflates the Python share somewhat."""
    import cProfile
    import pstats
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(calls):
        fn()
    prof.disable()
    shares = {"Numba sweep": 0.0, "numpy": 0.0, "Python": 0.0}
    for (path, _line, name), (_cc, _nc, tt, _ct, _callers) in pstats.Stats(prof).stats.items():
        if name == "sweep" and path.endswith(os.path.join("engine", "kernels.py")):
            shares["Numba sweep"] += tt
        elif "numpy" in name or "numpy" in path or (
                name == "<lambda>" and os.sep + "ops" + os.sep in path):
            shares["numpy"] += tt
        else:
            shares["Python"] += tt
    total = sum(shares.values()) or 1.0
    return ("cProfile split of tapegrad's time: "
            + ", ".join(f"{k} {v / total:.0%}" for k, v in shares.items()))
