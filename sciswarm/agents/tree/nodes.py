"""The tree as data: nodes, stage records and ``ideas/<idea>/tree.json``; a node's workspace copy and its diff.

A node is one try: an operator (draft a new root, debug a buggy leaf, improve the best good node) applied to its
parent's code in its own folder ``tree/<node_id>/`` (code and data, no run outputs), then one sandboxed run.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sciswarm.events import TreeNode

PENDING, RUNNING, GOOD, BUGGY = "pending", "running", "good", "buggy"


@dataclass
class Node:
    id: str
    stage: str
    operator: str  # draft | debug | improve
    parent: str | None = None
    plan: str = ""
    status: str = PENDING  # pending (not run yet) | running (handed to the lab) | good | buggy
    metric: float | None = None  # the objective's value on the search run (None without an objective)
    results: dict[str, dict[str, float]] = field(default_factory=dict)  # means per dataset and metric
    analysis: str = ""
    error: str = ""
    wall_s: float = 0.0
    started: float = 0.0  # epoch seconds around the sandbox run
    finished: float = 0.0
    label: str = ""  # the lab label: logs/<label>/
    worker: int = 0  # its place in the step's batch (the lab's sandbox bounds which slot it gets)
    slot: str = ""  # the GPU device ids its run held ("0", "2,3"), when the lab's GPU slots handed them out
    gpus: int = 0  # the GPUs its run held
    gpu_s: float = 0.0  # GPU-seconds of its run: gpus x wall seconds (what max_gpu_hours counts)
    debug_depth: int = 0  # debug nodes in a row ending here
    edit_mode: str = ""  # edits | whole_file | none
    diff: str = ""  # unified diff of the editable files against the parent (drafts: against the template)
    proposed: bool = False  # the model's change is in the node's folder (a resumed step does not ask again)
    published: bool = False  # analysed and published as a TreeNode: the node is finished

    @property
    def done(self) -> bool:
        return self.status in (GOOD, BUGGY)

    def describe(self) -> str:
        """e.g. ``n7 (improve of n4)``."""
        return f"{self.id} ({self.operator} of {self.parent})" if self.parent else f"{self.id} ({self.operator})"


@dataclass
class StageRecord:
    name: str
    run: int  # the stage's best re-run is the idea's workspace/run_<run>
    root: str | None = None  # the previous stage's best: its code is where this stage starts
    best: str | None = None
    chosen_by: str = ""  # objective | objective, tie broken by the judge | judge (no objective)
    reason: str = ""
    search_value: float | None = None
    rerun_value: float | None = None
    rerun_std: float | None = None
    rerun_seeds: int = 0
    rerun_error: str = ""
    nodes_tried: int = 0
    done: bool = False


@dataclass
class Tree:
    objective: dict[str, Any] | None = None
    search_seed: int = 0  # SCISWARM_SEED of every search run (the re-run's seeds 0..n-1 are fresh)
    nodes: list[Node] = field(default_factory=list)
    stages: list[StageRecord] = field(default_factory=list)
    calls: int = 0  # the model calls the tree had made when it was last saved (a resumed scripted model skips them)
    picks: dict[str, dict[str, str]] = field(default_factory=dict)  # the judge's picks: "n1,n2" -> node, by, reason
    stopped: str = ""  # why the search stopped before its node budgets (a wall-clock or GPU-hour budget spent)

    def node(self, node_id: str | None) -> Node | None:
        return next((n for n in self.nodes if n.id == node_id), None)

    def stage(self, name: str) -> StageRecord | None:
        return next((s for s in self.stages if s.name == name), None)

    def of_stage(self, name: str) -> list[Node]:
        return [n for n in self.nodes if n.stage == name]

    def parents(self) -> set[str]:
        return {n.parent for n in self.nodes if n.parent}

    def gpu_s(self) -> float:
        """The GPU-seconds of every node run so far."""
        return math.fsum(n.gpu_s for n in self.nodes)

    def next_id(self) -> str:
        numbers = [int(n.id[1:]) for n in self.nodes if n.id[1:].isdigit()]
        return f"n{max(numbers, default=0) + 1}"

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Tree:
        def pick(kind: type[Any], item: dict[str, Any]) -> Any:
            names = {f.name for f in dataclasses.fields(kind)}
            return kind(**{k: v for k, v in item.items() if k in names})

        nodes = [pick(Node, n) for n in data.get("nodes", [])]
        for node, item in zip(nodes, data.get("nodes", []), strict=True):
            if "published" not in item:  # written before steps were resumable: a finished run was finished
                node.proposed = node.published = node.done
        return cls(
            objective=data.get("objective"),
            search_seed=int(data.get("search_seed", 0)),
            nodes=nodes,
            stages=[pick(StageRecord, s) for s in data.get("stages", [])],
            calls=int(data.get("calls", 0)),
            picks=dict(data.get("picks") or {}),
            stopped=str(data.get("stopped") or ""),
        )

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=2))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> Tree | None:
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            return None
        return cls.from_json(data) if isinstance(data, dict) else None


def copy_code(source: Path, target: Path) -> None:
    """``source``'s code and data without its run outputs (``run_*``) into a fresh ``target``."""
    shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)

    def skipped(where: str, names: list[str]) -> list[str]:
        top = Path(where) == source
        return [n for n in names if (top and n.startswith("run_")) or n == "__pycache__"]

    shutil.copytree(source, target, ignore=skipped, symlinks=True)


def code_diff(before: Path, after: Path, files: list[str], *, old: str, new: str) -> str:
    """The unified diff of ``files`` between two folders."""
    out: list[str] = []
    for name in files:
        a, b = before / name, after / name
        left = a.read_text().splitlines(keepends=True) if a.exists() else []
        right = b.read_text().splitlines(keepends=True) if b.exists() else []
        out += difflib.unified_diff(left, right, fromfile=f"{old}/{name}", tofile=f"{new}/{name}")
    return "".join(out)


def node_message(node: Node) -> TreeNode:
    """The node's TreeNode message: ``running`` while its run is in flight, else finished (good or buggy)."""
    return TreeNode(
        node=node.id,
        parent=node.parent,
        stage=node.stage,
        operator=node.operator,
        status="running" if node.status == RUNNING else "good" if node.status == GOOD else "buggy",
        metric=node.metric,
        wall_s=node.wall_s,
        label=node.label,
        worker=node.worker,
        slot=node.slot,
        gpu_s=node.gpu_s,
    )
