"""Bridges to other agent frameworks. Each lives in its own room here, so the core rooms (agents, llm, run,
sandboxes) never import a framework's types: ``sciswarm.interop.agentchat`` is AutoGen AgentChat."""
