"""The tree search's GPU-hour budget on the real lab: GPU slots (``sandbox.gpu_devices``) in front of the local
provider hand each node run its own device, the run reports what it held, tree.json keeps every node's
GPU-seconds, and a spent budget starts no new node (the best so far is re-run and the experiments end).

This host has no GPU. The local provider asks ``nvidia-smi`` which GPUs exist; a stand-in on PATH answers
"0" and "1" (a host with two GPUs). Nothing here computes on a GPU: the experiment only prints the
CUDA_VISIBLE_DEVICES it was given, so the device each run saw can be checked against the slot it recorded."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest
from agent_support import Swarm, edit, idea_reply
from support.fake_openai import FakeOpenAI

IDEA = "divisor_sweep"
pytestmark = pytest.mark.slow
BUDGET_GPU_H = 1e-4  # 0.36 GPU-seconds: the first step's two runs (~0.4 s on one GPU each) spend it


@pytest.fixture
def two_gpus(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tools = work / "gpu-bin"
    tools.mkdir()
    smi = tools / "nvidia-smi"
    smi.write_text("#!/bin/sh\nprintf '0\\n1\\n'\n")  # what `nvidia-smi --query-gpu=index ...` prints
    smi.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}:{os.environ['PATH']}")


def _reports_its_device(template: Path) -> None:
    exp = template / "experiment.py"
    text = exp.read_text().replace("import os\n", "import os\nimport time\n")
    text = text.replace(
        "    score = score_of(STEP, DIVISOR)",
        "    print('CUDA_VISIBLE_DEVICES=' + os.environ.get('CUDA_VISIBLE_DEVICES', '-'))\n"
        "    time.sleep(0.4)\n    score = score_of(STEP, DIVISOR)",
    )
    exp.write_text(text)


def divide(node: str, before: float, after: float) -> dict[str, str]:
    change = edit("experiment.py", f"DIVISOR = {before}", f"DIVISOR = {after}", preface=f"PLAN: divide by {after}.")
    return {"match": node, "content": change}


async def test_gpu_slots_report_each_node_runs_gpus_and_a_spent_gpu_budget_stops_the_tree(
    swarm: Swarm, template: Path, two_gpus: None
) -> None:
    _reports_its_device(template)
    tree = {
        "stages": ["implementation", "tuning"],
        "nodes": {"implementation": 4, "tuning": 2},
        "drafts": 2,
        "seeds_for_rerun": 1,
        "objective": {"metric": "score", "direction": "min"},
        "max_gpu_hours": BUDGET_GPU_H,
    }  # no `workers`: the lab's slots, i.e. the two GPUs
    roles = [
        {"name": "ideator", "params": {"num_ideas": 1, "num_reflections": 1}},
        {"name": "novelty_critic"},
        {"name": "coder", "params": {"strategy": "tree", "editable": ["experiment.py"], "tree": tree}},
        {"name": "experimenter", "subscribes": ["code_change"]},
    ]
    with FakeOpenAI() as llm:
        llm.add(
            {"match": "Propose the next", "content": idea_reply(IDEA)},
            divide("drafting node n1", 2.0, 4.0),
            divide("drafting node n2", 2.0, 8.0),
            {"match": "Analyse node n1 ", "content": "A quarter."},
            {"match": "Analyse node n2 ", "content": "An eighth."},
        )
        sandbox = {"gpu_devices": ["0", "1"], "gpus_per_run": 1}
        out = await swarm.run(roles, api_base=llm.api_base, sandbox=sandbox)
        unmatched = [item.get("match") for item in llm.queue]
    assert out.status == "completed" and not out.of("role_failed"), [r.get("error") for r in out.of("role_failed")]
    assert unmatched == []
    assert any("2 worker(s) (the lab's slots)" in t for t in out.logs())
    idea = out.idea_dir(IDEA)
    data = json.loads((idea / "tree.json").read_text())
    nodes = data["nodes"]
    assert [n["id"] for n in nodes] == ["n1", "n2"]  # the budget was spent after the first step: no n3
    for node in nodes:  # one GPU each, the device the run really got, GPU-seconds = 1 GPU x its wall time
        seen = (idea / "logs" / node["label"] / "stdout.log").read_text()
        assert node["gpus"] == 1 and f"CUDA_VISIBLE_DEVICES={node['slot']}\n" in seen, (node, seen)
        assert node["wall_s"] > 0.35 and math.isclose(node["gpu_s"], node["wall_s"])
    assert {n["slot"] for n in nodes} == {"0", "1"}  # in flight together, each on its own GPU
    assert max(n["started"] for n in nodes) < min(n["finished"] for n in nodes)
    used = sum(n["gpu_s"] for n in nodes) / 3600
    why = f"the GPU-hour budget ({BUDGET_GPU_H:g} GPU-h) is spent: the node runs used {used:.3g} GPU-h"
    assert data["stopped"] == f"{why}; stage implementation stopped after 2 of 4 nodes; stages not run: tuning"
    assert any(f"{why} after stage implementation; the best so far goes on to writing" in t for t in out.logs())
    (stage,) = data["stages"]
    assert (stage["best"], stage["nodes_tried"], stage["rerun_seeds"]) == ("n2", 2, 1)
    assert out.of("experiments_done")[0]["runs"] == [1]
    # the transcript: every sandbox run says what it held; each node's end names its GPU
    execs = [r for r in out.of("sandbox_exec") if r["command"][:2] == ["python", "experiment.py"]]
    assert execs and all(r["gpus"] == 1 and r["gpu_ids"] in (["0"], ["1"]) for r in execs)
    ends = {m["node"]: m for m in out.of("tree_node") if m["status"] != "running"}
    assert {k: (m["slot"], m["gpu_s"]) for k, m in ends.items()} == {n["id"]: (n["slot"], n["gpu_s"]) for n in nodes}
