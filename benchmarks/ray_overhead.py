"""Scheduling overhead of one experiment run on the Ray executor against the local executor.

    .venv/bin/python benchmarks/ray_overhead.py [--seconds 30] [--repeats 3]

One run of the stand-in experiment (benchmarks/stand_in_swarm.py: it sleeps ``--seconds`` and records its own
start and end) goes, in a fresh copy of the stand-in template each time, through:

- **local**: the local sandbox provider, called directly (what ``executor: {kind: local}`` runs);
- **ray**: RaySandbox (``executor: {kind: ray, address: local}``: one-node Ray on 127.0.0.1) with the same
  local provider on the node: the workspace packed and shipped through Ray's object store, a Ray task with
  ``num_cpus=1``, output lines through the driver's line actor, the outputs packed and unpacked back.

A run's **overhead** is its wall time around ``await sandbox.run(...)`` minus the experiment's own time (the
stand-in's clock, from after the interpreter started to after it wrote its files), so the interpreter's start
and the sandbox's set-up count as overhead for both. The two executors take turns, ``--repeats`` runs each;
the table shows the medians. Before them, one 0 s run each (the "first run": Ray starts a worker, the local
provider its first-use set-up) is timed apart; so is Ray's own start (``ray.init``, once per driver). Goal:
Ray's overhead under 5 % of a 30 s run (1.5 s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

from stand_in_swarm import stand_in_template, work_folder

from sciswarm.sandboxes.base import RunSpec, Sandbox
from sciswarm.sandboxes.factory import make_sandbox
from sciswarm.sandboxes.ray_config import ExecutorConfig


async def timed_run(sandbox: Sandbox, root: Path, name: str, seconds: float) -> dict[str, float]:
    """One stand-in run of `seconds` in a fresh workspace: wall time around the call, the run's own time."""
    ws = stand_in_template(root / name, seconds)
    ws.chmod(0o755)
    spec = RunSpec(argv=["python", "experiment.py", "--out_dir=run_1"], timeout_s=seconds + 120, cpus=1)
    t0 = time.perf_counter()
    result = await sandbox.run(ws, spec, log_dir=root / "logs" / name)
    wall = time.perf_counter() - t0
    if not result.ok:
        raise SystemExit(f"{sandbox.name}: the stand-in failed: {result.error or result.stderr_tail}")
    own = json.loads((ws / "run_1" / "stand_in.json").read_text())
    shutil.rmtree(ws, ignore_errors=True)
    return {"wall": wall, "own": own["end"] - own["start"], "overhead": wall - (own["end"] - own["start"])}


def ray_sandbox() -> tuple[Sandbox, float]:
    from sciswarm.sandboxes.ray_executor import RaySandbox, connect

    t0 = time.perf_counter()
    connect("local")  # sets RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 first: the node registers as 127.0.0.1
    started = time.perf_counter() - t0
    import ray

    addresses = {n["NodeManagerAddress"] for n in ray.nodes()}
    if addresses != {"127.0.0.1"}:
        raise SystemExit(f"the one-node Ray is not on 127.0.0.1 only: {addresses}")
    return RaySandbox(ExecutorConfig(kind="ray", address="local"), provider="local"), started


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0, help="duration of the stand-in experiment")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per executor")
    args = parser.parse_args()
    if args.repeats < 1 or args.seconds < 0:
        parser.error("--repeats must be >= 1 and --seconds >= 0")
    root = work_folder("sciswarm-ray-overhead-")
    sandboxes: dict[str, Sandbox] = {"local": make_sandbox("local", on_log=lambda level, text: None)}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in ("local", "ray")}
    first: dict[str, dict[str, float]] = {}
    try:
        sandboxes["ray"], ray_start = ray_sandbox()
        for name, sandbox in sandboxes.items():
            first[name] = await timed_run(sandbox, root, f"{name}-first", 0.0)
        for i in range(args.repeats):
            for name, sandbox in sandboxes.items():
                runs[name].append(await timed_run(sandbox, root, f"{name}-{i}", args.seconds))
    finally:
        import ray

        ray.shutdown()
        shutil.rmtree(root, ignore_errors=True)
    med: dict[str, dict[str, Any]] = {
        name: {key: statistics.median(r[key] for r in rs) for key in ("wall", "own", "overhead")}
        for name, rs in runs.items()
    }
    print(
        f"one run of a {args.seconds:g} s stand-in experiment, {args.repeats} runs per executor (taking turns), "
        "local sandbox provider under both; medians"
    )
    print(f"  {'':<10} {'wall':>9} {'own time':>9} {'overhead':>9} {'of the run':>11} {'first 0 s run':>14}")
    for name, m in med.items():
        share = m["overhead"] / args.seconds if args.seconds else float("nan")
        print(
            f"  {name:<10} {m['wall']:>7.2f} s {m['own']:>7.2f} s {m['overhead']:>7.3f} s {share:>10.2%} "
            f"{first[name]['wall']:>12.2f} s"
        )
    extra = med["ray"]["overhead"] - med["local"]["overhead"]
    goal = "met" if med["ray"]["overhead"] < 0.05 * 30 else "NOT met"
    each = {name: ", ".join(f"{r['overhead']:.3f}" for r in rs) for name, rs in runs.items()}
    print(f"  ray over local: {extra:+.3f} s per run; goal (ray's overhead < 5 % of a 30 s run, 1.5 s): {goal}")
    print(f"  every run's overhead: local {each['local']} s; ray {each['ray']} s")
    print(f"  (Ray's own start, once per driver, left out above: {ray_start:.1f} s)")


if __name__ == "__main__":
    asyncio.run(main())
