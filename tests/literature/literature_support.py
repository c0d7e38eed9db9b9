"""Helpers for the literature tests: a LiteratureSearch against the fake server, fast and bounded."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from support.fake_scholar import FakeScholar

from sciswarm.literature import LiteratureSearch


def make_search(server: FakeScholar, tmp_path: Path, **overrides: Any) -> LiteratureSearch:
    cfg: dict[str, Any] = {
        "api_base": server.url,
        "fallback_api_base": server.url,
        "api_key_env": "SCISWARM_TEST_S2_KEY",
        "cache_path": "cache.sqlite",
        "min_interval_s": 0,
        "max_attempts": 3,
        "timeout_s": 2,
        "backoff_base_s": 0.01,
        "backoff_max_s": 0.05,
        "deadline_s": 5,
    }
    cfg.update(overrides)
    return LiteratureSearch.from_config(cfg, base_dir=tmp_path)


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
