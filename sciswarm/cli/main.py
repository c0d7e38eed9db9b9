"""The `sciswarm` command."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from sciswarm.view.web import ViewerServer

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

app = typer.Typer(help="A swarm of LLM agents doing ML research end to end.", no_args_is_help=True)
console = Console()
err = Console(stderr=True, soft_wrap=True)


def _mount_subcommands() -> None:
    from sciswarm.cli.cluster import app as cluster_app
    from sciswarm.cli.sandbox import app as sandbox_app
    from sciswarm.cli.template import app as template_app

    app.add_typer(sandbox_app, name="sandbox", help="Build, check and test experiment sandboxes.")
    app.add_typer(template_app, name="template", help="Check research templates.")
    app.add_typer(cluster_app, name="cluster", help="Prepare a Ray cluster's nodes (executor.kind: ray).")


@app.command()
def run(
    config: Annotated[Path, typer.Argument(help="swarm YAML file")],
    override: Annotated[list[str] | None, typer.Option("-o", "--override", help="key.path=value (repeatable)")] = None,
    quiet_output: Annotated[bool, typer.Option("--no-output", help="hide experiments' output lines")] = False,
    serve_viewer: Annotated[
        bool, typer.Option("--serve", help="the browser viewer beside the run (loopback), unless one serves its runs")
    ] = False,
) -> None:
    """Launch a swarm and show the agents' conversation live."""
    from sciswarm.run.config import ConfigError, load_config
    from sciswarm.run.runner import SwarmRunner
    from sciswarm.view.terminal import LiveView

    try:
        cfg = load_config(config, override or [])
        view = LiveView(console, show_output=not quiet_output)
        runner = SwarmRunner(cfg, config_path=str(config), listeners=[view])
    except ConfigError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    console.print(f"[bold]sciswarm[/] run [cyan]{runner.run_id}[/] -> {runner.store.run_dir}", soft_wrap=True)
    viewer = _serve_beside(runner.store.run_dir) if serve_viewer else None
    try:
        with view:
            status = asyncio.run(runner.run())
    finally:
        if viewer is not None:
            viewer.close()
    _finish(runner.store.run_dir, status)


def _serve_beside(run_dir: Path) -> ViewerServer | None:
    """`run --serve`: a viewer of the run's runs folder in this process (it stops with the run), or the one
    already serving that folder; prints the URL of the run in it."""
    from rich.markup import escape

    from sciswarm.view.web import serve_beside

    try:
        url, server = serve_beside(run_dir.parent, run_dir.name)
    except OSError as exc:
        err.print(f"[bold yellow]note:[/] cannot start the viewer: {exc.strerror or exc}", highlight=False)
        return None
    note = "stops with this run; `sciswarm serve` keeps one up" if server else "already serving this runs folder"
    console.print(f"viewer: {escape(url)}  ({note})", soft_wrap=True, highlight=False)
    return server


def _finish(run_dir: Path, status: str) -> None:
    """The run's last lines, and its exit code (see the README: 0 completed, 1 failed, 3 partial, ...)."""
    from sciswarm.run.store import EXIT_CODES

    console.print(f"run dir: {run_dir}  (status: {status})", soft_wrap=True)
    console.print(f"replay it with: sciswarm watch {run_dir}", soft_wrap=True)
    if (run_dir / "errors.log").exists():
        console.print(f"failure details (tracebacks): {run_dir / 'errors.log'}", soft_wrap=True)
    code = EXIT_CODES.get(status, 1)
    if code:
        raise typer.Exit(code)


@app.command()
def resume(
    run_dir: Annotated[Path, typer.Argument(help="the run folder of a crashed or interrupted run")],
    override: Annotated[
        list[str] | None, typer.Option("-o", "--override", help="key.path=value (e.g. a larger budget)")
    ] = None,
    quiet_output: Annotated[bool, typer.Option("--no-output", help="hide experiments' output lines")] = False,
) -> None:
    """Continue a crashed or interrupted run without redoing the work that finished."""
    from sciswarm.run.config import ConfigError
    from sciswarm.run.resume import resume as resume_run
    from sciswarm.view.terminal import LiveView

    try:
        view = LiveView(console, show_output=not quiet_output)
        view.count_earlier(run_dir / "transcript.jsonl")  # the footer's totals are the whole run's, not this session's
        runner, pending = resume_run(run_dir, override or [], listeners=[view])
    except ConfigError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    console.print(f"[bold]sciswarm[/] resuming [cyan]{runner.run_id}[/]: {len(pending)} unfinished deliveries")
    with view:
        status = asyncio.run(runner.run(redeliver=pending))
    _finish(runner.store.run_dir, status)


