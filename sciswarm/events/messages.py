"""Typed messages that travel on the bus.

A leaf module: it imports nothing from sciswarm outside ``sciswarm.events``. Every message is a pydantic model with a
``kind`` tag; custom roles may define their own ``Message`` subclasses with new kinds.
"""

from __future__ import annotations

import time
import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from sciswarm.events.review_form import ReviewScores


def new_id() -> str:
    return uuid.uuid4().hex[:12]


class Message(BaseModel):
    """Base of everything on the bus. The bus fills run_id/idea_id/sender/parent_id."""

    model_config = ConfigDict(extra="forbid")

    kind: str
    id: str = Field(default_factory=new_id)
    run_id: str = ""
    idea_id: str = "swarm"
    sender: str = ""
    parent_id: str | None = None
    ts: float = Field(default_factory=time.time)

    def summary(self) -> str:
        """One line for live viewers."""
        return self.kind


class Start(Message):
    kind: Literal["start"] = "start"
    template: str = ""
    goal: str = ""

    def summary(self) -> str:
        return f"swarm started on template {self.template or '-'}"


class Idea(Message):
    kind: Literal["idea"] = "idea"
    name: str
    title: str
    experiment: str
    interestingness: int = Field(ge=1, le=10)
    feasibility: int = Field(ge=1, le=10)
    novelty: int = Field(ge=1, le=10)

    def summary(self) -> str:
        return f"idea {self.name!r}: {self.title}"


class PaperRef(BaseModel):
    paper_id: str = ""
    title: str
    year: int | None = None
    authors: str = ""
    venue: str = ""
    citation_count: int | None = None


class NoveltyVerdict(Message):
    kind: Literal["novelty"] = "novelty"
    verdict: Literal["novel", "not novel", "unknown"]
    reason: str = ""
    compared: list[PaperRef] = Field(default_factory=list)
    proceed: bool = True

    def summary(self) -> str:
        return f"verdict {self.verdict} ({len(self.compared)} papers compared): {self.reason[:80]}"


class ExperimentPlan(Message):
    kind: Literal["plan"] = "plan"
    runs: list[str]

    def summary(self) -> str:
        return f"plan of {len(self.runs)} run(s)"


class CodeChange(Message):
    kind: Literal["code_change"] = "code_change"
    run: int
    attempt: int = 1
    files: list[str] = Field(default_factory=list)
    changed: bool = True
    mode: Literal["edits", "whole_file", "none"] = "edits"
    note: str = ""

    def summary(self) -> str:
        flag = "" if self.changed else " (UNCHANGED)"
        return f"run_{self.run} attempt {self.attempt}: {self.mode} on {', '.join(self.files) or '-'}{flag}"


class ExperimentRun(Message):
    kind: Literal["experiment_run"] = "experiment_run"
    run: int
    attempt: int = 1
    ok: bool
    exit_code: int | None = None
    timed_out: bool = False
    oom_killed: bool = False
    wall_s: float = 0.0
    results: dict[str, Any] = Field(default_factory=dict)
    error: str = ""

    def summary(self) -> str:
        lines = [line.strip() for line in self.error.splitlines() if line.strip()]
        gist = lines[-1][:100] if lines else "no error text"
        state = "ok" if self.ok else ("timed out" if self.timed_out else f"failed: {gist}")
        return f"run_{self.run} attempt {self.attempt}: {state} in {self.wall_s:.1f}s"


class ExperimentsDone(Message):
    kind: Literal["experiments_done"] = "experiments_done"
    runs: list[int]
    notes_path: str = ""

    def summary(self) -> str:
        return f"experiments done: runs {self.runs}"


class TreeNode(Message):
    """A node of the coder's experiment tree search (``strategy: tree``; every node is in tree.json): once when
    its run starts (status ``running``) and once when it is finished (``good`` or ``buggy``, with its metric)."""

    kind: Literal["tree_node"] = "tree_node"
    node: str
    parent: str | None = None
    stage: str
    operator: str  # draft | debug | improve
    status: Literal["running", "good", "buggy"]
    metric: float | None = None  # the objective's value on the search run (None without an objective)
    wall_s: float = 0.0
    label: str = ""
    worker: int = 0  # its place in the step's batch of nodes
    slot: str = ""  # the GPU device ids its run held, when the lab's GPU slots handed them out (known at the end)
    gpu_s: float = 0.0  # GPU-seconds of its run (GPUs held x wall seconds)

    def summary(self) -> str:
        origin = f" of {self.parent}" if self.parent else ""
        head = f"tree {self.stage} {self.node} ({self.operator}{origin})"
        if self.status == "running":
            return f"{head}: started, running (worker {self.worker})"
        value = f", metric {self.metric:.4g}" if self.metric is not None else ""
        held = f" on GPU {self.slot}" if self.slot else ""
        return f"{head}: {self.status}{value} in {self.wall_s:.1f}s{held}"


