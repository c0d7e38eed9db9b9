"""The run_i folders of an idea's workspace: which runs finished, their results, a compact view for prompts."""

from __future__ import annotations

import json
from pathlib import Path


def read_results(workspace: Path, run: int) -> dict[str, object] | None:
    """run_i/final_info.json as written, or None when the run has none (yet) or it is not JSON."""
    f = workspace / f"run_{run}" / "final_info.json"
    try:
        data: dict[str, object] = json.loads(f.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return data


def finished_runs(workspace: Path) -> list[int]:
    """The run numbers with a final_info.json (run_0, the baseline, included), from disk."""
    runs = (p.parent.name.removeprefix("run_") for p in workspace.glob("run_*/final_info.json"))
    return sorted(int(r) for r in runs if r.isdigit())


def compact(results: dict[str, object] | None) -> str:
    """Means only, rounded: what the model needs to compare runs."""
    if not results:
        return "(not available)"
    out: dict[str, object] = {}
    for ds, val in results.items():
        means = val.get("means", val) if isinstance(val, dict) else val
        if isinstance(means, dict):
            out[ds] = {k: round(v, 4) if isinstance(v, float) else v for k, v in means.items()}
    return json.dumps(out)
