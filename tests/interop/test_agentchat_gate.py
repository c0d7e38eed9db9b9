"""An AgentChat agent's model client goes through the same provider gate as the role's own client: a 429 it
gets pauses the role's calls too (LiteLLM's real HTTP path against an OpenAI-compatible server on 127.0.0.1)."""

from __future__ import annotations

import pytest
from autogen_core.models import UserMessage
from support.fake_openai import FakeOpenAI

from sciswarm.interop.agentchat import LiteLLMChatClient, chat_client
from sciswarm.ledger import Ledger
from sciswarm.llm import ChatMessage, LiteLLMClient, ModelCallError, ModelHandle, ProviderGate


async def test_agentchat_and_the_role_share_the_providers_back_off(server: FakeOpenAI) -> None:
    pauses: list[str] = []
    gate = ProviderGate("openai@fake", max_concurrency=2, on_pause=pauses.append)
    base = LiteLLMClient(
        "openai/gpt-4o-mini", ledger=Ledger(), api_base=server.api_base, api_key="sk", max_retries=0, gate=gate
    )
    agent = chat_client(ModelHandle(base, "checker", "alpha"), stage="agentchat")
    assert isinstance(agent, LiteLLMChatClient) and agent.gate is gate
    server.add({"status": 429, "headers": {"Retry-After": "0.5"}}, {"content": "after the pause"})
    with pytest.raises(ModelCallError, match="RateLimit"):
        await agent.create([UserMessage(content="agent asks", source="user")])
    assert len(pauses) == 1 and "paused 0.5 s" in pauses[0]
    reply = await base.complete([ChatMessage("user", "the role asks")])
    assert reply.text == "after the pause"
    (refused,) = [t for t, status in server.answered if status == 429]
    assert server.arrived[1] >= refused + 0.5  # the role's call waited out the agent's 429
