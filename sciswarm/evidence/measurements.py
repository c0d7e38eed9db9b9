"""What the runs measured: every run's ``final_info.json`` per dataset and metric, with the value of each seed
and the standard error the run reported, if any.

A run done with several seeds keeps each seed's output in ``run_i/seed_<s>/`` and an aggregate in
``run_i/final_info.json``: ``{dataset: {"means": {m: mean}, "stds": {m: std}, "n": N, "values": {m: [...]}}}``
(the AI-Scientist shape, so templates' plot.py files still read the means). A run with one seed is the
template's own ``{dataset: {"means": {...}, "stderrs": {...}}}`` or a flat ``{dataset: {...}}``; how an entry's
metrics and stderrs are named (nested objects flattened with dots) is ``info_entry``'s.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sciswarm.evidence.info_entry import BESIDE_MEANS, metrics, stderrs


@dataclass(frozen=True)
class Measurement:
    """One metric of one run on one dataset: the values of its seeds (one value without seeds)."""

    run: int
    dataset: str
    metric: str
    values: tuple[float, ...]
    stderr: float | None = None  # the standard error final_info.json reports ("stderrs"), not computed here

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return math.fsum(self.values) / len(self.values)

    @property
    def std(self) -> float | None:
        """Sample standard deviation over the seeds; None for a single value."""
        finite = all(math.isfinite(v) for v in self.values)
        return statistics.stdev(self.values) if self.n > 1 and finite else None

    @property
    def finite(self) -> bool:
        return all(math.isfinite(v) for v in self.values)

    def describe(self) -> str:
        """e.g. ``0.312 ± 0.010 (n=3)``, ``0.312 ± 0.004 (reported stderr)`` or ``0.312``."""
        if self.std is None:
            return f"{self.mean:.4g}" + ("" if self.stderr is None else f" ± {self.stderr:.2g} (reported stderr)")
        return f"{self.mean:.4g} ± {self.std:.2g} (n={self.n})"


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, bool | int | float) else None


def measurements_of(run: int, info: dict[str, Any]) -> list[Measurement]:
    """The measurements in one run's final_info.json (unusable entries skipped)."""
    out: list[Measurement] = []
    for dataset, entry in info.items():
        if not isinstance(entry, dict):
            continue
        seed_values = entry.get("values")
        per_seed: dict[str, Any] = seed_values if isinstance(seed_values, dict) else {}
        reported = stderrs(entry)
        for metric, mean in metrics(entry).items():
            seeds = per_seed.get(metric)
            values = [_number(v) for v in seeds] if isinstance(seeds, list) and seeds else [mean]
            if values and all(v is not None for v in values):
                kept = tuple(v for v in values if v is not None)
                out.append(Measurement(run, str(dataset), metric, kept, reported.get(metric)))
    return out


class Results:
    """Every measurement of an idea's runs (run 0 is the baseline)."""

    def __init__(self, measurements: list[Measurement]) -> None:
        self.all = measurements
        self._index = {(m.run, m.dataset, m.metric): m for m in measurements}

    @classmethod
    def from_workspace(cls, workspace: Path, runs: list[int] | None = None) -> Results:
        found: list[Measurement] = []
        numbers = runs if runs is not None else _runs_on_disk(workspace)
        for run in numbers:
            try:
                info = json.loads((workspace / f"run_{run}" / "final_info.json").read_text())
            except (OSError, json.JSONDecodeError):
                continue
            if isinstance(info, dict):
                found += measurements_of(run, info)
        return cls(found)

    def get(self, run: int, dataset: str, metric: str) -> Measurement | None:
        return self._index.get((run, dataset, metric))

    @property
    def runs(self) -> list[int]:
        return sorted({m.run for m in self.all})

    @property
    def datasets(self) -> list[str]:
        return list(dict.fromkeys(m.dataset for m in self.all))

    @property
    def metrics(self) -> list[str]:
        return list(dict.fromkeys(m.metric for m in self.all))

    def across_runs(self, dataset: str, metric: str) -> list[Measurement]:
        return [m for m in self.all if m.dataset == dataset and m.metric == metric]

    @property
    def seeds(self) -> int:
        """The number of seeds per run (the smallest, if runs differ)."""
        return min((m.n for m in self.all), default=0)


def _runs_on_disk(workspace: Path) -> list[int]:
    names = (p.parent.name.removeprefix("run_") for p in workspace.glob("run_*/final_info.json"))
    return sorted(int(n) for n in names if n.isdigit())


def _with_leaves(tree: dict[str, Any], values: dict[str, float], prefix: str = "") -> dict[str, Any]:
    """``tree``'s shape with each leaf replaced by the value of its dotted name (leaves without one left out)."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            if inner := _with_leaves(value, values, f"{name}."):
                out[key] = inner
        elif name in values:
            out[key] = values[name]
    return out


def aggregate_seeds(per_seed: list[dict[str, Any]]) -> dict[str, Any]:
    """One final_info.json from the final_info.json of each seed (same datasets and metrics in each; a metric
    missing from a seed is left out of the aggregate). The means keep the seeds' shape (nested objects, or a
    flat entry without "means"); stds and values are by dotted metric name."""
    out: dict[str, Any] = {}
    for dataset, entry in per_seed[0].items():
        if not isinstance(entry, dict):
            continue
        seeds = [metrics(e) if isinstance(e := info.get(dataset), dict) else {} for info in per_seed]
        means: dict[str, float] = {}
        stds: dict[str, float | None] = {}
        values: dict[str, list[float]] = {}
        for metric in seeds[0]:
            if any(metric not in seed for seed in seeds):
                continue
            m = Measurement(0, dataset, metric, tuple(seed[metric] for seed in seeds))
            means[metric], stds[metric], values[metric] = m.mean, m.std, list(m.values)
        if not means:
            continue
        wrapped = isinstance(entry.get("means"), dict)
        tree = entry["means"] if wrapped else {k: v for k, v in entry.items() if k not in BESIDE_MEANS}
        shaped = _with_leaves(tree, means)
        beside = {"stds": stds, "n": len(per_seed), "values": values}
        out[dataset] = {"means": shaped, **beside} if wrapped else {**shaped, **beside}
    return out


def seeds_ignored(per_seed: list[dict[str, Any]]) -> bool:
    """True when several seeds gave exactly the same results (the script does not use its seed)."""
    if len(per_seed) < 2:
        return False
    return all(json.dumps(info, sort_keys=True) == json.dumps(per_seed[0], sort_keys=True) for info in per_seed[1:])
