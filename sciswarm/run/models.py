"""Build one model client per `models:` entry of the config (LiteLLM or scripted), and the vision model's;
all the clients of one provider share its gate (`providers:` bounds, 429 back-off)."""

from __future__ import annotations

import os
from collections.abc import Callable

from sciswarm.ledger import Ledger
from sciswarm.llm import LiteLLMClient, ModelClient, ProviderGate, ScriptedClient, provider_of
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


class ProviderGates:
    """The swarm's gate of each provider, made on first use with the `providers:` entry's bounds (default:
    `flow.model_concurrency` calls at once, no rpm limit). ``log(level, text)`` gets each back-off's line."""

    def __init__(self, cfg: SwarmConfig, log: Callable[[str, str], None] | None = None) -> None:
        self._cfg, self._log = cfg, log
        self.gates: dict[str, ProviderGate] = {}

    def _paused(self, text: str) -> None:
        if self._log is not None:
            self._log("warning", text)

    def of(self, model: str, api_base: str | None) -> ProviderGate:
        name = provider_of(model, api_base)
        if name not in self.gates:
            limits = self._cfg.providers.get(name)
            concurrency = (limits.max_concurrency if limits else None) or self._cfg.flow.model_concurrency
            rpm = limits.rpm if limits else None
            self.gates[name] = ProviderGate(name, max_concurrency=concurrency, rpm=rpm, on_pause=self._paused)
        return self.gates[name]


def build_clients(
    cfg: SwarmConfig, ledger: Ledger, log: Callable[[str, str], None] | None = None
) -> dict[str, ModelClient]:
    """``log(level, text)``: where a provider's back-off is announced (the run's transcript)."""
    gates = ProviderGates(cfg, log)
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
                gate=gates.of(spec.model, spec.api_base),
                structured_output=spec.structured_output,
                context_window=spec.context_window,
                notice=log,
            )
    if cfg.vision_model and cfg.vision_model not in cfg.models:
        gate = gates.of(cfg.vision_model, None)
        clients[VISION_CLIENT] = LiteLLMClient(cfg.vision_model, ledger=ledger, gate=gate, notice=log)
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
            extra = f", structured output {spec.structured_output}" if spec.structured_output != "auto" else ""
            extra += f", context {spec.context_window} tokens" if spec.context_window else ""
            lines.append(f"model '{name}': {spec.model}{where} ({bounds(cfg, spec.model, spec.api_base)}{extra})")
    if cfg.vision_model:
        lines.append(f"figures are looked at by vision_model {cfg.vision_model}")
    return lines


def bounds(cfg: SwarmConfig, model: str, api_base: str | None) -> str:
    """How a model's calls are bounded: its provider's concurrency and rpm."""
    return ProviderGates(cfg).of(model, api_base).describe()
