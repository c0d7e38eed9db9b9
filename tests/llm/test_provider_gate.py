"""Model calls bounded per provider (llm/gate.py), on LiteLLM's real HTTP path against an OpenAI-compatible server
on 127.0.0.1: concurrency, requests per minute, a 429 pausing every caller of the provider, providers apart.

Times are taken where they cannot be late in the wrong direction on a loaded machine: when the gate lets a
request go (spacing), and the server's own clock for when a 429 went out and the next requests came in."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from support.fake_openai import FakeOpenAI

from sciswarm.ledger import Ledger
from sciswarm.llm import ChatMessage, LiteLLMClient, ModelCallError, ProviderGate
from sciswarm.llm.gate import retry_after_of


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as s:
        yield s


class TimedGate(ProviderGate):
    """A gate that notes when it lets each request go, and the most requests it let through at once."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.released: list[float] = []
        self.holding = self.peak = 0

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        async with super().turn():
            self.released.append(time.monotonic())
            self.holding += 1
            self.peak = max(self.peak, self.holding)
            try:
                yield
            finally:
                self.holding -= 1


def client(server: FakeOpenAI, gate: ProviderGate, model: str = "openai/gpt-4o-mini", **kw: Any) -> LiteLLMClient:
    return LiteLLMClient(model, ledger=Ledger(), api_base=server.api_base, api_key="sk", gate=gate, **kw)


def ask(text: str) -> list[ChatMessage]:
    return [ChatMessage("user", text)]


async def test_at_most_max_concurrency_requests_are_in_flight(server: FakeOpenAI) -> None:
    gate = TimedGate("openai@fake", max_concurrency=2)
    server.add(*[{"content": "ok", "delay": 0.3}] * 6)
    a, b = client(server, gate), client(server, gate, "openai/gpt-4o")  # two models, one provider
    replies = await asyncio.gather(*(c.complete(ask(f"call {i}")) for i, c in enumerate([a, b] * 3)))
    assert [r.text for r in replies] == ["ok"] * 6 and len(server.requests) == 6
    assert server.max_in_flight <= 2  # what the provider saw
    assert gate.peak == 2  # and the bound was used, not just respected by going one at a time


async def test_requests_are_spaced_to_the_rpm(server: FakeOpenAI) -> None:
    gate = TimedGate("openai@fake", max_concurrency=8, rpm=240)  # one request every 0.25 s
    server.add(*[{"content": "ok"}] * 4)
    c = client(server, gate)
    await asyncio.gather(*(c.complete(ask(f"call {i}")) for i in range(4)))
    assert len(server.requests) == 4 and len(gate.released) == 4
    assert all(b - a >= 0.245 for a, b in itertools.pairwise(sorted(gate.released)))


async def test_a_429_pauses_every_caller_of_the_provider(server: FakeOpenAI) -> None:
    pauses: list[str] = []
    paused = asyncio.Event()

    def on_pause(text: str) -> None:
        pauses.append(text)
        paused.set()

    gate = ProviderGate("openai@fake", max_concurrency=4, on_pause=on_pause)
    server.add(
        {"match": "from A", "status": 429, "headers": {"Retry-After": "1"}},
        {"match": "B first", "content": "b1", "delay": 0.1},
        {"match": "from A", "content": "a ok"},
        {"match": "B second", "content": "b2"},
    )
    a, b = client(server, gate, backoff_base_s=0.01), client(server, gate, "openai/gpt-4o")
    left_at_b2: list[float] = []

    async def caller_b() -> list[str]:
        first = await b.complete(ask("B first"))
        await paused.wait()
        left_at_b2.append(gate.paused_for())
        second = await b.complete(ask("B second"))  # asked during A's back-off
        return [first.text, second.text]

    a_reply, b_replies = await asyncio.gather(a.complete(ask("from A")), caller_b())
    assert a_reply.text == "a ok" and b_replies == ["b1", "b2"]
    assert left_at_b2[0] > 0  # B's second call was asked while the provider was paused
    (refused,) = [t for t, status in server.answered if status == 429]
    texts = [str(r["messages"]) for r in server.requests]
    a_retry = [t for t, text in zip(server.arrived, texts, strict=True) if "from A" in text][1]
    (b_second,) = [t for t, text in zip(server.arrived, texts, strict=True) if "B second" in text]
    # nothing sent after the 429 reached the provider before the pause was over (B's first call may have been
    # on its way before A learned of the 429)
    assert a_retry >= refused + 1.0 and b_second >= refused + 1.0
    assert pauses == ["provider openai@fake: 429, all calls paused 1 s (its Retry-After)"]  # one line, not one a caller


