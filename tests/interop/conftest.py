"""Fixtures for the AgentChat interop tests: the sandbox fixtures (a real Docker engine, which CI requires,
the experiment image, the strict local sandbox), a fake OpenAI server, a world-traversable work folder."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))  # `interop_support` (also named by YAML `tools:` lines)
sys.path.insert(0, str(HERE.parent / "agents"))  # `agent_support`: the swarm builder of the role tests

from sandboxes.conftest import docker_engine, exp_image, local_sandbox, open_dir  # noqa: E402
from support.fake_openai import FakeOpenAI  # noqa: E402

__all__ = ["docker_engine", "exp_image", "local_sandbox", "open_dir"]


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as s:
        yield s


@pytest.fixture
def work() -> Iterator[Path]:
    """A 0755 folder under /tmp (the local sandbox's unprivileged uid must traverse every parent)."""
    path = Path(tempfile.mkdtemp(prefix="sciswarm-interop-", dir="/tmp"))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)
