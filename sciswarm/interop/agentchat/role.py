"""The ``agentchat`` role: any AutoGen AgentChat agent as a swarm role.

    - name: checker
      use: agentchat
      model: cheap                          # which of the swarm's models (LiteLLM: tool calls; scripted: text only)
      subscribes: [idea]
      params:
        system_message: You check ideas for feasibility with your tools.
        tools: ['mytools:estimate_flops']   # each 'package.module:function' becomes a FunctionTool
        # agent: 'mypkg.agents:make'        # or your own factory returning any AgentChat agent (or team)

On each message a fresh agent (an ``AssistantAgent``, or the factory's) runs with the message's summary and
JSON as its task; every model call it makes is metered through the run's ledger as this role's, under the
stage ``params.stage``; its final reply is published as a ``Note`` on the same idea thread (``data``: the tool
calls made, with their results). A factory is offered ``name``, ``model_client``, ``tools``, ``system_message``
and ``code_executor`` (a SandboxCodeExecutor over this role's lab: the swarm's sandbox and limits), as far as
its signature takes them, plus ``params.options``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.base import TaskResult
from autogen_agentchat.messages import BaseChatMessage, ToolCallExecutionEvent, ToolCallRequestEvent
from autogen_core.models import ChatCompletionClient
from autogen_core.tools import BaseTool
from pydantic import BaseModel, ConfigDict, Field, field_validator

from sciswarm.agents.base import Role
from sciswarm.errors import ExpectedFailure
from sciswarm.events import Message, Note
from sciswarm.interop.agentchat.executor import SandboxCodeExecutor
from sciswarm.interop.agentchat.loading import accepts, call_with_accepted, load_factory, load_tool
from sciswarm.interop.agentchat.model_client import chat_client

DEFAULT_SYSTEM_MESSAGE = (
    "You are one role of a swarm of agents doing ML research. Use your tools when they help, then give your "
    "answer in plain text."
)
RESULT_CHARS = 2000  # of each tool result kept in the note's data
_BOOKKEEPING = {"id", "run_id", "sender", "parent_id", "ts"}


class AgentChatError(ExpectedFailure, RuntimeError):
    """The AgentChat agent could not be set up, or gave no reply."""


class AgentChatParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    system_message: str | None = Field(default=None, description="the agent's system message (default: a short one)")
    tools: list[str] = Field(default_factory=list, description="'package.module:function' paths, as FunctionTools")
    agent: str | None = Field(default=None, description="'package.module:factory' returning any AgentChat agent")
    options: dict[str, Any] = Field(default_factory=dict, description="more keyword arguments for the agent/factory")
    max_tool_iterations: int = Field(default=3, ge=1, description="tool-call rounds of the AssistantAgent")
    reflect_on_tool_use: bool = Field(default=True, description="a final model call after the tools answer")
    stage: str = Field(default="agentchat", description="the stage the model calls are accounted under")

    @field_validator("tools")
    @classmethod
    def _tools_load(cls, tools: list[str]) -> list[str]:
        for target in tools:
            load_tool(target)
        return tools

    @field_validator("agent")
    @classmethod
    def _agent_loads(cls, agent: str | None) -> str | None:
        if agent is not None:
            load_factory(agent)
        return agent


class AgentChatRole(Role[AgentChatParams]):
    name = "agentchat"
    description = "any AutoGen AgentChat agent (tools, your own factory) as a role; its reply becomes a note"
    subscribes = ("idea",)
    publishes = ("note",)
    Params = AgentChatParams

    async def handle(self, message: Message) -> None:
        ledger = self.ctx.models.ledger if self.ctx.models is not None else None
        client = chat_client(self.ctx.model, ledger=ledger, stage=self.params.stage)
        try:
            agent = self._agent(client, [load_tool(t) for t in self.params.tools])
            result = await agent.run(task=task_for(message))
        finally:
            await client.close()
        reply = final_reply(result)
        if not reply:
            raise AgentChatError(f"the agent gave no reply (stop reason: {result.stop_reason or 'none'})")
        data = {"agent": type(agent).__name__, "tool_calls": tool_calls(result), "stop_reason": result.stop_reason}
        await self.ctx.publish(Note(text=reply, data=data), parent=message)

    def _agent(self, client: ChatCompletionClient, tools: list[BaseTool[Any, Any]]) -> Any:
        if tools and not client.model_info["function_calling"]:
            raise AgentChatError(f"tools need a model that calls functions (a LiteLLM model), not {client!r}")
        name = agent_name(self.ctx.role)
        if self.params.agent is None:
            return AssistantAgent(
                name,
                model_client=client,
                tools=list(tools) or None,
                system_message=self.params.system_message or DEFAULT_SYSTEM_MESSAGE,
                reflect_on_tool_use=self.params.reflect_on_tool_use,
                max_tool_iterations=self.params.max_tool_iterations,
                **self.params.options,
            )
        return self._from_factory(name, client, tools)

    def _from_factory(self, name: str, client: ChatCompletionClient, tools: list[BaseTool[Any, Any]]) -> Any:
        assert self.params.agent is not None
        factory = load_factory(self.params.agent)
        offered: dict[str, Any] = {"name": name, "model_client": client, "tools": tools}
        if self.params.system_message is not None:
            offered["system_message"] = self.params.system_message
        if accepts(factory, "code_executor"):
            work = self.ctx.idea_dir / "agentchat" / self.ctx.role
            offered["code_executor"] = SandboxCodeExecutor(self.ctx.lab, work, label=f"agentchat-{self.ctx.role}")
        agent = call_with_accepted(factory, offered, self.params.options)
        if not callable(getattr(agent, "run", None)):
            raise AgentChatError(f"{self.params.agent} returned {type(agent).__name__}, not an AgentChat agent or team")
        return agent


def agent_name(role: str) -> str:
    """AgentChat wants a Python identifier; role names may have dashes."""
    name = re.sub(r"\W", "_", role)
    return name if name.isidentifier() else f"agent_{name}"


def task_for(message: Message) -> str:
    """The agent's task: the message's one-line summary, then its content as JSON."""
    body = message.model_dump(mode="json", exclude=_BOOKKEEPING)
    return f"{message.summary()}\n\n```json\n{json.dumps(body, indent=2, ensure_ascii=False)}\n```"


def final_reply(result: TaskResult) -> str:
    """The text of the last chat message not sent by the task's user (a trailing TERMINATE dropped)."""
    for m in reversed(result.messages):
        if isinstance(m, BaseChatMessage) and m.source != "user":
            return m.to_text().strip().removesuffix("TERMINATE").strip()
    return ""


def tool_calls(result: TaskResult) -> list[dict[str, Any]]:
    """Every tool call the agent made: name, arguments, and (once run) its result and whether it failed."""
    calls: dict[str, dict[str, Any]] = {}
    for m in result.messages:
        if isinstance(m, ToolCallRequestEvent):
            calls.update({c.id: {"name": c.name, "arguments": c.arguments} for c in m.content})
        elif isinstance(m, ToolCallExecutionEvent):
            for r in m.content:
                entry = calls.setdefault(r.call_id, {"name": r.name})
                entry.update(result=r.content[:RESULT_CHARS], is_error=bool(r.is_error))
    return list(calls.values())
