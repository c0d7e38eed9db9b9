"""AutoGen's model messages and tools, converted: to OpenAI chat dicts (for LiteLLM, tool calls included) and to
sciswarm ``ChatMessage``s (for the text-only client). Also the request options AutoGen's ``create`` takes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from autogen_core import FunctionCall, Image
from autogen_core.models import (
    AssistantMessage,
    FunctionExecutionResultMessage,
    LLMMessage,
    SystemMessage,
    UserMessage,
)
from autogen_core.tools import Tool, ToolSchema
from pydantic import BaseModel

from sciswarm.llm import ChatMessage

FinishReason = Literal["stop", "length", "function_calls", "content_filter", "unknown"]
_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "function_calls",
    "function_call": "function_calls",
    "content_filter": "content_filter",
}


def finish_reason(reason: str | None) -> FinishReason:
    return _FINISH.get(reason or "stop", "unknown")


def _user_content(content: str | list[str | Image]) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    if not any(isinstance(p, Image) for p in content):
        return "\n".join(p for p in content if isinstance(p, str))
    return [{"type": "text", "text": p} if isinstance(p, str) else p.to_openai_format() for p in content]


def _tool_call(call: FunctionCall) -> dict[str, Any]:
    return {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}


def _assistant(m: AssistantMessage) -> dict[str, Any]:
    if isinstance(m.content, str):
        return {"role": "assistant", "content": m.content}
    return {"role": "assistant", "content": m.thought, "tool_calls": [_tool_call(c) for c in m.content]}


def to_openai(messages: Sequence[LLMMessage]) -> list[dict[str, Any]]:
    """OpenAI chat messages: tool calls on assistant messages, one ``tool`` message per function result."""
    out: list[dict[str, Any]] = []
    for m in messages:
        if isinstance(m, SystemMessage):
            out.append({"role": "system", "content": m.content})
        elif isinstance(m, UserMessage):
            out.append({"role": "user", "content": _user_content(m.content)})
        elif isinstance(m, AssistantMessage):
            out.append(_assistant(m))
        elif isinstance(m, FunctionExecutionResultMessage):
            out += [{"role": "tool", "tool_call_id": r.call_id, "content": r.content} for r in m.content]
    return out


def _text(content: str | list[str | Image] | list[FunctionCall]) -> str:
    if isinstance(content, str):
        return content
    parts = [
        p if isinstance(p, str) else f"[call {p.name}({p.arguments})]"
        for p in content
        if isinstance(p, str | FunctionCall)
    ]
    return "\n".join(parts)


def to_chat(messages: Sequence[LLMMessage]) -> list[ChatMessage]:
    """sciswarm chat messages (text only): tool calls and results become plain text."""
    out: list[ChatMessage] = []
    for m in messages:
        if isinstance(m, SystemMessage):
            out.append(ChatMessage("system", m.content))
        elif isinstance(m, UserMessage):
            out.append(ChatMessage("user", _text(m.content)))
        elif isinstance(m, AssistantMessage):
            out.append(ChatMessage("assistant", _text(m.content)))
        elif isinstance(m, FunctionExecutionResultMessage):
            results = "\n".join(f"{r.name} returned: {r.content}" for r in m.content)
            out.append(ChatMessage("user", f"Tool results:\n{results}"))
    return out


def to_openai_tools(tools: Sequence[Tool | ToolSchema]) -> list[dict[str, Any]]:
    return [{"type": "function", "function": dict(t.schema if isinstance(t, Tool) else t)} for t in tools]


def tool_choice_arg(choice: Tool | Literal["auto", "required", "none"]) -> str | dict[str, Any]:
    if isinstance(choice, Tool):
        return {"type": "function", "function": {"name": choice.name}}
    return choice


def response_format(json_output: bool | type[BaseModel] | None) -> dict[str, Any] | None:
    """JSON mode for ``True``, the provider's structured output for a pydantic model, nothing otherwise."""
    if json_output is None or json_output is False:
        return None
    if json_output is True:
        return {"type": "json_object"}
    schema = {"name": json_output.__name__, "schema": json_output.model_json_schema()}
    return {"type": "json_schema", "json_schema": schema}


def json_schema(json_output: bool | type[BaseModel] | None) -> dict[str, Any] | None:
    """What a sciswarm ModelClient takes: the schema of a pydantic model (JSON mode alone has none)."""
    return json_output.model_json_schema() if isinstance(json_output, type) else None
