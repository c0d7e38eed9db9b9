"""What the runs measured: every run's ``final_info.json`` per dataset and metric, with the value of each seed.

A run done with several seeds keeps each seed's output in ``run_i/seed_<s>/`` and an aggregate in
``run_i/final_info.json``: ``{dataset: {"means": {m: mean}, "stds": {m: std}, "n": N, "values": {m: [...]}}}``
(the AI-Scientist shape, so templates' plot.py files still read the means). A run with one seed is the
template's own ``{dataset: {"means": {...}}}``.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Measurement:
    """One metric of one run on one dataset: the values of its seeds (one value without seeds)."""

    run: int
    dataset: str
    metric: str
    values: tuple[float, ...]

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
        """e.g. ``0.312 ± 0.010 (n=3)`` or ``0.312``."""
        if self.std is None:
            return f"{self.mean:.4g}"
        return f"{self.mean:.4g} ± {self.std:.2g} (n={self.n})"


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, bool | int | float) else None


def measurements_of(run: int, info: dict[str, Any]) -> list[Measurement]:
    """The measurements in one run's final_info.json (unusable entries skipped)."""
    out: list[Measurement] = []
    for dataset, entry in info.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("means"), dict):
            continue
        seed_values = entry.get("values")
        per_seed: dict[str, Any] = seed_values if isinstance(seed_values, dict) else {}
        for metric, mean in entry["means"].items():
            seeds = per_seed.get(metric)
            values = [_number(v) for v in seeds] if isinstance(seeds, list) and seeds else [_number(mean)]
            if values and all(v is not None for v in values):
                out.append(Measurement(run, str(dataset), str(metric), tuple(v for v in values if v is not None)))
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


def aggregate_seeds(per_seed: list[dict[str, Any]]) -> dict[str, Any]:
    """One final_info.json from the final_info.json of each seed (same datasets and metrics in each; a metric
    missing from a seed is left out of the aggregate)."""
    out: dict[str, Any] = {}
    first = per_seed[0]
    for dataset, entry in first.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("means"), dict):
            continue
        means: dict[str, float] = {}
        stds: dict[str, float | None] = {}
        values: dict[str, list[float]] = {}
        for metric in entry["means"]:
            seen = [_number(((info.get(dataset) or {}).get("means") or {}).get(metric)) for info in per_seed]
            if any(v is None for v in seen):
                continue
            vals = [float(v) for v in seen if v is not None]
            m = Measurement(0, dataset, metric, tuple(vals))
            means[metric], stds[metric], values[metric] = m.mean, m.std, vals
        out[dataset] = {"means": means, "stds": stds, "n": len(per_seed), "values": values}
    return out


def seeds_ignored(per_seed: list[dict[str, Any]]) -> bool:
    """True when several seeds gave exactly the same results (the script does not use its seed)."""
    if len(per_seed) < 2:
        return False
    return all(json.dumps(info, sort_keys=True) == json.dumps(per_seed[0], sort_keys=True) for info in per_seed[1:])
