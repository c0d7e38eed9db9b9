"""Fixtures of the viewer's tests (helpers in web_support.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sciswarm.view.web import ViewerServer


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    d = tmp_path / "runs"
    d.mkdir()
    return d


@pytest.fixture
def server(runs: Path) -> Iterator[ViewerServer]:
    with ViewerServer(runs, port=0, poll_s=0.05, keepalive_s=0.3) as srv:
        yield srv


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where browser tests save their screenshots: the session's pytest tmp folder (kept for the last runs)."""
    path = tmp_path_factory.getbasetemp() / "screenshots"
    path.mkdir(exist_ok=True)
    return path
