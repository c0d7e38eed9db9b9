"""The real-model tier: llama.cpp's OpenAI-compatible server on 127.0.0.1 with Qwen2.5-Coder-0.5B-Instruct
(GGUF), reached through LiteLLM's real HTTP path. The server and the weights are cached
(``sciswarm.testing.local_llm``): a fresh machine pays ~10 min once to build the server, then seconds.

Where they cannot be had (no compiler, no package index) the tier is skipped with the reason; under CI
(``CI=true``) that is a failure instead, so the tier cannot silently stop running."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from sciswarm.testing.local_llm import LlamaServer, LocalModelUnavailable

pytestmark = pytest.mark.realmodel


@pytest.fixture(scope="session")
def llama() -> Iterator[LlamaServer]:
    server = LlamaServer("qwen2.5-coder-0.5b")
    try:
        server.start()
    except LocalModelUnavailable as exc:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            raise
        pytest.skip(f"no local llama.cpp server here: {exc}")
    try:
        yield server
    finally:
        server.stop()
