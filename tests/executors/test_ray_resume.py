"""`sciswarm resume` after the DRIVER of a swarm on the Ray executor is killed (SIGKILL) while an experiment runs
on the cluster: a one-node cluster on 127.0.0.1 that outlives the driver (ray_head.py).

The killed driver's in-flight run must not go on: no Ray task or actor of its job and no process of its sandboxed
run (the experiment starts a child process, as a launcher or data loader would) keeps running, nothing it does
reaches the run folder, and its copy of the workspace goes away. Resume then finishes the run without redoing
finished work, and the transcript says what happened: each attempt's lines, one result per run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from agents.agent_support import TINY_TEMPLATE, edit, idea_reply, plan_reply
from executors.ray_head import Head, all_processes, start_head
from executors.ray_support import ray_missing

from sciswarm.procs import pids_with_token
from sciswarm.run.store import read_transcript
from sciswarm.sandboxes.bwrap import bwrap_available

pytestmark = [pytest.mark.ray, pytest.mark.slow, pytest.mark.timeout(480)]

ROOT = Path(__file__).resolve().parents[2]
IDEA = "divisor_resume"
LONG_S = 15  # run_2's child works this long: the driver is killed in the middle of it
GONE_S = 8  # the dead driver's run must be gone well before its child would have ended on its own

# every run's work happens in a child process; it logs each attempt in the workspace and prints who it is
EXPERIMENT_HEAD = '''\
import subprocess
import sys

CHILD = """
import os, sys, time
out, seconds = sys.argv[1], float(sys.argv[2])
open("attempts.log", "a").write(out + " start\\\\n")
token, cwd = os.environ["SCISWARM_RUN_TOKEN"], os.getcwd()
print(f"{out} child started token={token} cwd={cwd}", flush=True)
time.sleep(seconds)
open("attempts.log", "a").write(out + " end\\\\n")
print(f"{out} child finished", flush=True)
"""
'''
WORK = """    os.makedirs(args.out_dir, exist_ok=True)
    seconds = LONG_S if DIVISOR >= 8 else 0
    subprocess.run([sys.executable, "-c", CHILD, args.out_dir, str(seconds)], check=True)
