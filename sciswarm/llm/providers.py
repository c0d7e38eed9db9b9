"""Which provider a model's calls go to, and the bounds a swarm YAML's ``providers:`` block sets on it.

A provider is the LiteLLM provider (the model string's prefix: ``anthropic/claude-x`` -> ``anthropic``; a
string without one is LiteLLM's guess, ``gpt-4o`` -> ``openai``), plus the ``api_base`` when the model has
one: ``openai/my-model`` at ``http://gpu-box:8000/v1`` is the provider ``openai@http://gpu-box:8000/v1``, apart
from OpenAI itself. Every model of one provider shares its bounds (``llm/gate.py``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping

from pydantic import BaseModel, ConfigDict, Field


class ProviderLimits(BaseModel):
    """One entry of ``providers:``; what is left out keeps its default."""

    model_config = ConfigDict(extra="forbid")

    max_concurrency: int | None = Field(
        default=None, ge=1, description="calls in flight at once to this provider; default: flow.model_concurrency"
    )
    rpm: float | None = Field(
        default=None, gt=0, description="requests per minute, spaced evenly (60 / rpm s apart); default: unbounded"
    )


@functools.cache
def _litellm_guess(model: str) -> str:
    """LiteLLM's provider for a model string without a prefix (imports litellm: only for such strings)."""
    from sciswarm.llm.litellm_client import litellm_module

    try:
        return str(litellm_module().get_llm_provider(model)[1])
    except Exception:  # unknown to LiteLLM: the call itself will say so; its bounds are its own
        return model


def provider_of(model: str, api_base: str | None = None) -> str:
    """The provider name a model's calls are bounded under (what ``providers:`` is keyed by)."""
    prefix = model.split("/", 1)[0] if "/" in model else _litellm_guess(model)
    return f"{prefix}@{api_base.rstrip('/')}" if api_base else prefix


def provider_problems(providers: Mapping[str, ProviderLimits], used: Iterable[str]) -> list[str]:
    """A line for each ``providers:`` entry no model calls (a typo would otherwise bound nothing)."""
    known = sorted(set(used))
    listed = ", ".join(known) or "none: every model is scripted"
    return [
        f"  - providers.{name}: no model calls this provider (the models' providers: {listed}); a provider is the "
        "model string's prefix (anthropic, openai, ...), or prefix@api_base for a model with an api_base"
        for name in providers
        if name not in known
    ]
