"""Build one model client per `models:` entry of the config (LiteLLM or scripted)."""

from __future__ import annotations

import asyncio
import os

from sciswarm.ledger import Ledger
from sciswarm.llm import LiteLLMClient, ModelClient, ScriptedClient
from sciswarm.run.config import ConfigError, SwarmConfig


def check_api_keys(cfg: SwarmConfig) -> None:
    """Fail before anything is created when a model's API key variable is not set."""
    for name, spec in cfg.models.items():
        if spec.model != "scripted" and spec.api_key_env and not os.environ.get(spec.api_key_env):
            raise ConfigError(
                f"models.{name}.api_key_env: environment variable {spec.api_key_env} is not set "
                f"(export it, or use -o models.{name}.model=... for another provider)"
            )


def build_clients(cfg: SwarmConfig, ledger: Ledger) -> dict[str, ModelClient]:
    semaphore = asyncio.Semaphore(cfg.flow.model_concurrency)
    clients: dict[str, ModelClient] = {}
    for name, spec in cfg.models.items():
        if spec.model == "scripted":
            assert spec.script is not None
            clients[name] = ScriptedClient.from_file(cfg.path(spec.script), ledger=ledger)
        else:
            api_key = None
            if spec.api_key_env:
                api_key = os.environ.get(spec.api_key_env)
                if not api_key:
                    raise ConfigError(f"models.{name}.api_key_env: environment variable {spec.api_key_env} is not set")
            elif spec.api_base:
                api_key = "sk-not-needed"  # self-hosted OpenAI-compatible servers often need none
            clients[name] = LiteLLMClient(
                spec.model,
                ledger=ledger,
                api_base=spec.api_base,
                api_key=api_key,
                temperature=spec.temperature,
                max_tokens=spec.max_tokens,
                timeout_s=spec.timeout_s,
                max_retries=spec.max_retries,
                backoff_base_s=spec.backoff_base_s,
                prompt_caching=spec.prompt_caching,
                semaphore=semaphore,
            )
    return clients


def describe_models(cfg: SwarmConfig) -> list[str]:
    lines = []
    for name, spec in cfg.models.items():
        if spec.model == "scripted":
            lines.append(
                f"model '{name}' is SCRIPTED: replies are read from {spec.script}, not produced by a language model"
            )
        else:
            where = f" at {spec.api_base}" if spec.api_base else ""
            lines.append(f"model '{name}': {spec.model}{where}")
    return lines
