"""The model seam's data: chat messages (text, optionally images), replies, usage, and the client protocol.

A leaf module. Every model client of sciswarm (LiteLLM, scripted, a Python function) implements
``ModelClient.complete``; roles reach it through ``ModelHandle`` / ``Conversation``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

Image = bytes | Path  # PNG bytes, or the path of an image file


@dataclass(frozen=True)
class ChatMessage:
    role: Literal["system", "user", "assistant"]
    content: str
    images: tuple[Image, ...] = field(default=())  # shown to vision models after the text


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0


@dataclass(frozen=True)
class Reply:
    text: str
    usage: Usage = field(default_factory=Usage)
    structured: str = ""  # the structured-output form the request used ("json_schema", "json_object"; "": none)


class ModelClient(Protocol):
    """One model. ``json_schema``: the reply should be JSON of this schema (clients use the provider's
    structured-output mode where it exists; callers still validate). ``temperature`` overrides the client's."""

    name: str

    async def complete(
        self,
        messages: list[ChatMessage],
        *,
        json_schema: dict[str, Any] | None = None,
        temperature: float | None = None,
    ) -> Reply: ...
