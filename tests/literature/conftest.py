"""Fixtures of the literature tests (helpers in literature_support.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.fake_scholar import FakeScholar


@pytest.fixture
def server() -> Iterator[FakeScholar]:
    with FakeScholar() as fake:
        yield fake
