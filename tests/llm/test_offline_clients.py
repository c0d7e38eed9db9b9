"""The scripted and function clients: labelled as not a model, metered, counted with the o200k tokenizer."""

from __future__ import annotations

import pytest

from sciswarm.events import ModelCall
from sciswarm.ledger import CALL_CONTEXT, CallContext, Ledger
from sciswarm.llm import ChatMessage, FunctionClient, ModelCallError, ModelHandle, Reply, ScriptedClient, Usage
from sciswarm.llm.tokens import count_tokens


def test_o200k_counts_are_real_tokenizer_counts() -> None:
    assert count_tokens("hello world") == 2  # o200k_base: "hello", " world"
    assert count_tokens("") == 0
    assert count_tokens("The quick brown fox jumps over the lazy dog.") == 10


async def test_scripted_replies_per_role_in_order_counted_and_labelled() -> None:
    calls: list[ModelCall] = []
    client = ScriptedClient({"coder": ["first reply", "second"], "*": ["anyone"]}, ledger=Ledger(on_call=calls.append))
    coder, other = ModelHandle(client, "coder", "a"), ModelHandle(client, "writer", "a")
    assert await coder.ask("hello world", system="be brief") == "first reply"
    assert await other.ask("x") == "anyone"
    assert await coder.ask("again") == "second"
    with pytest.raises(ModelCallError, match="exhausted after 2 replies"):
        await coder.ask("one more")
    assert [c.scripted for c in calls] == [True, True, True, True] and [c.ok for c in calls][-1] is False
    assert calls[0].completion_tokens == count_tokens("first reply")
    assert calls[0].prompt_tokens == count_tokens("be brief") + count_tokens("hello world") + 8


async def test_function_client_answers_and_is_metered() -> None:
    calls: list[ModelCall] = []

    async def echo(messages: list[ChatMessage]) -> str:
        return messages[-1].content.upper()

    client = FunctionClient(echo, ledger=Ledger(on_call=calls.append))
    token = CALL_CONTEXT.set(CallContext(role="r", idea_id="i", stage="s"))
    try:
        reply = await client.complete([ChatMessage("user", "shout")])
        fixed = FunctionClient(lambda m: Reply("x", Usage(100, 7)), ledger=Ledger(on_call=calls.append))
        await fixed.complete([ChatMessage("user", "y")])
    finally:
        CALL_CONTEXT.reset(token)
    assert reply.text == "SHOUT" and client.calls[0][0].content == "shout"
    assert calls[0].scripted and calls[0].stage == "s" and calls[0].completion_tokens == count_tokens("SHOUT")
    assert (calls[1].prompt_tokens, calls[1].completion_tokens) == (100, 7)
