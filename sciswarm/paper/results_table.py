"""A booktabs table of every run's final_info.json means, written by code so numbers are exact: with seeds,
mean ± std over them; with one seed and a standard error the run reported (AI-Scientist's "stderrs"),
mean ± that stderr, the caption saying which is which."""

from __future__ import annotations

import ast
from pathlib import Path

from sciswarm.evidence import Measurement, Results, compare


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


_STDERR_MARK = r"$^\ddagger$"


def _cell(m: Measurement | None, base: Measurement | None, mark_stderr: bool) -> str:
    if m is None:
        return "--"
    if m.std is None:
        if m.stderr is None:
            return f"{m.mean:.3f}"
        return f"{m.mean:.3f} $\\pm$ {m.stderr:.3f}" + (_STDERR_MARK if mark_stderr else "")
    mark = ""
    if base is not None and m.run != base.run:
        c = compare(m, base)
        mark = r"$^\dagger$" if c.significant else ""
    return f"{m.mean:.3f} $\\pm$ {m.std:.3f}{mark}"


def results_table(workspace: Path, runs: list[int], *, label: str = "tab:results") -> str | None:
    """LaTeX for a table with one row per (dataset, run) and one column per metric; None if no results.
    With seeds: mean ± std over the seeds, and a dagger where the run differs from the baseline (run 0)
    significantly (Welch's t-test, p < 0.05). A run's reported stderr (one seed) shows as mean ± stderr; a table that
    also has stds marks those cells."""
    results = Results.from_workspace(workspace, runs)
    if not results.all:
        return None
    labels = run_labels(workspace)
    seeds = results.seeds
    caption = "Mean metrics of every run (from final\\_info.json)."
    if seeds > 1:
        caption = (
            f"Metrics of every run: mean $\\pm$ standard deviation over {seeds} seeds (from final\\_info.json); "
            "$^\\dagger$: differs from the baseline (run\\_0) with $p<0.05$ (Welch's $t$-test)."
        )
    mark_stderr = any(m.std is not None for m in results.all)
    if any(m.std is None and m.stderr is not None for m in results.all):
        which = f"{_STDERR_MARK}: $\\pm$" if mark_stderr else "Values after $\\pm$:"
        caption += f" {which} the standard error reported by the run itself (its final\\_info.json stderrs)."
    lines = [
        r"\begin{table}[t]",
        r"\centering\small",
        rf"\caption{{{caption}}}",
        rf"\label{{{label}}}",
        r"\begin{tabular}{ll" + "r" * len(results.metrics) + "}",
        r"\toprule",
        "Dataset & Run & " + " & ".join(_tex(m) for m in results.metrics) + r" \\",
        r"\midrule",
    ]
    for ds in results.datasets:
        ds_runs = [r for r in results.runs if any(results.get(r, ds, m) for m in results.metrics)]
        for i, run in enumerate(ds_runs):
            name = _tex(ds) if i == 0 else ""
            cells = [_cell(results.get(run, ds, m), results.get(0, ds, m), mark_stderr) for m in results.metrics]
            lines.append(f"{name} & {_tex(labels.get(f'run_{run}', f'run_{run}'))} & " + " & ".join(cells) + r" \\")
        lines.append(r"\midrule" if ds != results.datasets[-1] else r"\bottomrule")
    lines += [r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"
