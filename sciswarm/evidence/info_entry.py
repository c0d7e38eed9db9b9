"""One dataset's entry of a final_info.json as templates and models write it: its metrics and reported stderrs.

Shapes read: AI-Scientist's ``{"means": {"loss_mean": x}, "stderrs": {"loss_stderr": s}, "final_info_dict": ...}``,
sciswarm's seed aggregate (``"stds"``, ``"n"`` and ``"values"`` beside the means) and a flat entry of metrics
(``{"loss": x}``). ``means`` is unwrapped, so a metric keeps its plain name; nested objects of metrics are
flattened with dots (``{"nested": {"a": 1}}`` is the metric ``nested.a``). A metric's stderr is the ``stderrs``
value of the same name, or of the name with ``_mean`` turned into ``_stderr`` (AI-Scientist's convention).
"""

from __future__ import annotations

import math
from typing import Any

BESIDE_MEANS = ("means", "stderrs", "stds", "n", "values", "final_info_dict")


def is_number(value: Any) -> bool:
    return isinstance(value, bool | int | float)


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Every leaf of nested objects by its dotted name (an empty object has none)."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def metric_leaves(entry: dict[str, Any]) -> dict[str, Any]:
    """The entry's metrics by name, as written (not necessarily numbers): its ``means`` when it has them, else
    the entry itself without the keys that go beside means."""
    means = entry.get("means")
    if isinstance(means, dict):
        return flatten(means)
    return flatten({k: v for k, v in entry.items() if k not in BESIDE_MEANS})


def metrics(entry: dict[str, Any]) -> dict[str, float]:
    """The entry's numeric metrics (booleans as 0/1; NaN and infinities kept)."""
    return {name: float(v) for name, v in metric_leaves(entry).items() if is_number(v)}


def stderrs(entry: dict[str, Any]) -> dict[str, float]:
    """The reported standard error of each metric that has a finite one."""
    given = entry.get("stderrs")
    if not isinstance(given, dict):
        return {}
    reported = {k: float(v) for k, v in flatten(given).items() if is_number(v) and math.isfinite(v)}
    out: dict[str, float] = {}
    for name in metrics(entry):
        for key in (name, name.removesuffix("_mean") + "_stderr", f"{name}_stderr"):
            if key in reported:
                out[name] = reported[key]
                break
    return out
