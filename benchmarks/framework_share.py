"""Where the wall time of the offline demo goes: sandbox, LaTeX, model calls, and the framework itself.

    .venv/bin/python benchmarks/framework_share.py [--quick]

Runs `sciswarm run configs/demo.yaml -o runs_dir=<tmp> --no-output` twice in a fresh temporary runs dir: cold
(the template's baseline run_0 is trained) and again reusing the baseline cache `<runs_dir>/.baselines`
(`--quick`: the cold run only). From each run's transcript.jsonl:

- sandbox: each `sandbox_exec` record covers [ts - wall_s, ts] (container start to exit, as the sandbox timed it);
- model calls: each `model_call` record covers [ts - latency_s, ts];
- LaTeX: for each `paper` message, from the writer's last `draft`/`model_call` record before it to the paper's
  ts. Nothing else of the writer happens in that gap: the static checks, `pdflatex`/`bibtex` (run confined)
  and counting the PDF's pages. If the writer had to fix the LaTeX, the fix calls are model time and the
  compiles before them would count as framework (the demo compiles once). As a cross-check, the final paper
  is compiled again outside the swarm (pdflatex, bibtex, pdflatex x2, in a copy) and timed;
- framework = run wall (first to last transcript record) minus the union of those intervals: the bus,
  transcript, roles' own Python (edits, parsing, notes, results table, PDF text for the reviewers), file I/O.

Start-up and exit of the process (process wall minus run wall) are shown apart.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCISWARM = Path(sys.executable).parent / "sciswarm"
TEX_FLAGS = ["-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape"]

Interval = tuple[float, float]


def run_demo(runs_dir: Path) -> tuple[float, Path]:
    """Process wall time and run folder of one demo run."""
    before = set(runs_dir.glob("*/run.json"))
    argv = [str(SCISWARM), "run", "configs/demo.yaml", "-o", f"runs_dir={runs_dir}", "--no-output"]
    t0 = time.perf_counter()
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"the demo failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    (new,) = set(runs_dir.glob("*/run.json")) - before
    return wall, new.parent


def union_length(intervals: list[Interval], lo: float, hi: float) -> float:
    total, end = 0.0, lo
    for a, b in sorted((max(a, lo), min(b, hi)) for a, b in intervals):
        if b > end:
            total += b - max(a, end)
            end = b
    return total


def breakdown(run_dir: Path) -> dict[str, Any]:
    records = [json.loads(line) for line in (run_dir / "transcript.jsonl").read_text().splitlines() if line]
    lo, hi = records[0]["ts"], records[-1]["ts"]
    sandbox = [(r["ts"] - r["wall_s"], r["ts"]) for r in records if r["kind"] == "sandbox_exec"]
    model = [(r["ts"] - r["latency_s"], r["ts"]) for r in records if r["kind"] == "model_call"]
    latex: list[Interval] = []
    last_writer = None
    for r in records:
        if r.get("sender") == "writer" and r["kind"] in ("draft", "model_call"):
            last_writer = r["ts"]
        elif r["kind"] == "paper" and last_writer is not None:
            latex.append((last_writer, r["ts"]))
    parts = {"sandbox": sandbox, "LaTeX": latex, "model calls": model}
    seconds = {name: union_length(iv, lo, hi) for name, iv in parts.items()}
    busy = union_length(sandbox + latex + model, lo, hi)
    return {
        "run": hi - lo,
        **seconds,
        "framework": (hi - lo) - busy,
        "counts": {name: len(iv) for name, iv in parts.items()},
        "overlap": sum(seconds.values()) - busy,
    }


def recompile(paper_dir: Path, work: Path) -> float:
    """Seconds for pdflatex, bibtex, pdflatex x2 on a clean copy of the paper folder."""
    copy = work / "recompile"
    shutil.copytree(paper_dir, copy)
    for f in copy.iterdir():
        if f.suffix in {".aux", ".bbl", ".blg", ".log", ".out", ".pdf"}:
            f.unlink()
    tex = ["pdflatex", *TEX_FLAGS, "template.tex"]
    t0 = time.perf_counter()
    for argv in (tex, ["bibtex", "template"], tex, tex):
        subprocess.run(argv, cwd=copy, check=True, capture_output=True)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the cold run only")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sciswarm-bench-share-"))
    runs_dir = work / "runs"
    runs_dir.mkdir()
    columns: dict[str, tuple[float, dict[str, Any]]] = {}
    try:
        for label in ["cold baseline"] if args.quick else ["cold baseline", "cached baseline"]:
            wall, run_dir = run_demo(runs_dir)
            columns[label] = (wall, breakdown(run_dir))
        (paper_dir,) = run_dir.glob("ideas/*/paper")
        check = recompile(paper_dir, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def row(label: str, values: list[str]) -> None:
        print(f"  {label:<34}" + "".join(f"{v:>26}" for v in values))

    data = list(columns.values())
    print("offline demo (configs/demo.yaml, scripted model, docker sandbox when available)")
    row("", list(columns))
    row("process wall", [f"{w:.2f} s" for w, _ in data])
    row("start-up + exit (outside the run)", [f"{w - b['run']:.2f} s" for w, b in data])
    row("run wall (transcript first..last)", [f"{b['run']:.2f} s   100.00 %" for _, b in data])
    for name in ("sandbox", "LaTeX", "model calls"):
        label = f"{name} ({'/'.join(str(b['counts'][name]) for _, b in data)} intervals)"
        row(label, [f"{b[name]:.2f} s  {100 * b[name] / b['run']:6.2f} %" for _, b in data])
    row("framework (the rest)", [f"{b['framework']:.3f} s  {100 * b['framework'] / b['run']:6.2f} %" for _, b in data])
    if any(b["overlap"] > 0.001 for _, b in data):
        row("(overlap counted once)", [f"{b['overlap']:.3f} s" for _, b in data])
    gap = data[-1][1]["LaTeX"]
    print(f"  LaTeX cross-check: the final paper recompiled outside the swarm in {check:.2f} s")
    print(f"    (pdflatex, bibtex, pdflatex x2); the writer's gap before `paper` was {gap:.2f} s")
    shares = ", ".join(f"{100 * b['framework'] / b['run']:.2f} % ({k})" for k, (_, b) in columns.items())
    print(f"  -> framework share of the run wall: {shares}")


if __name__ == "__main__":
    main()
