"""A pytest plugin that fails any real model-provider call made by a test that did not opt in.

Enable it in a conftest.py with ``pytest_plugins = ["sciswarm.testing.guard"]``. A request to an api_base on
loopback (a fake server the test started) is allowed; anything else, e.g. a bare ``anthropic/...`` model,
fails the test at once unless it is marked ``@pytest.mark.live_model``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from sciswarm.llm.litellm_client import add_call_guard


class LiveModelCall(AssertionError):
    """A test tried to reach a real model provider."""


def is_loopback_url(api_base: str | None) -> bool:
    if not api_base:
        return False
    host = urlsplit(api_base).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refuse_live(model: str, api_base: str | None) -> None:
    if not is_loopback_url(api_base):
        where = api_base or "the provider's public API"
        raise LiveModelCall(
            f"a test called the real model {model!r} at {where}; use sciswarm.testing (scripted or function "
            "models, a fake server on 127.0.0.1), or mark the test @pytest.mark.live_model"
        )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "live_model: the test may call a real model provider")


@pytest.fixture(autouse=True)
def _sciswarm_live_call_guard(request: pytest.FixtureRequest) -> Iterator[None]:
    if request.node.get_closest_marker("live_model") is not None:
        yield
        return
    remove = add_call_guard(refuse_live)
    try:
        yield
    finally:
        remove()
