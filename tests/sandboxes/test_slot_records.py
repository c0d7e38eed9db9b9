"""The bound on parallel runs reports its slots (busy, free, queued) as a SlotState record when a run queues,
starts and ends: around a cheap recording sandbox, and wired by the run's services around the real local
provider."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

import pytest

from sciswarm.events import SlotState
from sciswarm.run.config import SwarmConfig
from sciswarm.run.services import Services
from sciswarm.sandboxes.base import RunResult, RunSpec
from sciswarm.sandboxes.slots import BoundedSandbox


class Sleeper:
    name = "sleeper"
    isolated = True

    async def run(self, workspace: Path, spec: RunSpec, *, on_output: Any = None, log_dir: Any = None) -> RunResult:
        await asyncio.sleep(float(spec.argv[0]))
        return RunResult(0, "", "", False, False, 0.0, [])


def consistent(records: list[SlotState], limit: int) -> None:
    """Each record follows from the one before by the change it names: queued adds a waiting run; started adds
    a busy slot (taken by a run from the queue, or one that found a slot free); ended frees a slot (or takes a
    run out of the queue that never started)."""
    busy = queued = 0
    for r in records:
        if r.change == "queued":
            expected = [(busy, queued + 1)]
        elif r.change == "started":
            expected = [(busy + 1, queued), (busy + 1, queued - 1)]
        else:
            expected = [(busy - 1, queued), (busy, queued - 1)]
        assert (r.busy, r.queued) in expected and r.limit == limit
        assert 0 <= r.busy <= limit and r.queued >= 0
        busy, queued = r.busy, r.queued


async def test_runs_queue_start_and_end_on_the_record(tmp_path: Path) -> None:
    records: list[SlotState] = []
    bounded = BoundedSandbox(Sleeper(), 2, on_change=records.append)
    await asyncio.gather(*(bounded.run(tmp_path, RunSpec(argv=["0.05"])) for _ in range(3)))
    assert [r.change for r in records].count("started") == 3 and [r.change for r in records].count("ended") == 3
    assert [(r.change, r.busy, r.queued) for r in records[:3]] == [
        ("started", 1, 0),
        ("started", 2, 0),
        ("queued", 2, 1),  # the third waits for a slot
    ]
    consistent(records, 2)
    assert max(r.busy for r in records) == 2 and (records[-1].busy, records[-1].queued) == (0, 0)
    assert records[2].summary() == "slots 2/2 busy, 1 queued"


async def test_a_run_cancelled_in_the_queue_leaves_it(tmp_path: Path) -> None:
    records: list[SlotState] = []
    bounded = BoundedSandbox(Sleeper(), 1, on_change=records.append)
    holder = asyncio.create_task(bounded.run(tmp_path, RunSpec(argv=["0.3"])))
    await asyncio.sleep(0.05)
    waiter = asyncio.create_task(bounded.run(tmp_path, RunSpec(argv=["0"])))
    await asyncio.sleep(0.05)
    assert (bounded.busy, bounded.queued) == (1, 1)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    await holder
    assert [(r.change, r.busy, r.queued) for r in records] == [
        ("started", 1, 0),
        ("queued", 1, 1),
        ("ended", 1, 0),  # left the queue without running
        ("ended", 0, 0),
    ]


async def test_the_runs_services_trace_slots_around_the_local_sandbox(open_dir: Path) -> None:
    cfg = SwarmConfig.model_validate(
        {
            "models": {"default": {"model": "scripted", "script": "replies.yaml"}},
            "roles": [{"name": "coder"}],
            "sandbox": {"provider": "local", "max_parallel_runs": 1, "timeout_s": 30, "memory_mb": 512, "cpus": 1},
        }
    )
    traced: list[SlotState] = []
    logs: list[str] = []
    services = Services(cfg, open_dir / "run", log=lambda level, text, *a: logs.append(text), trace=traced.append)
    sandbox = services.sandbox()
    argv = ["python3", "-c", "import time; time.sleep(0.2)"]
    results = await asyncio.gather(*(sandbox.run(open_dir, services.run_spec(argv)) for _ in range(2)))
    assert all(r.exit_code == 0 for r in results), [r.stderr for r in results]
    assert "experiments run at most 1 at a time" in logs
    assert [(r.change, r.busy, r.limit, r.queued) for r in traced] == [
        ("started", 1, 1, 0),
        ("queued", 1, 1, 1),
        ("ended", 0, 1, 1),
        ("started", 1, 1, 0),
        ("ended", 0, 1, 0),
    ]
    assert all(b.ts >= a.ts for a, b in itertools.pairwise(traced))
