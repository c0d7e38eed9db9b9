"""The compare view: ideas (`run/idea`) or whole runs (`run`) side by side: scores, best metrics, cost."""

from __future__ import annotations

from typing import Any

from sciswarm.view.web.files import RUN_ID_RE
from sciswarm.view.web.ideas import scores
from sciswarm.view.web.runs import RunsFolder

MAX_ITEMS = 12


def _idea_item(folder: RunsFolder, run_id: str, idea_id: str) -> dict[str, Any] | None:
    run_dir = folder.run_dir(run_id)
    if run_dir is None or not RUN_ID_RE.fullmatch(idea_id):
        return None
    state = folder.state(run_id)
    held = state.idea_records(idea_id)
    if held is None:
        return None
    meta = next((r for r in reversed(held) if r.get("kind") == "meta_review"), None)
    card = state.card(idea_id)
    name = folder.summary(run_id, run_dir)["name"]
    return {
        "kind": "idea",
        "key": f"{run_id}/{idea_id}",
        "run": run_id,
        "run_name": name,
        "card": card,
        "scores": scores((meta or {}).get("review")),
    }


def _run_item(folder: RunsFolder, run_id: str) -> dict[str, Any] | None:
    run_dir = folder.run_dir(run_id)
    if run_dir is None:
        return None
    summary = folder.summary(run_id, run_dir)
    board = folder.board(run_id, run_dir)
    cards = board["ideas"]
    reviewed = [c for c in cards if c["overall"] is not None]
    top = max(reviewed, key=lambda c: c["overall"], default=None)
    outcomes = [c["outcome"] for c in cards]
    return {
        "kind": "run",
        "key": run_id,
        "run": run_id,
        "run_name": summary["name"],
        "status": summary["status"],
        "ideas": len(cards),
        "done": outcomes.count("done"),
        "failed": outcomes.count("failed"),
        "dropped": outcomes.count("dropped"),
        "papers": sum(c["papers"] for c in cards),
        "best_overall": top["overall"] if top else None,
        "best_idea": top["id"] if top else None,
        "mean_overall": sum(c["overall"] for c in reviewed) / len(reviewed) if reviewed else None,
        "runs_done": sum(c["runs_done"] for c in cards),
        "runs_failed": sum(c["runs_failed"] for c in cards),
        "best": [{"idea": c["id"], **c["best"]} for c in cards if c["best"] and "value" in c["best"]],
        "tokens": board["totals"]["tokens"],
        "cost": board["totals"]["cost"],
    }


def compare(folder: RunsFolder, items: list[str]) -> dict[str, Any]:
    """`items`: `run` or `run/idea` keys; unknown ones are listed under `missing`."""
    found: list[dict[str, Any]] = []
    missing: list[str] = []
    for key in items[:MAX_ITEMS]:
        run_id, _, idea_id = key.partition("/")
        item = _idea_item(folder, run_id, idea_id) if idea_id else _run_item(folder, run_id)
        if item is None:
            missing.append(key)
        else:
            found.append(item)
    return {"items": found, "missing": missing}
