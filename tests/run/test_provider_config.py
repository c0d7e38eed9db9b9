"""The swarm YAML's `providers:` block: which models share a provider's gate, its defaults, and errors worded
for the person who wrote the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from sciswarm.ledger import Ledger
from sciswarm.llm import LiteLLMClient, provider_of
from sciswarm.run.config import ConfigError, SwarmConfig, load_config
from sciswarm.run.models import VISION_CLIENT, build_clients, describe_models

BASE = """
name: t
roles: [{name: ideator, model: big}]
models:
  big: anthropic/claude-sonnet-4-5
  small: anthropic/claude-haiku-4-5
  local: {model: openai/qwen, api_base: "http://127.0.0.1:8000/v1/"}
  openai: gpt-4o-mini
vision_model: anthropic/claude-opus-4-1
"""


def load(tmp_path: Path, extra: str = "", *overrides: str) -> SwarmConfig:
    path = tmp_path / "swarm.yaml"
    path.write_text(BASE + extra)
    return load_config(path, list(overrides))


def test_provider_names() -> None:
    assert provider_of("anthropic/claude-sonnet-4-5") == "anthropic"
    assert provider_of("gpt-4o-mini") == "openai"  # no prefix: LiteLLM's guess
    assert provider_of("openai/qwen", "http://127.0.0.1:8000/v1/") == "openai@http://127.0.0.1:8000/v1"


def test_models_of_one_provider_share_its_gate(tmp_path: Path) -> None:
    cfg = load(
        tmp_path,
        "flow: {model_concurrency: 3}\n"
        "providers:\n  anthropic: {max_concurrency: 6, rpm: 50}\n  openai@http://127.0.0.1:8000/v1: {rpm: 600}\n",
    )
    clients = build_clients(cfg, Ledger())
    gates = {name: c.gate for name, c in clients.items() if isinstance(c, LiteLLMClient)}
    assert gates["big"] is gates["small"] is gates[VISION_CLIENT]  # anthropic, the vision model too
    assert (gates["big"].max_concurrency, gates["big"].rpm) == (6, 50)
    local, openai = gates["local"], gates["openai"]
    assert local is not openai and local.name == "openai@http://127.0.0.1:8000/v1"
    assert (local.max_concurrency, local.rpm) == (3, 600)  # max_concurrency left out: flow.model_concurrency
    assert (openai.max_concurrency, openai.rpm) == (3, None)  # no entry: the defaults, unbounded rpm
    lines = describe_models(cfg)
    assert (
        "model 'big': anthropic/claude-sonnet-4-5 (provider anthropic: at most 6 calls at once, 50 requests a minute)"
        in lines
    )


def test_an_entry_no_model_calls_is_an_error_naming_the_providers(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, "providers:\n  antropic: {rpm: 50}\n")
    text = str(info.value)
    assert "providers.antropic: no model calls this provider" in text
    assert "anthropic, openai, openai@http://127.0.0.1:8000/v1" in text


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("{max_concurrency: 0}", "providers.anthropic.max_concurrency: Input should be greater than or equal to 1"),
        ("{rpm: -5}", "providers.anthropic.rpm: Input should be greater than 0"),
        ("{concurrency: 2}", "providers.anthropic.concurrency: unknown field"),
    ],
)
def test_bad_bounds_name_the_field(tmp_path: Path, entry: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        load(tmp_path, f"providers:\n  anthropic: {entry}\n")


def test_bounds_from_the_command_line(tmp_path: Path) -> None:
    cfg = load(tmp_path, "", "providers.anthropic.rpm=30")
    assert cfg.providers["anthropic"].rpm == 30
