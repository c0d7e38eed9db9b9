"""Fixtures for the sandbox tests: a real Docker engine + the experiment image (built once per session)."""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from sciswarm.sandboxes.factory import docker_available
from sciswarm.sandboxes.image import DEFAULT_IMAGE, build_image
from sciswarm.sandboxes.local import LocalSandbox

NO_ENGINE = (
    "!!! Docker engine NOT reachable: docker sandbox tests SKIPPED. Start one with scripts/ensure_docker.sh "
    "(CI does; there a missing engine is a failure, not a skip). !!!"
)


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[docker.DockerClient]:
    if not docker_available():
        if os.environ.get("CI"):
            pytest.fail("CI: the Docker engine must be running (scripts/ensure_docker.sh)")
        warnings.warn(NO_ENGINE, stacklevel=1)
        print(NO_ENGINE, file=sys.stderr)
        pytest.skip(NO_ENGINE)
    client = docker.from_env()
    yield client
    client.close()


@pytest.fixture(scope="session")
def exp_image(docker_engine: docker.DockerClient) -> str:
    """The experiment image, reused when present and current (first build: ~2 min)."""
    result = build_image(image=DEFAULT_IMAGE, client=docker_engine, progress=lambda line: None)
    return result.image


@pytest.fixture(scope="session")
def local_sandbox() -> LocalSandbox:
    return LocalSandbox()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "workspace"
    ws.mkdir()
    return ws


def labelled_containers(client: docker.DockerClient) -> list[str]:
    return [c.name for c in client.containers.list(all=True, filters={"label": "sciswarm=1"})]
