"""The RunSpec a swarm YAML's ``sandbox`` section implies, for every caller that runs template code."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sciswarm.sandboxes.base import RunSpec

if TYPE_CHECKING:
    from sciswarm.sandboxes.config import SandboxConfig


def spec_from_config(config: SandboxConfig, argv: list[str], *, timeout_s: float | None = None) -> RunSpec:
    """Limits from the config (timeout_s overrides its timeout); no env: every provider gives the command its own
    scrubbed environment (PATH, HOME, PYTHONUNBUFFERED=1, MPLBACKEND=Agg, ...), never the host's."""
    return RunSpec(
        argv=argv,
        timeout_s=config.timeout_s if timeout_s is None else timeout_s,
        memory_mb=config.memory_mb,
        cpus=config.cpus,
        gpus=config.gpus_per_run,
        network=config.network,
    )
