"""Role unit tests on the test kit: a context without a swarm, a scripted or function model, a fake lab.
Each runs in milliseconds."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from agent_support import idea_reply

from sciswarm.agents.experimenter import Experimenter
from sciswarm.agents.ideator import Ideator
from sciswarm.agents.novelty import NoveltyCritic
from sciswarm.agents.ports import Flow
from sciswarm.errors import SetupError
from sciswarm.events import CodeChange, ExperimentRun, Idea, Start
from sciswarm.llm import ChatMessage, LiteLLMClient, ModelHandle
from sciswarm.testing import FakeLab, make_context, result
from sciswarm.testing.guard import LiveModelCall

IDEA = Idea(idea_id="divisor", name="divisor", title="T", experiment="E", interestingness=5, feasibility=5, novelty=5)


async def test_ideator_publishes_ideas_into_their_own_folders(tmp_path: Path) -> None:
    started = time.monotonic()
    replies = iter([idea_reply("first"), idea_reply("first")])
    prompts: list[str] = []

    def model(messages: list[ChatMessage]) -> str:
        prompts.append(messages[-1].content)
        return next(replies)

    ctx, rec = make_context(
        Ideator,
        tmp_path,
        params={"num_ideas": 2, "num_reflections": 1},
        model=model,
        idea_id="swarm",
        flow=Flow(goal="Make MLPs learn faster.", max_ideas=5),
    )
    await Ideator(ctx).handle(Start())
    assert [m.idea_id for m in rec.of("idea")] == ["first"]  # the second reply repeats a name: rejected
    assert any("duplicate idea name" in t for t in rec.logs)
    assert json.loads((tmp_path / "ideas/first/idea.json").read_text())["generation"] == 1
    assert "Make MLPs learn faster." in prompts[0]  # no template: the swarm's goal is the task
    assert "- first: A Study of first" in prompts[1]  # the second idea sees the first in the archive
    assert [c.stage for c in rec.calls] == ["idea", "idea"] and all(c.scripted for c in rec.calls)
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize("proceed", [True, False])
async def test_novelty_without_literature_is_unknown_and_follows_the_flow(tmp_path: Path, proceed: bool) -> None:
    ctx, rec = make_context(NoveltyCritic, tmp_path, idea_id="divisor", flow=Flow(proceed_on_unknown_novelty=proceed))
    await NoveltyCritic(ctx).handle(IDEA)
    (verdict,) = rec.of("novelty")
    assert verdict.verdict == "unknown" and verdict.proceed is proceed  # type: ignore[attr-defined]
    assert ctx.folder.novelty() == {
        "verdict": "unknown",
        "reason": "literature search is disabled in this swarm",
        "compared": [],
        "proceed": proceed,
    }
    assert not rec.calls  # decided without the model


async def test_experimenter_runs_through_the_lab_and_reports_results_and_failures(tmp_path: Path) -> None:
    def experiment(workspace: Path, argv: list[str]):  # type: ignore[no-untyped-def]
        out = workspace / argv[-1].split("=", 1)[1]
        if out.name == "run_2":
            return result(1, stderr="Traceback ...\nIndexError: list index out of range")
        out.mkdir(parents=True)
        (out / "final_info.json").write_text(json.dumps({"toy": {"means": {"score": 0.75}}}))
        return 0

    lab = FakeLab(experiment)
    ctx, rec = make_context(Experimenter, tmp_path, idea_id="divisor", lab=lab)
    ctx.workspace.mkdir(parents=True)
    ctx.folder.write_plan(["halve the divisor", "zero the divisor"])
    role = Experimenter(ctx)
    await role.handle(CodeChange(run=1))
    await role.handle(CodeChange(run=2))
    ok, failed = rec.of("experiment_run")
    assert isinstance(ok, ExperimentRun) and ok.ok and ok.results == {"toy": {"score": 0.75}}
    assert isinstance(failed, ExperimentRun) and not failed.ok and "IndexError" in failed.error
    assert [label for _, label in lab.runs] == ["run_1_attempt_1", "run_2_attempt_1"]
    notes = ctx.folder.notes()
    assert "## Run 1: halve the divisor" in notes and "## Run 2 attempt 1 FAILED" in notes


async def test_a_role_without_a_lab_gets_a_setup_error(tmp_path: Path) -> None:
    ctx, _ = make_context(Experimenter, tmp_path)
    with pytest.raises(SetupError, match="no sandbox"):
        await Experimenter(ctx).handle(CodeChange(run=1))


async def test_the_guard_refuses_a_real_provider_call() -> None:
    handle = ModelHandle(LiteLLMClient("anthropic/claude-sonnet-4-5", api_key="sk-x"), "r", "i")
    with pytest.raises(LiveModelCall, match="a test called the real model"):
        await handle.ask("hello")
    elsewhere = ModelHandle(LiteLLMClient("openai/gpt-4o-mini", api_base="https://api.example.com/v1"), "r", "i")
    with pytest.raises(LiveModelCall, match=r"api\.example\.com"):
        await elsewhere.ask("hello")
