"""Run the benchmarks, print the table and write it to benchmarks/results/latest.md.

    python -m benchmarks.run [--quick]        # or: python benchmarks/run.py [--quick]
    TAPEGRAD_TORCH_PYTHON=/path/to/python-with-torch python -m benchmarks.run

torch rows need ``import torch`` to work here, or an interpreter with torch (and numpy) named by
TAPEGRAD_TORCH_PYTHON, which then runs the torch workloads in a subprocess (see `harness`).
To add a workload: write ``run(cfg: Config) -> list[Row]`` in a module of its own and append it
to WORKLOADS.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Callable

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import (THREADS, chain, elementwise, first_gradient, higher,  # noqa: E402
                        memory, mlp, random_graph, training, vmap)
from benchmarks.harness import (Config, environment, peer_notes, render,  # noqa: E402
                                torch_note)

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")

WORKLOADS: list[tuple[str, Callable[[Config], list]]] = [
    ("chain", chain.run),
    ("backward share", chain.backward_share),
    ("random graph", random_graph.run),
    ("mlp", mlp.run),
    ("elementwise", elementwise.run),
    ("memory", memory.run),
    ("higher order", higher.run),
    ("first gradient", first_gradient.run),
    ("training", training.run),
    ("vmap", vmap.run),
]


def main(argv: list | None = None) -> str:
    """Run every workload (or those named with --only); returns the markdown report."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats")
    ap.add_argument("--only", nargs="+", metavar="NAME", help="run only these workloads")
    ap.add_argument("--readme", action="store_true",
                    help="also put the table into README.md's performance section")
    args = ap.parse_args(argv)
    cfg = Config(quick=args.quick)
    import tapegrad  # its worker threads (sliced elementwise adjoints, vmap's blocks) as well
    tapegrad.set_num_threads(min(int(THREADS), tapegrad.get_num_threads()))
    note = torch_note()
    for line in ([note] if note else []) + peer_notes():
        print(line, flush=True)
    rows = []
    chosen = [(n, f) for n, f in WORKLOADS if not args.only or n in args.only]
    for i, (name, fn) in enumerate(chosen, 1):
        print(f"[{i}/{len(chosen)}] {name} ...", end=" ", flush=True)
        t0 = time.perf_counter()
        rows += fn(cfg)
        print(f"done in {time.perf_counter() - t0:.1f} s", flush=True)
    skipped = [("skipped", line) for line in ([note] if note and "not installed" in note else [])
               + peer_notes()]
    report = render(rows, environment() + [("mode", "quick" if cfg.quick else "full")] + skipped)
    os.makedirs(RESULTS, exist_ok=True)
    path = os.path.join(RESULTS, "latest.md")
    with open(path + ".tmp", "w") as f:
        f.write(report)
    os.replace(path + ".tmp", path)
    print("\n" + report + f"\n(written to {os.path.relpath(path)})")
    if args.readme:
        update_readme(report)
    return report


def update_readme(report: str) -> None:
    """Replace the text between README.md's bench markers with this report (title dropped)."""
    readme = os.path.join(os.path.dirname(RESULTS), os.pardir, "README.md")
    text = open(readme).read()
    head, rest = text.split("<!-- bench:begin -->", 1)
    tail = rest.split("<!-- bench:end -->", 1)[1]
    body = report.split("\n", 2)[2].strip()  # drop the "# title" line
    with open(readme, "w") as f:
        f.write(f"{head}<!-- bench:begin -->\n{body}\n<!-- bench:end -->{tail}")


if __name__ == "__main__":
    main()
