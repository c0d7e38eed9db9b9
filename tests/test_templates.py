"""The research-template contract: loading, checking, copying; the shipped templates end to end."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sciswarm.cli.template import app
from sciswarm.sandboxes.base import RunResult, RunSpec
from sciswarm.templates import (
    FinalInfoError,
    TemplateError,
    TemplateReport,
    check_template,
    check_template_async,
    copy_template,
    fill_section,
    load_template,
    sandbox_runner,
    section_placeholders,
    validate_final_info,
)

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
REAL = ["2d_diffusion", "grokking"]


# --- a minimal AI-Scientist-style template, written from scratch -------------------------------------

EXPERIMENT = """\
import argparse, json, os
from helper import square

parser = argparse.ArgumentParser()
parser.add_argument("--out_dir", type=str, default="run_0")
args = parser.parse_args()
os.makedirs(args.out_dir, exist_ok=True)
with open("data.txt") as f:
    xs = [float(line) for line in f]
with open(os.path.join(args.out_dir, "final_info.json"), "w") as f:
    json.dump({"toy": {"means": {"sum_sq": sum(square(x) for x in xs), "n": len(xs)}}}, f)
"""

PLOT = """\
import json, os
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

labels = {"run_0": "Baseline"}

values = [json.load(open(os.path.join(r, "final_info.json")))["toy"]["means"]["sum_sq"] for r in labels]
plt.bar(list(labels.values()), values)
plt.savefig("bars.png")
"""

TEX = r"""\documentclass{article}
\begin{document}
\section{Introduction}
INTRO HERE \cite{a}
\begin{thebibliography}{1}
\bibitem{a} A. Author. A paper. 2020.
\end{thebibliography}
\end{document}
"""


def write_minimal_template(root: Path, *, experiment: str = EXPERIMENT) -> Path:
    (root / "latex").mkdir(parents=True)
    (root / "experiment.py").write_text(experiment)
    (root / "plot.py").write_text(PLOT)
    (root / "helper.py").write_text("def square(x):\n    return x * x\n")
    (root / "data.txt").write_text("1\n2\n3\n")
    (root / "prompt.json").write_text(json.dumps({"system": "You are a scientist.", "task_description": "Toy."}))
    idea = {
        "Name": "toy",
        "Title": "A toy idea",
        "Experiment": "Sum squares.",
        "Interestingness": 2,
        "Feasibility": 10,
        "Novelty": 1,
    }
    (root / "seed_ideas.json").write_text(json.dumps([idea]))
    (root / "latex" / "template.tex").write_text(TEX)
    return root


@pytest.fixture
def minimal(tmp_path: Path) -> Path:
    return write_minimal_template(tmp_path / "toy")


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A world-traversable folder for a kept workspace: the baseline runs in the sandbox (docker, or the local
    provider's unprivileged uid, which cannot traverse pytest's 0700 tmp_path)."""
    path = Path(tempfile.mkdtemp(prefix="sciswarm-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def status(report: TemplateReport, name: str) -> str:
    return next(c.status for c in report.checks if c.name == name)


def detail(report: TemplateReport, name: str) -> str:
    return next(c.detail for c in report.checks if c.name == name)


# --- the shipped templates -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", REAL)
def test_real_templates_pass_static_checks(name: str) -> None:
    report = check_template(TEMPLATES / name, run_baseline=False)
    assert report.ok, report.errors
    assert not report.warnings, report.warnings
    template = report.template
    assert template is not None
    assert template.prompt.system and template.prompt.task_description
    assert 2 <= len(template.seed_ideas) <= 3
    assert [p.name for p in template.bibliography] == ["references.bib"]
    blocks = section_placeholders(template.latex_template.read_text())
    assert list(blocks) == [
        "Title",
        "Abstract",
        "Introduction",
        "Related Work",
        "Background",
        "Method",
        "Experimental Setup",
        "Results",
        "Conclusion",
    ]
    assert all("HERE" in body for body in blocks.values())


def test_diffusion_helper_is_an_extra_file() -> None:
    template = load_template(TEMPLATES / "2d_diffusion")
    assert "toy_datasets.py" in template.extra_files
    assert "latex/references.bib" not in template.extra_files


@pytest.mark.slow
@pytest.mark.parametrize("name", REAL)
def test_real_template_baseline_end_to_end(name: str, open_dir: Path) -> None:
    report = check_template(TEMPLATES / name, run_baseline=True, timeout_s=300, workspace=open_dir / "ws")
    assert report.ok, report.errors
    assert report.final_info
    expected = {"2d_diffusion": {"circle", "dino", "line", "moons"}, "grokking": {"x_plus_y", "x_minus_y", "x_div_y"}}
    assert set(report.final_info) == expected[name]
    figures = {"2d_diffusion": {"train_loss.png", "generated_samples.png"}, "grokking": {"grokking_curves.png"}}
    assert figures[name] <= set(report.figures)
    for fig in report.figures:
        assert (open_dir / "ws" / fig).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (open_dir / "ws" / "run_0" / "all_results.npy").is_file()
    assert report.baseline_wall_s is not None and report.baseline_wall_s < 120
    metrics = next(iter(report.final_info.values()))
    if name == "2d_diffusion":
        assert {"training_time", "eval_loss", "inference_time", "kl_divergence"} <= set(metrics)
        assert all(m["kl_divergence"] < 0.5 for m in report.final_info.values())  # it learned the data
    else:
        assert {"final_train_acc", "final_val_acc", "step_val_acc_99"} <= set(metrics)
        assert report.final_info["x_plus_y"]["reached_val_acc_99"] == 1.0


@pytest.mark.latex
@pytest.mark.parametrize("name", REAL)
def test_latex_template_compiles(name: str, tmp_path: Path) -> None:
    if not (shutil.which("pdflatex") and shutil.which("bibtex")):
        pytest.skip("pdflatex/bibtex not installed")
    work = shutil.copytree(TEMPLATES / name / "latex", tmp_path / "latex")
    steps = [["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "template.tex"], ["bibtex", "template"]]
    steps += [steps[0], steps[0]]
    for argv in steps:
        proc = subprocess.run(argv, cwd=work, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, f"{argv[0]} failed:\n{proc.stdout[-3000:]}"
    assert (work / "template.pdf").stat().st_size > 10_000
    log = (work / "template.log").read_text(errors="replace")
    assert "undefined" not in log.lower()  # citations and references resolved
    assert "\\bibitem" in (work / "template.bbl").read_text()


# --- an AI-Scientist-style template is accepted unmodified --------------------------------------------


def test_minimal_template_accepted_with_baseline(minimal: Path, open_dir: Path) -> None:
    report = check_template(minimal, run_baseline=True, timeout_s=60, workspace=open_dir / "ws")
    assert report.ok, report.errors
    # the pipeline's sandbox (provider auto): docker when the engine answers, else local, labelled as such
    assert (status(report, "sandbox"), detail(report, "sandbox")) in {
        ("pass", "docker (isolated), image sciswarm-exp:latest"),
        ("warn", "local (NOT isolated): directly on this host"),
    }
    assert status(report, "bibliography") == "pass"
    assert status(report, "placeholders") == "warn"  # no markers: fine, the writer uses \section
    assert report.final_info == {"toy": {"sum_sq": 14.0, "n": 3.0}}
    assert report.figures == ["bars.png"]
    assert report.template is not None
    assert sorted(report.template.extra_files) == ["data.txt", "helper.py"]
    assert (open_dir / "ws" / "helper.py").is_file()


def test_copy_template_carries_extras_and_skips_runs(minimal: Path, tmp_path: Path) -> None:
    (minimal / "run_0").mkdir()
    (minimal / "run_0" / "final_info.json").write_text("{}")
    (minimal / "__pycache__").mkdir()
    (minimal / "__pycache__" / "helper.cpython-311.pyc").write_bytes(b"\0")
    (minimal / "assets" / "nested").mkdir(parents=True)
    (minimal / "assets" / "nested" / "table.csv").write_text("a,b\n")
    dst = copy_template(minimal, tmp_path / "workspace")
    copied = sorted(p.relative_to(dst).as_posix() for p in dst.rglob("*") if p.is_file())
    assert copied == [
        "assets/nested/table.csv",
        "data.txt",
        "experiment.py",
        "helper.py",
        "latex/template.tex",
        "plot.py",
        "prompt.json",
        "seed_ideas.json",
    ]
    with pytest.raises(TemplateError, match="into itself"):
        copy_template(minimal, minimal / "inside")


# --- broken templates are rejected with clear messages ------------------------------------------------


def test_missing_prompt_key_is_named(minimal: Path) -> None:
    (minimal / "prompt.json").write_text(json.dumps({"system": "x"}))
    report = check_template(minimal, run_baseline=False)
    assert not report.ok
    assert status(report, "prompt.json") == "fail"
    assert any("task_description" in e and "Field required" in e for e in report.errors)
    with pytest.raises(TemplateError, match="task_description"):
        load_template(minimal)


def test_bad_seed_idea_is_named(minimal: Path) -> None:
    ideas = json.loads((minimal / "seed_ideas.json").read_text())
    ideas.append({**ideas[0], "Name": "second", "Novelty": 11})
    ideas.append({k: v for k, v in ideas[0].items() if k != "Title"} | {"Feasibility": "high"})
    (minimal / "seed_ideas.json").write_text(json.dumps(ideas))
    report = check_template(minimal, run_baseline=False)
    assert status(report, "seed_ideas.json") == "fail"
    message = " ".join(report.errors)
    assert "idea 1 ('second'): Novelty: Input should be less than or equal to 10" in message
    assert "idea 2 ('toy'): Title: Field required" in message
    assert "Feasibility: Input should be a valid integer" in message


def test_missing_files_and_bibliography(minimal: Path) -> None:
    (minimal / "plot.py").unlink()
    (minimal / "latex" / "template.tex").write_text("\\documentclass{article}\\begin{document}x\\end{document}")
    report = check_template(minimal, run_baseline=False)
    assert "files: missing: plot.py" in report.errors
    assert any("has no bibliography" in e for e in report.errors)


def test_bibliography_beside_or_in_filecontents(minimal: Path) -> None:
    tex = minimal / "latex" / "template.tex"
    tex.write_text("\\documentclass{article}\\begin{document}\\bibliography{refs}\\end{document}")
    assert any("latex/refs.bib does not exist" in e for e in check_template(minimal, run_baseline=False).errors)
    (minimal / "latex" / "refs.bib").write_text("@misc{a, title={A}}\n")
    report = check_template(minimal, run_baseline=False)
    assert report.ok and report.template is not None
    assert [p.name for p in report.template.bibliography] == ["refs.bib"]
    (minimal / "latex" / "refs.bib").unlink()
    tex.write_text(
        "\\begin{filecontents}{refs.bib}\n@misc{a, title={A}}\n\\end{filecontents}\n"
        "\\documentclass{article}\\begin{document}\\bibliography{refs}\\end{document}"
    )
    report = check_template(minimal, run_baseline=False)
    assert report.ok and "filecontents" in next(c.detail for c in report.checks if c.name == "bibliography")


def test_final_info_wrong_shape_fails_the_baseline(minimal: Path) -> None:
    experiment = EXPERIMENT.replace('{"toy": {"means": {', '{"toy": {"mean": {')
    (minimal / "experiment.py").write_text(experiment)
    report = check_template(minimal, run_baseline=True, timeout_s=60)
    assert status(report, "baseline run") == "pass"
    assert status(report, "final_info.json") == "fail"
    assert any("entry 'toy' must be an object with a 'means' key" in e for e in report.errors)
    assert not report.figures  # plot.py is not run on an invalid result


def test_crashing_and_hanging_experiments(minimal: Path) -> None:
    (minimal / "experiment.py").write_text("raise RuntimeError('boom in experiment')\n")
    report = check_template(minimal, run_baseline=True, timeout_s=60)
    error = next(e for e in report.errors if e.startswith("baseline run"))
    assert "exited with code 1" in error and "boom in experiment" in error

    (minimal / "experiment.py").write_text("import time\ntime.sleep(60)\n")
    report = check_template(minimal, run_baseline=True, timeout_s=1)
    assert any("did not finish within 1 s" in e for e in report.errors)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([1, 2], "top level must be an object"),
        ({}, "final_info.json is empty"),
        ({"eval_loss": 0.3}, "entry 'eval_loss' must be an object with a 'means' key"),
        ({"d": {"means": [1.0]}}, "'d'.means must be a non-empty object"),
        ({"d": {"means": {}}}, "got an empty object"),
        ({"d": {"means": {"loss": "0.1"}}}, "'d'.means.loss must be a number, got a string"),
        ({"d": {"means": {"loss": None}}}, "'d'.means.loss must be a number, got null"),
    ],
)
def test_validate_final_info_rejects(data: object, message: str) -> None:
    with pytest.raises(FinalInfoError, match=message.replace("(", r"\(").replace(".", r"\.")):
        validate_final_info(data)


def test_validate_final_info_accepts_ai_scientist_shapes() -> None:
    data = {
        "x_div_y": {
            "means": {"final_val_acc_mean": 0.99, "step_val_acc_99_mean": 4000, "ok": True},
            "stderrs": {"final_val_acc_stderr": 0.01},
            "final_info_dict": {"final_val_acc": [0.98, 1.0]},
        },
        "nan_run": {"means": {"loss": float("nan")}},
    }
    out = validate_final_info(data)
    assert out["x_div_y"] == {"final_val_acc_mean": 0.99, "step_val_acc_99_mean": 4000.0, "ok": 1.0}
    assert out["nan_run"]["loss"] != out["nan_run"]["loss"]


# --- plumbing: runners, placeholders, CLI ----------------------------------------------------------------


async def test_custom_async_runner_is_used(minimal: Path) -> None:
    calls: list[list[str]] = []

    async def fake_runner(workspace: Path, argv: list[str], timeout_s: float) -> RunResult:
        calls.append(argv)
        if "experiment.py" in argv:
            (workspace / "run_0").mkdir()
            (workspace / "run_0" / "final_info.json").write_text('{"toy": {"means": {"acc": 1}}}')
        else:
            (workspace / "fig.png").write_bytes(b"\x89PNG")
        return RunResult(0, "", "", False, False, 0.1, [])

    report = await check_template_async(minimal, runner=fake_runner)
    assert report.ok, report.errors
    assert (status(report, "sandbox"), detail(report, "sandbox")) == (
        "warn",
        "a caller-supplied runner: isolation unknown",
    )
    assert calls == [["python", "experiment.py", "--out_dir=run_0"], ["python", "plot.py"]]
    assert report.final_info == {"toy": {"acc": 1.0}}
    assert report.figures == ["fig.png"]


async def test_sandbox_runner_builds_the_spec(tmp_path: Path) -> None:
    seen: list[RunSpec] = []

    class FakeSandbox:
        name = "fake"
        isolated = True

        async def run(self, workspace: Path, spec: RunSpec, **_: object) -> RunResult:
            seen.append(spec)
            return RunResult(0, "", "", False, False, 0.0, [])

    runner = sandbox_runner(FakeSandbox(), memory_mb=1234, gpus=1)
    await runner(tmp_path, ["python", "experiment.py", "--out_dir=run_0"], 42.0)
    assert seen[0].argv == ["python", "experiment.py", "--out_dir=run_0"]
    assert (seen[0].timeout_s, seen[0].memory_mb, seen[0].gpus) == (42.0, 1234, 1)


def test_check_template_refuses_to_nest_event_loops(minimal: Path) -> None:
    import asyncio

    async def inner() -> None:
        with pytest.raises(RuntimeError, match="check_template_async"):
            check_template(minimal, run_baseline=False)

    asyncio.run(inner())


def test_fill_section_keeps_markers() -> None:
    tex = textwrap.dedent(
        """\
        \\section{Method}
        %% BEGIN SECTION: Method
        METHOD HERE
        %% END SECTION: Method
        """
    )
    filled = fill_section(tex, "Method", "We do $x^2$.")
    assert section_placeholders(filled) == {"Method": "We do $x^2$.\n"}
    assert section_placeholders(fill_section(filled, "Method", "Again.")) == {"Method": "Again.\n"}
    with pytest.raises(KeyError, match="Results"):
        fill_section(tex, "Results", "x")


def test_cli_check(minimal: Path) -> None:
    runner = CliRunner(env={"COLUMNS": "200"})
    ok = runner.invoke(app, ["check", str(minimal), "--no-baseline"])
    assert ok.exit_code == 0, ok.output
    assert "template OK" in ok.output
    (minimal / "prompt.json").write_text("{not json")
    bad = runner.invoke(app, ["check", str(minimal), "--no-baseline"])
    assert bad.exit_code == 1
    assert "prompt.json is not valid JSON" in bad.output
    assert "Traceback" not in bad.output
    missing = runner.invoke(app, ["check", str(minimal / "nope"), "--no-baseline"])
    assert missing.exit_code == 1 and "is not a directory" in missing.output


async def test_runner_failure_is_a_failed_check_not_an_exception(minimal: Path) -> None:
    async def broken_runner(workspace: Path, argv: list[str], timeout_s: float) -> RunResult:
        raise ConnectionError("docker engine unreachable")

    report = await check_template_async(minimal, runner=broken_runner)
    assert report.errors == ["baseline run: the runner failed: ConnectionError: docker engine unreachable"]
    inside = await check_template_async(minimal, workspace=minimal / "ws")
    assert any("cannot copy template" in e for e in inside.errors)
