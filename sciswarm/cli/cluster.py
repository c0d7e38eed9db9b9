"""`sciswarm cluster ...`: get a Ray cluster ready for `executor.kind: ray` (needs `pip install 'sciswarm[ray]'`)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sciswarm.sandboxes.base import SandboxError
from sciswarm.sandboxes.image import DEFAULT_IMAGE

app = typer.Typer(help="A Ray cluster for the ray executor: prepare every node.", no_args_is_help=True)
console = Console()

GOOD = {"present", "built"}


def prepare_nodes(address: str, image: str, *, build: bool, timeout_s: float) -> list[dict[str, Any]]:
    """One Ray task per alive node (pinned there): check the experiment image, building it when `build`."""
    from sciswarm.sandboxes.ray_executor import connect

    connect(address)
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    from sciswarm.sandboxes.ray_node import check_image_on_node

    task = ray.remote(check_image_on_node)
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    refs = {
        n["NodeID"]: task.options(
            num_cpus=0, max_retries=0, scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False)
        ).remote(image, build)
        for n in nodes
    }
    out = []
    for node in nodes:
        ref = refs[node["NodeID"]]
        try:
            out.append(ray.get(ref, timeout=timeout_s))
        except (ray.exceptions.RayError, TimeoutError) as exc:
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            out.append({"node_id": node["NodeID"], "hostname": node.get("NodeManagerHostname", "?"),
                        "status": "failed", "detail": detail})  # fmt: skip
        out[-1]["node_ip"] = node.get("NodeManagerAddress", "?")
    return out


@app.command()
def prepare(
    address: Annotated[str, typer.Option(help="auto | local | HOST:PORT | ray://host:port")] = "auto",
    image: Annotated[str, typer.Option(help="the experiment image every node needs")] = DEFAULT_IMAGE,
    check: Annotated[bool, typer.Option("--check", help="only check; build nothing")] = False,
    timeout_s: Annotated[float, typer.Option(help="per node")] = 1800.0,
) -> None:
    """Build (or with --check, check) the experiment image on every alive node, one Ray task per node."""
    try:
        rows = prepare_nodes(address, image, build=not check, timeout_s=timeout_s)
    except SandboxError as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    table = Table("node", "ip", "host", "image", "detail")
    for row in rows:
        style = "green" if row["status"] in GOOD else "red"
        table.add_row(str(row["node_id"])[:12], str(row["node_ip"]), str(row["hostname"]),
                      f"[{style}]{row['status']}[/]", escape(str(row["detail"])))  # fmt: skip
    console.print(table)
    bad = [r for r in rows if r["status"] not in GOOD]
    if bad or not rows:
        console.print(f"[bold red]{len(bad)} of {len(rows)} node(s) not ready[/]")
        raise typer.Exit(1)
    console.print(f"[green]{len(rows)} node(s) ready with {image}[/]")
