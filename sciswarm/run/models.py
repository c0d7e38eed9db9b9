"""Build one model client per `models:` entry of the config (LiteLLM or scripted), and the vision model's."""

from __future__ import annotations

import asyncio
import os

from sciswarm.ledger import Ledger
from sciswarm.llm import LiteLLMClient, ModelClient, ScriptedClient
from sciswarm.run.config import ConfigError, SwarmConfig

VISION_CLIENT = "(vision_model)"  # the clients key of a vision_model given as a LiteLLM string (not a name)


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
    if cfg.vision_model and cfg.vision_model not in cfg.models:
        clients[VISION_CLIENT] = LiteLLMClient(cfg.vision_model, ledger=ledger, semaphore=semaphore)
    return clients


def vision_client(cfg: SwarmConfig, clients: dict[str, ModelClient]) -> ModelClient | None:
    """The client of the swarm's ``vision_model`` (built by build_clients); None: each role's own model."""
    if not cfg.vision_model:
        return None
    return clients[cfg.vision_model] if cfg.vision_model in cfg.models else clients[VISION_CLIENT]


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
    if cfg.vision_model:
        lines.append(f"figures are looked at by vision_model {cfg.vision_model}")
    return lines
