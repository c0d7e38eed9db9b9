"""A run's final_info.json: ``{dataset: {"means": {metric: number}}}`` (or a flat entry of metrics), read and
validated; how an entry is read is ``evidence.info_entry``'s."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from sciswarm.evidence.info_entry import is_number, metric_leaves, metrics
from sciswarm.templates.errors import FinalInfoError, json_kind


def validate_final_info(data: Any) -> dict[str, dict[str, float]]:
    """Check final_info.json's shape and return {dataset: {metric: value}} (the "means").

    Other keys beside "means" (e.g. "stderrs") are allowed; nested objects of metrics are read with dotted
    names ({"means": {"nested": {"a": 1}}} is the metric ``nested.a``). Every value under "means" must be a
    number (booleans count as 0/1; NaN and infinities are kept, as a diverged run is a result, not an error).
    An entry without "means" is read as its metrics itself: its numbers, nested ones included.
    """
    expected = 'expected {dataset: {"means": {metric: number}}}'
    if not isinstance(data, dict):
        raise FinalInfoError(f"final_info.json: top level must be an object ({expected}), got {json_kind(data)}")
    if not data:
        raise FinalInfoError(f"final_info.json is empty ({expected})")
    out: dict[str, dict[str, float]] = {}
    for dataset, entry in data.items():
        if not isinstance(entry, dict) or ("means" not in entry and not metrics(entry)):
            got = f"an object with keys {sorted(entry)} and no number" if isinstance(entry, dict) else json_kind(entry)
            raise FinalInfoError(
                f"final_info.json: entry {dataset!r} must be an object with a 'means' key ({expected}) "
                f"or of metrics, got {got}"
            )
        means = entry.get("means", entry)
        leaves = metric_leaves(entry) if isinstance(means, dict) else {}
        if not leaves:
            what = "an empty object" if isinstance(means, dict) else json_kind(means)
            raise FinalInfoError(
                f"final_info.json: {dataset!r}.means must be a non-empty object of metric -> number, got {what}"
            )
        if "means" in entry:
            for metric, value in leaves.items():
                if not is_number(value):
                    raise FinalInfoError(
                        f"final_info.json: {dataset!r}.means.{metric} must be a number, got {json_kind(value)} "
                        f"{json.dumps(value)[:60]}"
                    )
        out[dataset] = metrics(entry)
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
