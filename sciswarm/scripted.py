"""A scripted model for offline use: replies are read from a YAML file, per role, in order.

It is not a language model. Every call it answers is recorded with ``scripted=True`` so the
transcript says plainly that the replies were scripted.

File format::

    # role name -> list of replies (strings, or mappings/lists that are sent as JSON)
    ideator:
      - '{"Name": "...", ...}'
    coder:
      - |
        some text
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncGenerator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from autogen_core import CancellationToken
from autogen_core.models import (
    CreateResult,
    LLMMessage,
    RequestUsage,
)
from autogen_core.tools import Tool, ToolSchema
from pydantic import BaseModel

from sciswarm.errors import ExpectedFailure
from sciswarm.ledger import CALL_CONTEXT, CallRecord, Ledger
from sciswarm.llm import MeteredClient, ModelCallError, to_openai_messages


class ScriptError(ExpectedFailure, ValueError):
    pass


def load_script(path: Path) -> dict[str, list[str]]:
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ScriptError(f"cannot read scripted replies file {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ScriptError(f"scripted replies file {path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ScriptError(f"scripted replies file {path}: expected a mapping of role -> list of replies")
    script: dict[str, list[str]] = {}
    for role, replies in raw.items():
        if not isinstance(replies, list):
            raise ScriptError(f"scripted replies file {path}: '{role}' must be a list of replies")
        script[str(role)] = [r if isinstance(r, str) else json.dumps(r) for r in replies]
    return script


class ScriptedClient(MeteredClient):
    """Serves the next reply of the calling role (taken from the call context)."""

    function_calling = False
    structured_output = False

    def __init__(self, script: Mapping[str, list[str]], *, ledger: Ledger | None = None, source: str = "") -> None:
        self._script = {k: list(v) for k, v in script.items()}
        self._next: dict[str, int] = {}
        self._lock = threading.Lock()
        self.source = source
        super().__init__(f"scripted:{source}" if source else "scripted", ledger)

    @classmethod
    def from_file(cls, path: Path, *, ledger: Ledger | None = None) -> ScriptedClient:
        return cls(load_script(path), ledger=ledger, source=path.name)

    def _take(self, role: str) -> str:
        with self._lock:
            key = role if role in self._script else "*"
            replies = self._script.get(key)
            if replies is None:
                raise ModelCallError(f"scripted model has no replies for role '{role}'")
            i = self._next.get(key, 0)
            if i >= len(replies):
                raise ModelCallError(f"scripted replies for role '{role}' exhausted after {len(replies)} replies")
            self._next[key] = i + 1
            return replies[i]

    def advance(self, role: str, n: int) -> None:
        """Skip the first `n` replies of `role` (already consumed by an earlier process: resume)."""
        with self._lock:
            key = role if role in self._script else "*"
            self._next[key] = self._next.get(key, 0) + n

    async def create(
        self,
        messages: Sequence[LLMMessage],
        *,
        tools: Sequence[Tool | ToolSchema] = [],
        tool_choice: Tool | Literal["auto", "required", "none"] = "auto",
        json_output: bool | type[BaseModel] | None = None,
        extra_create_args: Mapping[str, Any] = {},
        cancellation_token: CancellationToken | None = None,
    ) -> CreateResult:
        self._ledger.before_call()
        started = time.monotonic()
        text = self._take(CALL_CONTEXT.get().role)
        usage = RequestUsage(prompt_tokens=self.count_tokens(messages), completion_tokens=max(1, len(text) // 4))
        self._account(usage)
        self._ledger.record(
            CallRecord(
                model=self.model,
                prompt_tokens=usage.prompt_tokens,
                completion_tokens=usage.completion_tokens,
                cost_usd=0.0,
                latency_s=time.monotonic() - started,
                scripted=True,
            )
        )
        return CreateResult(finish_reason="stop", content=text, usage=usage, cached=False)

    async def create_stream(
        self,
        messages: Sequence[LLMMessage],
        *,
        tools: Sequence[Tool | ToolSchema] = [],
        tool_choice: Tool | Literal["auto", "required", "none"] = "auto",
        json_output: bool | type[BaseModel] | None = None,
        extra_create_args: Mapping[str, Any] = {},
        cancellation_token: CancellationToken | None = None,
    ) -> AsyncGenerator[str | CreateResult, None]:
        result = await self.create(messages, json_output=json_output)
        assert isinstance(result.content, str)
        for i in range(0, len(result.content), 64):
            yield result.content[i : i + 64]
        yield result

    def count_tokens(self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = []) -> int:
        return sum(len(json.dumps(m)) for m in to_openai_messages(messages)) // 4

    def remaining_tokens(self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = []) -> int:
        return 1_000_000 - self.count_tokens(messages)
