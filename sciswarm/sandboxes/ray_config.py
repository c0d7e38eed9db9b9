"""The `executor:` section of a swarm YAML: where experiment runs execute.

executor:
  kind: local          # local (default): runs go to the sandbox on this machine | ray: each run is a Ray task
  address: auto        # auto (a running cluster) | local (start Ray here, 127.0.0.1 only) | HOST:PORT | ray://host:port
  shared_dir: null     # a folder every node sees at the same path: each run gets a copy of its workspace there
  resources: {}        # custom Ray resources every run asks for, e.g. {node_b: 1} to pin runs to labelled nodes
  retries: 1           # a run whose node is lost is tried again this many times
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ExecutorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["local", "ray"] = "local"
    address: str = Field(default="auto", min_length=1, description="auto | local | HOST:PORT | ray://host:port")
    shared_dir: str | None = Field(
        default=None, description="a path every node sees (a shared filesystem); else workspaces travel as tar bytes"
    )
    resources: dict[str, float] = Field(default_factory=dict, description="custom Ray resources per run")
    retries: int = Field(default=1, ge=0, le=10, description="re-runs of a run whose node was lost")
    grace_s: float = Field(
        default=120.0, gt=0, description="how long past the run's timeout the driver waits before cancelling the task"
    )
