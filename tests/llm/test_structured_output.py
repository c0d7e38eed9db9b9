"""Structured output for every model: the forms servers take, the one-time probe of a self-hosted server, the
schema subset, and the context window; on LiteLLM's real HTTP path against an OpenAI-compatible server on
127.0.0.1 that behaves as llama-cpp-python's, vLLM's or a schema-ignoring server does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import pytest
from pydantic import BaseModel, Field
from support.fake_openai import FakeOpenAI

from sciswarm.events import ModelCall
from sciswarm.ledger import Ledger
from sciswarm.llm import ChatMessage, LiteLLMClient, ModelHandle
from sciswarm.llm.context import ContextTooLong, fit_to_window
from sciswarm.llm.structured import decoder_schema

PROBE = "Is the sky blue"
LOCAL = "openai/qwen2.5-coder-0.5b-instruct"  # unknown to LiteLLM's map, as every self-hosted model is


class Verdict(BaseModel):
    decision: Literal["novel", "not novel"]
    papers: list[str] = Field(default_factory=list, max_length=5)
    score: int = Field(ge=1, le=10)


class Outer(BaseModel):
    verdict: Verdict
    note: str | None = None


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as s:
        yield s


def local(server: FakeOpenAI, ledger: Ledger, notices: list[str], **kw: object) -> LiteLLMClient:
    return LiteLLMClient(
        LOCAL,
        ledger=ledger,
        api_base=server.api_base,
        api_key="sk-not-needed",
        backoff_base_s=0.01,
        max_retries=0,
        notice=lambda level, text: notices.append(f"{level}: {text}"),
        **kw,  # type: ignore[arg-type]
    )


GOOD = '{"decision": "novel", "papers": [], "score": 7}'


async def test_llama_cpp_python_style_server_is_probed_once_and_gets_json_object_with_schema(
    server: FakeOpenAI,
) -> None:
    # llama-cpp-python's server: HTTP 500 on json_schema, enforces {"type": "json_object", "schema": ...}
    server.add(
        {"match": PROBE, "format": "json_schema", "status": 500, "message": "Input should be 'text' or 'json_object'"},
        {"match": PROBE, "format": "json_object", "content": '{"answer": true}'},
        {"format": "json_object", "content": GOOD},
        {"format": "json_object", "content": GOOD},
    )
    calls: list[ModelCall] = []
    notices: list[str] = []
    client = local(server, Ledger(on_call=calls.append), notices)
    handle = ModelHandle(client, "novelty_critic", "i1")
    assert (await handle.ask_json("judge", Verdict, stage="novelty")).decision == "novel"
    assert (await handle.ask_json("judge again", Verdict, stage="novelty")).score == 7
    formats = [(r.get("response_format") or {}).get("type") for r in server.requests]
    assert formats == ["json_schema", "json_object", "json_object", "json_object"]  # probed once, remembered
    sent = server.requests[2]["response_format"]["schema"]
    assert sent["properties"]["decision"]["enum"] == ["novel", "not novel"]
    assert sent["properties"]["papers"]["maxItems"] == 5
    assert [c.stage for c in calls] == ["structured-output-probe"] * 2 + ["novelty"] * 2
    assert [c.structured for c in calls[2:]] == ["json_object", "json_object"]  # the transcript shows it was sent
    assert "[schema: json_object]" in calls[2].summary()
    (notice,) = notices
    assert "structured output json_object" in notice and "json_schema refused" in notice


async def test_server_that_enforces_json_schema_gets_it(server: FakeOpenAI) -> None:
    # vLLM / llama-server / LM Studio: take OpenAI's json_schema form
    server.add({"match": PROBE, "format": "json_schema", "content": '{"answer": false}'})
    server.add({"format": "json_schema", "content": GOOD})
    notices: list[str] = []
    handle = ModelHandle(local(server, Ledger(), notices), "r", "i")
    await handle.ask_json("judge", Verdict)
    fmt = server.requests[1]["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["name"] == "Verdict"
    assert "structured output json_schema" in notices[0]


async def test_server_that_ignores_the_schema_falls_back_to_the_prompt_and_re_asks(server: FakeOpenAI) -> None:
    server.add(
        {"match": PROBE, "content": "Yes, the sky is blue."},  # json_schema accepted, not enforced
        {"match": PROBE, "content": "Yes."},  # json_object: not enforced either
        {"format": "none", "content": 'Sure: {"decision": "novel", "score": 7,}'},  # almost-JSON
        {"format": "none", "content": GOOD},
    )
    notices: list[str] = []
    handle = ModelHandle(local(server, Ledger(), notices), "r", "i")
    assert (await handle.ask_json("judge", Verdict)).score == 7
    assert "response_format" not in server.requests[2] and "response_format" not in server.requests[3]
    assert notices[0].startswith("warning:") and "structured output off" in notices[0]


async def test_schema_sent_but_invalid_json_says_so_in_one_line_and_re_asks(server: FakeOpenAI) -> None:
    warnings: list[str] = []
    server.add({"format": "json_schema", "content": '{"decision": "maybe", "score": 7}'})
    server.add({"format": "json_schema", "content": GOOD})
    client = local(server, Ledger(), [], structured_output="json_schema")  # set, so no probe
    handle = ModelHandle(client, "novelty_critic", "i", warn=warnings.append)
    assert (await handle.ask_json("judge", Verdict, stage="novelty")).decision == "novel"
    (line,) = warnings
    assert LOCAL in line and "(novelty)" in line and "json_schema" in line and "decision" in line
    assert "\n" not in line


async def test_structured_output_off_sends_no_schema_even_for_known_models(server: FakeOpenAI) -> None:
    server.add({"content": GOOD})
    client = LiteLLMClient("openai/gpt-4o-mini", ledger=Ledger(), api_base=server.api_base, api_key="sk")
    off = LiteLLMClient(
        "openai/gpt-4o-mini", ledger=Ledger(), api_base=server.api_base, api_key="sk", structured_output="off"
    )
    await ModelHandle(off, "r", "i").ask_json("judge", Verdict)
    assert "response_format" not in server.requests[0]
    assert client.request([ChatMessage("user", "x")], Verdict.model_json_schema(), None)["response_format"]["type"] == (
        "json_schema"
    )


def test_decoder_schema_inlines_refs_and_keeps_the_enforceable_subset() -> None:
    schema = Outer.model_json_schema()
    assert "$defs" in schema  # pydantic nests Verdict by reference
    sent = decoder_schema(schema)
    assert "$defs" not in sent and "$ref" not in str(sent)
    verdict = sent["properties"]["verdict"]
    assert verdict["type"] == "object" and verdict["additionalProperties"] is False
    assert verdict["properties"]["score"] == {"type": "integer", "minimum": 1, "maximum": 10}
    assert sent["properties"]["note"]["anyOf"] == [{"type": "string"}, {"type": "null"}]
    assert sent["required"] == ["verdict", "note"] and verdict["required"] == ["decision", "papers", "score"]
    assert "title" not in str(sent) and "default" not in str(sent)


def test_context_window_trims_earlier_turns_then_refuses_with_a_clear_message() -> None:
    long_turn = "word " * 400
    messages = [ChatMessage("system", "You are a reviewer."), ChatMessage("user", "Review this paper.")]
    for i in range(6):
        messages += [ChatMessage("assistant", f"draft {i} " + long_turn), ChatMessage("user", f"improve {i}")]
    fitted, dropped = fit_to_window(messages, 2048, 256, "openai/local")
    assert dropped > 0 and fitted[:2] == messages[:2] and fitted[-1] == messages[-1]
    assert fitted[2].role == "assistant" or fitted[2] == messages[-1]
    assert fit_to_window(messages[:2], 2048, 256, "m") == (messages[:2], 0)
    with pytest.raises(ContextTooLong, match=r"openai/local: the prompt needs about \d+ tokens but the context"):
        fit_to_window([ChatMessage("user", "word " * 5000)], 2048, 256, "openai/local")


async def test_a_prompt_too_long_for_the_window_fails_before_the_request(server: FakeOpenAI) -> None:
    client = local(server, Ledger(), [], structured_output="off", context_window=512)
    with pytest.raises(ContextTooLong):
        await ModelHandle(client, "r", "i").ask("x " * 4000)
    assert server.requests == []
