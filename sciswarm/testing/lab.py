"""A lab for role tests: no sandbox, each run answered by a Python function that may write files into the
workspace as the experiment would (e.g. ``run_1/final_info.json``)."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from sciswarm.agents.ports import Lab
from sciswarm.sandboxes.base import RunResult, RunSpec

Experiment = Callable[[Path, list[str]], RunResult | int | Awaitable[RunResult | int]]


def result(
    exit_code: int = 0,
    *,
    stderr: str = "",
    stdout: str = "",
    timed_out: bool = False,
    wall_s: float = 0.0,
    gpus: int | None = None,
) -> RunResult:
    """A run's result as a sandbox would give it (``gpus``: what it held; None: the lab's spec decides)."""
    return RunResult(
        exit_code=exit_code,
        stdout_tail=stdout,
        stderr_tail=stderr,
        timed_out=timed_out,
        oom_killed=False,
        wall_s=wall_s,
        files_produced=[],
        gpus=gpus,
    )


@dataclass
class FakeLab(Lab):
    """``experiment(workspace, argv)`` plays the run: returns a RunResult or an exit code. ``runs`` keeps
    every (argv, label) in order. Limits are those of a default RunSpec unless given; a run holds the spec's GPUs
    unless its result says otherwise."""

    experiment: Experiment = field(default=lambda workspace, argv: 0)
    spec: RunSpec = field(default_factory=lambda: RunSpec(argv=["python"]))
    runs: list[tuple[list[str], str]] = field(default_factory=list)
    seeds: list[int | None] = field(default_factory=list)  # the seed of each run, in order

    def limits(self, argv: list[str] | None = None) -> RunSpec:
        return self.spec

    async def run(self, workspace: Path, argv: list[str], *, label: str, seed: int | None = None) -> RunResult:
        self.runs.append((list(argv), label))
        self.seeds.append(seed)
        out = self.experiment(workspace, list(argv))
        if inspect.isawaitable(out):
            out = await out
        done = out if isinstance(out, RunResult) else result(int(out))
        if done.gpus is None:  # as the real Lab: the run held what its spec asked for
            done.gpus = self.spec.gpu_count
        return done
