"""Units of the tree search: the operator choice (seeded), the objective in code, the concurrency bound, resume
without re-running finished nodes, and the claims audit's "selected" kind for search values."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from agent_support import TINY_TEMPLATE

from sciswarm.agents.coder import Coder
from sciswarm.agents.tree.nodes import Node, Tree
from sciswarm.agents.tree.objective import best_by_code, objective_value, ranked, resolve_objective
from sciswarm.agents.tree.params import Objective, TreeParams
from sciswarm.agents.tree.policy import Pick, choose, rng_for
from sciswarm.events import NoveltyVerdict
from sciswarm.evidence import AuditReport, Results, TracedNumber, appendix, find_numbers
from sciswarm.evidence.measurements import Measurement
from sciswarm.evidence.report import selection_summary
from sciswarm.evidence.tracing import result_sources, selected_sources, trace
from sciswarm.llm import ChatMessage
from sciswarm.sandboxes.base import RunResult, RunSpec
from sciswarm.testing import FakeLab, make_context, result


def node(node_id: str, status: str = "good", *, operator: str = "draft", parent: str | None = None, **kw: Any) -> Node:
    return Node(id=node_id, stage="implementation", operator=operator, parent=parent, status=status, **kw)


# ---- the policy ------------------------------------------------------------------------------------------
def test_drafts_come_first_then_debug_or_improve() -> None:
    params = TreeParams(drafts=2, debug_prob=0.5)
    rng = rng_for(params, "implementation", 0)
    assert choose([], parents=set(), best=None, drafting=True, params=params, rng=rng) == Pick("draft")
    one = [node("n1")]
    assert choose(one, parents=set(), best=one[0], drafting=True, params=params, rng=rng) == Pick("draft")
    # a later stage never drafts: it improves the root it was seeded with
    assert choose([], parents=set(), best=one[0], drafting=False, params=params, rng=rng) == Pick("improve", "n1")


def test_debug_picks_buggy_leaves_below_the_depth_limit_with_the_seeded_probability() -> None:
    nodes = [node("n1"), node("n2", "buggy"), node("n3", "buggy", operator="debug", parent="n2", debug_depth=1)]
    always = TreeParams(drafts=2, debug_prob=1.0, max_debug_depth=3)
    # n2 has a child (n3), so the only buggy leaf is n3
    pick = choose(nodes, parents={"n2"}, best=nodes[0], drafting=True, params=always, rng=rng_for(always, "s", 3))
    assert pick == Pick("debug", "n3")
    shallow = TreeParams(drafts=2, debug_prob=1.0, max_debug_depth=1)  # n3 is at the limit: improve instead
    pick = choose(nodes, parents={"n2"}, best=nodes[0], drafting=True, params=shallow, rng=rng_for(shallow, "s", 3))
    assert pick == Pick("improve", "n1")
    never = TreeParams(drafts=1, debug_prob=0.0)
    pick = choose(nodes, parents={"n2"}, best=nodes[0], drafting=True, params=never, rng=rng_for(never, "s", 3))
    assert pick == Pick("improve", "n1")
    # no good node at all: debug what there is, whatever the draw
    pick = choose(nodes[1:], parents={"n2"}, best=None, drafting=True, params=never, rng=rng_for(never, "s", 3))
    assert pick == Pick("debug", "n3")


def test_the_operator_choice_is_reproducible_from_the_rng_seed() -> None:
    nodes = [node("n1"), node("n2"), node("n3", "buggy"), node("n4", "buggy")]

    def picks(seed: int) -> list[Pick]:
        params = TreeParams(drafts=2, debug_prob=0.5, rng_seed=seed)
        return [
            choose(nodes, parents=set(), best=nodes[0], drafting=True, params=params, rng=rng_for(params, "s", i))
            for i in range(40)
        ]

    assert picks(7) == picks(7)
    ops = [p.operator for p in picks(7)]
    assert 5 < ops.count("debug") < 35 and {p.parent for p in picks(7) if p.operator == "debug"} == {"n3", "n4"}
    assert picks(7) != picks(8)


# ---- the objective ------------------------------------------------------------------------------------------
def test_the_objective_combines_datasets_and_refuses_missing_or_nonfinite_metrics() -> None:
    results = {"a": {"loss": 1.0, "acc": 0.5}, "b": {"loss": 3.0}}
    mean = Objective(metric="loss", direction="min")
    assert objective_value(mean, results) == 2.0
    assert objective_value(Objective(metric="loss", direction="min", datasets=["b"]), results) == 3.0
    assert objective_value(Objective(metric="acc", direction="max", datasets=["a", "b"]), results) is None
    assert objective_value(mean, {"a": {"loss": float("nan")}}) is None
    assert objective_value(Objective(metric="f1", direction="max"), results) is None


def test_the_best_node_is_chosen_by_code_with_exact_ties_kept_together() -> None:
    nodes = [node("n1", metric=0.3), node("n2", metric=0.1), node("n3", "buggy"), node("n4", metric=0.1)]
    low, high = Objective(metric="m", direction="min"), Objective(metric="m", direction="max")
    assert [n.id for n in ranked(low, nodes)] == ["n2", "n4", "n1"]
    assert [n.id for n in best_by_code(low, nodes)] == ["n2", "n4"]
    assert [n.id for n in best_by_code(high, nodes)] == ["n1"]
    assert best_by_code(low, [node("n5", "buggy")]) == []


def test_the_yaml_objective_wins_over_the_templates(tmp_path: Path) -> None:
    (tmp_path / "prompt.json").write_text(json.dumps({"objective": {"metric": "acc", "direction": "max"}}))
    assert resolve_objective(None, tmp_path) == Objective(metric="acc", direction="max")
    yaml_one = Objective(metric="loss", direction="min", datasets=["x"])
    assert resolve_objective(yaml_one, tmp_path) == yaml_one
    assert resolve_objective(None, TINY_TEMPLATE) is None


def test_tree_json_round_trips(tmp_path: Path) -> None:
    tree = Tree(objective={"metric": "m"}, search_seed=3, nodes=[node("n1", metric=0.5, results={"d": {"m": 0.5}})])
    tree.save(tmp_path / "tree.json")
    back = Tree.load(tmp_path / "tree.json")
    assert back is not None and back.to_json() == tree.to_json() and back.next_id() == "n2"


# ---- the search on a FakeLab: the worker bound and resume ------------------------------------------------------
class Toy:
    """The tiny template's experiment played in Python: score = 1 / DIVISOR; DIVISOR 0 crashes."""

    def __init__(self) -> None:
        self.in_flight = self.most = 0

    async def __call__(self, workspace: Path, argv: list[str]) -> Any:
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        try:
            await asyncio.sleep(0.02)
            divisor = float(re.findall(r"DIVISOR = (\S+)", (workspace / "experiment.py").read_text())[0])
            if divisor == 0:
                return result(1, stderr="Traceback\nZeroDivisionError: float division by zero")
            out_dir = next(a.split("=", 1)[1] for a in argv if a.startswith("--out_dir="))
            (workspace / out_dir).mkdir(parents=True, exist_ok=True)
            (workspace / out_dir / "final_info.json").write_text(json.dumps({"toy": {"means": {"score": 1 / divisor}}}))
            return 0
        finally:
            self.in_flight -= 1


