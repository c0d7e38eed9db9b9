"""Fixtures for the sandbox tests: a real Docker engine + the experiment image (built once per session)."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The first test to use the image may build it (~2.5 min incl. the base bootstrap): allow for that."""
    for item in items:
        if "exp_image" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.timeout(900))


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[docker.DockerClient]:
    if not docker_available():
        if os.environ.get("CI") or os.environ.get("SCISWARM_REQUIRE_DOCKER"):
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
    """The strict mode (as root: always a fresh uid), so the properties tested here hold on every host; what
    make_sandbox('local') picks by default is tested in test_sandbox_local_python.py."""
    return LocalSandbox(run_as="unprivileged")


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A world-traversable temp dir, like a runs/ directory (pytest's tmp_path lives under a 0700 dir,
    which the local provider's unprivileged uid cannot traverse)."""
    path = Path(tempfile.mkdtemp(prefix="sciswarm-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def workspace(open_dir: Path) -> Path:
    ws = open_dir / "workspace"
    ws.mkdir()
    return ws


@pytest.fixture
def leftovers(docker_engine: docker.DockerClient) -> Callable[[], list[str]]:
    """Names of containers labelled sciswarm=1 that still exist (should be none after any run)."""

    def names() -> list[str]:
        return [c.name for c in docker_engine.containers.list(all=True, filters={"label": "sciswarm=1"})]

    return names
