"""The tree search's journal for the writer (in notes.txt): per stage, what was tried, what failed, what won."""

from __future__ import annotations

from collections import Counter

from sciswarm.agents.results import compact
from sciswarm.agents.tree.nodes import GOOD, Node, Tree

MAX_LINES = 12  # node lines per stage


def _gist(error: str) -> str:
    lines = [x.strip() for x in error.splitlines() if x.strip()]
    return (lines[-1] if lines else "failed")[:160]


def _line(node: Node, metric: str) -> str:
    if node.status == GOOD:
        value = f"{metric}={node.metric:.4g}" if node.metric is not None and metric else compact(node.results)  # type: ignore[arg-type]
        outcome = f"good, {value}"
    else:
        outcome = f"buggy: {_gist(node.error)}"
    return f"- {node.describe()}, {outcome}: {node.plan[:160] or '(no plan)'}"


def journal(tree: Tree) -> str:
    metric = str((tree.objective or {}).get("metric", ""))
    out = ["## Tree search journal", ""]
    if tree.objective:
        out.append(f"Objective: {metric}, {tree.objective.get('direction')} (chosen by code).")
    else:
        out.append("No objective: a model judge chose each stage's best node.")
    if tree.stopped:
        out.append(f"The search stopped before its node budgets: {tree.stopped}; the best so far was re-run.")
    for rec in tree.stages:
        nodes = tree.of_stage(rec.name)
        ops = Counter(n.operator for n in nodes)
        good = sum(1 for n in nodes if n.status == GOOD)
        tried = ", ".join(f"{v} {k}" for k, v in sorted(ops.items()))
        fixed = [n for n in nodes if n.operator == "debug" and n.status == GOOD]
        out.append(
            f"\n### Stage {rec.name} (run_{rec.run}): {len(nodes)} nodes ({tried or 'none'}); {good} good, "
            f"{len(nodes) - good} buggy"
            + (f"; debugging fixed {', '.join(n.parent or '' for n in fixed)}" if fixed else "")
        )
        if rec.root:
            out.append(f"Started from {rec.root}, the previous stage's best.")
        out += [_line(n, metric) for n in nodes[:MAX_LINES]]
        if len(nodes) > MAX_LINES:
            out.append(f"- ... and {len(nodes) - MAX_LINES} more (tree.json has every node)")
        if rec.best:
            out.append(f"Won: {rec.best} ({rec.chosen_by}): {rec.reason[:200]}")
    return "\n".join(out) + "\n\n"
