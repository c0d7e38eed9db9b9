"""Tools and agent factories the interop tests name in their YAML (``interop_support:...``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from autogen_agentchat.agents import ApprovalRequest, ApprovalResponse, AssistantAgent, CodeExecutorAgent
from autogen_agentchat.conditions import MaxMessageTermination
from autogen_agentchat.teams import RoundRobinGroupChat
from autogen_core.code_executor import CodeExecutor
from autogen_core.models import ChatCompletionClient

TOOL_LOG = "SCISWARM_TEST_TOOL_LOG"


def measure(text: str) -> str:
    """Measure a piece of text; returns a marker with its length."""
    log = os.environ.get(TOOL_LOG)
    if log:
        with Path(log).open("a") as fh:
            fh.write(f"measure({text!r})\n")
    return f"MEASURED-{len(text)}-CHARS"


def plain_agent(name: str, model_client: ChatCompletionClient, system_message: str = "Be brief.") -> AssistantAgent:
    """A factory that takes only some of what the role offers (no tools, no executor)."""
    return AssistantAgent(name, model_client=model_client, system_message=system_message)


def sandboxed(request: ApprovalRequest) -> ApprovalResponse:
    """Code runs in the swarm's sandbox under the host's limits: approve it."""
    return ApprovalResponse(approved=True, reason="runs in the sandbox")


def coding_team(name: str, model_client: ChatCompletionClient, code_executor: CodeExecutor, **_: Any) -> Any:
    """A team: an assistant writes code, a CodeExecutorAgent runs it in the role's lab."""
    writer = AssistantAgent(f"{name}_writer", model_client=model_client, system_message="Write Python code.")
    runner = CodeExecutorAgent(f"{name}_runner", code_executor=code_executor, approval_func=sandboxed)
    return RoundRobinGroupChat([writer, runner], termination_condition=MaxMessageTermination(3))
