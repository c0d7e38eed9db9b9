"""The scale-out benchmarks' shared pieces (benchmarks/stand_in_swarm.py): the slot-time arithmetic their
figures come from, and the scripted stand-in swarm they run (one small real run, to catch drift in the roles'
model calls)."""

from __future__ import annotations

import math
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from stand_in_swarm import (
    SlotUse,
    Swarm,
    busy_while_queued,
    most_at_once,
    shared_devices,
    stand_in_template,
    work_folder,
)


def test_slots_all_busy_while_a_run_is_queued_is_100_percent() -> None:
    uses = [SlotUse(0, 0, 4), SlotUse(0, 0, 2), SlotUse(0, 2, 4)]  # the third waits 2 s for a slot
    share, window = busy_while_queued(uses, slots=2)
    assert window == pytest.approx(2.0)
    assert share == pytest.approx(1.0)


def test_a_slot_held_idle_while_a_run_waits_counts_against_it() -> None:
    # one slot: the first run ends at 1, its idea keeps the slot (writing) until 3, the second run waits till 3
    share, window = busy_while_queued([SlotUse(0, 0, 1), SlotUse(0, 3, 4)], slots=1)
    assert window == pytest.approx(3.0)
    assert share == pytest.approx(1 / 3)
    experiments_only = [(0.5, 1.0), (3.5, 4.0)]  # counting only the experiments' own time
    share, _ = busy_while_queued([SlotUse(0, 0, 1), SlotUse(0, 3, 4)], slots=1, busy=experiments_only)
    assert share == pytest.approx(0.5 / 3)


def test_no_queue_gives_no_window() -> None:
    share, window = busy_while_queued([SlotUse(0, 0, 1), SlotUse(2, 2, 3)], slots=1)
    assert window == 0 and math.isnan(share)


def test_overlap_counting_and_shared_devices() -> None:
    runs = [
        {"idea": "a", "run": "run_1", "device": "0", "start": 0, "end": 2},
        {"idea": "b", "run": "run_1", "device": "1", "start": 1, "end": 3},
        {"idea": "c", "run": "run_1", "device": "0", "start": 2, "end": 4},  # after a, on the same device
    ]
    assert most_at_once([(r["start"], r["end"]) for r in runs]) == 2
    assert shared_devices(runs) == []
    runs[2]["start"] = 1.5
    assert shared_devices(runs) == ["a/run_1 and c/run_1 on device 0"]


async def test_the_stand_in_swarm_runs_two_ideas_at_once() -> None:
    root = work_folder("sciswarm-bench-test-")
    try:
        template = stand_in_template(root / "template", 0.8)
        run = await Swarm(root / "swarm", template, ideas=2, runs=1, sandbox={"max_parallel_runs": 2}).run()
        experiments = run.experiments()
        assert [(r["idea"], r["run"]) for r in sorted(experiments, key=lambda r: r["idea"])] == [
            ("idea_1", "run_1"),
            ("idea_2", "run_1"),
        ]
        assert most_at_once([(r["start"], r["end"]) for r in experiments]) == 2
        assert all(r["end"] - r["start"] >= 0.8 for r in experiments)
    finally:
        shutil.rmtree(root, ignore_errors=True)
