"""Run folders: two runs of one swarm started in the same second get folders of their own."""

from __future__ import annotations

from pathlib import Path

from sciswarm.run.store import RunStore, new_run_id


def test_runs_started_in_the_same_second_do_not_collide(tmp_path: Path) -> None:
    first = new_run_id("My Swarm!", tmp_path)
    assert first.endswith("-my-swarm") and new_run_id("My Swarm!") == first
    RunStore.create(tmp_path, first)
    second = new_run_id("My Swarm!", tmp_path)
    if second[:15] == first[:15]:  # the same second (almost always): a suffix
        assert second == f"{first}-2"
    else:
        assert second.endswith("-my-swarm")
    RunStore.create(tmp_path, second)  # no FileExistsError
    assert {p.name for p in tmp_path.iterdir()} == {first, second}
