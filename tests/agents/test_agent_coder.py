"""Coder failure paths on the tiny template, with real runs in the local sandbox: edits that do not apply,
edits of files outside `editable`, and runs whose code did not change."""

from __future__ import annotations

import json
from typing import Any

from agent_support import Swarm, edit, idea_reply, plan_reply
from support.fake_openai import FakeOpenAI

IDEA = "divisor_sweep"


def roles(**coder: Any) -> list[dict[str, Any]]:
    """Ideator -> novelty critic (literature off: 'unknown', proceed) -> coder <-> experimenter (runs only)."""
    return [
        {"name": "ideator", "params": {"num_ideas": 1, "num_reflections": 1}},
        {"name": "novelty_critic"},
        {"name": "coder", "params": {"max_runs": 1, "max_attempts": 2, "editable": ["experiment.py"], **coder}},
        {"name": "experimenter", "subscribes": ["code_change"]},
    ]


NEW_EXPERIMENT = '''"""Rewritten by the coder as a whole file."""

import argparse
import json
import os


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out_dir", type=str, default="run_0")
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, "final_info.json"), "w") as fh:
        json.dump({"toy": {"means": {"score": 0.125}}}, fh)


if __name__ == "__main__":
    main()
'''


async def test_edits_that_do_not_apply_twice_fall_back_to_the_whole_file(swarm: Swarm) -> None:
    out = await swarm.run(
        roles(),
        replies={
            "ideator": [idea_reply(IDEA)],
            "coder": [
                plan_reply("Divide by eight."),
                edit("experiment.py", "DIVISOR = 3.0", "DIVISOR = 8.0"),  # not in the file
                edit("experiment.py", "DIVISOR=2.0", "DIVISOR = 8.0"),  # still not (spacing)
                f"Here is the whole file.\n\n```python\n# file: experiment.py\n{NEW_EXPERIMENT}```\n",
            ],
        },
    )
    assert out.status == "completed" and not out.of("role_failed")
    (change,) = out.of("code_change")
    assert change["mode"] == "whole_file" and change["changed"] is True and change["files"] == ["experiment.py"]
    workspace = out.idea_dir(IDEA) / "workspace"
    assert (workspace / "experiment.py").read_text() == NEW_EXPERIMENT
    assert [c["stage"] for c in out.calls("coder")] == [
        "plan",
        "implement/run_1",
        "edit/run_1/retry",
        "edit/run_1/whole-file",
    ]
    assert any("edits failed twice" in t and "SEARCH text was not found" in t for t in out.logs("warning"))
    (run,) = out.of("experiment_run")
    assert run["ok"] is True and run["results"] == {"toy": {"score": 0.125}}
    assert json.loads((workspace / "run_1" / "final_info.json").read_text()) == {"toy": {"means": {"score": 0.125}}}
    assert out.of("experiments_done")[0]["runs"] == [1]


async def test_edits_outside_editable_are_refused(swarm: Swarm, template: Any) -> None:
    harness = (template / "toylib.py").read_text()
    with FakeOpenAI() as llm:
        sneaky = (
            edit("toylib.py", "    return step / divisor", "    return 1000.0")
            + "\n"
            + edit("../../../../../swarm.yaml", "timeout_s: 30", "timeout_s: 100000")
            + "\n"
            + edit("experiment.py", "DIVISOR = 2.0", "DIVISOR = 4.0")
        )
        llm.add(
            {"match": "Propose the next", "content": idea_reply(IDEA)},
            {"match": "Plan the experiments", "content": plan_reply("Divide by four.")},
            {"match": "Now implement run 1", "content": sneaky},
            {"match": "could not be applied", "content": edit("experiment.py", "DIVISOR = 2.0", "DIVISOR = 4.0")},
        )
        out = await swarm.run(roles(), api_base=llm.api_base)
        requests = list(llm.requests)
    assert out.status == "completed" and not out.of("role_failed")
    workspace = out.idea_dir(IDEA) / "workspace"
    # nothing of the refused reply was applied, not even its allowed block (all or nothing)
    assert (workspace / "toylib.py").read_text() == harness
    config = swarm.config_path.read_text()  # the run spec's source: the SEARCH text is there, untouched
    assert "  timeout_s: 30\n" in config and "100000" not in config
    retry = json.dumps(requests[-1]["messages"][-1])
    assert "you may only edit experiment.py, not 'toylib.py'" in retry
    assert "not '../../../../../swarm.yaml'" in retry
    (change,) = out.of("code_change")
    assert change["mode"] == "edits" and change["changed"] is True
    (run,) = out.of("experiment_run")
    assert run["ok"] is True and run["results"] == {"toy": {"score": 0.25}}  # 1 / 4 through the intact harness


async def test_a_run_whose_code_did_not_change_is_flagged(swarm: Swarm) -> None:
    out = await swarm.run(
        roles(),
        replies={
            "ideator": [idea_reply(IDEA)],
            "coder": [
                plan_reply("Keep the divisor."),
                edit("experiment.py", "DIVISOR = 2.0", "DIVISOR = 2.0", preface="NOTES: nothing to change."),
            ],
        },
    )
    assert out.status == "completed" and not out.of("role_failed")
    (change,) = out.of("code_change")
    assert change["changed"] is False and change["mode"] == "edits"
    assert any("run_1 attempt 1: the code did not change" in t for t in out.logs("warning"))
    (run,) = out.of("experiment_run")
    assert run["ok"] is True and run["results"] == {"toy": {"score": 0.5}}
    notes = (out.idea_dir(IDEA) / "notes.txt").read_text()
    assert "## Run 1: Keep the divisor. [WARNING: the code did not change for this run]" in notes


async def test_all_completed_before_any_run_fails_the_coder_saying_so(swarm: Swarm) -> None:
    # what Qwen2.5-Coder-0.5B did on the default swarm: a plan, then "ALL_COMPLETED" as its first implementation
    out = await swarm.run(
        roles(),
        replies={"ideator": [idea_reply(IDEA)], "coder": [plan_reply("Divide by four."), "ALL_COMPLETED"]},
    )
    assert out.status == "failed" and not out.of("code_change")
    (failed,) = out.of("role_failed")
    assert failed["role"] == "coder"
    assert "replied ALL_COMPLETED to the first planned run, before any experiment ran" in failed["error"]
