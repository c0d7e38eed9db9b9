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


async def test_a_run_reports_the_gpus_it_held_and_the_lab_records_them(tmp_path: Path) -> None:
    from sciswarm.agents.ports import IdeaFolder, Lab, Thread
    from sciswarm.events import SandboxExec, Trace

    slots = GpuSlots(Recorder(), ["0", "1", "2", "3"], gpus_per_run=2)
    held = await asyncio.gather(*[slots.run(tmp_path, RunSpec(argv=["x"])) for _ in range(2)])
    assert sorted((r.gpus, tuple(r.gpu_ids)) for r in held) == [(2, ("0", "1")), (2, ("2", "3"))]
    anonymous = await GpuSlots(Recorder(), None, gpus_per_run=3).run(tmp_path, RunSpec(argv=["x"]))
    assert (anonymous.gpus, anonymous.gpu_ids) == (3, [])

    traces: list[Trace] = []

    async def publish(message: object) -> None:
        raise AssertionError("a run publishes nothing")

    thread = Thread(run_id="r", idea_id="i", role="coder", publish=publish, record=traces.append)  # type: ignore[arg-type]
    folder = IdeaFolder(tmp_path, "i")
    (tmp_path / "ws").mkdir()
    for sandbox, gpus, expected in (
        (GpuSlots(Recorder(), ["0", "1"], gpus_per_run=2), 0, (2, ["0", "1"])),  # GPU slots in front: the slot
        (Recorder(), 1, (1, [])),  # no slots (e.g. the Ray executor): what the spec asked for
        (Recorder(), 0, (0, [])),
    ):
        lab = Lab(lambda s=sandbox: s, lambda argv, g=gpus: RunSpec(argv=argv, gpus=g), thread, folder)  # type: ignore[misc]
        result = await lab.run(tmp_path / "ws", ["python", "x.py"], label="t")
        exec_ = traces[-1]
        assert isinstance(exec_, SandboxExec) and (result.gpus, result.gpu_ids) == expected
        assert (exec_.gpus, exec_.gpu_ids) == expected
    assert "on GPU 0,1" in traces[0].summary()
