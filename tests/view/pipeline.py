"""An idea's whole research pipeline as transcript records in the real format (the event classes, dumped as the
run store writes them) and the files the idea's folder holds at each stage. For board and idea-page tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from support.tiny_pdf import write_pdf
from web_support import T0

from sciswarm.events import (
    ClaimsAudit,
    CodeChange,
    Draft,
    ExperimentPlan,
    ExperimentRun,
    ExperimentsDone,
    Figures,
    Idea,
    MetaReview,
    ModelCall,
    NoveltyVerdict,
    OutputLine,
    Paper,
    PaperRef,
    Review,
    ReviewScores,
    Revision,
    RunStatus,
    SandboxExec,
)

STAGES = ("idea", "novelty", "experiments", "writing", "review")
BASELINE = {
    "toy": {"means": {"accuracy": 0.50, "train_time": 1.0}, "stds": {"accuracy": 0.02, "train_time": 0.1}, "n": 3}
}
RUN_1 = {"toy": {"means": {"accuracy": 0.62, "train_time": 1.2}, "stds": {"accuracy": 0.01, "train_time": 0.1}, "n": 3}}
TITLES = {
    "label_smoothing": "Label Smoothing Helps Small MLPs Generalize",
    "mixup_for_mlps": "Mixup for Tabular MLPs",
    "cosine_warmup": "Cosine Warm-up Without Tuning",
    "tiny_dropout": "Dropout at Tiny Widths",
    "weight_noise": "Weight Noise as a Regularizer",
}
RUN_2 = {"toy": {"means": {"accuracy": 0.55, "train_time": 1.1}, "stds": {"accuracy": 0.03, "train_time": 0.2}, "n": 3}}


def scores(overall: int, decision: str = "Reject") -> ReviewScores:
    return ReviewScores(
        Summary="A careful small study: label smoothing raises the test accuracy of small MLPs.",
        Strengths=["Seeds and a baseline with the same seeds.", "Clear figures."],
        Weaknesses=["One dataset only.", "No comparison with other regularizers."],
        Originality=2,
        Quality=3,
        Clarity=3,
        Significance=2,
        Soundness=3,
        Presentation=3,
        Contribution=2,
        Overall=overall,
        Confidence=4,
        Decision=decision,  # type: ignore[arg-type]
    )


def bar_chart(path: Path) -> None:
    """A real figure (400 x 250 px), as a template's plot.py makes them."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 2.5), dpi=100)
    runs = ["baseline", "smoothing 0.1", "smoothing 0.2"]
    values = [
        BASELINE["toy"]["means"]["accuracy"],
        RUN_1["toy"]["means"]["accuracy"],
        RUN_2["toy"]["means"]["accuracy"],
    ]
    errors = [BASELINE["toy"]["stds"]["accuracy"], RUN_1["toy"]["stds"]["accuracy"], RUN_2["toy"]["stds"]["accuracy"]]
    ax.bar(runs, values, yerr=errors, color=["#94a3b8", "#3b82f6", "#60a5fa"], capsize=4)
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0.4, 0.7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def written(item: BaseModel, run_id: str, idea: str, sender: str, ts: float) -> dict[str, Any]:
    """A record as the run store writes it: the model dumped, its summary added."""
    for key, value in (("run_id", run_id), ("idea_id", idea), ("sender", sender), ("ts", ts)):
        setattr(item, key, value)
    record = item.model_dump(mode="json")
    record["summary"] = item.summary()  # type: ignore[attr-defined]
    return record


def means(info: dict[str, Any]) -> dict[str, dict[str, float]]:
    return {ds: dict(entry["means"]) for ds, entry in info.items()}


