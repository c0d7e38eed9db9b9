"""Runs repeated with seeds: each seed in its own folder with SCISWARM_SEED (and --seed), the aggregate with
mean, std and n; the baseline gets the same seeds; seeds that change nothing, a failing seed, non-finite
metrics are flagged; an idea whose runs all failed gets no paper."""

from __future__ import annotations

import json
import math
from pathlib import Path

from agent_support import Swarm, edit, idea_reply, plan_reply
from support.fake_openai import FakeOpenAI

from sciswarm.agents.experimenter import Experimenter
from sciswarm.agents.ports import Flow
from sciswarm.events import CodeChange, ExperimentRun
from sciswarm.paper.results_table import results_table
from sciswarm.testing import FakeLab, make_context, result

IDEA = "divisor_sweep"


def seeded_lab(score: object = None, fail_seed: int | None = None) -> FakeLab:
    def experiment(workspace: Path, argv: list[str]):  # type: ignore[no-untyped-def]
        opts = dict(a.removeprefix("--").split("=", 1) for a in argv if a.startswith("--"))
        seed = int(opts.get("seed", 0))
        if seed == fail_seed:
            return result(1, stderr="Traceback ...\nRuntimeError: diverged at this seed")
        out = workspace / opts["out_dir"]
        out.mkdir(parents=True, exist_ok=True)  # as templates do: the experimenter may have made it
        value = 0.5 + 0.1 * seed if score is None else score
        (out / "final_info.json").write_text(json.dumps({"toy": {"means": {"score": value}}}))
        (out / "curve.npy").write_text(f"seed {seed}")
        return 0

    return FakeLab(experiment)


def context(tmp_path: Path, lab: FakeLab, seeds: int = 3):  # type: ignore[no-untyped-def]
    ctx, rec = make_context(Experimenter, tmp_path, idea_id="divisor", lab=lab, flow=Flow(seeds=seeds))
    ctx.workspace.mkdir(parents=True)
    (ctx.workspace / "experiment.py").write_text("parser.add_argument('--seed', type=int, default=0)\n")
    ctx.folder.write_plan(["halve the divisor"])
    return ctx, rec


async def test_each_seed_runs_in_its_own_folder_and_the_run_keeps_the_aggregate(tmp_path: Path) -> None:
    lab = seeded_lab()
    ctx, rec = context(tmp_path, lab)
    await Experimenter(ctx).handle(CodeChange(run=1))
    (msg,) = rec.of("experiment_run")
    assert isinstance(msg, ExperimentRun) and msg.ok and msg.error == ""
    assert sorted(lab.seeds) == [0, 1, 2]  # SCISWARM_SEED for each (the lab puts it in the environment)
    assert sorted(argv[-1] for argv, _ in lab.runs) == ["--seed=0", "--seed=1", "--seed=2"]
    assert sorted(label for _, label in lab.runs) == [f"run_1_attempt_1_seed_{s}" for s in range(3)]
    run = ctx.workspace / "run_1"
    info = json.loads((run / "final_info.json").read_text())["toy"]
    assert info["n"] == 3 and info["values"]["score"] == [0.5, 0.6, 0.7]
    assert math.isclose(info["means"]["score"], 0.6) and math.isclose(info["stds"]["score"], 0.1)
    assert msg.results == {"toy": {"score": info["means"]["score"]}}
    assert (run / "curve.npy").read_text() == "seed 0"  # seed 0's outputs, where plot.py looks
    assert "## Run 1: halve the divisor\nResults (mean over 3 seeds)" in ctx.folder.notes()
    assert ctx.folder.run_flags() == {}
    table = results_table(ctx.workspace, [1])
    assert table is not None and "0.600 $\\pm$ 0.100" in table and "over 3 seeds" in table


async def test_a_failing_seed_fails_the_run_and_says_which(tmp_path: Path) -> None:
    ctx, rec = context(tmp_path, seeded_lab(fail_seed=1))
    await Experimenter(ctx).handle(CodeChange(run=1))
    (msg,) = rec.of("experiment_run")
    assert isinstance(msg, ExperimentRun) and not msg.ok
    assert msg.error.startswith("seed 1 of 3: exit code 1") and "diverged at this seed" in msg.error
    assert not (ctx.workspace / "run_1" / "final_info.json").exists()


async def test_seeds_that_change_nothing_and_non_finite_metrics_are_flagged(tmp_path: Path) -> None:
    ctx, rec = context(tmp_path, seeded_lab(score=float("nan")), seeds=2)
    await Experimenter(ctx).handle(CodeChange(run=1, changed=False))
    (msg,) = rec.of("experiment_run")
    assert isinstance(msg, ExperimentRun) and msg.ok  # a diverged run is a result, flagged
    flags = ctx.folder.run_flags()["run_1"]
    assert flags[0] == "the code did not change for this run"
    assert any(f.startswith("seeds ignored: the 2 seeds gave identical results") for f in flags)
    assert "non-finite metrics (NaN or infinite): toy.score" in flags
    assert any("run_1: non-finite metrics" in t for t in rec.logs)
    assert "[WARNING: seeds ignored" in ctx.folder.notes()