def model(messages: list[ChatMessage]) -> str:
    """Drafts divide by 4, 8, 0, ...; a debug divides by 3; an improve doubles the divisor."""
    prompt = messages[-1].content
    if "Pick the best node" in prompt:  # the judge: the last candidate
        last = re.findall(r"^- (n\d+)", prompt, flags=re.MULTILINE)[-1]
        return json.dumps({"best": last, "reason": f"{last} came last."})
    current = re.findall(r"DIVISOR = (\S+)", prompt)
    if "You are drafting node" in prompt:
        number = int(re.findall(r"drafting node n(\d+)", prompt)[0])
        new = {1: 4.0, 2: 8.0, 3: 0.0}.get(number, 16.0)
    elif "debugs node" in prompt:
        new = 3.0
    elif "improves node" in prompt:
        new = float(current[0]) * 2
    else:
        return "It did what it planned."
    block = f"experiment.py\n<<<<<<< SEARCH\nDIVISOR = {current[0]}\n=======\nDIVISOR = {new}\n>>>>>>> REPLACE\n"
    return f"PLAN: divide by {new}.\n\n{block}"


def tree_coder(run_dir: Path, lab: FakeLab, **tree: Any) -> tuple[Coder, Any]:
    params = {
        "strategy": "tree",
        "editable": ["experiment.py"],
        "tree": {
            "stages": ["implementation"],
            "nodes": {"implementation": 6},
            "seeds_for_rerun": 1,
            "objective": {"metric": "score", "direction": "min"},
            **tree,
        },
    }
    ctx, rec = make_context(Coder, run_dir, params=params, model=model, lab=lab, template=TINY_TEMPLATE)
    return Coder(ctx), rec


