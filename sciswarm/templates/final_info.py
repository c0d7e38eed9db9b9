"""A run's final_info.json: ``{dataset: {"means": {metric: number}}}``, read and validated."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from sciswarm.templates.errors import FinalInfoError, json_kind


def validate_final_info(data: Any) -> dict[str, dict[str, float]]:
    """Check final_info.json's shape and return {dataset: {metric: value}} (the "means").

    Other keys beside "means" (e.g. "stderrs") are allowed and ignored. Metric values must be numbers
    (booleans count as 0/1; NaN and infinities are kept, as a diverged run is a result, not an error).
    """
    expected = 'expected {dataset: {"means": {metric: number}}}'
    if not isinstance(data, dict):
        raise FinalInfoError(f"final_info.json: top level must be an object ({expected}), got {json_kind(data)}")
    if not data:
        raise FinalInfoError(f"final_info.json is empty ({expected})")
    out: dict[str, dict[str, float]] = {}
    for dataset, entry in data.items():
        if not isinstance(entry, dict) or "means" not in entry:
            got = f"an object with keys {sorted(entry)}" if isinstance(entry, dict) else json_kind(entry)
            raise FinalInfoError(
                f"final_info.json: entry {dataset!r} must be an object with a 'means' key ({expected}), got {got}"
            )
        means = entry["means"]
        if not isinstance(means, dict) or not means:
            what = "an empty object" if isinstance(means, dict) else json_kind(means)
            raise FinalInfoError(
                f"final_info.json: {dataset!r}.means must be a non-empty object of metric -> number, got {what}"
            )
        metrics: dict[str, float] = {}
        for metric, value in means.items():
            if isinstance(value, bool | int | float):
                metrics[metric] = float(value)
            else:
                raise FinalInfoError(
                    f"final_info.json: {dataset!r}.means.{metric} must be a number, got {json_kind(value)} "
                    f"{json.dumps(value)[:60]}"
                )
        out[dataset] = metrics
    return out


def read_final_info(path: Path) -> dict[str, dict[str, float]]:
    """Read and validate a run's final_info.json."""
    if not path.is_file():
        raise FinalInfoError(f"{path.parent.name}/final_info.json was not written")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise FinalInfoError(f"{path.parent.name}/final_info.json is not valid JSON: {e}") from None
    return validate_final_info(data)


def has_nonfinite(final_info: dict[str, dict[str, float]]) -> list[str]:
    return [f"{d}.{m}" for d, ms in final_info.items() for m, v in ms.items() if not math.isfinite(v)]
