"""The board's "best metric against the baseline": which number (the objective's, else the first metric of the
first dataset), which way is better, and the best measured run or, failing that, the best tree-search node.

An objective is ``{"metric", "direction": "min" | "max", "datasets": "mean" | [names]}`` (the tree search's,
from the YAML or the template's prompt.json); its value for a run is the metric averaged over those datasets.
A tree node's metric is that value on its one search run: optimistic (the best of many tries), so a measured run
(the stage's best re-run with fresh seeds, or a linear run) is preferred and a search value is marked as such.
"""

from __future__ import annotations

import math
import re
from typing import Any

Means = dict[str, dict[str, float]]  # dataset -> metric -> mean
_LOWER_IS_BETTER = re.compile(
    r"loss|err|kl|diverg|perplex|ppl|time|mse|mae|rmse|nll|fid|wer|cer|regret|latency|distance|cost", re.I
)


def lower_is_better(metric: str) -> bool:
    """A guess from the metric's name when no objective says: losses, errors, divergences and times go down,
    everything else (accuracy, reward, score) up."""
    return bool(_LOWER_IS_BETTER.search(metric))


def means_of(results: object) -> Means:
    """{dataset: {metric: mean}} from an experiment_run's ``results`` or a final_info.json (means or flat)."""
    out: Means = {}
    if not isinstance(results, dict):
        return out
    for dataset, entry in results.items():
        values = entry.get("means", entry) if isinstance(entry, dict) else None
        if isinstance(values, dict):
            nums = {
                str(k): float(v)
                for k, v in values.items()
                if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            }
            if nums:
                out[str(dataset)] = nums
    return out


def objective_value(results: Means, metric: str, datasets: object) -> float | None:
    """The metric averaged over `datasets` ("mean": every dataset that has it); None when it is missing."""
    if isinstance(datasets, list) and datasets:
        if any(metric not in results.get(str(ds), {}) for ds in datasets):
            return None
        values = [results[str(ds)][metric] for ds in datasets]
    else:
        values = [m[metric] for m in results.values() if metric in m]
    return math.fsum(values) / len(values) if values else None


def _first_metric(sources: list[Means]) -> tuple[str, str] | None:
    for source in sources:
        for dataset, metrics in source.items():
            for metric in metrics:
                return dataset, metric
    return None


def best(
    runs: dict[int, Means],
    baseline: Means,
    objective: dict[str, Any] | None = None,
    searched: list[tuple[str, float]] | None = None,
) -> dict[str, Any] | None:
    """The best run (or node) against the baseline, or None when there is no number to show yet."""
    objective = objective or {}
    if objective.get("metric"):
        metric, datasets = str(objective["metric"]), objective.get("datasets") or "mean"
        if objective.get("dataset"):
            datasets = [str(objective["dataset"])]
        label = ", ".join(map(str, datasets)) if isinstance(datasets, list) else "mean over datasets"
        direction = str(objective.get("direction") or "")
        lower = direction.startswith("min") if direction else lower_is_better(metric)

        def value(res: Means) -> float | None:
            return objective_value(res, metric, datasets)

    else:
        chosen = _first_metric([baseline, *(runs[r] for r in sorted(runs))])
        if chosen is None:
            return None
        label, metric = chosen
        lower = lower_is_better(metric)

        def value(res: Means) -> float | None:
            return res.get(label, {}).get(metric)

    base = value(baseline)
    out: dict[str, Any] = {"dataset": label, "metric": metric, "lower_is_better": lower, "baseline": base}
    out["objective"] = bool(objective.get("metric"))
    measured = [(r, v) for r, res in runs.items() if (v := value(res)) is not None]
    pick = min if lower else max
    if measured:
        run, found = pick(measured, key=lambda rv: rv[1])
        out.update(run=run, value=found, source="run")
    elif searched and out["objective"]:
        node, found = pick(searched, key=lambda nv: nv[1])
        out.update(node=node, value=found, source="search")
    else:
        return out
    if base is not None:
        out["delta"] = found - base
        out["better"] = found < base if lower else found > base
        out["relative"] = (found - base) / abs(base) if base else None
    return out