def stage(run_dir: Path, idea: str, name: str, t: float = T0, *, overall: int = 6) -> list[dict[str, Any]]:
    """The records of one stage of `idea` (and the files it leaves in the idea's folder)."""
    run_id = run_dir.name
    folder = run_dir / "ideas" / idea
    ws = folder / "workspace"

    def w(item: BaseModel, sender: str, dt: float = 0.0) -> dict[str, Any]:
        return written(item, run_id, idea, sender, t + dt)

    def call(sender: str, stage_: str) -> dict[str, Any]:
        return w(
            ModelCall(model="scripted", stage=stage_, prompt_tokens=900, completion_tokens=100, scripted=True), sender
        )

    if name == "idea":
        experiment = "Train the template's MLP with the change and compare test accuracy with the baseline, 3 seeds."
        spec = Idea(
            name=idea,
            title=TITLES.get(idea, f"A Study of {idea}"),
            experiment=experiment,
            interestingness=5,
            feasibility=9,
            novelty=4,
        )
        return [call("ideator", "idea"), w(spec, "ideator", 0.1)]
    if name == "novelty":
        papers = [
            PaperRef(title="Rethinking the Inception Architecture", year=2016, venue="CVPR", citation_count=28000),
            PaperRef(title="When Does Label Smoothing Help?", year=2019, venue="NeurIPS", citation_count=2100),
        ]
        reason = "Both study large image models; none measures small MLPs on tabular data."
        verdict = NoveltyVerdict(verdict="novel", reason=reason, compared=papers)
        return [call("novelty_critic", "novelty"), w(verdict, "novelty_critic", 0.1)]
    if name == "experiments":
        for run, info in ((0, BASELINE), (1, RUN_1), (2, RUN_2)):
            (ws / f"run_{run}").mkdir(parents=True, exist_ok=True)
            (ws / f"run_{run}" / "final_info.json").write_text(json.dumps(info))
        bar_chart(ws / "accuracy.png")
        out = [w(ExperimentPlan(runs=["smoothing 0.1", "smoothing 0.2"]), "coder")]
        for run, attempt, ok, info in ((1, 1, True, RUN_1), (2, 1, False, None), (2, 2, True, RUN_2)):
            out.append(w(CodeChange(run=run, attempt=attempt, files=["experiment.py"]), "coder", 0.1))
            out.append(w(OutputLine(line=f"run {run} step 1"), "experimenter", 0.2))
            out.append(
                w(
                    SandboxExec(provider="local", command=["python", "experiment.py"], exit_code=0 if ok else 1),
                    "experimenter",
                    0.3,
                )
            )
            error = "" if ok else "exit code 1; stderr tail:\nIndexError: index 9 is out of bounds"
            run_rec = ExperimentRun(
                run=run,
                attempt=attempt,
                ok=ok,
                exit_code=0 if ok else 1,
                wall_s=1.5,
                results=means(info) if info else {},
                error=error,
            )
            out.append(w(run_rec, "experimenter", 0.4))
        out.append(w(ExperimentsDone(runs=[1, 2], notes_path=f"ideas/{idea}/notes.txt"), "coder", 0.5))
        out.append(
            w(
                Figures(
                    files=["accuracy.png"],
                    descriptions={
                        "accuracy.png": "Test accuracy of each run with its standard deviation over 3 seeds; "
                        "both smoothing runs beat the baseline."
                    },
                ),
                "experimenter",
                0.6,
            )
        )
        return out
    if name == "writing":
        (folder / "paper").mkdir(parents=True, exist_ok=True)
        write_pdf(
            folder / "paper" / "paper_rev0.pdf",
            [TITLES.get(idea, idea), "", "Label smoothing 0.1 raises the", "test accuracy from 0.50 to 0.62."],
        )
        claims = {
            "revision": 0,
            "numbers": [{"text": "0.99", "part": "Results", "sentence": "It reaches 0.99.", "source": None}],
            "claims": [
                {"claim": {"quote": "halving beats doubling"}, "verdict": "contradicted", "evidence": "0.55 vs 0.62"}
            ],
            "flags": [],
            "counts": {"numbers": 1, "numbers_traced": 0, "comparisons": 1, "comparisons_contradicted": 1},
        }
        (folder / "claims.json").write_text(json.dumps(claims))
        audit = ClaimsAudit(counts=claims["counts"], remaining=["the number 0.99 is untraced"])
        paper = Paper(pdf=f"ideas/{idea}/paper/paper_rev0.pdf", pages=1, citations=2)
        return [
            call("writer", "write"),
            w(Draft(section="Results", chars=900), "writer"),
            w(audit, "writer", 0.1),
            w(paper, "writer", 0.2),
        ]
    if name == "review":
        out = [
            w(Review(reviewer=f"reviewer_{i}", review=scores(overall - 1 + i % 2)), "reviewer_panel", 0.1)
            for i in (1, 2, 3)
        ]
        out.append(
            w(
                MetaReview(review=scores(overall, "Accept" if overall >= 6 else "Reject"), n_reviews=3),
                "reviewer_panel",
                0.2,
            )
        )
        return out
    raise ValueError(name)


def revised(run_dir: Path, idea: str, t: float = T0) -> list[dict[str, Any]]:
    """The panel asks for a revision; the writer's revision 1 of the paper."""
    write_pdf(run_dir / "ideas" / idea / "paper" / "paper_rev1.pdf", ["Revision 1", "With a second dataset."])
    ask = Revision(revision=1, requests=["Add a second dataset."])
    paper = Paper(
        pdf=f"ideas/{idea}/paper/paper_rev1.pdf",
        pages=1,
        citations=3,
        revision=1,
        gave_up="revise/Results: ModelCallError: provider down",
    )
    return [
        written(ask, run_dir.name, idea, "reviewer_panel", t),
        written(paper, run_dir.name, idea, "writer", t + 0.1),
    ]


