"""Which sandbox provider the Ray executor runs on its nodes, and what it says about isolation (no Ray started:
the executor connects on its first run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sciswarm.run.config import SwarmConfig
from sciswarm.run.services import Services
from sciswarm.sandboxes.ray_config import ExecutorConfig
from sciswarm.sandboxes.ray_executor import RaySandbox


@pytest.mark.parametrize(
    ("provider", "isolated"),
    [("docker", True), ("bwrap", True), ("local", False), ("auto", False)],  # auto may end up local on a node
)
def test_the_executor_reports_isolation_as_its_node_provider_gives_it(provider: str, isolated: bool) -> None:
    sandbox = RaySandbox(ExecutorConfig(kind="ray"), provider=provider)
    assert sandbox.name == f"ray/{provider}"
    assert sandbox.isolated is isolated


def test_a_swarm_on_ray_may_name_bwrap_as_its_node_provider(tmp_path: Path) -> None:
    cfg = SwarmConfig(
        models={"default": {"model": "openai/x"}},
        roles=[{"name": "experimenter"}],
        sandbox={"provider": "bwrap"},
        executor={"kind": "ray", "address": "local"},
    )
    logs: list[str] = []
    sandbox = Services(cfg, tmp_path, log=lambda level, text, *_: logs.append(text)).sandbox()
    assert isinstance(sandbox, RaySandbox)
    assert (sandbox.provider, sandbox.name, sandbox.isolated) == ("bwrap", "ray/bwrap", True)
    assert "executor: ray at local; runs use bwrap on their node" in logs
