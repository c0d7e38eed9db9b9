"""A booktabs table of every run's final_info.json means, written by code so numbers are exact."""

from __future__ import annotations

import ast
import json
from pathlib import Path


def run_labels(workspace: Path) -> dict[str, str]:
    """The `labels` dict of plot.py (AI Scientist convention), if it is a plain literal."""
    plot = workspace / "plot.py"
    if not plot.exists():
        return {}
    try:
        tree = ast.parse(plot.read_text())
    except SyntaxError:
        return {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "labels" for t in node.targets):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                return {}
            if isinstance(value, dict):
                return {str(k): str(v) for k, v in value.items()}
    return {}


def _tex(text: str) -> str:
    for a, b in (("\\", r"\textbackslash{}"), ("_", r"\_"), ("%", r"\%"), ("&", r"\&"), ("#", r"\#")):
        text = text.replace(a, b)
    return text


def results_table(workspace: Path, runs: list[int], *, label: str = "tab:results") -> str | None:
    """LaTeX for a table with one row per (dataset, run) and one column per metric; None if no results."""
    labels = run_labels(workspace)
    data: dict[str, dict[str, dict[str, float]]] = {}
    for run in runs:
        f = workspace / f"run_{run}" / "final_info.json"
        if not f.exists():
            continue
        info = json.loads(f.read_text())
        for ds, val in info.items():
            means = val.get("means", {}) if isinstance(val, dict) else {}
            numbers = {k: float(v) for k, v in means.items() if isinstance(v, int | float)}
            data.setdefault(ds, {})[f"run_{run}"] = numbers
    if not data:
        return None
    metrics: list[str] = []
    for per_run in data.values():
        for means in per_run.values():
            metrics += [m for m in means if m not in metrics]
    lines = [
        r"\begin{table}[t]",
        r"\centering\small",
        r"\caption{Mean metrics of every run (from final\_info.json).}",
        rf"\label{{{label}}}",
        r"\begin{tabular}{ll" + "r" * len(metrics) + "}",
        r"\toprule",
        "Dataset & Run & " + " & ".join(_tex(m) for m in metrics) + r" \\",
        r"\midrule",
    ]
    for ds, per_run in data.items():
        for i, (run_name, means) in enumerate(per_run.items()):
            name = _tex(ds) if i == 0 else ""
            cells = [f"{means[m]:.3f}" if m in means else "--" for m in metrics]
            lines.append(f"{name} & {_tex(labels.get(run_name, run_name))} & " + " & ".join(cells) + r" \\")
        lines.append(r"\midrule" if ds != list(data)[-1] else r"\bottomrule")
    lines += [r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"
