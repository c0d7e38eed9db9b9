"""RaySandbox on a real two-node Ray cluster (two network namespaces on this machine; see conftest.py)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest
from executors.ray_support import Cluster, driver_json

pytestmark = [pytest.mark.ray, pytest.mark.slow, pytest.mark.timeout(240)]

DRIVER = str(Path(__file__).with_name("ray_driver.py"))
ARGV = json.dumps(["python", "experiment.py"])

EXPERIMENT = """\
import os, socket, time
print("starting", flush=True)
os.makedirs("run_1", exist_ok=True)
with open("run_1/final_info.json", "w") as f:
    f.write('{"loss": {"means": 0.5}}')
with open("notes.txt", "a") as f:
    f.write("ran\\n")
print("done", flush=True)
"""


def _workspace(root: Path, name: str, script: str) -> Path:
    ws = root / name / "workspace"
    ws.mkdir(parents=True)
    for d in (root, root / name, ws):
        d.chmod(0o755)
    (ws / "experiment.py").write_text(script)
    (ws / "notes.txt").write_text("before\n")
    return ws


def test_run_pinned_to_the_second_node_brings_its_artifacts_back(ray_cluster: Cluster) -> None:
    ws = _workspace(ray_cluster.tmp, "pinned", EXPERIMENT)
    t0 = time.monotonic()
    proc = ray_cluster.in_a(sys.executable, DRIVER, ray_cluster.address, str(ws), ARGV)
    out = driver_json(proc, timeout=90)
    assert out["exit_code"] == 0, out
    assert out["error"] == ""
    placement = out["placements"][-1]  # type: ignore[index]
    assert placement["node_id"] in out["node_b_ids"]  # type: ignore[operator]
    assert placement["node_id"] != out["driver_node"]
    assert placement["node_ip"] == "10.77.0.2"
    assert out["lines"] == ["starting", "done"]
    assert sorted(out["files_produced"]) == ["notes.txt", "run_1/final_info.json"]  # type: ignore[arg-type]
    assert json.loads((ws / "run_1" / "final_info.json").read_text()) == {"loss": {"means": 0.5}}
    assert (ws / "notes.txt").read_text() == "before\nran\n"
    assert "done" in Path(str(out["stdout_log"])).read_text()
    print(f"pinned run on node_b: {time.monotonic() - t0:.1f}s (driver start included)")


def test_cluster_prepare_checks_the_image_on_every_node(ray_cluster: Cluster) -> None:
    sciswarm = str(Path(sys.executable).with_name("sciswarm"))
    proc = ray_cluster.in_a(sciswarm, "cluster", "prepare", "--check", f"--address={ray_cluster.address}")
    out, errs = proc.communicate(timeout=90)
    assert proc.returncode in (0, 1), f"{out}\n{errs[-3000:]}"  # 1: some node lacks the image or Docker
    assert "10.77.0.1" in out and "10.77.0.2" in out, out
    ready = "2 node(s) ready" in out
    assert ready == (proc.returncode == 0), out


def test_second_node_lost_mid_run_is_a_clean_recorded_failure(ray_cluster: Cluster) -> None:
    script = "import time\nprint('sleeping', flush=True)\ntime.sleep(60)\nopen('never.txt', 'w').write('x')\n"
    ws = _workspace(ray_cluster.tmp, "lost", script)
    t0 = time.monotonic()
    proc = ray_cluster.in_a(sys.executable, DRIVER, ray_cluster.address, str(ws), ARGV, "90", "1")
    assert proc.stdout is not None
    seen = ""
    while time.monotonic() - t0 < 90:
        seen = proc.stdout.readline()
        if seen.startswith("LINE sleeping") or not seen:
            break
    assert seen.startswith("LINE sleeping"), f"the run never started on node_b: {seen!r}"
    killed = ray_cluster.kill_worker_node()
    assert killed
    out = driver_json(proc, timeout=90)
    wall = time.monotonic() - t0
    assert out["exit_code"] is None
    assert "ray node lost" in str(out["error"]), out["error"]
    assert "node_b" in str(out["error"])  # the retry found no node with node_b: refused within the budget
    assert not (ws / "never.txt").exists()
    assert wall < 60, f"node loss took {wall:.0f}s to be recorded"
    print(f"node lost -> recorded failure in {wall:.1f}s: {out['error']}")
