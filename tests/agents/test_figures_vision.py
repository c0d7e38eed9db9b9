"""The experimenter's figures, seen by a vision model: the PNGs reach the model as OpenAI image parts, its
problems drive plot.py's fix loop, and its descriptions are what the notes and the Figures message carry."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from agent_support import TINY_TEMPLATE, Swarm, edit
from support.fake_openai import FakeOpenAI

from sciswarm.agents.experimenter import Experimenter
from sciswarm.agents.figures import FigureCheck
from sciswarm.agents.prompting import Prompts
from sciswarm.events import ExperimentsDone, Figures
from sciswarm.llm import ChatMessage, LiteLLMClient, ModelCallError
from sciswarm.run.config import ConfigError, load_config
from sciswarm.run.runner import SwarmRunner
from sciswarm.testing import FakeLab, make_context, result

IDEA = "divisor_study"
MORE_RUNS = edit("plot.py", '    "run_0": "Baseline",', '    "run_0": "Baseline",\n    "run_1": "Divisor 4",')


def check(description: str, *problems: str, readable: bool = True, matches: bool = True) -> str:
    return json.dumps(
        {"description": description, "readable": readable, "matches_intent": matches, "problems": list(problems)}
    )


def workspace(run_dir: Path) -> Path:
    """The idea's workspace as the coder leaves it: the tiny template with run_0 and run_1 done."""
    ws = run_dir / "ideas" / IDEA / "workspace"
    shutil.copytree(TINY_TEMPLATE, ws)
    for run, score in [(0, 0.5), (1, 0.25)]:
        (ws / f"run_{run}").mkdir()
        (ws / f"run_{run}" / "final_info.json").write_text(json.dumps({"toy": {"means": {"score": score}}}))
    (run_dir / "ideas" / IDEA / "plan.json").write_text(json.dumps(["Divide by four."]))
    (run_dir / "ideas" / IDEA / "idea.json").write_text(json.dumps({"Title": "The Divisor Decides"}))
    return ws


def real_plot(ws: Path, argv: list[str]) -> Any:
    """The lab plays plot.py by really running it (stdlib only) in the workspace."""
    proc = subprocess.run([sys.executable, *argv[1:]], cwd=ws, capture_output=True, text=True, timeout=60)
    return result(proc.returncode, stderr=proc.stderr)


class Model:
    """A function model: answers from a queue and keeps every request (messages with their images)."""

    def __init__(self, *replies: str) -> None:
        self.replies = list(replies)
        self.requests: list[list[ChatMessage]] = []

    def __call__(self, messages: list[ChatMessage]) -> str:
        self.requests.append(list(messages))
        if not self.replies:
            raise ModelCallError("no reply left")
        return self.replies.pop(0)

    @property
    def prompts(self) -> list[str]:
        return [r[-1].content for r in self.requests]


def stage(tmp_path: Path, *, text: Model, vision: Model, attempts: int = 3) -> tuple[Any, Any, FakeLab, Path]:
    ws = workspace(tmp_path)
    lab = FakeLab(real_plot)
    ctx, rec = make_context(
        Experimenter,
        tmp_path,
        idea_id=IDEA,
        model=text,
        vision=vision,
        lab=lab,
        params={"plot_fix_attempts": attempts},
    )
    return ctx, rec, lab, ws