"""


@pytest.fixture(scope="module")
def head() -> Iterator[Head]:
    if ray_missing():
        pytest.skip(ray_missing())
    cluster = start_head()
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(cluster.temp_dir, ignore_errors=True)


@pytest.fixture
def work() -> Iterator[Path]:
    """World-traversable (the local provider runs experiments as a fresh uid that must reach the workspace)."""
    path = Path(tempfile.mkdtemp(prefix="sciswarm-ray-resume-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _template(work: Path) -> Path:
    dst = work / "template"
    shutil.copytree(TINY_TEMPLATE, dst)
    exp = dst / "experiment.py"
    text = exp.read_text().replace("import argparse\n", EXPERIMENT_HEAD + "import argparse\n")
    text = text.replace("DIVISOR = 2.0\n", f"DIVISOR = 2.0\nLONG_S = {LONG_S}\n")
    exp.write_text(text.replace("    os.makedirs(args.out_dir, exist_ok=True)\n", WORK))
    return dst


def _config(work: Path, template: Path, address: str, provider: str, shared: bool) -> Path:
    replies = {
        "ideator": [idea_reply(IDEA)],
        "coder": [
            plan_reply("divisor 4", "divisor 8"),
            edit("experiment.py", "DIVISOR = 2.0", "DIVISOR = 4.0"),
            edit("experiment.py", "DIVISOR = 4.0", "DIVISOR = 8.0"),
        ],
    }
    (work / "replies.yaml").write_text(yaml.safe_dump(replies, sort_keys=False, width=1000))
    executor: dict[str, Any] = {"kind": "ray", "address": address}
    if shared:  # the run folder itself is on the "shared filesystem"
        executor["shared_dir"] = str(work)
    data = {
        "name": "ray-resume",
        "description": "Study how the divisor of the toy experiment changes its score.",
        "runs_dir": str(work / "runs"),
        "template": str(template),
        "models": {"default": {"model": "scripted", "script": str(work / "replies.yaml")}},
        "roles": [
            {"name": "ideator", "params": {"num_ideas": 1, "num_reflections": 1}},
            {"name": "novelty_critic"},
            {"name": "coder", "params": {"editable": ["experiment.py"], "max_runs": 2}},
            {"name": "experimenter", "subscribes": ["code_change"]},
        ],
        "flow": {"max_ideas": 1, "timeout_s": 300},
        "sandbox": {"provider": provider, "timeout_s": 60, "memory_mb": 1024, "cpus": 1},
        "literature": {"engine": "none", "cache_path": None},
        "executor": executor,
    }
    path = work / "swarm.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _records(run_dir: Path) -> list[dict[str, Any]]:
    return list(read_transcript(run_dir / "transcript.jsonl"))


def _lines(records: list[dict[str, Any]], pattern: str) -> list[re.Match[str]]:
    found = (re.fullmatch(pattern, str(r.get("line", ""))) for r in records if r["kind"] == "output")
    return [m for m in found if m]


def _wait(what: str, check: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


def _watchdogs(copy: Path) -> list[str]:
    """The task watchdogs still alive that were looking after `copy` (their arguments name it, or its folder)."""
    names = {str(copy), str(copy.parent)}
    return [
        cmd
        for cmd in (c for _, c in all_processes().values())
        if "sciswarm.sandboxes.ray_watchdog" in cmd and names & set(cmd.split())
    ]


def _kill_driver_mid_run(driver: subprocess.Popen[bytes], runs: Path) -> tuple[Path, str, Path]:
    """SIGKILL the driver once run_2's child runs on the cluster: (run folder, the run's token, its cwd)."""

    def started() -> tuple[Path, re.Match[str]] | None:
        assert driver.poll() is None, f"the driver ended before run_2 started ({driver.returncode})"
        for transcript in runs.glob("*/transcript.jsonl"):
            hits = _lines(_records(transcript.parent), r"run_2 child started token=(\w+) cwd=(\S+)")
            if hits:
                return transcript.parent, hits[0]
        return None

    run_dir, hit = _wait("run_2 to start on the cluster", started, timeout=180)
    os.kill(driver.pid, signal.SIGKILL)  # the driver only: the cluster and the run's sandbox are left as they are
    driver.wait(timeout=10)
    return run_dir, hit.group(1), Path(hit.group(2))


@pytest.mark.parametrize(
    ("provider", "shared"),
    [("local", True), ("bwrap", False)],
    ids=["local-shared-dir", "bwrap-shipped-workspace"],
)
def test_resume_after_the_driver_is_killed_mid_run(head: Head, work: Path, provider: str, shared: bool) -> None:
    if provider == "bwrap" and not bwrap_available()[0]:
        pytest.skip(f"bubblewrap unusable here: {bwrap_available()[1]}")
    config = _config(work, _template(work), head.address, provider, shared)
    env = {**head.env, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    with (work / "driver.log").open("wb") as log:
        driver = subprocess.Popen(
            [sys.executable, "-m", "sciswarm", "run", str(config)],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            run_dir, token, copy = _kill_driver_mid_run(driver, work / "runs")
        finally:
            if driver.poll() is None:
                driver.kill()
    assert json.loads((run_dir / "run.json").read_text())["status"] == "running"  # a crash: nothing was marked
    ws = run_dir / "ideas" / IDEA / "workspace"
    assert copy != ws, "the run worked in the run folder itself: a dead driver's run could write into it"

    # the dead driver's run does not go on: not its Ray task or actor, not its sandboxed processes, not its copy
    _wait("the dead driver's Ray task and actor to go", lambda: not head.tasks("run_on_node", "_Lines"), GONE_S)
    _wait("the sandboxed processes of the dead driver's run to go", lambda: not pids_with_token(token), GONE_S)
    _wait("the dead driver's copy of the workspace to go", lambda: not copy.exists(), GONE_S)
    _wait("its watchdog to finish", lambda: not _watchdogs(copy), GONE_S)

    resumed = subprocess.run(
        [sys.executable, "-m", "sciswarm", "resume", str(run_dir)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["status"] == "completed" and meta["resumes"] == 1, meta.get("reason")

    # finished work was not redone: every run ran to its end once, the killed one once more, on the cluster
    records = _records(run_dir)
    execs = [r for r in records if r["kind"] == "sandbox_exec" and r["command"][:2] == ["python", "experiment.py"]]
    assert Counter(r["command"][-1] for r in execs) == {f"--out_dir=run_{i}": 1 for i in range(3)}
    assert {r["provider"] for r in execs} == {f"ray/{provider}"}
    results = [(r["run"], r["ok"]) for r in records if r["kind"] == "experiment_run"]
    assert results == [(1, True), (2, True)]
    stages = Counter(str(r["stage"]) for r in records if r["kind"] == "model_call" and r["sender"] == "coder")
    assert stages == {"plan": 1, "implement/run_1": 1, "implement/run_2": 1}
    assert json.loads((ws / "run_2" / "final_info.json").read_text())["toy"]["means"]["score"] == 1 / 8

    # nothing of the killed attempt reached the run folder, before or after the resume
    assert (ws / "attempts.log").read_text().splitlines() == ["run_1 start", "run_1 end", "run_2 start", "run_2 end"]

    # the transcript tells it as it was: two starts of run_2 (the killed one, the resumed one), one finish
    starts = _lines(records, r"run_2 child started token=(\w+) cwd=\S+")
    assert len(starts) == 2 and starts[0].group(1) == token and starts[1].group(1) != token
    assert len(_lines(records, r"run_2 child finished")) == 1
    statuses = [r["status"] for r in records if r["kind"] == "run_status"]
    assert statuses == ["running", "running", "completed"]
    redelivered = [str(r["text"]) for r in records if r["kind"] == "log" and str(r["text"]).startswith("resume")]
    assert redelivered[0].startswith(f"resume 1: the previous process (pid {driver.pid}) ended without a final status")
    assert redelivered[0].endswith("it crashed or was killed; 1 unfinished deliveries"), redelivered[0]
    assert len(redelivered) == 2 and "code_change" in redelivered[1] and "experimenter" in redelivered[1]

    # and the resumed driver left nothing running either, nor a staged copy in the shared folder
    _wait("the resumed driver's Ray task and actor to go", lambda: not head.tasks("run_on_node", "_Lines"), GONE_S)
    assert not list(work.glob("sciswarm-ws-*"))
