"""Fixtures for the role tests: a world-traversable work folder, the tiny template, a swarm builder."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # `agent_support` (also named by YAML `use:` lines)

from agent_support import TINY_TEMPLATE, Swarm


@pytest.fixture
def work() -> Iterator[Path]:
    """A 0755 folder under /tmp: the local sandbox runs experiments as an unprivileged uid, which must be
    able to traverse every parent of a workspace (pytest's tmp_path lives under a 0700 folder as root)."""
    path = Path(tempfile.mkdtemp(prefix="sciswarm-agents-", dir="/tmp"))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def template(work: Path) -> Path:
    """A copy of tests/fixtures/tiny_template (stdlib-only experiment.py and plot.py) a test may change."""
    dst = work / "tiny_template"
    shutil.copytree(TINY_TEMPLATE, dst)
    return dst


@pytest.fixture
def swarm(work: Path, template: Path) -> Swarm:
    return Swarm(work, template)
