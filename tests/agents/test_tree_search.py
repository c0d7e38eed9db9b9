"""The coder's experiment tree search (strategy: tree) on the tiny template, with real runs in the local sandbox
and a scripted model on the loopback server: drafts, a crashing draft debugged, improvements, two stages, two
nodes in flight at once, the best node chosen by the objective in code and re-run with fresh seeds."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any

from agent_support import Swarm, edit, idea_reply
from support.fake_openai import FakeOpenAI

IDEA = "divisor_sweep"
VISION = (
    '{"description": "Bar chart of the score of each run.", "readable": true, "matches_intent": true, "problems": []}'
)


def _slow_and_seeded(template: Path, objective: dict[str, Any] | None) -> None:
    """The tiny template with a score that depends on SCISWARM_SEED and a 0.3 s run (so that runs overlap)."""
    exp = template / "experiment.py"
    text = exp.read_text().replace(
        "score = score_of(STEP, DIVISOR)",
        "score = score_of(STEP, DIVISOR) + 0.01 * int(os.environ['SCISWARM_SEED'])\n    time.sleep(0.3)",
    )
    exp.write_text(text.replace("import os\n", "import os\nimport time\n"))
    if objective is not None:
        prompt = json.loads((template / "prompt.json").read_text())
        (template / "prompt.json").write_text(json.dumps({**prompt, "objective": objective}))


def divide(node: str, before: float, after: float, plan: str) -> dict[str, str]:
    return {
        "match": node,
        "content": edit("experiment.py", f"DIVISOR = {before}", f"DIVISOR = {after}", preface=f"PLAN: {plan}"),
    }


def roles(tree: dict[str, Any], editable: list[str], **experimenter: Any) -> list[dict[str, Any]]:
    coder = {"strategy": "tree", "editable": editable, "tree": tree}
    return [
        {"name": "ideator", "params": {"num_ideas": 1, "num_reflections": 1}},
        {"name": "novelty_critic"},
        {"name": "coder", "params": coder},
        {"name": "experimenter", **experimenter},
    ]


def close(a: float | None, b: float) -> bool:
    return a is not None and math.isclose(a, b, abs_tol=1e-9)


async def test_a_two_stage_tree_runs_nodes_in_parallel_and_reruns_each_best_with_fresh_seeds(
    swarm: Swarm, template: Path
) -> None:
    _slow_and_seeded(template, {"metric": "score", "direction": "min", "datasets": "mean"})
    tree = {
        "stages": ["implementation", "tuning"],
        "nodes": {"implementation": 6, "tuning": 6},
        "drafts": 3,
        "debug_prob": 1.0,
        "seeds_for_rerun": 3,
    }
    with FakeOpenAI() as llm:
        llm.add(
            {"match": "Propose the next", "content": idea_reply(IDEA)},
            divide("drafting node n1", 2.0, 4.0, "Divide by four."),
            divide("drafting node n2", 2.0, 0.0, "Divide by zero, boldly."),
            divide("drafting node n3", 2.0, 8.0, "Divide by eight."),
            divide("Node n4 debugs node n2", 0.0, 5.0, "Zero crashes; divide by five."),
            divide("Node n5 improves node n3", 8.0, 10.0, "A bit larger."),
            divide("Node n6 improves node n3", 8.0, 16.0, "Twice as large."),
            divide("Node n7 improves node n6", 16.0, 20.0, "Tune up a little."),
            divide("Node n8 improves node n6", 16.0, 32.0, "Tune up a lot."),
            divide("Node n9 improves node n8", 32.0, 40.0, "Tune further."),
            divide("Node n10 improves node n8", 32.0, 1.0, "Tune the wrong way."),
            divide("Node n11 improves node n9", 40.0, 50.0, "Fifty."),
            divide("Node n12 improves node n9", 40.0, 64.0, "Sixty-four."),
            *({"match": f"Analyse node n{i} ", "content": f"Node n{i} did what it planned."} for i in range(1, 13)),
            {
                "match": "The experiments are done",
                "content": "NOTES: the larger the divisor, the lower the score.\n\n"
                + edit(
                    "plot.py",
                    '    "run_0": "Baseline",',
                    '    "run_0": "Baseline",\n    "run_1": "Impl",\n    "run_2": "Tuned",',
                ),
            },
            {"match": "one of the figures that plot.py made", "content": VISION},
        )
        out = await swarm.run(
            roles(tree, ["experiment.py", "plot.py"]),
            api_base=llm.api_base,
            sandbox={"max_parallel_runs": 2},
        )
        unmatched = [item.get("match") for item in llm.queue]
    assert out.status == "completed" and not out.of("role_failed"), [r.get("error") for r in out.of("role_failed")]
    assert unmatched == []
    idea = out.idea_dir(IDEA)
    data = json.loads((idea / "tree.json").read_text())
    nodes = {n["id"]: n for n in data["nodes"]}
    assert len(nodes) == 12 and data["objective"]["metric"] == "score" and data["search_seed"] == 3
    assert [(n["operator"], n["parent"]) for n in data["nodes"][:6]] == [
        ("draft", None),
        ("draft", None),
        ("draft", None),
        ("debug", "n2"),
        ("improve", "n3"),
        ("improve", "n3"),
    ]
    assert [n["parent"] for n in data["nodes"][6:]] == ["n6", "n6", "n8", "n8", "n9", "n9"]
    # the crashing draft is buggy, with its traceback; its debug node fixed it
    assert nodes["n2"]["status"] == "buggy" and "ZeroDivisionError" in nodes["n2"]["error"]
    assert nodes["n4"]["status"] == "good" and nodes["n4"]["debug_depth"] == 1 and close(nodes["n4"]["metric"], 0.23)
    assert [n["status"] for n in data["nodes"]].count("buggy") == 1
    # every node: its own folder, its diff against its parent, its timing and label
    assert (
        "-DIVISOR = 2.0\n+DIVISOR = 4.0" in nodes["n1"]["diff"] and "--- template/experiment.py" in nodes["n1"]["diff"]
    )
    assert "--- n3/experiment.py" in nodes["n6"]["diff"] and "+DIVISOR = 16.0" in nodes["n6"]["diff"]
    assert all(n["label"] == f"tree_{n['id']}" and n["wall_s"] > 0 and n["analysis"] for n in data["nodes"])
    assert all(n["wall_s"] > 0.25 for n in data["nodes"] if n["status"] == "good")  # the 0.3 s sleep
    assert (idea / "tree" / "n6" / "experiment.py").read_text().count("DIVISOR = 16.0") == 1
    # two nodes in flight at once: the intervals of a step's two runs overlap (tree.json and the transcript)
    n1, n2 = nodes["n1"], nodes["n2"]
    assert max(n1["started"], n2["started"]) < min(n1["finished"], n2["finished"])
    execs = [r for r in out.of("sandbox_exec") if r["command"][:2] == ["python", "experiment.py"]]
    spans = sorted((r["ts"] - r["wall_s"], r["ts"]) for r in execs)
    assert any(b[0] < a[1] for a, b in itertools.pairwise(spans))
    # the best by code, re-run with fresh seeds into workspace/run_k; both values kept
    impl, tuning = data["stages"]
    assert (impl["best"], impl["chosen_by"], impl["nodes_tried"], impl["run"]) == ("n6", "objective", 6, 1)
    assert close(impl["search_value"], 0.0925) and close(impl["rerun_value"], 0.0725) and close(impl["rerun_std"], 0.01)
    assert (tuning["root"], tuning["best"], tuning["run"]) == ("n6", "n12", 2)
    assert close(tuning["search_value"], 0.045625) and close(tuning["rerun_value"], 0.025625)
    ws = idea / "workspace"
    run1 = json.loads((ws / "run_1" / "final_info.json").read_text())["toy"]
    assert run1["n"] == 3 and [round(v, 6) for v in run1["values"]["score"]] == [0.0625, 0.0725, 0.0825]
    assert json.loads((ws / "run_0" / "final_info.json").read_text())["toy"]["n"] == 3  # the baseline: same seeds
    assert "DIVISOR = 64.0" in (ws / "experiment.py").read_text()  # the final best code
    reruns = [r["command"] for r in execs if "--out_dir=run_2/seed_2" in r["command"]]
    assert reruns == [["python", "experiment.py", "--out_dir=run_2/seed_2"]]
    # typed transcript messages per node, the plan per stage, the writer's notes, then the usual figure stage
    started, tree_nodes = (
        out.of("tree_node", status="running"),
        [m for m in out.of("tree_node") if m["status"] != "running"],
    )
    assert sorted(int(m["node"][1:]) for m in tree_nodes) == list(range(1, 13))
    assert {m["node"]: m["status"] for m in tree_nodes}["n2"] == "buggy"
    # each node's start is a record of its own (watch and the viewer show it in flight), with its worker
    assert sorted(int(m["node"][1:]) for m in started) == list(range(1, 13))
    assert {m["node"]: m["worker"] for m in started}["n2"] == 2
    order = [(m["node"], m["status"]) for m in out.of("tree_node")]
    assert order[:2] == [("n1", "running"), ("n2", "running")]  # both in flight before either finished
    assert json.loads((idea / "plan.json").read_text())[0] == "tree search, stage implementation: Twice as large."
    notes = (idea / "notes.txt").read_text()
    assert (
        "stage implementation: best node n6 (improve of n3), search value 0.0925, re-run with 3 seeds 0.0725 ± 0.01 "
        "(selected from 6 nodes; the search value is optimistic)" in notes
    )
    assert "stage tuning: best node n12 (improve of n9), search value 0.04562" in notes
    assert "## Tree search journal" in notes and "- n2 (draft), buggy: ZeroDivisionError" in notes
    assert "debugging fixed n2" in notes
    assert out.of("experiments_done")[0]["runs"] == [1, 2]
    (figures,) = out.of("figures")
    assert figures["files"] == ["scores.png"]
    stages = [c["stage"] for c in out.calls("coder")]
    assert stages[:2] == ["tree/implementation/n1/draft", "tree/implementation/n2/draft"] and stages[-1] == "plot"
    assert not any("judge" in s for s in stages)  # an objective, no ties: the choice is code's alone


async def test_without_an_objective_the_judge_decides_and_the_transcript_says_so(swarm: Swarm, template: Path) -> None:
    _slow_and_seeded(template, None)
    tree = {"stages": ["implementation"], "nodes": {"implementation": 2}, "drafts": 2, "seeds_for_rerun": 2}
    with FakeOpenAI() as llm:
        llm.add(
            {"match": "Propose the next", "content": idea_reply(IDEA)},
            divide("drafting node n1", 2.0, 4.0, "Divide by four."),
            divide("drafting node n2", 2.0, 8.0, "Divide by eight."),
            {"match": "Analyse node n1 ", "content": "A quarter."},
            {"match": "Analyse node n2 ", "content": "An eighth: the clearer effect."},
            {"match": "Pick the best node", "content": '{"best": "n2", "reason": "n2 shows the effect more clearly."}'},
        )
        out = await swarm.run(
            roles(tree, ["experiment.py"], subscribes=["code_change"]),
            api_base=llm.api_base,
            sandbox={"max_parallel_runs": 2},
        )
        judge = [r for r in llm.requests if "Pick the best node" in json.dumps(r["messages"])]
    assert out.status == "completed" and not out.of("role_failed"), [r.get("error") for r in out.of("role_failed")]
    (request,) = judge
    prompt = request["messages"][-1]["content"]
    assert "There is no objective" in prompt and "An eighth: the clearer effect." in prompt
    idea = out.idea_dir(IDEA)
    (stage,) = json.loads((idea / "tree.json").read_text())["stages"]
    assert (stage["best"], stage["chosen_by"]) == ("n2", "judge (no objective)")
    assert stage["search_value"] is None and stage["rerun_value"] is None
    assert any("the judge decided: n2 of n1, n2" in t for t in out.logs())
    run1 = json.loads((idea / "workspace" / "run_1" / "final_info.json").read_text())["toy"]
    assert run1["n"] == 2 and [round(v, 6) for v in run1["values"]["score"]] == [0.125, 0.135]
    assert "chosen by the judge (no objective): n2 shows the effect more clearly." in (idea / "notes.txt").read_text()
    assert out.of("experiments_done")[0]["runs"] == [1]
