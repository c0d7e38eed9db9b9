"""An idea's page and the compare view, as JSON: the board's records of the idea plus what only the idea's
folder holds (each run's final_info.json with stds and n, claims.json, tree.json)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from sciswarm.view.metrics import lower_is_better, means_of
from sciswarm.view.web.files import RUN_ID_RE, read_text_tail, safe_path
from sciswarm.view.web.state import RunState

PROBLEMS = ("contradicted", "not_significant", "unresolved")
SCORE_KEYS = (
    "Overall",
    "Originality",
    "Quality",
    "Clarity",
    "Significance",
    "Soundness",
    "Presentation",
    "Contribution",
    "Confidence",
)
TREE_TEXT_KEYS = ("diff", "plan", "analysis", "error", "log", "stdout", "stderr")


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def measured(info: object) -> dict[str, dict[str, dict[str, Any]]]:
    """{dataset: {metric: {mean, std, n}}} from a final_info.json (std and n when it aggregates seeds)."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    if not isinstance(info, dict):
        return out
    for dataset, metrics in means_of(info).items():
        entry = info.get(dataset)
        entry = entry if isinstance(entry, dict) else {}
        stds: dict[str, Any] = entry["stds"] if isinstance(entry.get("stds"), dict) else {}
        n = entry["n"] if isinstance(entry.get("n"), int) else None
        out[dataset] = {
            m: {"mean": v, "std": stds.get(m) if isinstance(stds.get(m), int | float) else None, "n": n}
            for m, v in metrics.items()
        }
    return out


