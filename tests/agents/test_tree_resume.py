"""A tree search killed with SIGKILL mid-step and resumed with `sciswarm resume`: no finished node runs again, the
interrupted step goes on with the nodes it had picked, and the scripted model's replies line up with the calls
still to make (the tree skips the replies its first process consumed)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from agent_support import Swarm, edit, idea_reply

from sciswarm.run.store import read_transcript

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
IDEA = "divisor_sweep"
# node -> (parent's divisor, its divisor): drafts n1, n2; n3, n4 improve n2; tuning: n5, n6 improve n4
DIVISORS = {"n1": (2, 4), "n2": (2, 8), "n3": (8, 16), "n4": (8, 32), "n5": (32, 64), "n6": (32, 128)}


def _slow(template: Path) -> None:
    """Runs that take longer the larger the divisor (n3 0.7 s, n4 1.1 s), so that a kill lands between them."""
    exp = template / "experiment.py"
    text = exp.read_text().replace("import os\n", "import os\nimport time\n")
    exp.write_text(text.replace("    score = score_of", "    time.sleep(0.3 + DIVISOR / 40)\n    score = score_of"))
    prompt = json.loads((template / "prompt.json").read_text())
    objective = {"metric": "score", "direction": "min"}
    (template / "prompt.json").write_text(json.dumps({**prompt, "objective": objective}))


def _change(node: str) -> str:
    before, after = DIVISORS[node]
    return edit("experiment.py", f"DIVISOR = {before}.0", f"DIVISOR = {after}.0", preface=f"PLAN: {node} divides.")


def _replies() -> dict[str, list[str]]:
    """The coder's calls in order: each step's proposals, then its analyses (two nodes per step)."""
    coder: list[str] = []
    for step in (("n1", "n2"), ("n3", "n4"), ("n5", "n6")):
        coder += [_change(n) for n in step] + [f"Analysis of {n}." for n in step]
    return {"ideator": [idea_reply(IDEA)], "coder": coder}


def _roles() -> list[dict[str, Any]]:
    tree = {
        "stages": ["implementation", "tuning"],
        "nodes": {"implementation": 4, "tuning": 2},
        "drafts": 2,
        "debug_prob": 0.0,
        "workers": 2,
        "seeds_for_rerun": 1,
    }
    return [
        {"name": "ideator", "params": {"num_ideas": 1, "num_reflections": 1}},
        {"name": "novelty_critic"},
        {"name": "coder", "params": {"strategy": "tree", "editable": ["experiment.py"], "tree": tree}},
        {"name": "experimenter", "subscribes": ["code_change"]},
    ]


def _nodes(path: Path) -> dict[str, dict[str, Any]]:
    try:
        return {n["id"]: n for n in json.loads(path.read_text())["nodes"]}
    except (OSError, ValueError, KeyError):
        return {}


def test_a_killed_tree_resumes_without_rerunning_a_finished_node(swarm: Swarm, template: Path) -> None:
    _slow(template)
    config = swarm.write_config(_roles(), replies=_replies(), sandbox={"max_parallel_runs": 2})
    proc = subprocess.Popen(
        [sys.executable, "-m", "sciswarm", "run", str(config)],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    tree_json = swarm.runs / "*" / "ideas" / IDEA / "tree.json"
    deadline, snapshot, found = time.monotonic() + 120, {}, None
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            found = next(iter(swarm.runs.glob(str(tree_json.relative_to(swarm.runs)))), None)
            snapshot = _nodes(found) if found else {}
            if snapshot.get("n3", {}).get("status") == "good":  # n3 ran; n4 (slower) is still running
                break
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGKILL)  # a hard crash of the run and its sandboxed runs
    finally:
        proc.wait(timeout=10)
    assert found is not None and snapshot.get("n3", {}).get("status") == "good", snapshot
    snapshot = _nodes(found)  # as the killed process left it
    finished = {k for k, n in snapshot.items() if n["status"] not in ("pending", "running")}
    # n4 was in flight when the process died: tree.json says so, and the resumed tree runs it again
    assert {"n1", "n2", "n3"} <= finished and snapshot["n4"]["proposed"] and snapshot["n4"]["status"] == "running"
    assert snapshot["n1"]["published"] and not snapshot["n3"]["published"]  # killed inside the step of n3, n4
    run_dir = found.parents[2]
    assert json.loads((run_dir / "run.json").read_text())["status"] == "running"

    out = subprocess.run(
        [sys.executable, "-m", "sciswarm", "resume", str(run_dir)],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert out.returncode == 0, out.stderr + out.stdout
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["status"] == "completed" and meta["resumes"] == 1
    records = list(read_transcript(run_dir / "transcript.jsonl"))
    assert not [r for r in records if r["kind"] == "role_failed"], [r.get("error") for r in records]

    data = json.loads(found.read_text())
    nodes = {n["id"]: n for n in data["nodes"]}
    assert sorted(nodes, key=lambda k: int(k[1:])) == list(DIVISORS)
    for node, (_, after) in DIVISORS.items():  # every reply went to the call it was written for
        assert nodes[node]["status"] == "good" and nodes[node]["published"], node
        assert nodes[node]["plan"] == f"{node} divides." and f"+DIVISOR = {after}.0" in nodes[node]["diff"], node
        assert nodes[node]["analysis"] == f"Analysis of {node}.", node
    for node in finished:  # the finished nodes were not run again
        before, after = snapshot[node], nodes[node]
        assert (after["started"], after["finished"]) == (before["started"], before["finished"]), node
    assert [(s["name"], s["best"], s["done"]) for s in data["stages"]] == [
        ("implementation", "n4", True),
        ("tuning", "n6", True),
    ]
    assert data["calls"] == 12

    # the transcript: each node proposed and analysed once in all; sandbox runs: baseline + 6 nodes + 2 re-runs
    # (n4's interrupted run was never recorded: the killed process did not see it end)
    stages = Counter(str(r["stage"]) for r in records if r["kind"] == "model_call" and r["sender"] == "coder")
    for node in DIVISORS:
        operator = "draft" if node in ("n1", "n2") else "improve"
        stage = "implementation" if node in ("n1", "n2", "n3", "n4") else "tuning"
        assert stages[f"tree/{stage}/{node}/{operator}"] == 1 and stages[f"tree/{stage}/{node}/analyse"] == 1, node
    assert sum(stages.values()) == 12
    execs = [r for r in records if r["kind"] == "sandbox_exec" and r["command"][:2] == ["python", "experiment.py"]]
    assert len(execs) == 9, [r["command"] for r in execs]
    logs = [str(r["text"]) for r in records if r["kind"] == "log"]
    assert any("skipping the 6 scripted replies the tree consumed before" in t for t in logs)
    assert any(
        "resuming with 2 finished node(s); the interrupted step continues (n3 ran, n4 proposed)" in t for t in logs
    )
    ends = [r["node"] for r in records if r["kind"] == "tree_node" and r["status"] != "running"]
    assert ends == list(DIVISORS)  # each finished node published once
    starts = Counter(r["node"] for r in records if r["kind"] == "tree_node" and r["status"] == "running")
    assert starts["n4"] == 2 and all(starts[n] == 1 for n in DIVISORS if n != "n4")  # n4 started again on resume
    assert json.loads((found.parent / "workspace" / "run_2" / "final_info.json").read_text()) == {
        "toy": {"means": {"score": 1 / 128}}
    }
