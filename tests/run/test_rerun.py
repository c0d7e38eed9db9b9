"""`sciswarm rerun`: which message starts the stage, what is copied into the new run, and the clear errors.
(The demo's rerun from the writer, end to end, is in tests/e2e/test_demo.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sciswarm.events import ExperimentsDone, Figures, NoveltyVerdict, Paper
from sciswarm.run.config import ConfigError, load_config
from sciswarm.run.rerun import rerun


def finished_run(tmp_path: Path, *messages: object, status: str = "failed") -> Path:
    """A run folder as a crashed swarm leaves it: run.json (with its config), transcript, one idea's files."""
    (tmp_path / "replies.yaml").write_text("{}")
    (tmp_path / "swarm.yaml").write_text(
        f"runs_dir: {tmp_path / 'runs'}\nmodels: {{default: {{model: scripted, script: replies.yaml}}}}\n"
        "roles: [{name: experimenter}, {name: writer}, {name: reviewer_panel}]\n"
    )
    cfg = load_config(tmp_path / "swarm.yaml")
    run = tmp_path / "runs" / "r1"
    idea = run / "ideas" / "alpha"
    (idea / "workspace" / "run_1").mkdir(parents=True)
    (idea / "workspace" / "run_1" / "final_info.json").write_text('{"toy": {"means": {"score": 1.0}}}')
    (idea / "workspace" / "scores.png").write_bytes(b"\x89PNG")
    (idea / "paper").mkdir()
    (idea / "paper" / "paper_rev0.pdf").write_bytes(b"%PDF")
    (idea / "idea.json").write_text("{}")
    (idea / "reviews.json").write_text("{}")
    (idea / "notes.txt").write_text("# Experiment notes\n## Run 1: x\n\n## Figures\n- scores.png: bars\n")
    (idea / "tree.json").write_text('{"nodes": [], "stages": []}')  # a tree search's record, which the writer reads
    (run / "run.json").write_text(json.dumps({"status": status, "config": cfg.model_dump(mode="json")}))
    lines = [json.dumps({"run_id": "r1", "sender": "x", **m.model_dump(mode="json")}) for m in messages]  # type: ignore[attr-defined]
    (run / "transcript.jsonl").write_text("".join(line + "\n" for line in lines))
    return run


def test_the_stage_starts_from_the_run_s_own_message(tmp_path: Path) -> None:
    sent = Figures(idea_id="alpha", files=["scores.png"], descriptions={"scores.png": "bars"})
    run = finished_run(tmp_path, sent)
    runner, starts = rerun(run, "writer")
    (start,) = starts
    assert isinstance(start, Figures) and start.descriptions == {"scores.png": "bars"} and start.id != sent.id
    new = runner.store.run_dir
    assert new == run.parent / "r1-writer-1" and runner.rerun_of == {"run": "r1", "from": "writer", "ideas": ["alpha"]}
    copied = {p.name for p in (new / "ideas" / "alpha").iterdir()}
    assert copied == {"idea.json", "notes.txt", "workspace", "tree.json"}  # no paper, no reviews: made again
    runner.transcript.close()
    runner2, _ = rerun(run, "writer")
    assert runner2.store.run_dir.name == "r1-writer-2"  # a second rerun gets its own folder
    runner2.transcript.close()


def test_a_crashed_run_gets_the_starting_message_rebuilt_from_its_folder(tmp_path: Path) -> None:
    run = finished_run(tmp_path)  # it died before any of these messages
    runner, (done,) = rerun(run, "plot")
    assert isinstance(done, ExperimentsDone) and done.runs == [1]
    notes = (runner.store.run_dir / "ideas/alpha/notes.txt").read_text()
    assert "## Run 1: x" in notes and "## Figures" not in notes  # the figure stage writes them again
    runner.transcript.close()
    runner, (paper,) = rerun(run, "reviewer")
    assert isinstance(paper, Paper) and paper.pdf == "ideas/alpha/paper/paper_rev0.pdf"
    assert (runner.store.run_dir / paper.pdf).read_bytes() == b"%PDF"
    runner.transcript.close()


def test_clear_errors(tmp_path: Path) -> None:
    run = finished_run(tmp_path, NoveltyVerdict(idea_id="alpha", verdict="not novel", proceed=False))
    with pytest.raises(ConfigError, match="--from must be one of experiments, plot, writer, reviewer"):
        rerun(run, "ideas")
    with pytest.raises(ConfigError, match="no idea named beta"):
        rerun(run, "writer", ideas=["beta"])
    with pytest.raises(ConfigError, match="no idea got as far as the experiments stage"):
        rerun(run, "experiments")  # the only idea was dropped as not novel
