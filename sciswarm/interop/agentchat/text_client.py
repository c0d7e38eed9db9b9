"""A text-only AutoGen ``ChatCompletionClient`` over any sciswarm ``ModelClient`` (scripted, function,
LiteLLM): AgentChat agents without tools run on a swarm's scripted model too.

The wrapped client meters each call itself (it is bound to the run's ledger); this wrapper sets the call
context (role, idea, stage), so a scripted model serves the role's replies and the ledger accounts them.
It does not do function calling: AgentChat refuses tools on a client that says so.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import Any, Literal

from autogen_core import CancellationToken
from autogen_core.models import CreateResult, LLMMessage
from autogen_core.tools import Tool, ToolSchema
from pydantic import BaseModel

from sciswarm.interop.agentchat.base import ChatClientBase, calling_as
from sciswarm.interop.agentchat.messages import json_schema, to_chat
from sciswarm.ledger import CallContext
from sciswarm.llm import ModelClient


class TextChatClient(ChatClientBase):
    """``client.complete`` behind AutoGen's interface; tools are refused, JSON schemas passed on."""

    def __init__(
        self, client: ModelClient, *, context: CallContext | None = None, temperature: float | None = None
    ) -> None:
        super().__init__(context=context)
        self.client = client
        self.temperature = temperature

    async def create(
        self,
        messages: Sequence[LLMMessage],
        *,
        tools: Sequence[Tool | ToolSchema] = (),
        tool_choice: Tool | Literal["auto", "required", "none"] = "auto",
        json_output: bool | type[BaseModel] | None = None,
        extra_create_args: Mapping[str, Any] = {},
        cancellation_token: CancellationToken | None = None,
    ) -> CreateResult:
        if tools:
            raise ValueError(f"model {self.client.name!r} is text-only: it cannot call tools (use a LiteLLM model)")
        with calling_as(self.context):
            reply = await self.client.complete(
                to_chat(messages), json_schema=json_schema(json_output), temperature=self.temperature
            )
        usage = self._account(reply.usage)
        return CreateResult(finish_reason="stop", content=reply.text, usage=usage, cached=False)

    async def create_stream(
        self,
        messages: Sequence[LLMMessage],
        *,
        tools: Sequence[Tool | ToolSchema] = (),
        tool_choice: Tool | Literal["auto", "required", "none"] = "auto",
        json_output: bool | type[BaseModel] | None = None,
        extra_create_args: Mapping[str, Any] = {},
        cancellation_token: CancellationToken | None = None,
    ) -> AsyncGenerator[str | CreateResult, None]:
        """The whole reply as one chunk, then the result (sciswarm's clients do not stream)."""
        result = await self.create(messages, tools=tools, json_output=json_output)
        if isinstance(result.content, str) and result.content:
            yield result.content
        yield result
