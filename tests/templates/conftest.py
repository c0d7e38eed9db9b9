"""Fixtures of the template tests (helpers in template_support.py)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from template_support import write_minimal_template


@pytest.fixture
def minimal(tmp_path: Path) -> Path:
    return write_minimal_template(tmp_path / "toy")


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A world-traversable folder for a kept workspace: the baseline runs in the sandbox (docker, or the local
    provider's unprivileged uid, which cannot traverse pytest's 0700 tmp_path)."""
    path = Path(tempfile.mkdtemp(prefix="sciswarm-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)
