"""The offline demo with every experiment run as a Ray task (one-node Ray on 127.0.0.1): the same artifacts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from e2e.golden import conversation
from executors.ray_support import ray_missing

from sciswarm.paper import page_count
from sciswarm.templates import validate_final_info

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.ray, pytest.mark.slow, pytest.mark.latex, pytest.mark.timeout(900)]


def test_demo_with_the_ray_executor_completes_with_the_same_artifacts(tmp_path: Path, demo_baselines: Path) -> None:
    if ray_missing():
        pytest.skip(ray_missing())
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / ".baselines").symlink_to(demo_baselines)  # run_0 as tests/e2e's demo made it (else it runs here)
    options = ["runs_dir=" + str(runs), "executor.kind=ray", "executor.address=local"]
    proc = subprocess.run(
        [sys.executable, "-m", "sciswarm", "run", "configs/demo.yaml", *(x for o in options for x in ("-o", o))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=840,
        env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "COLUMNS": "250", "RAY_USAGE_STATS_ENABLED": "0"},
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (run_dir,) = [p for p in runs.iterdir() if not p.name.startswith(".")]
    assert json.loads((run_dir / "run.json").read_text())["status"] == "completed"
    golden = json.loads((ROOT / "tests" / "e2e" / "golden_demo.json").read_text())
    assert conversation(run_dir) == golden
    transcript = [json.loads(line) for line in (run_dir / "transcript.jsonl").read_text().splitlines()]
    execs = [r for r in transcript if r["kind"] == "sandbox_exec"]
    assert execs and all(r["provider"].startswith("ray/") for r in execs)
    assert any(r["kind"] == "output" for r in transcript), "no output line streamed back from the Ray tasks"
    (idea,) = list((run_dir / "ideas").iterdir())
    ws = idea / "workspace"
    for r in ("run_0", "run_1", "run_2"):
        validate_final_info(json.loads((ws / r / "final_info.json").read_text()))
    assert {p.name for p in ws.glob("*.png")} >= {"train_loss.png", "generated_samples.png"}
    assert page_count(idea / "paper" / "paper_rev0.pdf") >= 3
    assert len(json.loads((idea / "reviews.json").read_text())["reviews"]) == 3