@app.command()
def rerun(
    run_dir: Annotated[Path, typer.Argument(help="the run folder of a finished or crashed run")],
    stage: Annotated[str, typer.Option("--from", help="experiments | plot | writer | reviewer")],
    idea: Annotated[list[str] | None, typer.Option("--idea", help="only this idea (repeatable)")] = None,
    config: Annotated[Path | None, typer.Option("-c", "--config", help="a new swarm YAML (default: the run's)")] = None,
    override: Annotated[list[str] | None, typer.Option("-o", "--override", help="key.path=value (repeatable)")] = None,
    quiet_output: Annotated[bool, typer.Option("--no-output", help="hide experiments' output lines")] = False,
) -> None:
    """Redo a stage and everything after it on a run's kept artifacts, into a new run folder beside it."""
    from sciswarm.run.config import ConfigError
    from sciswarm.run.rerun import rerun as rerun_stage
    from sciswarm.view.terminal import LiveView

    try:
        view = LiveView(console, show_output=not quiet_output)
        runner, starts = rerun_stage(
            run_dir, stage, ideas=idea, config=config, overrides=override or [], listeners=[view]
        )
    except ConfigError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    ideas = ", ".join(m.idea_id for m in starts)
    console.print(
        f"[bold]sciswarm[/] rerun [cyan]{runner.run_id}[/]: {run_dir.name} from {stage} ({ideas}) "
        f"-> {runner.store.run_dir}",
        soft_wrap=True,
    )
    with view:
        status = asyncio.run(runner.run(initial=starts, redeliver=[]))
    _finish(runner.store.run_dir, status)


@app.command()
def review(
    pdf: Annotated[Path, typer.Argument(help="the paper to review (any PDF)")],
    config: Annotated[Path | None, typer.Option("--config", "-c", help="swarm YAML (models, panel params)")] = None,
    model: Annotated[str | None, typer.Option("--model", help="LiteLLM model string, instead of --config")] = None,
    reviewers: Annotated[int | None, typer.Option("--reviewers", "-n", help="number of reviewers")] = None,
    override: Annotated[list[str] | None, typer.Option("-o", "--override", help="key.path=value")] = None,
) -> None:
    """Run the reviewer panel alone on a PDF; reviews and meta-review go to the run's reviews.json."""
    from sciswarm.cli.review import paper_message, review_config
    from sciswarm.run.config import ConfigError
    from sciswarm.run.runner import SwarmRunner
    from sciswarm.view.terminal import LiveView

    try:
        cfg = review_config(pdf, config=config, overrides=override or [], model=model, reviewers=reviewers)
        view = LiveView(console)
        runner = SwarmRunner(cfg, config_path=str(config or "--model"), listeners=[view])
    except ConfigError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    message = paper_message(pdf)
    with view:
        status = asyncio.run(runner.run(initial=[message]))
    out = runner.store.run_dir / "ideas" / message.idea_id / "reviews.json"
    if out.exists():
        console.print(f"reviews: {out}", soft_wrap=True)
    if status != "completed" or not out.exists():
        raise typer.Exit(1)


@app.command()
def watch(
    run_dir: Annotated[Path, typer.Argument(help="a run folder, e.g. runs/20260101-120000-demo")],
    no_follow: Annotated[bool, typer.Option("--no-follow", help="print what is there and exit")] = False,
) -> None:
    """Follow a running swarm live, or print a finished one and exit."""
    from sciswarm.view.watch import watch as do_watch

    try:
        do_watch(run_dir, console, follow=not no_follow)
    except FileNotFoundError as exc:
        err.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


@app.command()
def roles() -> None:
    """List built-in and plugged-in roles with their subscriptions."""
    from sciswarm.agents.registry import RoleNotFound, available, resolve

    table = Table(title="sciswarm roles")
    for col in ("role", "origin", "class", "subscribes", "publishes", "description"):
        table.add_column(col)
    for name, (origin, target) in sorted(available().items()):
        try:
            cls = resolve(name)
        except RoleNotFound as exc:
            table.add_row(name, origin, target, "-", "-", f"[red]{exc}[/]")
            continue
        table.add_row(name, origin, target, ", ".join(cls.subscribes), ", ".join(cls.publishes) or "-", cls.description)
    console.print(table)


@app.command()
def serve(
    runs_dir: Annotated[Path, typer.Option("--runs-dir", help="the folder holding the runs")] = Path("runs"),
    host: Annotated[str, typer.Option("--host", help="interface to bind; loopback by default")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port")] = 8765,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar="SCISWARM_VIEWER_TOKEN",
            help="require this token on every request; made up when --host is not loopback",
        ),
    ] = None,
) -> None:
    """Follow running and finished swarms in the browser."""
    from rich.markup import escape

    from sciswarm.view.web import ViewerServer

    if not runs_dir.is_dir():
        err.print(f"[bold red]error:[/] no runs folder at {runs_dir} (start a swarm with `sciswarm run`)")
        raise typer.Exit(2)
    if token == "":
        err.print("[bold red]error:[/] --token must not be empty")
        raise typer.Exit(2)
    try:
        server = ViewerServer(runs_dir, host=host, port=port, token=token)
    except OSError as exc:
        err.print(f"[bold red]error:[/] cannot listen on {host}:{port}: {exc.strerror or exc}")
        raise typer.Exit(2) from None
    where = escape(str(server.runs.root))
    err.print(f"sciswarm viewer on {escape(server.url)}  (runs: {where})  Ctrl-C to stop", highlight=False)
    if not server.loopback:
        note = "reachable from the network, only with the token; open"
        err.print(f"[bold yellow]note:[/] {note} {escape(server.token_url)}", highlight=False)
    elif server.token:
        err.print(f"token required; open {escape(server.token_url)}", highlight=False)
    server.serve_until_interrupted()


_mount_subcommands()
