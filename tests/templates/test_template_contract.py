"""The template contract: an AI-Scientist-style template is accepted unmodified and copied with its extras;
broken ones are rejected with messages that name what is wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from template_support import EXPERIMENT, detail, status

from sciswarm.templates import TemplateError, check_template, copy_template, load_template


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
    # metrics as a list: no reading of it is clear (a nested object of metrics is read, as dotted names)
    experiment = EXPERIMENT.replace(
        'json.dump({"toy": {"means": {"sum_sq": sum(square(x) for x in xs), "n": len(xs)}}}, f)',
        'json.dump({"toy": [sum(square(x) for x in xs), len(xs)]}, f)',
    )
    assert experiment != EXPERIMENT
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