class Figures(Message):
    kind: Literal["figures"] = "figures"
    files: list[str]
    descriptions: dict[str, str] = Field(default_factory=dict)

    def summary(self) -> str:
        return f"{len(self.files)} figure(s): {', '.join(self.files)}"


class Draft(Message):
    kind: Literal["draft"] = "draft"
    section: str
    chars: int = 0

    def summary(self) -> str:
        return f"section {self.section} ({self.chars} chars)"


class Paper(Message):
    kind: Literal["paper"] = "paper"
    pdf: str
    pages: int = 0
    citations: int = 0
    revision: int = 0
    compiled: bool = True  # False: this revision did not compile; the PDF is the last good one
    reverted: list[str] = Field(default_factory=list)  # parts put back at their last compiling version
    gave_up: str = ""  # "stage: error": a writer stage's model call failed for good; the PDF keeps the last text

    def summary(self) -> str:
        state = "" if self.compiled else ", NOT compiled: last good PDF"
        if self.reverted:
            state += f", reverted: {', '.join(self.reverted)}"
        if self.gave_up:
            state += f", writer gave up at {self.gave_up}"
        return f"paper rev {self.revision}: {self.pdf} ({self.pages} pages, {self.citations} citations{state})"


class ClaimsAudit(Message):
    """The claims audit of a paper revision: numbers traced, comparisons verified by code, what is left."""

    kind: Literal["claims_audit"] = "claims_audit"
    revision: int = 0
    rounds: int = 0  # writer fix rounds the audit drove
    counts: dict[str, int] = Field(default_factory=dict)
    remaining: list[str] = Field(default_factory=list)
    path: str = "claims.json"

    def summary(self) -> str:
        c = self.counts
        held = c.get("comparisons_supported", 0) + c.get("comparisons_untested", 0)
        return (
            f"claims audit rev {self.revision}: {c.get('numbers_traced', 0)}/{c.get('numbers', 0)} numbers traced, "
            f"{held}/{c.get('comparisons', 0)} comparisons hold ({self.rounds} fix round(s)); "
            f"{len(self.remaining)} issue(s) left"
        )


class Review(Message):
    kind: Literal["review"] = "review"
    reviewer: str
    revision: int = 0
    review: ReviewScores

    def summary(self) -> str:
        return f"{self.reviewer}: overall {self.review.Overall}/10, {self.review.Decision}"


class MetaReview(Message):
    kind: Literal["meta_review"] = "meta_review"
    revision: int = 0
    review: ReviewScores
    n_reviews: int

    def summary(self) -> str:
        return f"meta-review of {self.n_reviews}: overall {self.review.Overall}/10, {self.review.Decision}"


class Revision(Message):
    kind: Literal["revision"] = "revision"
    revision: int
    requests: list[str] = Field(default_factory=list)

    def summary(self) -> str:
        return f"revision {self.revision} requested ({len(self.requests)} points)"


class Raw(Message):
    """A message of a kind this process has no class for (e.g. a plug-in's), read back from a transcript."""

    model_config = ConfigDict(extra="allow")


class Note(Message):
    """Free-form message for custom roles that do not need their own type."""

    kind: Literal["note"] = "note"
    text: str
    data: dict[str, Any] = Field(default_factory=dict)

    def summary(self) -> str:
        return self.text[:120]


class RoleFailed(Message):
    kind: Literal["role_failed"] = "role_failed"
    role: str
    error: str
    on_kind: str = ""
    traceback: str = ""  # where it happened (also in the run folder's errors.log); never shown in a summary
    details: str = ""  # the file in the run folder holding the details, if any

    def summary(self) -> str:
        error = " ".join(self.error.split())
        error = error if len(error) <= 240 else error[:239] + "…"
        where = f" (details: {self.details})" if self.details else ""
        return f"{self.role} failed on {self.on_kind or '-'}: {error}{where}"


class Stop(Message):
    kind: Literal["stop"] = "stop"
    reason: str = ""

    def summary(self) -> str:
        return f"stop: {self.reason}"


BuiltinMessage = Annotated[
    Start
    | Idea
    | NoveltyVerdict
    | ExperimentPlan
    | CodeChange
    | ExperimentRun
    | ExperimentsDone
    | TreeNode
    | Figures
    | Draft
    | Paper
    | ClaimsAudit
    | Review
    | MetaReview
    | Revision
    | Note
    | RoleFailed
    | Stop,
    Field(discriminator="kind"),
]
MESSAGE_ADAPTER: TypeAdapter[BuiltinMessage] = TypeAdapter(BuiltinMessage)