@pytest.mark.parametrize(("workers", "most"), [(3, 3), (None, 1)])
async def test_at_most_workers_nodes_run_at_once(tmp_path: Path, workers: int | None, most: int) -> None:
    toy = Toy()
    coder, rec = tree_coder(tmp_path, FakeLab(toy), workers=workers, debug_prob=1.0)
    await coder.handle(NoveltyVerdict(verdict="novel"))
    assert toy.most == most  # the FakeLab cannot tell its slots: one worker by default
    data = json.loads((coder.ctx.folder.path / "tree.json").read_text())
    assert len(data["nodes"]) == 6 and [n["operator"] for n in data["nodes"][:3]] == ["draft"] * 3
    assert data["nodes"][3]["operator"] == "debug" and data["nodes"][3]["parent"] == "n3"
    statuses = [(m.node, m.status) for m in rec.of("tree_node")]  # type: ignore[attr-defined]
    assert [s for _, s in statuses].count("running") == 6 and len(statuses) == 12  # a start and an end per node
    assert all(statuses.index((n, "running")) < statuses.index((n, s)) for n, s in statuses if s != "running")
    assert rec.of("experiments_done")[0].runs == [1]  # type: ignore[attr-defined]
    if workers == 3:  # n5 and n6 both doubled n2's divisor: an exact tie, which the judge breaks
        (stage,) = data["stages"]
        assert (stage["best"], stage["chosen_by"], stage["reason"]) == (
            "n6",
            "objective, tie broken by the judge",
            "n6 came last.",
        )


async def test_a_resumed_tree_reruns_no_finished_node(tmp_path: Path) -> None:
    first = FakeLab(Toy())
    coder, _ = tree_coder(tmp_path, first, workers=2, nodes={"implementation": 4}, debug_prob=0.0)
    await coder.handle(NoveltyVerdict(verdict="novel"))
    labels = [label for _, label in first.runs]
    assert [x for x in labels if x.startswith("tree_n")] == ["tree_n1", "tree_n2", "tree_n3", "tree_n4"]
    # as if the coder had been killed while n4 ran: n4 unfinished, the stage not chosen, no run_1 yet
    path = coder.ctx.folder.path / "tree.json"
    data = json.loads(path.read_text())
    data["nodes"][3].update(status="pending", metric=None, results={}, analysis="", published=False)
    data["stages"][0].update(done=False, best=None)
    path.write_text(json.dumps(data))
    shutil.rmtree(coder.ctx.workspace / "run_1")
    again = FakeLab(Toy())
    coder, rec = tree_coder(tmp_path, again, workers=2, nodes={"implementation": 4}, debug_prob=0.0)
    await coder.handle(NoveltyVerdict(verdict="novel"))
    assert [label for _, label in again.runs] == ["tree_n4", "tree_rerun_implementation"]  # no baseline, no n1-n3
    assert any("resuming with 3 finished node(s); the interrupted step continues (n4 proposed)" in t for t in rec.logs)
    stage = json.loads(path.read_text())["stages"][0]
    assert stage["done"] and stage["best"] == "n4" and (coder.ctx.workspace / "run_1" / "final_info.json").exists()


async def test_a_spent_gpu_hour_budget_starts_no_new_node_and_the_best_so_far_goes_on(tmp_path: Path) -> None:
    toy = Toy()

    async def half_hour_on_two_gpus(workspace: Path, argv: list[str]) -> RunResult:
        out = await toy(workspace, argv)  # each run: 30 min on the spec's 2 GPUs = 1 GPU-hour
        failed = isinstance(out, RunResult)
        return result(1 if failed else 0, stderr=out.stderr_tail if failed else "", wall_s=1800.0)

    lab = FakeLab(half_hour_on_two_gpus, spec=RunSpec(argv=["python"], gpus=2))
    tree = {"stages": ["implementation", "tuning"], "nodes": {"implementation": 6, "tuning": 2}, "workers": 2}
    coder, rec = tree_coder(tmp_path, lab, **tree, debug_prob=0.0, max_gpu_hours=2.5)
    await coder.handle(NoveltyVerdict(verdict="novel"))
    # step 1 (n1, n2) used 2 GPU-h: under budget; step 2 (n3, n4) ran to its end, then no new node started
    labels = [label for _, label in lab.runs]
    assert [x for x in labels if x.startswith("tree_")] == [
        "tree_n1",
        "tree_n2",
        "tree_n3",
        "tree_n4",
        "tree_rerun_implementation",
    ]
    data = json.loads((coder.ctx.folder.path / "tree.json").read_text())
    assert [(n["id"], n["gpus"], n["gpu_s"]) for n in data["nodes"]] == [(f"n{i}", 2, 3600.0) for i in range(1, 5)]
    assert data["nodes"][2]["status"] == "buggy"  # the crashing draft held its GPUs all the same
    (stage,) = data["stages"]  # tuning never started
    assert (stage["name"], stage["best"], stage["nodes_tried"], stage["done"]) == ("implementation", "n4", 4, True)
    why = "the GPU-hour budget (2.5 GPU-h) is spent: the node runs used 4 GPU-h"
    assert data["stopped"] == f"{why}; stage implementation stopped after 4 of 6 nodes; stages not run: tuning"
    warnings = [t for t in rec.logs if "GPU-hour budget" in t]
    assert any(f"tree implementation: {why}; no new nodes start, the best so far is re-run" in t for t in warnings)
    assert any(f"{why} after stage implementation; the best so far goes on to writing" in t for t in warnings)
    assert rec.of("experiments_done")[0].runs == [1]  # type: ignore[attr-defined]
    assert f"The search stopped before its node budgets: {why}" in coder.ctx.folder.notes()
    finished = [m for m in rec.of("tree_node") if m.status != "running"]  # type: ignore[attr-defined]
    assert [m.gpu_s for m in finished] == [3600.0] * 4  # type: ignore[attr-defined]


