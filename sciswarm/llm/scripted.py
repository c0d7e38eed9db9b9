"""A scripted model for offline use: replies are read from a YAML file, per role, in order.

It is not a language model. Every call it answers is recorded with ``scripted=True`` so the transcript
says plainly that the replies were scripted. Tokens are counted with the o200k tokenizer, so token totals
are those a real model would see for the same prompts and replies.

File format::

    # role name -> list of replies (strings, or mappings/lists that are sent as JSON); "*": any role
    ideator:
      - '{"Name": "...", ...}'
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from sciswarm.errors import ExpectedFailure
from sciswarm.ledger import CALL_CONTEXT, Ledger
from sciswarm.llm.litellm_client import ModelCallError
from sciswarm.llm.metered import Metered
from sciswarm.llm.tokens import count_tokens
from sciswarm.llm.types import ChatMessage, Reply, Usage


class ScriptError(ExpectedFailure, ValueError):
    """The replies file cannot be used."""


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


def prompt_tokens(messages: list[ChatMessage]) -> int:
    return sum(count_tokens(m.content) + 4 for m in messages)  # ~4 tokens of chat framing per message


class ScriptedClient(Metered):
    """Serves the next reply of the calling role (taken from the call context)."""

    scripted = True

    def __init__(self, script: Mapping[str, list[str]], *, ledger: Ledger | None = None, source: str = "") -> None:
        super().__init__(f"scripted:{source}" if source else "scripted", ledger)
        self._script = {k: list(v) for k, v in script.items()}
        self._next: dict[str, int] = {}
        self._lock = threading.Lock()
        self.source = source

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

    async def complete(
        self,
        messages: list[ChatMessage],
        *,
        json_schema: dict[str, Any] | None = None,
        temperature: float | None = None,
    ) -> Reply:
        started = self._before()
        try:
            text = self._take(CALL_CONTEXT.get().role)
        except ModelCallError as exc:
            self._failed(exc, started)
            raise
        usage = Usage(prompt_tokens=prompt_tokens(messages), completion_tokens=count_tokens(text))
        self._succeeded(usage, started)
        return Reply(text=text, usage=usage)
