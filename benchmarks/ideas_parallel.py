"""Two ideas in parallel against one after the other, with the local executor and with the Ray executor.

    .venv/bin/python benchmarks/ideas_parallel.py [--seconds 3.0] [--runs 2] [--no-ray]

Real swarms (SwarmRunner on the real bus: ideator, novelty critic, coder, experimenter; no writer) on a stand-in
template whose experiment sleeps ``--seconds`` and writes final_info.json (benchmarks/stand_in_swarm.py). The
model is scripted; each idea plans ``--runs`` runs after the template's baseline, and each run goes through
the local sandbox provider with ``cpus: 1``, so on 2 cores two runs fit at once: the local executor's bound is
cores / cpus = 2, and one-node Ray (``executor: {kind: ray, address: local}``, bound to 127.0.0.1) has 2 CPUs
for tasks of ``num_cpus=1``.

For each executor, measured in the same run:

- **one after the other**: two swarms of one idea each, run back to back (the sum of their wall times);
- **in parallel**: one swarm of two ideas (``flow.max_ideas: 2``), whose ideas run concurrently on the bus.

A swarm's wall time is from building its runner (run folder, models, services) to the end of ``run()``. Before
the timed swarms, a warm-up swarm of two ideas of one run each, per executor, runs the template's baseline
once (every later swarm reuses it from ``<runs_dir>/.baselines``, as a swarm's ideas do), warms the sandbox's
first-use set-up, and for Ray has two workers started; Ray's own start (``ray.init``) is timed apart and left
out. The speedup is one
after the other / in parallel (goal >= 1.6x). "Runs at once" is from the stand-ins' own start and end times.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import time
from pathlib import Path
from typing import Any

from stand_in_swarm import Swarm, SwarmRun, most_at_once, stand_in_template, work_folder


def at_once(runs: list[SwarmRun]) -> int:
    return most_at_once([(r["start"], r["end"]) for run in runs for r in run.experiments()])


async def measure(root: Path, label: str, template: Path, runs: int, executor: dict[str, Any] | None) -> dict[str, Any]:
    def swarm(name: str, ideas: int, n: int) -> Swarm:
        return Swarm(root / f"{label}-{name}", template, ideas, n, sandbox={}, executor=executor)

    await swarm("warm-up", 2, 1).run(["warm_up_1", "warm_up_2"])  # two runs at once: two Ray workers up
    one_by_one = [await swarm(f"alone-{i}", 1, runs).run([f"idea_{i}"]) for i in (1, 2)]
    both = await swarm("both", 2, runs).run(["idea_1", "idea_2"])
    for run, ideas in ((one_by_one[0], 1), (one_by_one[1], 1), (both, 2)):
        if len(run.experiments()) != runs * ideas:
            raise SystemExit(f"{run.run_dir}: {len(run.experiments())} stand-in runs, not {runs * ideas}")
    serial = sum(r.wall_s for r in one_by_one)
    return {
        "serial": serial,
        "parallel": both.wall_s,
        "speedup": serial / both.wall_s,
        "at_once": (at_once(one_by_one), at_once([both])),
        "provider": next(r["provider"] for r in both.records if r["kind"] == "sandbox_exec"),
    }


def start_ray() -> float:
    from sciswarm.sandboxes.ray_executor import connect

    t0 = time.perf_counter()
    connect("local")  # sets RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 first: the node registers as 127.0.0.1
    import ray

    addresses = {n["NodeManagerAddress"] for n in ray.nodes()}
    if addresses != {"127.0.0.1"}:
        raise SystemExit(f"the one-node Ray is not on 127.0.0.1 only: {addresses}")
    return time.perf_counter() - t0


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of each stand-in experiment")
    parser.add_argument("--runs", type=int, default=2, help="runs per idea after the baseline (1-5)")
    parser.add_argument("--no-ray", action="store_true", help="the local executor only")
    args = parser.parse_args()
    if not 1 <= args.runs <= 5:
        parser.error("--runs must be 1 to 5 (the scripted plan has 5 runs)")
    root = work_folder("sciswarm-ideas-parallel-")
    figures: dict[str, dict[str, Any]] = {}
    ray_start = None
    try:
        template = stand_in_template(root / "template", args.seconds)
        figures["local executor"] = await measure(root, "local", template, args.runs, None)
        if not args.no_ray:
            ray_start = start_ray()
            try:
                executor = {"kind": "ray", "address": "local"}
                figures["ray executor, 1 node"] = await measure(root, "ray", template, args.runs, executor)
            finally:
                import ray

                ray.shutdown()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(
        f"2 ideas x {args.runs} runs of {args.seconds:g} s stand-in experiments (+ the cached baseline), "
        "local sandbox provider, 1 CPU per run, 2 cores"
    )
    print(f"  {'':<22} {'one after the other':>20} {'in parallel':>12} {'speedup':>8}   runs at once")
    for label, f in figures.items():
        print(
            f"  {label:<22} {f['serial']:>18.2f} s {f['parallel']:>10.2f} s {f['speedup']:>7.2f}x   "
            f"{f['at_once'][0]} / {f['at_once'][1]}   ({f['provider']}; goal >= 1.6x)"
        )
    if ray_start is not None:
        print(f"  (Ray's own start, left out above: {ray_start:.1f} s)")


if __name__ == "__main__":
    asyncio.run(main())
