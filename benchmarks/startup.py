"""Start-up time of the `sciswarm` command, against a bare Python interpreter.

    .venv/bin/python benchmarks/startup.py [--repeats 5] [--quick]

Each figure is a fresh subprocess, timed from just before it is spawned:

- `python -c pass` (the venv's interpreter): the floor every Python CLI pays;
- `sciswarm --help`: until the process exits;
- `sciswarm run examples/custom_role/swarm.yaml -o runs_dir=<tmp>` (a tiny scripted swarm, offline): until
  the first `start` record's `ts` in its transcript.jsonl (config loaded, roles resolved, bus up, first
  message published), and until the process exits (the whole run: 4 scripted model calls, 5 messages).

Prints the best and the median of the repeats and the ratios to `python -c pass`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SWARM = ROOT / "examples" / "custom_role" / "swarm.yaml"


def timed(argv: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    return time.perf_counter() - t0


def run_to_first_message(runs_dir: Path) -> tuple[float, float]:
    """(seconds from spawn to the first `start` record, seconds from spawn to exit) of one `sciswarm run`."""
    runs_dir.mkdir()
    argv = [str(BIN / "sciswarm"), "run", str(SWARM), "-o", f"runs_dir={runs_dir}"]
    spawned = time.time()
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    total = time.perf_counter() - t0
    (transcript,) = runs_dir.glob("*/transcript.jsonl")
    with transcript.open() as fh:
        first = next(r for r in map(json.loads, fh) if r["kind"] == "start")
    return first["ts"] - spawned, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="3 repeats")
    args = parser.parse_args()
    repeats = 3 if args.quick else args.repeats
    work = Path(tempfile.mkdtemp(prefix="sciswarm-bench-startup-"))
    rows: dict[str, list[float]] = {
        "python -c pass": [],
        "sciswarm --help": [],
        "sciswarm run: to first message": [],
        "sciswarm run: to exit": [],
    }
    try:
        timed([sys.executable, "-c", "pass"])  # warm-up: page cache, .pyc files
        timed([str(BIN / "sciswarm"), "--help"])
        for i in range(repeats):
            rows["python -c pass"].append(timed([sys.executable, "-c", "pass"]))
            rows["sciswarm --help"].append(timed([str(BIN / "sciswarm"), "--help"]))
            first, total = run_to_first_message(work / f"runs{i}")
            rows["sciswarm run: to first message"].append(first)
            rows["sciswarm run: to exit"].append(total)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    floor_best, floor_median = min(rows["python -c pass"]), statistics.median(rows["python -c pass"])
    print(f"start-up, {repeats} runs each (+1 warm-up); run = {SWARM.relative_to(ROOT)} (scripted, offline)")
    print(f"  {'':<32} {'best':>8} {'median':>8} {'best/floor':>11} {'median/floor':>13}")
    for label, times in rows.items():
        best, median = min(times), statistics.median(times)
        print(
            f"  {label:<32} {best * 1000:6.0f}ms {median * 1000:6.0f}ms "
            f"{best / floor_best:10.1f}x {median / floor_median:12.1f}x"
        )


if __name__ == "__main__":
    main()
