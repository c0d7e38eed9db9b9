"""AutoGen AgentChat interop: AgentChat agents as swarm roles, our models as AutoGen model clients, our
sandbox as an AutoGen CodeExecutor. The only room besides the bus that imports AutoGen.

- ``AgentChatRole`` (built-in name ``agentchat``): any AgentChat agent, declared in the YAML, as a role.
- ``LiteLLMChatClient``: a ChatCompletionClient over LiteLLM (tool calls, streaming), metered by the Ledger.
- ``TextChatClient``: a text-only ChatCompletionClient over any sciswarm ModelClient (scripted, function).
- ``chat_client``: the right one of the two for a role's model handle.
- ``SandboxCodeExecutor``: a CodeExecutor over a role's Lab or any Sandbox, under the host's limits.
"""

from __future__ import annotations

from sciswarm.interop.agentchat.executor import TIMEOUT_EXIT_CODE, SandboxCodeExecutor, SandboxCodeResult
from sciswarm.interop.agentchat.model_client import LiteLLMChatClient, chat_client
from sciswarm.interop.agentchat.role import AgentChatError, AgentChatParams, AgentChatRole
from sciswarm.interop.agentchat.text_client import TextChatClient

__all__ = [
    "TIMEOUT_EXIT_CODE",
    "AgentChatError",
    "AgentChatParams",
    "AgentChatRole",
    "LiteLLMChatClient",
    "SandboxCodeExecutor",
    "SandboxCodeResult",
    "TextChatClient",
    "chat_client",
]