def runs_table(
    records: list[dict[str, Any]], workspace: Path, stages: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The baseline (run_0 on disk), every attempt of every run, and the runs only on disk (the tree search's
    re-runs of each stage's best node, named by `stages`), with their metrics."""
    rows: list[dict[str, Any]] = []
    base = measured(_load(workspace / "run_0" / "final_info.json"))
    if base:
        rows.append({"run": 0, "attempt": 1, "ok": True, "baseline": True, "metrics": base, "wall_s": None})
    runs = [r for r in records if r.get("kind") == "experiment_run"]
    last_ok = {int(r.get("run") or 0): i for i, r in enumerate(runs) if r.get("ok")}
    for i, rec in enumerate(runs):
        run = int(rec.get("run") or 0)
        metrics: dict[str, dict[str, dict[str, Any]]] = {}
        if rec.get("ok"):
            on_disk = measured(_load(workspace / f"run_{run}" / "final_info.json")) if last_ok.get(run) == i else {}
            metrics = {
                ds: {m: on_disk.get(ds, {}).get(m) or {"mean": v, "std": None, "n": None} for m, v in ms.items()}
                for ds, ms in means_of(rec.get("results")).items()
            }
        error = [x for x in str(rec.get("error") or "").splitlines() if x.strip()]
        rows.append(
            {
                "run": run,
                "attempt": int(rec.get("attempt") or 1),
                "ok": bool(rec.get("ok")),
                "baseline": False,
                "wall_s": rec.get("wall_s"),
                "timed_out": bool(rec.get("timed_out")),
                "error": error[-1][:300] if error else "",
                "metrics": metrics,
            }
        )
    reported = {row["run"] for row in rows}
    done = next((r.get("runs") for r in reversed(records) if r.get("kind") == "experiments_done"), None) or []
    named = [(st.get("run"), f"run_{st.get('run')} · {st.get('name')}: {st.get('best')} re-run") for st in stages or []]
    for number, label in [*named, *((r, "") for r in done)]:
        if isinstance(number, int) and number not in reported:
            got = measured(_load(workspace / f"run_{number}" / "final_info.json"))
            if got:
                rows.append({"run": number, "attempt": 1, "ok": True, "baseline": False, "metrics": got,
                             "label": label, "wall_s": None})  # fmt: skip
                reported.add(number)
    datasets: dict[str, None] = {}
    metric_names: dict[str, None] = {}
    for row in rows:
        for ds, ms in row["metrics"].items():
            datasets.setdefault(ds)
            for m in ms:
                metric_names.setdefault(m)
    return {
        "rows": rows,
        "datasets": list(datasets),
        "metrics": list(metric_names),
        "lower_is_better": {m: lower_is_better(m) for m in metric_names},
    }


def _paper_path(pdf: str, run_dir: Path) -> str:
    if os.path.isabs(pdf):
        try:
            return str(Path(pdf).resolve().relative_to(run_dir.resolve()))
        except ValueError:
            return ""
    return pdf if safe_path(run_dir, pdf) is not None else ""


def audit(records: list[dict[str, Any]], idea_dir: Path) -> dict[str, Any] | None:
    """The last claims_audit message and claims.json's flagged claims, untraced numbers and flags."""
    message = next((r for r in reversed(records) if r.get("kind") == "claims_audit"), None)
    report = _load(idea_dir / "claims.json")
    if message is None and not isinstance(report, dict):
        return None
    out: dict[str, Any] = {
        "message": message and {k: message.get(k) for k in ("revision", "rounds", "counts", "remaining")}
    }
    if isinstance(report, dict):
        claims = [c for c in report.get("claims") or [] if isinstance(c, dict)]
        numbers = [n for n in report.get("numbers") or [] if isinstance(n, dict)]
        out.update(
            counts=report.get("counts") or {},
            claims=claims,
            flagged=[c for c in claims if c.get("verdict") in PROBLEMS],
            untraced=[n for n in numbers if not n.get("source")],
            flags=[str(f) for f in report.get("flags") or []],
            extraction_error=str(report.get("extraction_error") or ""),
        )
    return out


def _tree_data(idea_dir: Path) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    data = _load(idea_dir / "tree.json")
    nodes = data.get("nodes") if isinstance(data, dict) else data
    if not isinstance(nodes, list):
        return None
    return (data if isinstance(data, dict) else {}), [
        n for n in nodes if isinstance(n, dict) and n.get("id") is not None
    ]


def tree(idea_dir: Path, *, live: bool = True) -> dict[str, Any] | None:
    """tree.json (the tree search's, see agents/tree/nodes.py): its nodes (id, parent, stage, operator, status,
    metric, ...), the stages' records (best node, search value against the re-run's), the objective. A node
    ``running`` in a run that has ended (``live`` False) is shown as ``interrupted``: its run never finished."""
    found = _tree_data(idea_dir)
    if found is None:
        return None
    data, nodes = found
    out = []
    for node in nodes:
        slim = {k: v for k, v in node.items() if k not in TREE_TEXT_KEYS and not isinstance(v, dict | list)}
        slim["id"] = str(node["id"])
        slim["parent"] = None if node.get("parent") in (None, "") else str(node["parent"])
        slim["metric"] = node.get("metric")
        if not live and slim.get("status") == "running":
            slim["status"] = "interrupted"
        slim["texts"] = [k for k in TREE_TEXT_KEYS if node.get(k) or node.get(f"{k}_path")]
        if node.get("label"):
            slim["texts"].append("logs")
        out.append(slim)
    stages = [s for s in data.get("stages") or [] if isinstance(s, dict)]
    objective = data.get("objective") if isinstance(data.get("objective"), dict) else None
    return {"nodes": out, "stages": stages, "objective": objective}


def tree_node(idea_dir: Path, node_id: str) -> dict[str, Any] | None:
    """One node of tree.json with its texts: diff, plan, analysis, error as written; its run's logs (the lab's
    ``logs/<label>/``) or a ``log``/``*_path`` file in the idea folder, read from the end."""
    found = _tree_data(idea_dir)
    node = next((n for n in found[1] if str(n.get("id")) == node_id), None) if found else None
    if node is None:
        return None
    texts: dict[str, str] = {}
    for key in TREE_TEXT_KEYS:
        value = node.get(f"{key}_path") or node.get(key)
        if not isinstance(value, str) or not value:
            continue
        path_like = (f"{key}_path" in node or key == "log") and "\n" not in value and len(value) < 400
        target = safe_path(idea_dir, value) if path_like else None
        texts[key] = read_text_tail(target) if target is not None and target.is_file() else value
    label = node.get("label")
    if isinstance(label, str) and label:
        for stream in ("stdout", "stderr"):
            log = safe_path(idea_dir, f"logs/{label}/{stream}.log")
            if log is not None and log.is_file() and stream not in texts:
                texts[stream] = read_text_tail(log)
    plain = {k: v for k, v in node.items() if k not in TREE_TEXT_KEYS and not k.endswith("_path")}
    return {"node": plain, "texts": texts}


def idea_detail(state: RunState, run_dir: Path, idea_id: str) -> dict[str, Any] | None:
    if not RUN_ID_RE.fullmatch(idea_id):
        return None
    held = state.idea_records(idea_id)
    records = held or []
    idea_dir = run_dir / "ideas" / idea_id
    if held is None and not idea_dir.is_dir():
        return None

    def last(kind: str) -> dict[str, Any] | None:
        return next((r for r in reversed(records) if r.get("kind") == kind), None)

    def every(kind: str) -> list[dict[str, Any]]:
        return [r for r in records if r.get("kind") == kind]

    idea = last("idea") or {}
    if not idea and isinstance(spec := _load(idea_dir / "idea.json"), dict):
        idea = {"name": spec.get("Name"), "title": spec.get("Title"), "experiment": spec.get("Experiment")}
    drawn_tree = tree(idea_dir, live=state.board.status in {"", "running"})
    runs = runs_table(records, idea_dir / "workspace", (drawn_tree or {}).get("stages"))
    objective = (drawn_tree or {}).get("objective") or state.board.objective
    if objective and objective.get("metric") in runs["lower_is_better"] and objective.get("direction"):
        runs["lower_is_better"][objective["metric"]] = str(objective["direction"]).startswith("min")
    figures = last("figures") or {}
    notes = figures.get("descriptions") if isinstance(figures.get("descriptions"), dict) else {}
    papers = [
        {k: r.get(k) for k in ("revision", "pages", "citations", "compiled", "reverted", "gave_up", "ts")}
        | {"pdf": _paper_path(str(r.get("pdf") or ""), run_dir)}
        for r in every("paper")
    ]
    return {
        "id": idea_id,
        "card": state.card(idea_id),
        "idea": {k: idea.get(k) for k in ("name", "title", "experiment", "interestingness", "feasibility", "novelty")},
        "novelty": last("novelty"),
        "plan": (last("plan") or {}).get("runs") or [],
        "runs": runs,
        "objective": objective or None,
        "figures": [
            {"file": f, "path": f"ideas/{idea_id}/workspace/{f}", "caption": str((notes or {}).get(f, ""))}
            for f in figures.get("files") or []
            if isinstance(f, str) and safe_path(idea_dir / "workspace", f) is not None
        ],
        "papers": papers,
        "revisions": [{"revision": r.get("revision"), "requests": r.get("requests") or []} for r in every("revision")],
        "reviews": [{k: r.get(k) for k in ("reviewer", "revision", "review", "ts")} for r in every("review")],
        "meta_reviews": [
            {k: r.get(k) for k in ("revision", "review", "n_reviews", "ts")} for r in every("meta_review")
        ],
        "audit": audit(records, idea_dir),
        "tree": drawn_tree,
        "failures": [
            {
                "role": r.get("role"),
                "on_kind": r.get("on_kind"),
                "error": " ".join(str(r.get("error", "")).split())[:400],
            }
            for r in every("role_failed")
        ],
    }


def scores(review: object) -> dict[str, Any]:
    if not isinstance(review, dict):
        return {}
    out: dict[str, Any] = {k: review.get(k) for k in SCORE_KEYS if isinstance(review.get(k), int | float)}
    if review.get("Decision"):
        out["Decision"] = review["Decision"]
    return out
