"""The driver for the multi-node Ray tests: run inside the head's network namespace by the test, it runs one
experiment through RaySandbox pinned to the node with `node_b` and prints a JSON line with what happened.

    python ray_driver.py ADDRESS WORKSPACE ARGV_JSON [TIMEOUT_S] [RETRIES]

Each streamed output line is echoed as `LINE <text>` (flushed) so the test can act mid-run.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from pathlib import Path

import ray

from sciswarm.sandboxes.base import RunSpec
from sciswarm.sandboxes.ray_config import ExecutorConfig
from sciswarm.sandboxes.ray_executor import RaySandbox


async def main() -> None:
    address, workspace, argv = sys.argv[1], Path(sys.argv[2]), json.loads(sys.argv[3])
    timeout_s = float(sys.argv[4]) if len(sys.argv) > 4 else 60
    retries = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    cfg = ExecutorConfig(kind="ray", address=address, resources={"node_b": 1}, retries=retries)
    sandbox = RaySandbox(cfg, provider="local", on_log=lambda level, text: print(level, text, file=sys.stderr))
    lines: list[str] = []

    def on_output(stream: str, line: str) -> None:
        lines.append(line)
        print(f"LINE {line}", flush=True)

    spec = RunSpec(argv=argv, cpus=1, timeout_s=timeout_s)
    result = await sandbox.run(workspace, spec, on_output=on_output, log_dir=workspace.parent / "logs")
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    node_b = [
        n["NodeID"]
        for n in ray.nodes()
        if "node_b" in n.get("Resources", {}) or "node_b" in n.get("resources_total", {})
    ]
    out = dataclasses.asdict(result)
    out.update(
        stdout_log=str(result.stdout_log),
        stderr_log=str(result.stderr_log),
        lines=lines,
        placements=sandbox.placements,
        node_b_ids=node_b,
        driver_node=ray.get_runtime_context().get_node_id(),
        alive_nodes=len(nodes),
    )
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