def test_the_gpu_budget_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_gpu_hours"):
        TreeParams(max_gpu_hours=0)


# ---- the claims audit: search values are "selected" -------------------------------------------------------------
TREE = {
    "objective": {"metric": "score", "direction": "min"},
    "nodes": [
        {"id": "n6", "stage": "implementation", "results": {"toy": {"score": 0.0925}}, "metric": 0.0925},
        {"id": "n2", "stage": "implementation", "results": {}, "metric": None},
    ],
    "stages": [
        {
            "name": "implementation",
            "run": 1,
            "best": "n6",
            "chosen_by": "objective",
            "search_value": 0.0925,
            "rerun_value": 0.0725,
            "rerun_std": 0.01,
            "rerun_seeds": 3,
            "nodes_tried": 6,
        }
    ],
}


def test_a_number_matching_a_search_value_is_traced_as_selected_and_a_measured_one_as_results() -> None:
    results = Results([Measurement(1, "toy", "score", (0.0625, 0.0725, 0.0825))])
    sources = result_sources(results) + selected_sources(TREE)
    text = "The tuned score was 0.0925 during the search and 0.0725 on re-running."
    found = {n.text: trace(n, sources, results) for n in find_numbers(text)}
    assert found["0.0925"] is not None and found["0.0925"].kind == "selected"
    assert "n6 (implementation) toy score (search value)" in found["0.0925"].label
    assert found["0.0725"] is not None and found["0.0725"].kind == "results"
    assert selected_sources(None) == []


def test_the_number_of_nodes_tried_is_traced_to_the_tree_search() -> None:
    tree = {**TREE, "stages": [{**TREE["stages"][0], "nodes_tried": 18, "rerun_seeds": 12}]}  # type: ignore[dict-item]
    results = Results([Measurement(1, "toy", "score", (0.0625, 0.0725, 0.0825))])
    sources = result_sources(results) + selected_sources(tree)
    text = "We picked the best of 18 nodes and re-ran it with 12 fresh seeds; 19 nodes would be one more."
    found = {n.text: trace(n, sources, results) for n in find_numbers(text)}
    assert found["18"] is not None and (found["18"].kind, found["18"].label) == (
        "setup",
        "stage implementation: nodes tried",
    )
    assert found["12"] is not None and found["12"].label == "stage implementation: fresh seeds of the re-run"
    assert found["19"] is None  # nothing of the search says 19


def test_the_appendix_counts_selected_numbers_and_lists_both_values_per_stage() -> None:
    lines = selection_summary(TREE)
    assert lines == [
        "Stage implementation (run_1): node n6, selected from 6 nodes by the objective; search value of score 0.0925 "
        "(optimistic); re-run with 3 fresh seeds: 0.0725 +/- 0.01."
    ]
    report = AuditReport(selection=lines)
    report.numbers.append(
        TracedNumber(text="0.0925", part="Results", sentence="s", source="tree node n6", kind="selected")
    )
    counts = report.counts()
    assert counts["numbers_from_selected"] == 1
    tex = appendix(report)
    assert "1 search value" in tex and r"\paragraph{Selection.}" in tex and r"0.0725~$\pm$~0.01." in tex
    assert selection_summary(None) == []
    stopped = selection_summary({**TREE, "stopped": "the GPU-hour budget (2 GPU-h) is spent"})
    assert stopped[1:] == ["The search stopped before its node budgets: the GPU-hour budget (2 GPU-h) is spent."]
