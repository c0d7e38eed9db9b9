"""The conformance + escape suite: local through run_suite, docker through `sciswarm sandbox check`."""

from __future__ import annotations

import os
from collections.abc import Callable

import docker
import pytest
from typer.testing import CliRunner

from sciswarm.cli.sandbox import app
from sciswarm.sandboxes.conformance import run_suite
from sciswarm.sandboxes.conformance_report import UNSAFE, render_table
from sciswarm.sandboxes.local import LocalSandbox

MUST_HOLD_EVERYWHERE = {
    "sleep past the timeout",
    "trap/ignore SIGTERM",
    "setsid/nohup child outlives parent",
    "edit harness / timeout, signal supervisor",
    "allocate past the memory limit",
    "inherit the host's environment (API keys)",
    "request a GPU when none exists",
}


async def test_local_provider_suite(local_sandbox: LocalSandbox) -> None:
    results = await run_suite(local_sandbox)
    table = render_table("local", results)
    assert table.row_count == len(results) >= 12
    by_name = {r.name: r for r in results}
    assert not [r for r in results if r.failed], [(r.name, r.observed) for r in results if r.failed]
    for name in MUST_HOLD_EVERYWHERE:
        assert by_name[name].contained, (name, by_name[name].observed)
    # honest about what a host subprocess cannot contain
    assert by_name["fill the disk of /tmp"].verdict == UNSAFE
    assert by_name["write outside the workspace"].verdict == UNSAFE
    if os.geteuid() == 0:  # uid drop + network namespace: these are contained too
        assert by_name["fork bomb"].contained and by_name["open a network connection"].contained


@pytest.mark.docker
def test_docker_provider_suite_via_cli(
    exp_image: str, docker_engine: docker.DockerClient, leftovers: Callable[[], list[str]]
) -> None:
    # a container of a swarm running beside the check (another process, another host's labels so nobody reaps
    # it): the suite counts only its own containers as left behind
    labels = {"sciswarm": "1", "sciswarm.owner_pid": "1", "sciswarm.owner_host": "another-host"}
    beside = docker_engine.containers.run(exp_image, ["sleep", "120"], labels=labels, detach=True, network_mode="none")
    try:
        result = CliRunner().invoke(app, ["check", "--provider", "docker", "--image", exp_image])
        beside.reload()
        assert beside.status == "running"
    finally:
        beside.remove(force=True)
    assert result.exit_code == 0, result.output
    assert "Docker engine usable: yes" in result.output
    assert "ESCAPED" not in result.output and "unsafe provider" not in result.output
    assert result.output.count("contained") >= 12
    assert leftovers() == []
