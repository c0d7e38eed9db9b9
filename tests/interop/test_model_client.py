"""Our AutoGen model clients: LiteLLM's real HTTP path against an OpenAI-compatible server on 127.0.0.1 (tool
calls, streaming, JSON modes, retries, metering under the call context), and the text-only client over
sciswarm's scripted and function models."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from autogen_core import FunctionCall
from autogen_core.models import (
    AssistantMessage,
    CreateResult,
    FunctionExecutionResult,
    FunctionExecutionResultMessage,
    SystemMessage,
    UserMessage,
)
from autogen_core.tools import ToolSchema
from pydantic import BaseModel
from support.fake_openai import FakeOpenAI

from sciswarm.events import ModelCall
from sciswarm.interop.agentchat import LiteLLMChatClient, TextChatClient, chat_client
from sciswarm.ledger import CallContext, Ledger
from sciswarm.llm import ChatMessage, LiteLLMClient, ModelCallError, ModelHandle, Reply, ScriptedClient, Usage

MODEL = "openai/gpt-4o-mini"  # in litellm's offline cost map, so cost is real and non-zero
AS_CHECKER = CallContext(role="checker", idea_id="alpha", stage="agentchat")
SEARCH: ToolSchema = {
    "name": "search",
    "description": "search papers",
    "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
}


@dataclass
class Recording:
    """A sciswarm ModelClient that answers JSON and keeps what it was asked."""

    name: str = "recording"
    asked: list[tuple[list[ChatMessage], dict[str, Any] | None, float | None]] = field(default_factory=list)

    async def complete(
        self,
        messages: list[ChatMessage],
        *,
        json_schema: dict[str, Any] | None = None,
        temperature: float | None = None,
    ) -> Reply:
        self.asked.append((messages, json_schema, temperature))
        return Reply('{"value": 7}', Usage(3, 5))


def client(server: FakeOpenAI, ledger: Ledger, **kw: object) -> LiteLLMChatClient:
    return LiteLLMChatClient(
        MODEL,
        ledger=ledger,
        api_base=server.api_base,
        api_key="sk-test",
        backoff_base_s=0.01,
        **kw,  # type: ignore[arg-type]
    )


def msgs(text: str = "hi") -> list[UserMessage]:
    return [UserMessage(content=text, source="user")]


async def test_json_mode_and_structured_output_are_sent(server: FakeOpenAI) -> None:
    class Answer(BaseModel):
        value: int

    server.add({"content": '{"value": 3}'}, {"content": '{"value": 4}'})
    c = client(server, Ledger())
    await c.create(msgs(), json_output=True)
    await c.create(msgs(), json_output=Answer)
    assert server.requests[0]["response_format"] == {"type": "json_object"}
    assert server.requests[1]["response_format"]["type"] == "json_schema"


async def test_tool_calls(server: FakeOpenAI) -> None:
    server.add({"tool_calls": [{"name": "search", "arguments": '{"q": "diffusion"}'}]})
    result = await client(server, Ledger()).create(msgs(), tools=[SEARCH])
    assert result.finish_reason == "function_calls"
    assert isinstance(result.content, list) and result.content[0].name == "search"
    assert server.requests[0]["tools"][0]["function"]["name"] == "search"


async def test_stream(server: FakeOpenAI) -> None:
    calls: list[ModelCall] = []
    server.add({"stream": ["Hel", "lo ", "world"]})
    chunks = [c async for c in client(server, Ledger(on_call=calls.append)).create_stream(msgs())]
    assert chunks[:3] == ["Hel", "lo ", "world"]
    final = chunks[-1]
    assert isinstance(final, CreateResult) and final.content == "Hello world"
    assert server.requests[0]["stream"] is True
    assert calls[-1].ok and calls[-1].completion_tokens == 3


async def test_stream_with_tools_returns_the_tool_calls_whole(server: FakeOpenAI) -> None:
    server.add({"tool_calls": [{"name": "search", "arguments": '{"q": "grokking"}'}]})
    chunks = [c async for c in client(server, Ledger()).create_stream(msgs(), tools=[SEARCH], tool_choice="required")]
    (final,) = chunks
    assert isinstance(final, CreateResult) and final.finish_reason == "function_calls"
    assert isinstance(final.content, list) and final.content[0].arguments == '{"q": "grokking"}'
    assert "stream" not in server.requests[0] and server.requests[0]["tool_choice"] == "required"


async def test_a_tool_round_trip_is_sent_in_openai_shape(server: FakeOpenAI) -> None:
    server.add({"content": "done"})
    history = [
        SystemMessage(content="be brief"),
        UserMessage(content="find papers", source="user"),
        AssistantMessage(content=[FunctionCall(id="c1", name="search", arguments='{"q": "x"}')], source="a"),
        FunctionExecutionResultMessage(
            content=[FunctionExecutionResult(content="3 papers", name="search", call_id="c1")]
        ),
    ]
    result = await client(server, Ledger()).create(history, tools=[SEARCH])
    assert result.content == "done" and result.finish_reason == "stop"
    sent = server.requests[0]["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "tool"]
    assert sent[2]["tool_calls"][0]["function"] == {"name": "search", "arguments": '{"q": "x"}'}
    assert sent[3] == {"role": "tool", "tool_call_id": "c1", "content": "3 papers"}


async def test_every_attempt_is_metered_under_the_call_context(server: FakeOpenAI) -> None:
    calls: list[ModelCall] = []
    ledger = Ledger(run_id="r", on_call=calls.append)
    server.add({"status": 429}, {"content": "ok"})
    c = client(server, ledger, context=AS_CHECKER)
    result = await c.create(msgs())
    assert result.content == "ok" and len(server.requests) == 2  # our retry, not the SDK's
    assert [x.ok for x in calls] == [False, True] and "RateLimit" in calls[0].error
    assert {(x.sender, x.idea_id, x.stage) for x in calls} == {("checker", "alpha", "agentchat")}
    assert calls[1].prompt_tokens > 0 and calls[1].completion_tokens > 0 and calls[1].cost_usd > 0
    assert ledger.by_stage["checker/agentchat"].calls == 1
    assert c.total_usage().prompt_tokens == calls[1].prompt_tokens == result.usage.prompt_tokens


async def test_a_call_that_fails_for_good_is_a_model_call_error(server: FakeOpenAI) -> None:
    server.add({"status": 400}, {"content": "never"})
    with pytest.raises(ModelCallError):
        await client(server, Ledger()).create(msgs())
    assert len(server.requests) == 1


async def test_chat_client_builds_on_the_role_model(server: FakeOpenAI) -> None:
    calls: list[ModelCall] = []
    ledger = Ledger(on_call=calls.append)
    base = LiteLLMClient(MODEL, ledger=ledger, api_base=server.api_base, api_key="sk-test", temperature=0.3)
    built = chat_client(ModelHandle(base, "checker", "alpha"), stage="agentchat")
    assert isinstance(built, LiteLLMChatClient) and built.model_info["function_calling"]
    server.add({"content": "hello"})
    assert (await built.create(msgs())).content == "hello"
    assert server.requests[0]["temperature"] == 0.3 and server.requests[0]["model"] == "gpt-4o-mini"
    assert calls[0].sender == "checker" and calls[0].stage == "agentchat"  # on the model's own ledger

    scripted = chat_client(ModelHandle(ScriptedClient({"checker": ["fine"]}), "checker", "alpha"))
    assert isinstance(scripted, TextChatClient) and not scripted.model_info["function_calling"]


async def test_text_client_serves_the_scripted_role_and_passes_json_schemas() -> None:
    calls: list[ModelCall] = []
    ledger = Ledger(on_call=calls.append)
    scripted = TextChatClient(ScriptedClient({"checker": ["scripted answer"]}, ledger=ledger), context=AS_CHECKER)
    result = await scripted.create([SystemMessage(content="sys"), *msgs()])
    assert result.content == "scripted answer" and result.usage.completion_tokens > 0
    assert calls[0].scripted and (calls[0].sender, calls[0].stage) == ("checker", "agentchat")

    class Answer(BaseModel):
        value: int

    recording = Recording()
    text = TextChatClient(recording, temperature=0.2)
    chunks = [c async for c in text.create_stream(msgs("value?"), json_output=Answer)]
    assert chunks[0] == '{"value": 7}' and isinstance(chunks[1], CreateResult)
    assert recording.asked == [([ChatMessage("user", "value?")], Answer.model_json_schema(), 0.2)]
    assert text.total_usage().completion_tokens == 5
    with pytest.raises(ValueError, match="text-only"):
        await text.create(msgs(), tools=[SEARCH])
