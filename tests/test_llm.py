"""LiteLLM's real HTTP path against an OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from autogen_core.models import CreateResult, UserMessage
from autogen_core.tools import ToolSchema
from pydantic import BaseModel
from support.fake_openai import FakeOpenAI

from sciswarm.agents.chat import ModelHandle, ModelOutputError, extract_json
from sciswarm.events import ModelCall
from sciswarm.ledger import Budget, BudgetExceeded, Ledger
from sciswarm.llm import LiteLLMClient, ModelCallError

MODEL = "openai/gpt-4o-mini"  # in litellm's offline cost map, so cost is real and non-zero


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as s:
        yield s


def client(server: FakeOpenAI, ledger: Ledger, **kw: object) -> LiteLLMClient:
    return LiteLLMClient(
        MODEL,
        ledger=ledger,
        api_base=server.api_base,
        api_key="sk-test",
        backoff_base_s=0.01,
        **kw,  # type: ignore[arg-type]
    )


def msgs(text: str = "hi") -> list[UserMessage]:
    return [UserMessage(content=text, source="user")]


async def test_success_records_tokens_cost_and_latency(server: FakeOpenAI) -> None:
    calls: list[ModelCall] = []
    ledger = Ledger(on_call=calls.append)
    server.add({"content": "hello there"})
    result = await client(server, ledger).create(msgs())
    assert result.content == "hello there"
    assert len(server.requests) == 1 and server.requests[0]["model"] == "gpt-4o-mini"
    assert len(calls) == 1 and calls[0].ok
    assert calls[0].prompt_tokens > 0 and calls[0].completion_tokens > 0
    assert calls[0].cost_usd > 0
    assert (
        ledger.total.calls == 1 and ledger.total.tokens == result.usage.prompt_tokens + result.usage.completion_tokens
    )


async def test_429_then_success_is_retried(server: FakeOpenAI) -> None:
    calls: list[ModelCall] = []
    server.add({"status": 429}, {"status": 503}, {"content": "ok"})
    result = await client(server, Ledger(on_call=calls.append)).create(msgs())
    assert result.content == "ok"
    assert len(server.requests) == 3  # our retries, not hidden SDK retries
    assert [c.ok for c in calls] == [False, False, True]
    assert "RateLimit" in calls[0].error


async def test_retries_are_bounded(server: FakeOpenAI) -> None:
    server.add(*[{"status": 429}] * 10)
    started = time.monotonic()
    with pytest.raises(ModelCallError):
        await client(server, Ledger(), max_retries=2).create(msgs())
    assert len(server.requests) == 3
    assert time.monotonic() - started < 10


async def test_non_transient_error_is_not_retried(server: FakeOpenAI) -> None:
    server.add({"status": 400}, {"content": "never"})
    with pytest.raises(ModelCallError):
        await client(server, Ledger()).create(msgs())
    assert len(server.requests) == 1


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
    tool: ToolSchema = {
        "name": "search",
        "description": "search papers",
        "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
    }
    server.add({"tool_calls": [{"name": "search", "arguments": '{"q": "diffusion"}'}]})
    result = await client(server, Ledger()).create(msgs(), tools=[tool])
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


async def test_malformed_json_is_reasked_then_fails(server: FakeOpenAI) -> None:
    class Answer(BaseModel):
        value: int

    server.add({"content": "sure! {value: three"}, {"content": '{"value": "x"}'}, {"content": "no"})
    handle = ModelHandle(client(server, Ledger()), role="r", idea_id="i", json_retries=2)
    with pytest.raises(ModelOutputError, match="no valid Answer JSON after 3 attempts"):
        await handle.ask_json("give value", Answer)
    assert len(server.requests) == 3
    # the re-ask tells the model what was wrong
    assert "could not be used" in server.requests[1]["messages"][-1]["content"]


async def test_malformed_json_then_valid(server: FakeOpenAI) -> None:
    class Answer(BaseModel):
        value: int

    server.add({"content": "oops"}, {"content": 'Here:\n```json\n{"value": 7}\n```'})
    handle = ModelHandle(client(server, Ledger()), role="r", idea_id="i")
    assert (await handle.ask_json("give value", Answer)).value == 7


async def test_run_token_budget_stops_calls(server: FakeOpenAI) -> None:
    stopped: list[str] = []
    ledger = Ledger(budget=Budget(max_tokens=5), on_run_budget=stopped.append)
    server.add({"content": "first reply is long enough"}, {"content": "second"})
    c = client(server, ledger)
    await c.create(msgs())
    with pytest.raises(BudgetExceeded) as info:
        await c.create(msgs())
    assert info.value.scope == "run" and "token budget" in stopped[0]
    assert len(server.requests) == 1


def test_extract_json_variants() -> None:
    assert extract_json('{"a": 1}') == {"a": 1}
    assert extract_json('THOUGHT: x\n```json\n{"a": 2}\n```') == {"a": 2}
    assert extract_json('prefix {"a": 3} suffix') == {"a": 3}
    with pytest.raises(ValueError):
        extract_json("no json here")


def test_stable_prefix_gets_cache_breakpoints_for_anthropic_only() -> None:
    from autogen_core.models import SystemMessage

    from sciswarm.llm import mark_stable_prefix, supports_cache_control, to_openai_messages

    long = "x" * 500
    msgs = to_openai_messages(
        [SystemMessage(content=long), UserMessage(content=long, source="u"), UserMessage(content="short", source="u")]
    )
    marked = mark_stable_prefix(msgs)
    assert marked[0]["content"][0]["cache_control"] == {"type": "ephemeral"}
    assert marked[1]["content"][0]["text"] == long
    assert marked[2]["content"] == "short"
    assert msgs[0]["content"] == long  # the input is not mutated
    assert supports_cache_control("anthropic/claude-sonnet-4-5")
    assert not supports_cache_control("openai/gpt-4o-mini")


async def test_per_idea_budget_stops_that_idea_only(server: FakeOpenAI) -> None:
    from sciswarm.ledger import CALL_CONTEXT, CallContext

    ledger = Ledger(budget=Budget(per_idea_tokens=5))
    server.add({"content": "a long enough first reply"}, {"content": "other idea is fine"})
    c = client(server, ledger)
    token = CALL_CONTEXT.set(CallContext(role="coder", idea_id="a"))
    try:
        await c.create(msgs())
        with pytest.raises(BudgetExceeded) as info:
            await c.create(msgs())
        assert info.value.scope == "idea" and "idea a" in info.value.reason
    finally:
        CALL_CONTEXT.reset(token)
    token = CALL_CONTEXT.set(CallContext(role="coder", idea_id="b"))
    try:
        assert (await c.create(msgs())).content == "other idea is fine"
    finally:
        CALL_CONTEXT.reset(token)
    assert set(ledger.by_idea) == {"a", "b"} and ledger.by_stage