def _seed_aware(template: Path) -> None:
    """The tiny template, changed so that its score depends on SCISWARM_SEED (as the shipped ones do)."""
    exp = template / "experiment.py"
    exp.write_text(
        exp.read_text().replace(
            "score = score_of(STEP, DIVISOR)",
            "score = score_of(STEP, DIVISOR) + 0.01 * int(os.environ['SCISWARM_SEED'])",
        )
    )


async def test_real_runs_with_two_seeds_and_a_baseline_with_the_same_seeds(swarm: Swarm, template: Path) -> None:
    _seed_aware(template)
    with FakeOpenAI() as llm:
        llm.add(
            {"match": "Propose the next", "content": idea_reply(IDEA)},
            {"match": "Plan the experiments", "content": plan_reply("Double the divisor.")},
            {"match": "Now implement run 1", "content": edit("experiment.py", "DIVISOR = 2.0", "DIVISOR = 4.0")},
        )
        out = await swarm.run(
            [
                {"name": "ideator", "params": {"num_ideas": 1, "num_reflections": 1}},
                {"name": "novelty_critic"},
                {"name": "coder", "params": {"max_runs": 1, "editable": ["experiment.py"]}},
                {"name": "experimenter"},
            ],
            api_base=llm.api_base,
            flow={"seeds": 2},
        )
    assert out.status == "completed" and not out.of("role_failed"), [r.get("error") for r in out.of("role_failed")]
    ws = out.idea_dir(IDEA) / "workspace"
    baseline = json.loads((ws / "run_0" / "final_info.json").read_text())["toy"]
    run1 = json.loads((ws / "run_1" / "final_info.json").read_text())["toy"]
    assert baseline["values"]["score"] == [0.5, 0.51] and run1["values"]["score"] == [0.25, 0.26]
    assert sorted(p.name for p in (ws / "run_0").glob("seed_*")) == ["seed_0", "seed_1"]
    execs = [r["command"] for r in out.records if r["kind"] == "sandbox_exec"]
    assert ["python", "experiment.py", "--out_dir=run_1/seed_1"] in execs  # no --seed: the script has none
    table = results_table(ws, [0, 1])
    assert table is not None and "0.255 $\\pm$ 0.007$^\\dagger$" in table


async def test_an_idea_whose_runs_all_failed_gets_no_paper(swarm: Swarm) -> None:
    with FakeOpenAI() as llm:
        llm.add(
            {"match": "Propose the next", "content": idea_reply(IDEA)},
            {"match": "Plan the experiments", "content": plan_reply("Divide by zero.")},
            {"match": "Now implement run 1", "content": edit("experiment.py", "DIVISOR = 2.0", "DIVISOR = 0.0")},
        )
        out = await swarm.run(
            [
                {"name": "ideator", "params": {"num_ideas": 1, "num_reflections": 1}},
                {"name": "novelty_critic"},
                {"name": "coder", "params": {"max_runs": 1, "max_attempts": 1, "editable": ["experiment.py"]}},
                {"name": "experimenter"},
                {"name": "writer"},
            ],
            api_base=llm.api_base,
        )
    assert out.status == "failed"
    (failed,) = out.of("role_failed")
    assert failed["role"] == "coder" and "no experiment run succeeded (1 planned" in failed["error"]
    assert not out.of("experiments_done") and not out.of("paper") and not out.of("draft")


async def test_a_run_writing_ai_scientists_shape_with_nested_metrics_is_a_result(tmp_path: Path) -> None:
    def experiment(workspace: Path, argv: list[str]) -> int:
        out = workspace / argv[-1].removeprefix("--out_dir=")
        out.mkdir(parents=True, exist_ok=True)
        info = {
            "shakespeare_char": {
                "means": {"final_train_loss_mean": 0.8083, "probe": {"acc_mean": 0.91}},
                "stderrs": {"final_train_loss_stderr": 0.0042, "probe": {"acc_stderr": 0.012}},
                "final_info_dict": {"final_train_loss": [0.80, 0.81, 0.81]},
            }
        }
        (out / "final_info.json").write_text(json.dumps(info))
        return 0

    ctx, rec = context(tmp_path, FakeLab(experiment), seeds=1)
    await Experimenter(ctx).handle(CodeChange(run=1))
    (msg,) = rec.of("experiment_run")
    assert isinstance(msg, ExperimentRun) and msg.ok, msg.error  # a nested object used to fail the run
    assert msg.results == {"shakespeare_char": {"final_train_loss_mean": 0.8083, "probe.acc_mean": 0.91}}
    table = results_table(ctx.workspace, [1])
    assert table is not None and "0.808 $\\pm$ 0.004 & 0.910 $\\pm$ 0.012" in table
