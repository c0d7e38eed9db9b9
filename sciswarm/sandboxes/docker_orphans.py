"""Which containers are sciswarm's and who started them (labels), and removing those whose owner died (a crash,
a SIGKILL) before it could remove them itself."""

from __future__ import annotations

import os
import socket

import docker
import docker.errors

from sciswarm.procs import pid_alive

LABEL = "sciswarm"  # every container carries `sciswarm=1`


def owner_labels() -> dict[str, str]:
    """Who started the container: a later process reaps it if that process died (crash, SIGKILL)."""
    return {f"{LABEL}.owner_pid": str(os.getpid()), f"{LABEL}.owner_host": socket.gethostname()}


def reap_orphans(client: docker.DockerClient) -> list[str]:
    """Remove sciswarm containers whose owning process on this host is gone; returns their names."""
    removed = []
    host = socket.gethostname()
    for c in client.containers.list(all=True, filters={"label": f"{LABEL}.owner_pid"}):
        labels = c.labels or {}
        if labels.get(f"{LABEL}.owner_host") != host:
            continue
        try:
            pid = int(labels.get(f"{LABEL}.owner_pid", "0"))
        except ValueError:
            continue
        if pid <= 0 or pid_alive(pid):
            continue
        try:
            c.remove(force=True)
            removed.append(c.name)
        except docker.errors.APIError:
            continue
    return removed
