"""The objective in code: one number per node from its results, the ranking of nodes by it, and where the
objective comes from (the YAML's ``coder.params.tree.objective``, else the template's prompt.json ``objective``)."""

from __future__ import annotations

import json
import math
from pathlib import Path

from pydantic import ValidationError

from sciswarm.agents.tree.nodes import GOOD, Node
from sciswarm.agents.tree.params import Objective
from sciswarm.errors import SetupError


def resolve_objective(configured: Objective | None, template: Path | None) -> Objective | None:
    """The YAML's objective, else the template's (``prompt.json``: ``"objective": {"metric": ..., ...}``)."""
    if configured is not None or template is None:
        return configured
    try:
        data = json.loads((template / "prompt.json").read_text())
    except (OSError, json.JSONDecodeError):
        return None
    entry = data.get("objective") if isinstance(data, dict) else None
    if entry is None:
        return None
    try:
        return Objective.model_validate(entry)
    except ValidationError as exc:
        raise SetupError(f"the template's prompt.json objective is not usable: {exc}") from None


def objective_value(objective: Objective, results: dict[str, dict[str, float]]) -> float | None:
    """The objective's value of one run's means: the metric averaged over the datasets; None when it is missing
    (a named dataset without it, or no dataset with it) or not finite."""
    if objective.datasets == "mean":
        values = [m[objective.metric] for m in results.values() if objective.metric in m]
    else:
        if any(objective.metric not in results.get(ds, {}) for ds in objective.datasets):
            return None
        values = [results[ds][objective.metric] for ds in objective.datasets]
    if not values or not all(isinstance(v, int | float) and math.isfinite(v) for v in values):
        return None
    return math.fsum(values) / len(values)


def ranked(objective: Objective, nodes: list[Node]) -> list[Node]:
    """The good nodes with a value, best first (equal values keep their order: the earlier node first)."""
    scored = [n for n in nodes if n.status == GOOD and n.metric is not None]
    sign = 1.0 if objective.direction == "min" else -1.0
    return sorted(scored, key=lambda n: sign * float(n.metric))  # type: ignore[arg-type]


def best_by_code(objective: Objective, nodes: list[Node]) -> list[Node]:
    """The best node and every node exactly tied with it (empty when no node is good)."""
    order = ranked(objective, nodes)
    return [n for n in order if n.metric == order[0].metric] if order else []
