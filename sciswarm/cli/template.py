"""`sciswarm template ...`: check a research template against the contract; write a new one from the skeleton."""

from __future__ import annotations

import enum
from pathlib import Path

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from sciswarm.sandboxes.base import Sandbox, SandboxError
from sciswarm.sandboxes.config import SandboxConfig
from sciswarm.templates import TemplateReport, check_template
from sciswarm.templates.data import DEFAULT_DATA_DIR
from sciswarm.templates.runners import LOCAL_CHECK_WARNING, describe_sandbox

app = typer.Typer(help="Research templates (The AI Scientist's format).", no_args_is_help=True)

_PIPELINE = SandboxConfig()  # the swarm YAML's sandbox defaults: a template is checked under the pipeline's limits
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


class Provider(enum.StrEnum):
    auto = "auto"
    docker = "docker"
    bwrap = "bwrap"
    local = "local"


def _limits(provider: Provider, image: str, memory_mb: int, cpus: float, timeout: float | None) -> SandboxConfig:
    """The pipeline's sandbox section with the command line's choices (network stays off)."""
    given = {"timeout_s": timeout} if timeout is not None else {}
    try:
        return SandboxConfig(provider=provider.value, image=image, memory_mb=memory_mb, cpus=cpus, **given)
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())
        raise typer.BadParameter(problems) from e


def _with_needs_from(config: Path, limits: SandboxConfig) -> SandboxConfig:
    """`limits` with the Python needs (packages, requirements, torch) of a swarm YAML's sandbox section."""
    from sciswarm.run.config import ConfigError, load_config

    try:
        cfg = load_config(config, [])
    except ConfigError as e:
        raise typer.BadParameter(str(e), param_hint="--config") from e
    section = cfg.sandbox.with_paths_from(cfg.base_dir)
    fields = ("packages", "requirements", "torch", "torch_index_url")
    return limits.model_copy(update={f: getattr(section, f) for f in fields})


def _open_sandbox(limits: SandboxConfig, console: Console, directory: Path) -> Sandbox:
    """make_sandbox as the pipeline does (docker: in an image with the template's Python needs), its warnings
    printed; exits when the provider asked for is unusable or the needs cannot be met."""
    from sciswarm.sandboxes.factory import make_sandbox
    from sciswarm.sandboxes.needs import UnmetNeeds
    from sciswarm.templates.needs import template_needs

    def on_log(level: str, text: str) -> None:
        style = {"warning": "bold yellow", "error": "bold red"}.get(level, "dim")
        console.print(text, style=style, markup=False, highlight=False)

    try:
        needs = template_needs(directory, limits)
        sandbox = make_sandbox(limits.provider, image=limits.image, on_log=on_log, needs=needs)
    except UnmetNeeds as e:
        console.print(f"error: {e}", style="bold red", markup=False, highlight=False)
        raise typer.Exit(code=2) from e
    except SandboxError as e:
        console.print(f"sandbox {limits.provider!r} unavailable: {e}", style="bold red", markup=False)
        raise typer.Exit(code=2) from e
    if not sandbox.isolated:
        console.print(LOCAL_CHECK_WARNING, style="bold red", markup=False, highlight=False)
    return sandbox


@app.command()
def check(
    directory: Path = typer.Argument(..., help="The template folder."),
    no_baseline: bool = typer.Option(False, "--no-baseline", help="Only check files; don't run the code."),
    provider: Provider = typer.Option(
        Provider(_PIPELINE.provider),
        "--sandbox",
        help="Where the code runs: docker (isolated); bwrap (bubblewrap, isolated, for hosts without Docker); "
        "local (NOT isolated: on this host); auto = docker when the engine answers, else bwrap when it can make "
        "a sandbox here, else local with a loud warning.",
    ),
    image: str = typer.Option(_PIPELINE.image, "--image", help="The docker provider's experiment image."),
    memory_mb: int = typer.Option(_PIPELINE.memory_mb, "--memory-mb", help="Memory limit of each run (MB)."),
    cpus: float = typer.Option(_PIPELINE.cpus, "--cpus", help="CPU limit of each run."),
    timeout: float | None = typer.Option(
        None, help=f"Seconds allowed to experiment.py and to plot.py each (default: {_PIPELINE.timeout_s:g})."
    ),
    workspace: Path | None = typer.Option(
        None, help="Run the baseline in this folder and keep it (default: a temporary folder)."
    ),
    config: Path | None = typer.Option(
        None,
        "--config",
        help="A swarm YAML whose sandbox section's Python needs apply (packages, requirements, torch).",
    ),
    data_dir: Path = typer.Option(
        DEFAULT_DATA_DIR,
        "--data-dir",
        help="Where the data step (data/<name>/prepare.py, run once on this host) caches its output; "
        "the runs' default, so a check and a later run share it.",
    ),
) -> None:
    """Validate DIRECTORY against the template contract (LaTeX packages this host lacks are listed with the
    Debian package to install); unless --no-baseline, run its data step (once, on this host) and its baseline
    and plot.py in a copy, through the pipeline's sandbox (same provider choice, limits, no network, and a
    scrubbed environment: no host variables or API keys reach the template's code)."""
    console = Console()
    limits = _limits(provider, image, memory_mb, cpus, timeout)
    if config is not None:
        limits = _with_needs_from(config, limits)
    box = None
    if not no_baseline and (directory / "experiment.py").is_file():
        box = _open_sandbox(limits, console, directory)
        where = describe_sandbox(box)[1]
        console.print(
            f"running the baseline (python experiment.py --out_dir=run_0), then plot.py, in: {where}",
            style="dim",
            markup=False,
            highlight=False,
        )
    report = check_template(
        directory, run_baseline=not no_baseline, sandbox=box, limits=limits, workspace=workspace, data_dir=data_dir
    )
    print_report(report, console)
    if not report.ok:
        raise typer.Exit(code=1)


@app.command()
def new(
    name: str = typer.Argument(..., help="The template's name: its folder (letters, digits, '_', '-')."),
    parent: Path = typer.Option(Path("."), "--dir", help="Where to create the NAME folder (default: here)."),
) -> None:
    """Write a small, working template into --dir/NAME: a numpy MLP on two synthetic datasets (experiment.py,
    plot.py), prompt.json, seed_ideas.json and a LaTeX paper with the writer's section markers. Refuses to
    overwrite a non-empty folder."""
    from sciswarm.templates.errors import TemplateError
    from sciswarm.templates.new import new_template

    console = Console()
    try:
        dest, written = new_template(name, parent)
    except TemplateError as e:
        console.print(f"error: {e}", style="bold red", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(code=2) from e
    console.print(f"wrote template {name!r} in {dest}:", markup=False, highlight=False)
    for path in written:
        console.print(f"  {path.relative_to(dest)}", markup=False, highlight=False)
    console.print("next:", markup=False, highlight=False)
    console.print(f"  sciswarm template check {dest}", markup=False, highlight=False)
    console.print(f"  in the swarm YAML: template: {dest}", markup=False, highlight=False)
    console.print(
        f"  or: sciswarm run SWARM.yaml -o template={dest}  (e.g. configs/default.yaml)", markup=False, highlight=False
    )
    console.print(f"  then edit it for your task: see {dest / 'README.md'}", markup=False, highlight=False)
