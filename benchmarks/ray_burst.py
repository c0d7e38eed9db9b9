"""The driver of benchmarks/ray_nodes.py, run inside the head's network namespace: RUNS stand-in runs of SECONDS
at once through RaySandbox on the cluster at ADDRESS (the local provider on each node), then one JSON line.

    python benchmarks/ray_burst.py ADDRESS RUNS SECONDS WORK_DIR

First, as many 0 s runs at once as the cluster has CPUs (each node then has a worker up; not timed). The
timed burst's wall time is from just before the runs are handed to RaySandbox to the last one's return.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from pathlib import Path

from stand_in_swarm import most_at_once, stand_in_template

from sciswarm.sandboxes.base import RunResult, RunSpec
from sciswarm.sandboxes.ray_config import ExecutorConfig
from sciswarm.sandboxes.ray_executor import RaySandbox, connect


async def burst(sandbox: RaySandbox, work: Path, label: str, runs: int, seconds: float) -> list[RunResult]:
    spaces = [stand_in_template(work / f"{label}-{i}", seconds) for i in range(runs)]
    spec = RunSpec(argv=["python", "experiment.py", "--out_dir=run_1"], timeout_s=seconds + 120, cpus=1)
    results = await asyncio.gather(*(sandbox.run(ws, spec, log_dir=ws.parent / f"{ws.name}-logs") for ws in spaces))
    for ws, result in zip(spaces, results, strict=True):
        if not result.ok:
            raise SystemExit(f"{ws.name}: the stand-in failed on its node: {result.error or result.stderr_tail}")
    return results


async def main() -> None:
    if len(sys.argv) != 5 or sys.argv[1].startswith("-"):
        raise SystemExit(__doc__)
    address, runs, seconds, work = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), Path(sys.argv[4])
    connect(address)
    import ray

    nodes = [n for n in ray.nodes() if n.get("Alive")]
    cpus = int(sum(n.get("Resources", {}).get("CPU", 0) for n in nodes))
    sandbox = RaySandbox(ExecutorConfig(kind="ray", address=address), provider="local")
    await burst(sandbox, work, "warm-up", cpus, 0.0)
    warm = len(sandbox.placements)
    t0 = time.perf_counter()
    await burst(sandbox, work, "burst", runs, seconds)
    wall = time.perf_counter() - t0
    own = [json.loads((work / f"burst-{i}" / "run_1" / "stand_in.json").read_text()) for i in range(runs)]
    placed = Counter(str(p["node_ip"]) for p in sandbox.placements[warm:])
    print(
        json.dumps(
            {
                "wall": wall,
                "nodes": len(nodes),
                "cpus": cpus,
                "per_node": dict(sorted(placed.items())),
                "at_once": most_at_once([(r["start"], r["end"]) for r in own]),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    asyncio.run(main())
