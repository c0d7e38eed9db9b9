"""The one transcript follower: complete lines only, numbered, resumable, restarted on replacement."""

from __future__ import annotations

import json
import os
from pathlib import Path

from sciswarm.view.follow import Follower


def line(n: int, **extra: object) -> str:
    return json.dumps({"kind": "note", "n": n, **extra}) + "\n"


def test_complete_lines_numbered_torn_line_waits_and_resume(tmp_path: Path) -> None:
    path = tmp_path / "transcript.jsonl"
    path.write_text(line(0) + "\n" + "not json\n" + line(3) + '{"kind": "no')
    follower = Follower(path)
    assert [(i, r["n"]) for i, r in follower.read_all()] == [(0, 0), (3, 3)]  # blank and broken lines counted
    assert follower.line == 4
    with path.open("a") as fh:
        fh.write('te", "n": 4}\n')  # the torn line completes
    assert [(i, r["n"]) for i, r in follower.read_all()] == [(4, 4)]
    again = Follower(path, offset=follower.offset, line=follower.line)
    with path.open("a") as fh:
        fh.write(line(5))
    assert [(i, r["n"]) for i, r in again.read_all()] == [(5, 5)]


def test_a_line_longer_than_a_chunk_and_a_replaced_file(tmp_path: Path) -> None:
    path = tmp_path / "transcript.jsonl"
    path.write_text(line(0, text="x" * 5000) + line(1))
    follower = Follower(path, chunk=1024)
    assert [r["n"] for _, r in follower.read_all()] == [0, 1]
    replacement = tmp_path / "new.jsonl"
    replacement.write_text(line(9))
    os.replace(replacement, path)  # e.g. a resumed run rewrote it: start over
    assert [(i, r["n"]) for i, r in follower.read_all()] == [(0, 9)]
    assert follower.restarts == 1


def test_run_tally_counts_again_when_the_transcript_is_replaced_by_a_longer_one(tmp_path: Path) -> None:
    from sciswarm.view.web.state import RunState

    path = tmp_path / "transcript.jsonl"
    path.write_text("".join(line(i) for i in range(3)))
    state = RunState(tmp_path)
    assert state.refresh().tally.messages == 3
    generation = state.generation
    replacement = tmp_path / "new.jsonl"
    replacement.write_text("".join(line(i) for i in range(5)))
    os.replace(replacement, path)
    assert state.refresh().tally.messages == 5  # not 3 + 5
    assert state.generation == generation + 1  # live streams send the whole board again


def test_a_skipped_line_is_counted_but_not_parsed(tmp_path: Path) -> None:
    path = tmp_path / "transcript.jsonl"
    path.write_text(line(0) + json.dumps({"kind": "output", "line": "x"}) + "\n" + line(2))
    follower = Follower(path, skip=lambda raw: raw.startswith(b'{"kind": "output"'))
    assert [(i, r["n"]) for i, r in follower.read_all()] == [(0, 0), (2, 2)] and follower.line == 3