# ---- (a) the PNG reaches an OpenAI-compatible server as an image part, through LiteLLM and the wiring ----------
async def test_the_png_reaches_the_vision_model_as_an_openai_image_part(swarm: Swarm) -> None:
    seen = "One blue bar for the baseline run_0 on a white background; no axes, labels or legend."
    seed = {
        "name": "seed",
        "use": "agent_support:Seed",
        "params": {
            "files": {
                f"ideas/{IDEA}/idea.json": json.dumps({"Title": "The Divisor Decides"}),
                f"ideas/{IDEA}/workspace/plot.py": (TINY_TEMPLATE / "plot.py").read_text(),
                f"ideas/{IDEA}/workspace/run_0/final_info.json": json.dumps({"toy": {"means": {"score": 0.5}}}),
            },
            "messages": [{"kind": "experiments_done", "idea_id": IDEA, "runs": []}],
        },
    }
    with FakeOpenAI() as llm:
        llm.add({"match": "one of the figures that plot.py made", "content": check(seen)})
        path = swarm.write_config([seed, {"name": "experimenter"}], replies={"experimenter": []})
        data = yaml.safe_load(path.read_text())
        data["models"]["eyes"] = {"model": "openai/gpt-4o-mini", "api_base": llm.api_base, "max_retries": 0}
        data["vision_model"] = "eyes"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        runner = SwarmRunner(load_config(path), run_id="t-vision-http")
        await runner.run(handle_signals=False)
        requests = list(llm.requests)
    ws = runner.store.run_dir / "ideas" / IDEA / "workspace"
    png = (ws / "scores.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    (request,) = requests
    assert request["model"] == "gpt-4o-mini"
    user = request["messages"][-1]
    assert user["role"] == "user" and isinstance(user["content"], list)
    text, image = user["content"]
    assert text["type"] == "text" and "scores.png" in text["text"] and '"run_0": "Baseline"' in text["text"]
    assert image["type"] == "image_url" and set(image["image_url"]) == {"url"}
    prefix = "data:image/png;base64,"
    assert image["image_url"]["url"].startswith(prefix)
    assert base64.b64decode(image["image_url"]["url"][len(prefix) :]) == png
    transcript = [json.loads(line) for line in (runner.store.run_dir / "transcript.jsonl").read_text().splitlines()]
    (figures,) = [r for r in transcript if r["kind"] == "figures"]
    assert figures["files"] == ["scores.png"] and figures["descriptions"] == {"scores.png": seen}
    assert f"- scores.png: {seen}" in (runner.store.run_dir / "ideas" / IDEA / "notes.txt").read_text()
    calls = [r for r in transcript if r["kind"] == "model_call"]
    assert [(c["sender"], c["stage"], c["model"]) for c in calls] == [
        ("experimenter", "check_figure", "openai/gpt-4o-mini")
    ]


# ---- (b) a figure the vision model finds wrong goes back to plot.py's fix loop ------------------------------
async def test_a_mismatched_figure_is_fixed_replotted_and_checked_again(tmp_path: Path) -> None:
    first = "One bar for the baseline only; the divisor run is missing."
    second = "Two bars, the baseline (0.5) and divisor 4 (0.25): dividing by four halves the score."
    vision = Model(check(first, "run_1 is not plotted: there is only one bar", matches=False), check(second))
    text = Model(MORE_RUNS)
    ctx, rec, lab, ws = stage(tmp_path, text=text, vision=vision)
    await Experimenter(ctx).handle(ExperimentsDone(runs=[1]))

    assert [label for _, label in lab.runs] == ["plot_attempt_1", "plot_attempt_2"]
    # each check carried the PNG as it was then: one bar, then two
    images = [r[-1].images for r in vision.requests]
    assert all(len(i) == 1 and isinstance(i[0], bytes) and i[0].startswith(b"\x89PNG") for i in images)
    assert images[0] != images[1] and images[1][0] == (ws / "scores.png").read_bytes()
    assert "scores.png" in vision.prompts[0] and "Divide by four." in vision.prompts[0]
    # the fix request carried the vision model's problem and the current plot.py; the fix was applied
    (fix,) = text.prompts
    assert "run_1 is not plotted: there is only one bar" in fix and '"run_0": "Baseline",' in fix
    assert '"run_1": "Divisor 4"' in (ws / "plot.py").read_text()
    assert [c.stage for c in rec.calls] == ["check_figure", "plot_fix", "check_figure"]
    (figures,) = rec.of("figures")
    assert isinstance(figures, Figures)
    assert figures.files == ["scores.png"] and figures.descriptions == {"scores.png": second}
    notes = ctx.folder.notes()
    assert f"- scores.png: {second}" in notes and first not in notes and "PROBLEMS" not in notes
    assert not [t for t in rec.traces if getattr(t, "level", "") == "warning"]


async def test_a_crash_is_fixed_first_then_the_figure_is_checked(tmp_path: Path) -> None:
    seen = "Two bars: the baseline and divisor 4."
    vision = Model(check(seen))
    text = Model(edit("plot.py", "def main():\n    1 / 0\n", "def main():\n") + "\n" + MORE_RUNS)
    ctx, rec, _lab, ws = stage(tmp_path, text=text, vision=vision)
    (ws / "plot.py").write_text((ws / "plot.py").read_text().replace("def main():\n", "def main():\n    1 / 0\n"))
    await Experimenter(ctx).handle(ExperimentsDone(runs=[1]))
    assert "Running `python plot.py` failed" in text.prompts[0] and "ZeroDivisionError" in text.prompts[0]
    assert [c.stage for c in rec.calls] == ["plot_fix", "check_figure"]
    assert rec.of("figures")[0].descriptions == {"scores.png": seen}  # type: ignore[attr-defined]


# ---- (c) attempts run out: the figure is kept, its problems recorded -----------------------------------------
async def test_a_figure_still_failing_after_the_last_fix_is_kept_with_its_problems(tmp_path: Path) -> None:
    seen = "A single bar with no axis, no tick labels and no legend."
    unreadable = check(seen, "no axis labels or units", "no legend naming the runs", readable=False)
    vision = Model(unreadable, unreadable)  # the fix changes the PNG, so it is looked at twice
    text = Model(MORE_RUNS)
    ctx, rec, lab, ws = stage(tmp_path, text=text, vision=vision, attempts=1)
    await Experimenter(ctx).handle(ExperimentsDone(runs=[1]))

    assert len(lab.runs) == 2 and len(text.requests) == 1  # one fix: plot_fix_attempts bounds it
    assert [c.stage for c in rec.calls] == ["check_figure", "plot_fix", "check_figure"]
    (figures,) = rec.of("figures")
    assert isinstance(figures, Figures) and figures.files == ["scores.png"]
    assert (ws / "scores.png").exists()
    assert figures.descriptions["scores.png"].startswith(seen)
    assert "no legend naming the runs" in figures.descriptions["scores.png"]
    notes = ctx.folder.notes()
    assert f"- scores.png: {seen}" in notes
    assert "PROBLEMS still present after 1 plot fixes: no axis labels or units; no legend naming the runs" in notes
    warnings = [t.text for t in rec.traces if getattr(t, "level", "") == "warning"]  # type: ignore[attr-defined]
    assert any("scores.png still has problems after 1 plot fixes" in w for w in warnings)


async def test_an_unchanged_figure_is_not_shown_again_and_zero_attempts_means_no_fix(tmp_path: Path) -> None:
    vision = Model(check("One bar.", "too small to read"))
    text = Model()
    ctx, _rec, lab, _ws = stage(tmp_path, text=text, vision=vision, attempts=0)
    await Experimenter(ctx).handle(ExperimentsDone(runs=[1]))
    assert len(lab.runs) == 1 and not text.requests and len(vision.requests) == 1
    assert "PROBLEMS still present after 0 plot fixes: too small to read" in ctx.folder.notes()


async def test_a_vision_model_that_cannot_answer_leaves_the_figure_unchecked_not_fixed(tmp_path: Path) -> None:
    vision, text = Model(), Model()  # the vision model fails (no reply)
    ctx, rec, lab, _ws = stage(tmp_path, text=text, vision=vision)
    await Experimenter(ctx).handle(ExperimentsDone(runs=[1]))
    assert len(lab.runs) == 1 and not text.requests  # plot.py is not blamed for the model's failure
    (figures,) = rec.of("figures")
    assert figures.files == ["scores.png"] and figures.descriptions == {}  # type: ignore[attr-defined]
    assert "- scores.png: (not checked: the vision model could not look at it" in ctx.folder.notes()
    assert any("could not be looked at by the vision model" in text for text in rec.logs)


def test_failed_judgements_are_said_even_without_listed_problems() -> None:
    assert FigureCheck(description="d", readable=True, matches_intent=True).passed
    bad = FigureCheck(description="d", readable=False, matches_intent=False)
    assert not bad.passed and bad.all_problems() == ["the axes, labels, legend or units are not readable"]


# ---- config: vision_model is a models: name or a LiteLLM string; default: the role's own model ---------------
def runner_for(tmp_path: Path, **top: Any) -> SwarmRunner:
    script = tmp_path / "replies.yaml"
    script.write_text("{}\n")
    data: dict[str, Any] = {
        "runs_dir": str(tmp_path / "runs"),
        "models": {"default": {"model": "scripted", "script": str(script)}, "eyes": "openai/gpt-4o"},
        "roles": [{"name": "experimenter"}],
        **top,
    }
    path = tmp_path / "swarm.yaml"
    path.write_text(yaml.safe_dump(data))
    return SwarmRunner(load_config(path), run_id="t-vision-config")


@pytest.mark.parametrize(
    ("vision_model", "expected"),
    [(None, "scripted:replies.yaml"), ("eyes", "openai/gpt-4o"), ("anthropic/claude-sonnet-4-5", None)],
)
def test_the_models_port_gives_the_vision_model(tmp_path: Path, vision_model: str | None, expected: str | None) -> None:
    runner = runner_for(tmp_path, **({"vision_model": vision_model} if vision_model else {}))
    (rr,) = runner.roles
    ctx = runner.wiring.context(rr, "idea", Prompts.load("experimenter"))
    assert ctx.models is not None
    handle = ctx.models.vision()
    assert handle is not None and (handle.role, handle.idea_id) == ("experimenter", "idea")
    if vision_model is None:
        assert handle.client is ctx.model.client  # the role's own model
    elif vision_model == "eyes":
        assert handle.client is runner.clients["eyes"]
    else:
        assert isinstance(handle.client, LiteLLMClient) and handle.client.model == vision_model
    if expected is not None:
        assert handle.client.name == expected


def test_a_scripted_vision_model_must_be_a_models_entry(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="vision_model: a scripted model needs a models: entry"):
        runner_for(tmp_path, vision_model="scripted")
