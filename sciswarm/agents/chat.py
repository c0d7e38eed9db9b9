"""What a role uses to talk to its model: plain text, validated JSON, multi-turn conversations.

It wraps any AutoGen ChatCompletionClient, sets the call context (role, idea, stage) that the
ledger uses for accounting, and turns malformed JSON into bounded re-asks.
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from autogen_core.models import AssistantMessage, ChatCompletionClient, LLMMessage, SystemMessage, UserMessage
from pydantic import BaseModel, ValidationError

from sciswarm.errors import ExpectedFailure
from sciswarm.ledger import CALL_CONTEXT, CallContext

T = TypeVar("T", bound=BaseModel)


class ModelOutputError(ExpectedFailure, RuntimeError):
    """The model kept answering something we could not use."""


_FENCE = re.compile(r"```(?:json)?\s*\n(.*?)```", re.DOTALL)


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


class ModelHandle:
    def __init__(self, client: ChatCompletionClient, *, role: str, idea_id: str, json_retries: int = 2) -> None:
        self.client = client
        self.role = role
        self.idea_id = idea_id
        self.json_retries = json_retries
        self.extra_create_args: dict[str, Any] = {}

    async def complete(self, messages: list[LLMMessage], *, stage: str = "", json_output: bool = False) -> str:
        token = CALL_CONTEXT.set(CallContext(role=self.role, idea_id=self.idea_id, stage=stage))
        try:
            result = await self.client.create(
                messages, json_output=json_output or None, extra_create_args=self.extra_create_args
            )
        finally:
            CALL_CONTEXT.reset(token)
        if not isinstance(result.content, str):
            raise ModelOutputError(f"{self.role}: expected text, the model asked to call tools")
        return result.content

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
        self.messages: list[LLMMessage] = [SystemMessage(content=system)] if system else []

    async def say(self, prompt: str, *, stage: str = "") -> str:
        self.messages.append(UserMessage(content=prompt, source="user"))
        reply = await self.handle.complete(self.messages, stage=stage)
        self.messages.append(AssistantMessage(content=reply, source=self.handle.role))
        return reply

    async def say_json(self, prompt: str, schema: type[T], *, stage: str = "") -> T:
        """Ask; on invalid JSON or schema errors, say what was wrong and ask again (bounded)."""
        reply = await self.say(prompt, stage=stage)
        problems = ""
        for attempt in range(self.handle.json_retries + 1):
            try:
                return schema.model_validate(extract_json(reply))
            except (ValueError, ValidationError) as exc:
                problems = _describe(exc)
                if attempt == self.handle.json_retries:
                    break
                reply = await self.say(
                    "Your reply could not be used: "
                    + problems
                    + "\nReply again with only the corrected JSON object, nothing else.",
                    stage=f"{stage}/json-retry",
                )
        raise ModelOutputError(
            f"no valid {schema.__name__} JSON after "
            f"{self.handle.json_retries + 1} attempts; last problem: {problems}"
        )


def _describe(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in exc.errors()[:8])
    return str(exc)
