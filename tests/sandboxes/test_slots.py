"""GPU slots and the parallel-run bound wrap any sandbox (tested with a recording fake: no GPU here)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from sciswarm.sandboxes.base import RunResult, RunSpec
from sciswarm.sandboxes.slots import BoundedSandbox, GpuSlots


class Recorder:
    name = "recorder"
    isolated = True

    def __init__(self) -> None:
        self.specs: list[RunSpec] = []
        self.active = 0
        self.peak = 0

    async def run(self, workspace: Path, spec: RunSpec, *, on_output=None, log_dir=None) -> RunResult:  # type: ignore[no-untyped-def]
        self.specs.append(spec)
        self.active += 1
        self.peak = max(self.peak, self.active)
        await asyncio.sleep(0.05)
        self.active -= 1
        return RunResult(0, "", "", False, False, 0.05, [])


async def test_each_concurrent_run_gets_its_own_gpu(tmp_path: Path) -> None:
    inner = Recorder()
    slots = GpuSlots(inner, ["0", "1"], gpus_per_run=1)
    await asyncio.gather(*[slots.run(tmp_path, RunSpec(argv=["x"])) for _ in range(4)])
    assert inner.peak == 2  # two devices -> two runs at once
    assert sorted(str(s.gpus) for s in inner.specs) == ["['0']", "['0']", "['1']", "['1']"]


async def test_multi_gpu_runs_and_bad_pool(tmp_path: Path) -> None:
    inner = Recorder()
    slots = GpuSlots(inner, ["0", "1", "2", "3"], gpus_per_run=2)
    assert slots.slots == 2
    await slots.run(tmp_path, RunSpec(argv=["x"]))
    assert inner.specs[0].gpus == ["0", "1"]
    with pytest.raises(ValueError, match="only 1 device"):
        GpuSlots(inner, ["0"], gpus_per_run=2)
    anonymous = GpuSlots(Recorder(), None, gpus_per_run=1)
    await anonymous.run(tmp_path, RunSpec(argv=["x"]))
    assert anonymous.inner.specs[0].gpus == 1  # type: ignore[attr-defined]


async def test_bounded_sandbox_limits_parallel_runs(tmp_path: Path) -> None:
    inner = Recorder()
    bounded = BoundedSandbox(inner, 1)
    await asyncio.gather(*[bounded.run(tmp_path, RunSpec(argv=["x"])) for _ in range(3)])
    assert inner.peak == 1 and len(inner.specs) == 3
