"""The experiment slots as the sandbox records them (SlotState): the board shows the latest record (and infers
them only for transcripts without one), and the terminal prints "slots 2/4 busy, 3 queued" when they change."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from pipeline import new_run, status, written
from rich.console import Console
from web_support import T0, append

from sciswarm.events import SlotState
from sciswarm.view.board import Board
from sciswarm.view.tally import Tally
from sciswarm.view.terminal import LineFormatter
from sciswarm.view.watch import watch

RUN = "20260301-000000-slots"


def slots(change: str, busy: int, queued: int, t: float, limit: int = 4) -> dict[str, Any]:
    return written(SlotState(change=change, busy=busy, limit=limit, queued=queued), RUN, "swarm", "", t)  # type: ignore[arg-type]


def test_the_board_shows_the_latest_slots_record() -> None:
    board = Board()
    board.add({"kind": "log", "idea_id": "swarm", "text": "experiments run at most 4 at a time"})
    for idea in ("a", "b", "c", "d", "e"):  # five changed, not yet run: inferred, 4 busy and 1 queued
        board.add({"kind": "code_change", "idea_id": idea, "run": 1, "attempt": 1})
    assert board.slots() == {"in_flight": 5, "limit": 4, "busy": 4, "free": 0, "queued": 1}
    before = board.version
    board.add(slots("started", 2, 0, T0))
    board.add(slots("queued", 2, 3, T0 + 1))  # what the sandbox says wins over the inference
    assert board.version == before + 2
    assert board.slots() == {"in_flight": 5, "limit": 4, "busy": 2, "free": 2, "queued": 3}
    board.add(slots("ended", 0, 0, T0 + 2))
    assert board.slots() == {"in_flight": 0, "limit": 4, "busy": 0, "free": 4, "queued": 0}


def test_the_terminal_prints_the_slots_when_they_change() -> None:
    fmt = LineFormatter()
    line = fmt.format(slots("queued", 2, 3, T0))
    assert line is not None and line.plain.endswith("sandbox slots 2/4 busy, 3 queued")
    assert fmt.format(slots("queued", 2, 3, T0 + 1)) is None  # the same state again: no new line
    started = fmt.format(slots("started", 3, 2, T0 + 2))
    assert started is not None and "slots 3/4 busy, 2 queued" in started.plain
    tally = Tally()
    tally.add(slots("ended", 1, 0, T0 + 3))
    assert tally.footer().plain.endswith("| slots 1/4 busy")


def test_watch_shows_the_slots_lines_and_the_last_state(tmp_path: Path) -> None:
    run_dir = new_run(tmp_path, RUN, pid=os.getpid())
    append(
        run_dir,
        slots("started", 1, 0, T0 + 1),
        slots("queued", 1, 1, T0 + 2, limit=1),
        slots("ended", 0, 0, T0 + 3, limit=1),
        status(RUN, "completed", T0 + 9),
    )
    console = Console(file=io.StringIO(), width=200, color_system=None)
    watch(run_dir, console, follow=False)
    printed = console.file.getvalue()  # type: ignore[attr-defined]
    lines = printed.rstrip().splitlines()
    shown = [line.split("sandbox ", 1)[1] for line in lines if " sandbox slots" in line]
    assert shown == ["slots 1/4 busy", "slots 1/1 busy, 1 queued", "slots 0/1 busy"]
    assert lines[-1].startswith("completed") and lines[-1].endswith("| slots 0/1 busy")  # the footer: the last state
