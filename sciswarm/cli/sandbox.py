"""`sciswarm sandbox ...`: build the experiment image; check providers with the conformance/escape suite."""

from __future__ import annotations

import asyncio
import enum

import docker
import typer
from rich.console import Console
from rich.markup import escape

from sciswarm.sandboxes.base import Sandbox, SandboxError
from sciswarm.sandboxes.bwrap import bwrap_available
from sciswarm.sandboxes.conformance import run_suite
from sciswarm.sandboxes.conformance_report import render_table
from sciswarm.sandboxes.factory import docker_available, make_sandbox
from sciswarm.sandboxes.gpus import host_gpu_ids, nvidia_runtime_available
from sciswarm.sandboxes.image import (
    DEFAULT_BASE,
    DEFAULT_IMAGE,
    DEFAULT_REQUIREMENTS,
    build_image,
    image_present,
)

app = typer.Typer(
    help="Experiment sandboxes: build the image (no registry needed); check providers against escapes.",
    no_args_is_help=True,
)
console = Console()


class Provider(enum.StrEnum):
    docker = "docker"
    bwrap = "bwrap"
    local = "local"
    all = "all"


def _log(level: str, text: str) -> None:
    style = {"warning": "bold yellow", "error": "bold red"}.get(level, "dim")
    console.print(text, style=style, markup=False, highlight=False)


@app.command()
def build(
    base: str = typer.Option(
        DEFAULT_BASE, "--base", help="any local image with python3 (+venv); bootstrapped if default"
    ),
    image: str = typer.Option(DEFAULT_IMAGE, "--image", help="tag of the experiment image to build"),
    requirement: list[str] = typer.Option(
        list(DEFAULT_REQUIREMENTS), "--requirement", "-r", help="pip requirement for the image (repeatable)"
    ),
    force: bool = typer.Option(False, "--force", help="rebuild even if the recorded inputs are unchanged"),
) -> None:
    """Build the experiment image from a host wheelhouse (reused when its inputs are unchanged)."""
    if not docker_available():
        console.print("[bold red]Docker engine not reachable[/] (scripts/ensure_docker.sh starts one)")
        raise typer.Exit(2)
    try:
        result = build_image(
            base=base, image=image, requirements=requirement, force=force, progress=lambda t: _log("info", t)
        )
    except SandboxError as exc:
        console.print(f"[bold red]build failed:[/] {exc}")
        raise typer.Exit(1) from exc
    verb = "reused" if result.reused else "built"
    console.print(f"[green]{verb}[/] {result.image} ({result.image_id[7:19]}) in {result.seconds:.1f}s")


def _report_environment(image: str) -> bool:
    usable = docker_available()
    console.print(f"Docker engine usable: {'[green]yes[/]' if usable else '[bold red]no[/]'}")
    if usable:
        client = docker.from_env()
        try:
            info = client.info()
            version, cgroup = info.get("ServerVersion"), info.get("CgroupVersion", "?")
            console.print(f"  engine {version}, cgroup v{cgroup}, {info.get('NCPU')} CPUs")
            runtime = nvidia_runtime_available(info)
        finally:
            client.close()
        present = "[green]yes[/]" if image_present(image) else "[yellow]no (will build)[/]"
        console.print(f"Image {image} present: {present}")
        gpu_runtime = "[green]yes[/]" if runtime else "no (GPU requests will fail cleanly)"
        console.print(f"NVIDIA container runtime: {gpu_runtime}")
    gpus = host_gpu_ids()
    console.print(f"GPUs on this host: {', '.join(gpus) if gpus else 'none'}")
    return usable


async def _check_one(sandbox: Sandbox) -> bool:
    console.print(f"\nrunning the conformance suite on [bold]{sandbox.name}[/] (isolated={sandbox.isolated}) …")
    results = await run_suite(sandbox)
    render_table(sandbox.name, results, console)
    failed = [r.name for r in results if r.failed]
    if failed:
        console.print(f"[bold red]{sandbox.name}: {len(failed)} case(s) not contained:[/] {', '.join(failed)}")
    else:
        console.print(f"[green]{sandbox.name}: every case it must contain is contained[/]")
    return not failed


@app.command()
def check(
    provider: Provider = typer.Option(Provider.all, "--provider", help="which provider(s) to check"),
    image: str = typer.Option(DEFAULT_IMAGE, "--image", help="image the docker provider uses"),
) -> None:
    """Report Docker/image/GPU status, run the escape suite, exit non-zero if something is not contained."""
    docker_ok = _report_environment(image)
    sandboxes: list[Sandbox] = []
    if provider in (Provider.docker, Provider.all):
        if docker_ok:
            sandboxes.append(make_sandbox("docker", image=image, on_log=_log))
        elif provider is Provider.docker:
            console.print("[bold red]docker provider requested but the engine is not reachable[/]")
            raise typer.Exit(2)
        else:
            console.print("[bold yellow]Docker unavailable: the docker provider is not checked[/]")
    if provider in (Provider.bwrap, Provider.all):
        ok, why = bwrap_available()
        console.print(f"bubblewrap usable: {'[green]yes[/]' if ok else '[bold red]no[/] (' + escape(why) + ')'}")
        if ok:
            sandboxes.append(make_sandbox("bwrap", on_log=_log))
        elif provider is Provider.bwrap:
            raise typer.Exit(2)
    if provider in (Provider.local, Provider.all):
        sandboxes.append(make_sandbox("local", on_log=_log))

    async def main() -> bool:
        return all([await _check_one(sb) for sb in sandboxes])

    if not asyncio.run(main()):
        raise typer.Exit(1)
