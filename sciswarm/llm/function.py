"""A model client backed by a Python function: for tests, tools and deterministic stand-ins.

Like the scripted model it is not a language model, and its calls are labelled ``scripted`` in the
transcript.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from sciswarm.ledger import Ledger
from sciswarm.llm.metered import Metered
from sciswarm.llm.scripted import prompt_tokens
from sciswarm.llm.tokens import count_tokens
from sciswarm.llm.types import ChatMessage, Reply, Usage

ReplyFn = Callable[[list[ChatMessage]], str | Reply | Awaitable[str | Reply]]


class FunctionClient(Metered):
    """``fn(messages)`` answers each call (plain or async; a str, or a Reply with its own usage)."""

    scripted = True

    def __init__(self, fn: ReplyFn, *, name: str = "function", ledger: Ledger | None = None) -> None:
        super().__init__(name, ledger)
        self.fn = fn
        self.calls: list[list[ChatMessage]] = []

    async def complete(
        self,
        messages: list[ChatMessage],
        *,
        json_schema: dict[str, Any] | None = None,
        temperature: float | None = None,
    ) -> Reply:
        started = self._before()
        self.calls.append(list(messages))
        try:
            out = self.fn(list(messages))
            if inspect.isawaitable(out):
                out = await out
        except Exception as exc:
            self._failed(exc, started)
            raise
        reply = out if isinstance(out, Reply) else Reply(str(out))
        if reply.usage == Usage():
            reply = Reply(reply.text, Usage(prompt_tokens(messages), count_tokens(reply.text)))
        self._succeeded(reply.usage, started)
        return reply
