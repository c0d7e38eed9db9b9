"""What a role uses to talk to its model: plain text, validated JSON, multi-turn conversations.

A ``ModelHandle`` binds a ModelClient to a role and idea: it sets the call context (role, idea, stage) the
ledger accounts by. ``Conversation.say_json`` asks for JSON of a pydantic schema (sent to the provider as
structured output where supported) and turns malformed replies into bounded re-asks.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from sciswarm.errors import ExpectedFailure
from sciswarm.ledger import CALL_CONTEXT, CallContext
from sciswarm.llm.types import ChatMessage, Image, ModelClient, Reply

T = TypeVar("T", bound=BaseModel)
_FENCE = re.compile(r"```(?:json)?\s*\n(.*?)```", re.DOTALL)


class ModelOutputError(ExpectedFailure, RuntimeError):
    """The model kept answering something we could not use."""


def extract_json(text: str) -> Any:
    """The JSON value in a reply: a ```json fence, else the first balanced {...} or [...]."""
    candidates = [m.group(1) for m in _FENCE.finditer(text)]
    candidates.append(text)
    last_error: Exception | None = None
    for cand in candidates:
        cand = cand.strip()
        try:
            return json.loads(cand)
        except json.JSONDecodeError as exc:
            last_error = exc
        start = min((i for i in (cand.find("{"), cand.find("[")) if i >= 0), default=-1)
        if start < 0:
            continue
        try:
            value, _ = json.JSONDecoder().raw_decode(cand[start:])
            return value
        except json.JSONDecodeError as exc:
            last_error = exc
    raise ValueError(f"no JSON found in the reply ({last_error})")


@dataclasses.dataclass
class ModelHandle:
    client: ModelClient
    role: str
    idea_id: str
    json_retries: int = 2
    temperature: float | None = None
    warn: Callable[[str], None] | None = None  # where a one-line warning goes (the role's log)

    def with_temperature(self, temperature: float) -> ModelHandle:
        return dataclasses.replace(self, temperature=temperature)

    async def complete(
        self, messages: list[ChatMessage], *, stage: str = "", json_schema: dict[str, Any] | None = None
    ) -> str:
        return (await self.reply(messages, stage=stage, json_schema=json_schema)).text

    async def reply(
        self, messages: list[ChatMessage], *, stage: str = "", json_schema: dict[str, Any] | None = None
    ) -> Reply:
        token = CALL_CONTEXT.set(CallContext(role=self.role, idea_id=self.idea_id, stage=stage))
        try:
            return await self.client.complete(messages, json_schema=json_schema, temperature=self.temperature)
        finally:
            CALL_CONTEXT.reset(token)

    async def ask(self, prompt: str, *, system: str | None = None, stage: str = "") -> str:
        return await self.conversation(system).say(prompt, stage=stage)

    async def ask_json(self, prompt: str, schema: type[T], *, system: str | None = None, stage: str = "") -> T:
        return await self.conversation(system).say_json(prompt, schema, stage=stage)

    def conversation(self, system: str | None = None) -> Conversation:
        return Conversation(self, system)


class Conversation:
    """A multi-turn exchange (reflection rounds): history is kept, stable prefix first."""

    def __init__(self, handle: ModelHandle, system: str | None) -> None:
        self.handle = handle
        self.messages: list[ChatMessage] = [ChatMessage("system", system)] if system else []
        self.structured = ""  # the structured-output form of the last reply ("": no schema was sent)

    def keep(self, head: int, tail: int) -> None:
        """Forget the middle of the history: keep the first ``head`` and the last ``tail`` messages (e.g. the
        system prompt and the task, then only the latest draft: reflection rounds that need no earlier drafts
        stop resending them)."""
        if len(self.messages) > head + tail:
            self.messages = self.messages[:head] + (self.messages[-tail:] if tail else [])

    async def say(
        self,
        prompt: str,
        *,
        stage: str = "",
        images: tuple[Image, ...] = (),
        json_schema: dict[str, Any] | None = None,
    ) -> str:
        self.messages.append(ChatMessage("user", prompt, images))
        reply = await self.handle.reply(self.messages, stage=stage, json_schema=json_schema)
        self.structured = reply.structured
        self.messages.append(ChatMessage("assistant", reply.text))
        return reply.text

    async def say_json(self, prompt: str, schema: type[T], *, stage: str = "", images: tuple[Image, ...] = ()) -> T:
        """Ask; on invalid JSON or schema errors, say what was wrong and ask again (bounded)."""
        wanted = schema.model_json_schema()
        reply = await self.say(prompt, stage=stage, images=images, json_schema=wanted)
        problems = ""
        for attempt in range(self.handle.json_retries + 1):
            try:
                return schema.model_validate(extract_json(reply))
            except (ValueError, ValidationError) as exc:
                problems = _describe(exc)
                if self.structured and self.handle.warn is not None:
                    self.handle.warn(
                        f"{self.handle.client.name} ({stage or 'json'}): the server was sent the schema "
                        f"({self.structured}) but replied with unusable JSON ({problems[:160]}); re-asking"
                    )
                if attempt == self.handle.json_retries:
                    break
                reply = await self.say(
                    "Your reply could not be used: "
                    + problems
                    + "\nReply again with only the corrected JSON object, nothing else.",
                    stage=f"{stage}/json-retry",
                    json_schema=wanted,
                )
        raise ModelOutputError(
            f"no valid {schema.__name__} JSON after {self.handle.json_retries + 1} attempts; last problem: {problems}"
        )


def _describe(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in exc.errors()[:8])
    return str(exc)
