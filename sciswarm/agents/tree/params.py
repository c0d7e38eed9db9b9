"""The `tree:` params of the coder (``strategy: tree``) and the objective that ranks the nodes.

AI-Scientist-v2's defaults (its bfts_config.yaml) for reference: 3 drafts, debug probability 0.5, debug depth 3,
4 workers, 20 / 12 / 12 / 18 nodes for implementation / tuning / research / ablations, 3 seeds for the re-run.
Ours are smaller per stage (6 / 4 / 4 / 4) so that a CPU host finishes a tree in reasonable time.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

StageName = Literal["implementation", "tuning", "research", "ablations"]
STAGES: tuple[StageName, ...] = ("implementation", "tuning", "research", "ablations")
DEFAULT_NODES: dict[StageName, int] = {"implementation": 6, "tuning": 4, "research": 4, "ablations": 4}


class Objective(BaseModel):
    """What makes a node better: one metric of final_info.json, its direction, and how datasets combine."""

    model_config = ConfigDict(extra="forbid")

    metric: str = Field(min_length=1)
    direction: Literal["min", "max"]
    datasets: Literal["mean"] | list[str] = Field(
        default="mean",
        description='"mean": the mean over every dataset that has the metric; or the datasets to average',
    )

    def describe(self) -> str:
        over = "the mean over datasets" if self.datasets == "mean" else "the mean over " + ", ".join(self.datasets)
        return f"{'minimise' if self.direction == 'min' else 'maximise'} {self.metric} ({over})"


class TreeParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    drafts: int = Field(default=3, ge=1, le=20, description="roots drafted in the first stage before expanding")
    debug_prob: float = Field(default=0.5, ge=0.0, le=1.0, description="chance of debugging a buggy leaf per pick")
    max_debug_depth: int = Field(default=3, ge=0, le=10, description="debug nodes in a row at most")
    nodes: dict[StageName, int] = Field(
        default_factory=lambda: dict(DEFAULT_NODES), description="node budget per stage (v2: 20/12/12/18)"
    )
    stages: list[StageName] = Field(default_factory=lambda: list(STAGES), min_length=1)
    workers: int | None = Field(default=None, ge=1, le=64, description="nodes per step; default: the lab's slots")
    seeds_for_rerun: int = Field(default=3, ge=1, le=20, description="fresh seeds for the re-run of a stage's best")
    rng_seed: int = Field(default=0, description="seed of the operator choice")
    objective: Objective | None = Field(default=None, description="default: the template's prompt.json objective")
    analyse: bool = Field(default=True, description="a short model analysis of every node (for the judge, notes)")
    max_wall_s: float | None = Field(default=None, gt=0, description="wall-clock budget of the whole tree")
    max_gpu_hours: float | None = Field(
        default=None, gt=0, description="GPU-hour budget of the tree's node runs (GPUs held x wall time of each run)"
    )

    @field_validator("stages")
    @classmethod
    def _unique(cls, stages: list[StageName]) -> list[StageName]:
        if len(set(stages)) != len(stages):
            raise ValueError("each stage may appear once")
        return stages

    @field_validator("nodes")
    @classmethod
    def _positive(cls, nodes: dict[StageName, int]) -> dict[StageName, int]:
        bad = [k for k, v in nodes.items() if v < 1]
        if bad:
            raise ValueError(f"node budgets must be >= 1 ({', '.join(bad)})")
        return nodes

    def budget(self, stage: str) -> int:
        named: StageName = stage  # type: ignore[assignment]
        return self.nodes.get(named, DEFAULT_NODES[named])
