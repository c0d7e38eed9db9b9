"""sciswarm's own model seam: one protocol (``ModelClient.complete``), LiteLLM, scripted and function
clients, the token counter, the handle/conversation roles talk through, and the per-provider gate that
bounds and backs off model calls. No AutoGen types here."""

from __future__ import annotations

from sciswarm.llm.conversation import Conversation, ModelHandle, ModelOutputError, extract_json
from sciswarm.llm.function import FunctionClient
from sciswarm.llm.gate import ProviderGate
from sciswarm.llm.litellm_client import (
    LiteLLMClient,
    ModelCallError,
    is_transient,
    mark_stable_prefix,
    supports_cache_control,
)
from sciswarm.llm.providers import ProviderLimits, provider_of
from sciswarm.llm.scripted import ScriptedClient, ScriptError, load_script
from sciswarm.llm.tokens import count_tokens
from sciswarm.llm.types import ChatMessage, Image, ModelClient, Reply, Usage

__all__ = [
    "ChatMessage",
    "Conversation",
    "FunctionClient",
    "Image",
    "LiteLLMClient",
    "ModelCallError",
    "ModelClient",
    "ModelHandle",
    "ModelOutputError",
    "ProviderGate",
    "ProviderLimits",
    "Reply",
    "ScriptError",
    "ScriptedClient",
    "Usage",
    "count_tokens",
    "extract_json",
    "is_transient",
    "load_script",
    "mark_stable_prefix",
    "provider_of",
    "supports_cache_control",
]