async def test_429s_of_several_callers_make_one_back_off(server: FakeOpenAI) -> None:
    pauses: list[str] = []
    gate = ProviderGate("openai@fake", max_concurrency=4, on_pause=pauses.append)
    refusal = {"status": 429, "headers": {"Retry-After": "0.3"}, "delay": 0.2}  # both in flight when refused
    server.add(refusal, refusal, {"content": "ok"}, {"content": "ok"})
    callers = [client(server, gate, backoff_base_s=0.01) for _ in range(2)]
    replies = await asyncio.gather(*(c.complete(ask(f"call {i}")) for i, c in enumerate(callers)))
    assert [r.text for r in replies] == ["ok", "ok"] and len(server.requests) == 4
    assert len(pauses) == 1 and "paused 0.3 s" in pauses[0]


async def test_providers_are_independent(server: FakeOpenAI) -> None:
    with FakeOpenAI() as other:
        busy, free = ProviderGate("openai@busy", max_concurrency=1), ProviderGate("openai@free", max_concurrency=1)
        server.add({"status": 429, "headers": {"Retry-After": "3"}})
        other.add({"content": "right away"})
        with pytest.raises(ModelCallError, match="RateLimit"):
            await client(server, busy, max_retries=0).complete(ask("x"))  # given up, but the provider is paused
        assert busy.paused_for() > 2
        reply = await client(other, free).complete(ask("y"))
        assert reply.text == "right away"
        assert busy.paused_for() > 0  # answered while the other provider was still paused
        assert free.paused_for() == 0


async def test_without_retry_after_the_callers_own_backoff_is_the_pause(server: FakeOpenAI) -> None:
    pauses: list[str] = []
    gate = ProviderGate("openai@fake", max_concurrency=2, on_pause=pauses.append)
    server.add({"status": 429}, {"content": "ok"})
    reply = await client(server, gate, backoff_base_s=0.05).complete(ask("x"))
    assert reply.text == "ok" and len(server.requests) == 2
    assert len(pauses) == 1 and "no Retry-After" in pauses[0]


async def test_retry_after_forms(server: FakeOpenAI) -> None:
    """Seconds, milliseconds and an HTTP date, as LiteLLM hands the provider's headers over."""
    stamp = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    server.add(
        {"status": 429, "headers": {"Retry-After": "7"}},
        {"status": 429, "headers": {"retry-after-ms": "1500"}},
        {"status": 429, "headers": {"Retry-After": stamp}},
        {"status": 429},
    )
    seen: list[float | None] = []
    for _ in range(4):
        try:
            await client(server, ProviderGate("p", max_concurrency=1), max_retries=0).complete(ask("x"))
        except ModelCallError as exc:
            assert exc.__cause__ is not None
            seen.append(retry_after_of(exc.__cause__))
    assert seen[:2] == [7.0, 1.5] and seen[3] is None
    assert seen[2] is not None and 27 < seen[2] <= 30


def test_bad_bounds_are_refused() -> None:
    with pytest.raises(ValueError, match="max_concurrency must be at least 1"):
        ProviderGate("anthropic", max_concurrency=0)
    with pytest.raises(ValueError, match="rpm must be above 0"):
        ProviderGate("anthropic", max_concurrency=1, rpm=0)
