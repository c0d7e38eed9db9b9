"""Coder <-> experimenter loop in the local sandbox: a crash is fed back and fixed; a timeout is recorded."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from agent_support import Swarm, edit, idea_reply, plan_reply
from support.fake_openai import FakeOpenAI

IDEA = "divisor_sweep"
IDEATOR = {"name": "ideator", "params": {"num_ideas": 1, "num_reflections": 1}}


async def test_crash_stderr_goes_back_to_the_coder_whose_fix_succeeds(swarm: Swarm) -> None:
    with FakeOpenAI() as llm:
        llm.add(
            {"match": "Propose the next", "content": idea_reply(IDEA)},
            {"match": "Plan the experiments", "content": plan_reply("Divide by zero, boldly.")},
            {"match": "Now implement run 1", "content": edit("experiment.py", "DIVISOR = 2.0", "DIVISOR = 0.0")},
            {
                "match": "Fix experiment.py",
                "content": edit("experiment.py", "DIVISOR = 0.0", "DIVISOR = 4.0", preface="Avoid the zero."),
            },
            {
                "match": "one of the figures that plot.py made",
                "content": '{"description": "Bar chart of the score of each run.", "readable": true, '
                '"matches_intent": true, "problems": []}',
            },
        )
        out = await swarm.run(
            [
                IDEATOR,
                {"name": "novelty_critic"},
                {"name": "coder", "params": {"max_runs": 1, "max_attempts": 3, "editable": ["experiment.py"]}},
                {"name": "experimenter"},
            ],
            api_base=llm.api_base,
        )
        requests = list(llm.requests)
    assert out.status == "completed" and not out.of("role_failed")
    first, second = out.of("experiment_run")
    assert (first["attempt"], first["ok"], first["exit_code"], first["timed_out"]) == (1, False, 1, False)
    assert "ZeroDivisionError: float division by zero" in first["error"]
    assert 'toylib.py", line' in first["error"]  # the traceback (stderr tail), not just a status
    # the coder's fix request carried the crash's stderr
    (fix,) = [r for r in requests if "Fix experiment.py" in json.dumps(r["messages"])]
    prompt = fix["messages"][-1]["content"]
    assert "Run 1 (attempt 1) failed" in prompt and "ZeroDivisionError: float division by zero" in prompt
    assert "DIVISOR = 0.0" in prompt  # with the current code
    # second attempt succeeds with valid results
    assert (second["attempt"], second["ok"], second["exit_code"]) == (2, True, 0)
    assert second["results"] == {"toy": {"score": 0.25}}
    workspace = out.idea_dir(IDEA) / "workspace"
    assert json.loads((workspace / "run_1" / "final_info.json").read_text()) == {"toy": {"means": {"score": 0.25}}}
    assert [c["attempt"] for c in out.of("code_change")] == [1, 2]
    notes = (out.idea_dir(IDEA) / "notes.txt").read_text()
    assert "## Run 1 attempt 1 FAILED" in notes and "## Run 1: Divide by zero, boldly." in notes
    assert out.of("experiments_done")[0]["runs"] == [1]
    (figures,) = out.of("figures")
    assert figures["files"] == ["scores.png"] and (workspace / "scores.png").read_bytes().startswith(b"\x89PNG")
    execs = out.of("sandbox_exec")
    assert [e["command"][-1] for e in execs] == ["--out_dir=run_0", "--out_dir=run_1", "--out_dir=run_1", "plot.py"]
    assert all(e["provider"] == "local" for e in execs)
    # the lab's slots on the record: each run starts and ends (one after the other here: nothing queued)
    slots = [(r["change"], r["busy"], r["queued"]) for r in out.of("slots")]
    assert slots == [("started", 1, 0), ("ended", 0, 0)] * len(execs)
    assert any("provider openai@http://127.0.0.1" in r["text"] for r in out.of("log"))  # each model's bounds


@pytest.mark.slow
async def test_a_run_past_the_timeout_is_recorded_and_the_coder_stops_after_max_attempts(swarm: Swarm) -> None:
    sleepy = "DIVISOR = 2.0\nimport time\n\ntime.sleep(60)"
    coder: dict[str, Any] = {"max_runs": 1, "max_attempts": 2, "editable": ["experiment.py"]}
    started = time.monotonic()
    out = await swarm.run(
        [
            IDEATOR,
            {"name": "novelty_critic"},
            {"name": "coder", "params": coder},
            {"name": "experimenter", "subscribes": ["code_change"]},
        ],
        replies={
            "ideator": [idea_reply(IDEA)],
            "coder": [
                plan_reply("Wait for the score to ripen."),
                edit("experiment.py", "DIVISOR = 2.0", sleepy),
                edit("experiment.py", "time.sleep(60)", "time.sleep(30)", preface="Sleep less."),
            ],
        },
        sandbox={"timeout_s": 2},
    )
    elapsed = time.monotonic() - started
    # every run failed: the idea ends failed, with the coder's stage-contract error, and nothing is written up
    assert out.status == "failed"
    (failed,) = out.of("role_failed")
    assert failed["role"] == "coder" and "no experiment run succeeded (1 planned" in failed["error"]
    runs = out.of("experiment_run")
    assert [(r["attempt"], r["ok"], r["timed_out"]) for r in runs] == [(1, False, True), (2, False, True)]
    for r in runs:
        assert r["error"].startswith("timed out after 2 s") and 1.5 < r["wall_s"] < 10
    assert elapsed < 25  # two 2-s timeouts, not two 60-s sleeps
    assert len(out.calls("coder")) == 3  # plan, implement, one fix: max_attempts=2 bounds the fixes
    assert any("run_1 failed 2 times; moving on" in t for t in out.logs("warning"))
    assert not out.of("experiments_done")
    assert not (out.idea_dir(IDEA) / "workspace" / "run_1" / "final_info.json").exists()
    notes = (out.idea_dir(IDEA) / "notes.txt").read_text()
    assert notes.count("FAILED: timed out after 2 s") == 2
