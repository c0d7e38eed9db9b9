"""The `sandbox:` section of a swarm YAML: which provider, and the limits every experiment run gets."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class SandboxConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: Literal["auto", "docker", "local"] = "auto"
    image: str = "sciswarm-exp:latest"
    timeout_s: float = Field(default=600.0, gt=0)
    memory_mb: int = Field(default=4096, ge=64)
    cpus: float = Field(default=2.0, gt=0)
    gpus_per_run: int = Field(default=0, ge=0)
    gpu_devices: list[str] | None = Field(default=None, description="device ids to hand out, one slot per run")
    network: bool = False
    max_parallel_runs: int | None = Field(
        default=None, ge=1, description="experiments at once; default: GPU slots, else CPU cores / cpus"
    )
