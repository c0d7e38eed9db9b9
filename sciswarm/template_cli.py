"""`sciswarm template ...`: check a research template against the contract."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from sciswarm.templates import TemplateReport, check_template

app = typer.Typer(help="Research templates (The AI Scientist's format).", no_args_is_help=True)

_STYLE = {"pass": "[green]pass[/]", "fail": "[bold red]FAIL[/]", "warn": "[yellow]warn[/]", "skip": "[dim]skip[/]"}


@app.callback()
def _main() -> None:
    """Research templates (The AI Scientist's format)."""


def print_report(report: TemplateReport, console: Console) -> None:
    table = Table(title=f"template {report.path}", show_lines=False, expand=False)
    table.add_column("check")
    table.add_column("result")
    table.add_column("detail", overflow="fold")
    for check in report.checks:
        table.add_row(check.name, _STYLE[check.status], check.detail)
    console.print(table)

    if report.template is not None:
        t = report.template
        console.print(
            f"seed ideas: {len(t.seed_ideas)}  ·  helper files: {', '.join(t.extra_files) or '-'}",
            highlight=False,
        )
    if report.final_info:
        metrics = Table(title="baseline final_info (means)")
        metrics.add_column("metric")
        datasets = list(report.final_info)
        for dataset in datasets:
            metrics.add_column(dataset, justify="right")
        names = list(dict.fromkeys(m for ms in report.final_info.values() for m in ms))
        for name in names:
            values = [report.final_info[d].get(name) for d in datasets]
            metrics.add_row(name, *("-" if v is None else f"{v:.4g}" for v in values))
        console.print(metrics)
    timing = []
    if report.baseline_wall_s is not None:
        timing.append(f"baseline {report.baseline_wall_s:.1f} s")
    if report.plot_wall_s is not None:
        timing.append(f"plot {report.plot_wall_s:.1f} s")
    if timing:
        console.print("time: " + ", ".join(timing))
    if report.ok:
        console.print("[bold green]template OK[/]")
    else:
        console.print(f"[bold red]template invalid[/]: {len(report.errors)} problem(s)")


@app.command()
def check(
    directory: Path = typer.Argument(..., help="The template folder."),
    no_baseline: bool = typer.Option(False, "--no-baseline", help="Only check files; don't run the code."),
    timeout: float = typer.Option(900.0, help="Seconds allowed to experiment.py and to plot.py each."),
    workspace: Path | None = typer.Option(
        None, help="Run the baseline in this folder and keep it (default: a temporary folder)."
    ),
) -> None:
    """Validate DIRECTORY against the template contract; unless --no-baseline, run its baseline and plot.py
    in a copy (locally, NOT sandboxed: only check templates you trust)."""
    console = Console()
    if not no_baseline:
        console.print("[dim]running the baseline (python experiment.py --out_dir=run_0), then plot.py ...[/]")
    report = check_template(directory, run_baseline=not no_baseline, timeout_s=timeout, workspace=workspace)
    print_report(report, console)
    if not report.ok:
        raise typer.Exit(code=1)
