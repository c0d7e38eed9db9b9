"""What both of our AutoGen model clients share: usage totals, the capabilities AutoGen asks for, token
counts (o200k, offline), and the call context (role, idea, stage) the ledger accounts each call by."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

from autogen_core.models import ChatCompletionClient, LLMMessage, ModelCapabilities, ModelFamily, ModelInfo
from autogen_core.models import RequestUsage as AutoGenUsage
from autogen_core.tools import Tool, ToolSchema

from sciswarm.interop.agentchat.messages import to_chat
from sciswarm.ledger import CALL_CONTEXT, CallContext
from sciswarm.llm import Usage, count_tokens

CONTEXT_WINDOW = 128_000  # what remaining_tokens assumes when the model's window is unknown


@contextlib.contextmanager
def calling_as(context: CallContext | None) -> Iterator[None]:
    """Set the call context for the block (None: keep the caller's)."""
    if context is None:
        yield
        return
    token = CALL_CONTEXT.set(context)
    try:
        yield
    finally:
        CALL_CONTEXT.reset(token)


class ChatClientBase(ChatCompletionClient):
    """The bookkeeping half of an AutoGen ChatCompletionClient; subclasses implement create/create_stream."""

    function_calling = False
    structured_output = False

    def __init__(self, *, context: CallContext | None = None, vision: bool = False) -> None:
        self.context = context
        self.vision = vision
        self._total = AutoGenUsage(prompt_tokens=0, completion_tokens=0)
        self._actual = AutoGenUsage(prompt_tokens=0, completion_tokens=0)

    def _account(self, usage: Usage) -> AutoGenUsage:
        self._actual = AutoGenUsage(prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens)
        self._total = AutoGenUsage(
            prompt_tokens=self._total.prompt_tokens + usage.prompt_tokens,
            completion_tokens=self._total.completion_tokens + usage.completion_tokens,
        )
        return self._actual

    async def close(self) -> None:
        return None

    def actual_usage(self) -> AutoGenUsage:
        return self._actual

    def total_usage(self) -> AutoGenUsage:
        return self._total

    @property
    def capabilities(self) -> ModelCapabilities:  # deprecated in AutoGen, still abstract
        return {"vision": self.vision, "function_calling": self.function_calling, "json_output": True}

    @property
    def model_info(self) -> ModelInfo:
        return {
            "vision": self.vision,
            "function_calling": self.function_calling,
            "json_output": True,
            "family": ModelFamily.UNKNOWN,
            "structured_output": self.structured_output,
            "multiple_system_messages": True,
        }

    def count_tokens(self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = ()) -> int:
        text = sum(count_tokens(m.content) + 4 for m in to_chat(messages))
        return text + sum(count_tokens(str(t.schema if isinstance(t, Tool) else t)) for t in tools)

    def remaining_tokens(self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = ()) -> int:
        return CONTEXT_WINDOW - self.count_tokens(messages, tools=tools)
