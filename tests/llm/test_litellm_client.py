"""The model seam's LiteLLM client on LiteLLM's real HTTP path, against an OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel
from support.fake_openai import FakeOpenAI

from sciswarm.events import ModelCall
from sciswarm.ledger import Budget, BudgetExceeded, Ledger
from sciswarm.llm import ChatMessage, LiteLLMClient, ModelCallError, ModelHandle, ModelOutputError, extract_json

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


def msgs(text: str = "hi") -> list[ChatMessage]:
    return [ChatMessage("user", text)]


async def test_success_records_tokens_cost_and_latency(server: FakeOpenAI) -> None:
    calls: list[ModelCall] = []
    ledger = Ledger(on_call=calls.append)
    server.add({"content": "hello there"})
    result = await client(server, ledger).complete(msgs())
    assert result.text == "hello there"
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
    result = await client(server, Ledger(on_call=calls.append)).complete(msgs())
    assert result.text == "ok"
    assert len(server.requests) == 3  # our retries, not hidden SDK retries
    assert [c.ok for c in calls] == [False, False, True]
    assert "RateLimit" in calls[0].error


async def test_retries_are_bounded(server: FakeOpenAI) -> None:
    server.add(*[{"status": 429}] * 10)
    started = time.monotonic()
    with pytest.raises(ModelCallError):
        await client(server, Ledger(), max_retries=2).complete(msgs())
    assert len(server.requests) == 3
    assert time.monotonic() - started < 10


async def test_non_transient_error_is_not_retried(server: FakeOpenAI) -> None:
    server.add({"status": 400}, {"content": "never"})
    with pytest.raises(ModelCallError):
        await client(server, Ledger()).complete(msgs())
    assert len(server.requests) == 1


async def test_structured_output_is_sent_where_the_model_supports_it(server: FakeOpenAI) -> None:
    class Answer(BaseModel):
        value: int

    server.add({"content": '{"value": 3}'}, {"content": "plain"})
    handle = ModelHandle(client(server, Ledger()), "r", "i")
    assert (await handle.ask_json("give value", Answer)).value == 3
    fmt = server.requests[0]["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["name"] == "Answer"
    assert fmt["json_schema"]["schema"]["properties"]["value"]["type"] == "integer"
    await handle.ask("free text, no schema")
    assert "response_format" not in server.requests[1]
    # a model LiteLLM does not know, with no api_base to probe, gets the fenced-JSON parsing only
    unknown = LiteLLMClient("openai/my-local-model", ledger=Ledger(), api_key="sk", structured_output="auto")
    assert unknown.request(msgs(), Answer.model_json_schema(), None, None).get("response_format") is None
    # (a self-hosted api_base is probed: tests/llm/test_structured_output.py)


async def test_images_go_as_data_urls_and_temperature_overrides(server: FakeOpenAI, tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 20
    (tmp_path / "fig.png").write_bytes(png)
    server.add({"content": "a plot of loss"})
    handle = ModelHandle(client(server, Ledger(), temperature=0.2), "r", "i").with_temperature(0.9)
    reply = await handle.conversation().say("What does it show?", images=(tmp_path / "fig.png",))
    assert reply == "a plot of loss"
    (request,) = server.requests
    text, image = request["messages"][-1]["content"]
    assert text == {"type": "text", "text": "What does it show?"}
    assert image["image_url"]["url"] == "data:image/png;base64," + base64.b64encode(png).decode()
    assert request["temperature"] == 0.9


async def test_malformed_json_is_reasked_then_fails(server: FakeOpenAI) -> None:
    class Answer(BaseModel):
        value: int

    server.add({"content": "sure! {value: three"}, {"content": '{"value": "x"}'}, {"content": "no"})
    handle = ModelHandle(client(server, Ledger()), "r", "i", json_retries=2)
    with pytest.raises(ModelOutputError, match="no valid Answer JSON after 3 attempts"):
        await handle.ask_json("give value", Answer)
    assert len(server.requests) == 3
    # the re-ask tells the model what was wrong
    assert "could not be used" in server.requests[1]["messages"][-1]["content"]


async def test_malformed_json_then_valid(server: FakeOpenAI) -> None:
    class Answer(BaseModel):
        value: int

    server.add({"content": "oops"}, {"content": 'Here:\n```json\n{"value": 7}\n```'})
    handle = ModelHandle(client(server, Ledger()), "r", "i")
    assert (await handle.ask_json("give value", Answer)).value == 7


async def test_run_token_budget_stops_calls(server: FakeOpenAI) -> None:
    stopped: list[str] = []
    ledger = Ledger(budget=Budget(max_tokens=5), on_run_budget=stopped.append)
    server.add({"content": "first reply is long enough"}, {"content": "second"})
    c = client(server, ledger)
    await c.complete(msgs())
    with pytest.raises(BudgetExceeded) as info:
        await c.complete(msgs())
    assert info.value.scope == "run" and "token budget" in stopped[0]
    assert len(server.requests) == 1


def test_extract_json_variants() -> None:
    assert extract_json('{"a": 1}') == {"a": 1}
    assert extract_json('THOUGHT: x\n```json\n{"a": 2}\n```') == {"a": 2}
    assert extract_json('prefix {"a": 3} suffix') == {"a": 3}
    with pytest.raises(ValueError):
        extract_json("no json here")


def test_stable_prefix_gets_cache_breakpoints_for_anthropic_only() -> None:
    from sciswarm.llm import mark_stable_prefix, supports_cache_control
    from sciswarm.llm.litellm_client import to_openai

    long = "x" * 500
    msgs = [
        to_openai(m) for m in [ChatMessage("system", long), ChatMessage("user", long), ChatMessage("user", "short")]
    ]
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
        await c.complete(msgs())
        with pytest.raises(BudgetExceeded) as info:
            await c.complete(msgs())
        assert info.value.scope == "idea" and "idea a" in info.value.reason
    finally:
        CALL_CONTEXT.reset(token)
    token = CALL_CONTEXT.set(CallContext(role="coder", idea_id="b"))
    try:
        assert (await c.complete(msgs())).text == "other idea is fine"
    finally:
        CALL_CONTEXT.reset(token)
    assert set(ledger.by_idea) == {"a", "b"} and ledger.by_stage
