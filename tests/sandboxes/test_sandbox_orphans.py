"""Containers left running by a crashed swarm are reaped by the next sandbox on the host."""

from __future__ import annotations

import contextlib
import socket
import subprocess

import docker
import pytest

from sciswarm.sandboxes.docker import DockerSandbox
from sciswarm.sandboxes.docker_orphans import reap_orphans

pytestmark = pytest.mark.docker


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_orphans_of_dead_owners_are_removed_live_ones_kept(docker_engine: docker.DockerClient, exp_image: str) -> None:
    host = socket.gethostname()
    orphan = docker_engine.containers.run(
        exp_image,
        ["sleep", "300"],
        detach=True,
        network_mode="none",
        labels={"sciswarm": "1", "sciswarm.owner_pid": str(dead_pid()), "sciswarm.owner_host": host},
    )
    alive = docker_engine.containers.run(
        exp_image,
        ["sleep", "300"],
        detach=True,
        network_mode="none",
        labels={"sciswarm": "1", "sciswarm.owner_pid": "1", "sciswarm.owner_host": host},
    )
    try:
        assert orphan.name in reap_orphans(docker_engine)
        names = {c.name for c in docker_engine.containers.list(all=True)}
        assert orphan.name not in names and alive.name in names
        sandbox = DockerSandbox(exp_image, client=docker_engine)
        sandbox._docker()  # first use reaps; nothing left to reap now
        assert sandbox.reaped == []
    finally:
        for c in (orphan, alive):
            with contextlib.suppress(docker.errors.NotFound):
                c.remove(force=True)
