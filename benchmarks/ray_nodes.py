"""Ray executor throughput with two nodes against one, on stand-in experiments.

    .venv/bin/python benchmarks/ray_nodes.py [--runs 8] [--seconds 3.0]        (as root: network namespaces)

The cluster is the Ray tests' (tests/executors/ray_support.py): two network namespaces joined by a veth pair,
so no Ray traffic leaves the machine; the head (10.77.0.1) and the second node (10.77.0.2) each offer one CPU
(``ray start --num-cpus=1``), and each run is a Ray task of ``num_cpus=1``, so a node takes one run at a time.
The driver (benchmarks/ray_burst.py) runs inside the head's namespace and hands ``--runs`` runs of the
stand-in experiment (it sleeps ``--seconds``; benchmarks/stand_in_swarm.py) to RaySandbox at once, each in its
own workspace shipped through the object store, with the local sandbox provider on the node.

The same burst runs twice, measured in the same run: on the head alone, then after the second node joined.
Each driver first runs one 0 s run per CPU (workers up on every node; not timed). Throughput is runs / wall
time of the burst (from handing the runs over to the last one's return); the figure is two nodes over one
(goal >= 1.8x). The namespaces, their Ray processes and the veth pair are torn down whatever happens.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from stand_in_swarm import work_folder

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from executors.ray_support import (
    HEAD_IP,
    PORT,
    Cluster,
    _teardown,
    _wait_nodes,
    driver_json,
    join_namespaces,
    netns_missing,
    ray_missing,
    start_head,
    start_worker,
)

BURST = Path(__file__).with_name("ray_burst.py")


def drive(cluster: Cluster, work: Path, runs: int, seconds: float) -> dict[str, Any]:
    work.mkdir()
    work.chmod(0o755)
    proc = cluster.in_a(sys.executable, str(BURST), cluster.address, str(runs), str(seconds), str(work))
    return driver_json(proc, timeout=runs * seconds * 3 + 180)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=8, help="stand-in runs in the burst")
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of each stand-in experiment")
    args = parser.parse_args()
    why = ray_missing() or netns_missing()
    if why:
        raise SystemExit(why)
    tag = uuid.uuid4().hex[:6]
    ns_a, ns_b, veth = f"sciswarm-bench-a-{tag}", f"sciswarm-bench-b-{tag}", f"srb{tag}a"
    root = work_folder("sciswarm-ray-nodes-")
    cluster = Cluster(ns_a, ns_b, f"{HEAD_IP}:{PORT}", root)
    started: dict[str, float] = {}
    try:
        t0 = time.perf_counter()
        join_namespaces(ns_a, ns_b, veth, f"srb{tag}b")
        start_head(ns_a)
        _wait_nodes(ns_a, 1, timeout=90)
        started["head"] = time.perf_counter() - t0
        one = drive(cluster, root / "one-node", args.runs, args.seconds)
        t0 = time.perf_counter()
        start_worker(ns_b)
        _wait_nodes(ns_a, 2, timeout=90)
        started["second node"] = time.perf_counter() - t0
        two = drive(cluster, root / "two-nodes", args.runs, args.seconds)
    finally:
        _teardown(ns_a, ns_b, veth)
        shutil.rmtree(root, ignore_errors=True)
    for label, got, want in (("head alone", one, 1), ("two nodes", two, 2)):
        if got["nodes"] != want:
            raise SystemExit(f"{label}: {got['nodes']} alive node(s), not {want}")
    print(
        f"{args.runs} stand-in runs of {args.seconds:g} s handed to Ray at once, 1 CPU per node and per run, "
        "local sandbox provider on the node"
    )
    print(f"  {'':<12} {'wall':>9} {'runs/min':>9} {'at once':>8}   runs per node")
    for label, got in (("head alone", one), ("two nodes", two)):
        per_min = args.runs / got["wall"] * 60
        nodes = ", ".join(f"{ip}: {n}" for ip, n in got["per_node"].items())
        print(f"  {label:<12} {got['wall']:>7.2f} s {per_min:>9.1f} {got['at_once']:>8}   {nodes}")
    print(f"  throughput, two nodes over one: {one['wall'] / two['wall']:.2f}x (goal >= 1.8x)")
    head, second = started["head"], started["second node"]
    print(f"  (cluster start, left out above: head {head:.1f} s, second node {second:.1f} s)")


if __name__ == "__main__":
    main()