def whole(run_dir: Path, idea: str, t: float = T0, **kw: Any) -> list[dict[str, Any]]:
    return [r for i, s in enumerate(STAGES) for r in stage(run_dir, idea, s, t + i, **kw)]


def status(run_id: str, value: str, t: float, outcomes: dict[str, Any] | None = None) -> dict[str, Any]:
    item = RunStatus(status=value, reason="test", outcomes=outcomes or {})  # type: ignore[arg-type]
    return written(item, run_id, "swarm", "", t)


def new_run(runs: Path, run_id: str, *, pid: int, name: str = "board demo", started: float = T0) -> Path:
    """An empty running run: run.json and a transcript with its first run_status and the slots log line."""
    run_dir = runs / run_id
    (run_dir / "ideas").mkdir(parents=True)
    meta = {"run_id": run_id, "name": name, "status": "running", "pid": pid, "started_at": started, "messages": 0}
    (run_dir / "run.json").write_text(json.dumps(meta))
    first = [
        status(run_id, "running", T0),
        {
            "kind": "log",
            "run_id": run_id,
            "idea_id": "swarm",
            "sender": "swarm",
            "ts": T0,
            "level": "info",
            "text": "experiments run at most 2 at a time",
        },
    ]
    (run_dir / "transcript.jsonl").write_text("".join(json.dumps(r) + "\n" for r in first))
    return run_dir


def tree_search(run_dir: Path, idea: str, t: float = T0) -> list[dict[str, Any]]:
    """The experiments stage as the tree search does it (strategy: tree): tree.json written by the search's own
    classes, a TreeNode per finished node, the stage's best re-run with 3 seeds into workspace/run_1."""
    from sciswarm.agents.tree.nodes import Node, StageRecord, Tree
    from sciswarm.events import TreeNode

    folder, ws = run_dir / "ideas" / idea, run_dir / "ideas" / idea / "workspace"
    for run, info in ((0, BASELINE), (1, {"toy": {"means": {"accuracy": 0.63}, "stds": {"accuracy": 0.01}, "n": 3}})):
        (ws / f"run_{run}").mkdir(parents=True, exist_ok=True)
        (ws / f"run_{run}" / "final_info.json").write_text(json.dumps(info))
    (folder / "logs" / "tree_n1").mkdir(parents=True)
    (folder / "logs" / "tree_n1" / "stderr.log").write_text("Traceback (most recent call last):\nKeyError: 'smooth'\n")
    nodes = [
        Node("n1", "implementation", "draft", plan="smooth the labels", status="buggy", error="KeyError: 'smooth'",
             diff="-loss = ce(y)\n+loss = ce(smooth(y))", label="tree_n1", wall_s=2.0),
        Node("n2", "implementation", "debug", parent="n1", status="good", metric=0.60, label="tree_n2",
             diff="+from smoothing import smooth", analysis="it runs; accuracy 0.60", wall_s=2.5),
        Node("n3", "implementation", "improve", parent="n2", status="good", metric=0.66, label="tree_n3",
             diff="-eps = 0.1\n+eps = 0.2", analysis="eps 0.2 is better", wall_s=2.4),
    ]  # fmt: skip
    stage_rec = StageRecord("implementation", run=1, best="n3", chosen_by="objective", search_value=0.66,
                            rerun_value=0.63, rerun_std=0.01, rerun_seeds=3, nodes_tried=3, done=True)  # fmt: skip
    objective = {"metric": "accuracy", "direction": "max", "datasets": "mean"}
    Tree(objective=objective, nodes=nodes, stages=[stage_rec]).save(folder / "tree.json")
    out = [
        written(ExperimentPlan(runs=["tree search, stage implementation"]), run_id := run_dir.name, idea, "coder", t)
    ]
    for i, node in enumerate(nodes):
        status = "good" if node.status == "good" else "buggy"
        message = TreeNode(node=node.id, parent=node.parent, stage=node.stage, operator=node.operator, status=status,
                           metric=node.metric, wall_s=node.wall_s, label=node.label)  # fmt: skip
        out.append(written(message, run_id, idea, "coder", t + 0.1 * (i + 1)))
    out.append(written(ExperimentsDone(runs=[1], notes_path="notes.txt"), run_id, idea, "coder", t + 0.5))
    return out
