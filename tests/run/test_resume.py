"""A crashed (SIGKILL) or interrupted run resumes without redoing finished work."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from sciswarm.run.resume import plan_resume
from sciswarm.run.store import read_transcript

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "tests"), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
IDEA = (
    '```json\n{{"Name": "{0}", "Title": "Title {0}", "Experiment": "E", "Interestingness": 5, '
    '"Feasibility": 5, "Novelty": 5}}\n```\nI am done'
)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sciswarm", *args], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=120
    )


def kinds(run_dir: Path, kind: str) -> list[dict[str, object]]:
    return [r for r in read_transcript(run_dir / "transcript.jsonl") if r["kind"] == kind]


def test_killed_run_resumes_where_it_stopped(tmp_path: Path) -> None:
    (tmp_path / "replies.yaml").write_text(
        json.dumps({"ideator": [IDEA.format("alpha"), IDEA.format("beta")], "critic": ["weak", "strong"]})
    )
    cfg = tmp_path / "swarm.yaml"
    cfg.write_text(
        f"runs_dir: {tmp_path / 'runs'}\n"
        "models: {default: {model: scripted, script: replies.yaml}}\n"
        "roles:\n  - {name: ideator, params: {num_ideas: 2, num_reflections: 1}}\n"
        "  - {name: critic, use: 'support.roles:SlowCritic', params: {seconds: 60}}\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "sciswarm", "run", str(cfg)],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    runs = tmp_path / "runs"
    deadline = time.monotonic() + 60
    run_dir = None
    while time.monotonic() < deadline:
        found = list(runs.glob("*/transcript.jsonl")) if runs.exists() else []
        if found and found[0].read_text().count('"kind": "idea"') == 2:
            run_dir = found[0].parent
            break
        time.sleep(0.1)
    assert run_dir is not None
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)  # a hard crash: nothing gets flushed or marked
    proc.wait(timeout=10)
    assert json.loads((run_dir / "run.json").read_text())["status"] == "running"

    records = list(read_transcript(run_dir / "transcript.jsonl"))
    plan = plan_resume(records, {"ideator": ["start", "meta_review"], "critic": ["idea"]})
    assert sorted((m.kind, role) for m, role in plan.pending) == [("idea", "critic"), ("idea", "critic")]
    assert plan.consumed["ideator"] == 2  # the finished handler's scripted replies are not served again

    out = cli("resume", str(run_dir), "-o", "roles.critic.params.seconds=0")
    assert out.returncode == 0, out.stderr + out.stdout
    assert "2 unfinished deliveries" in out.stdout
    assert len(kinds(run_dir, "idea")) == 2  # the ideator was not run again
    critiques = sorted(str(r["text"]) for r in kinds(run_dir, "note"))
    assert critiques == ["critique: strong", "critique: weak"]
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["status"] == "completed" and meta["resumes"] == 1
    assert meta["totals"]["by_role"]["ideator"]["calls"] == 2 and meta["totals"]["by_role"]["critic"]["calls"] == 2
    # the footer's totals are the whole run's (the ideator's calls were made before the kill), not this session's
    assert re.search(r"completed \| \d+ messages \| 4 model calls", out.stdout), out.stdout[-800:]

    (note,) = [str(r["text"]) for r in kinds(run_dir, "log") if str(r["text"]).startswith("resume 1: ")]
    told = rf"resume 1: the previous process \(pid {proc.pid}\) ended without a final status after its last record "
    assert re.fullmatch(told + r"at \d\d:\d\d:\d\d: it crashed or was killed; 2 unfinished deliveries", note), note

    again = cli("resume", str(run_dir))
    assert again.returncode == 0 and "0 unfinished deliveries" in again.stdout
    (note,) = [str(r["text"]) for r in kinds(run_dir, "log") if str(r["text"]).startswith("resume 2: ")]
    assert "ended completed (every idea reached its end" in note and note.endswith("; 0 unfinished deliveries")


def test_resume_refuses_a_live_run_and_a_non_run(tmp_path: Path) -> None:
    bad = cli("resume", str(tmp_path))
    assert bad.returncode == 2 and "not a resumable run" in bad.stderr
    live = tmp_path / "live"
    live.mkdir()
    (live / "run.json").write_text(json.dumps({"status": "running", "pid": os.getppid(), "config": {}}))
    (live / "transcript.jsonl").write_text("")
    out = cli("resume", str(live))
    assert out.returncode == 2 and "still running" in out.stderr
