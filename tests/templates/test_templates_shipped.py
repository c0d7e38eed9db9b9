"""The shipped templates (2d_diffusion, grokking): static checks, the baseline end to end, the LaTeX."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from template_support import REAL, TEMPLATES

from sciswarm.templates import check_template, load_template, section_placeholders


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
@pytest.mark.parametrize("name", ["grokking"])  # 2d_diffusion's baseline: the offline demo's run_0 (tests/e2e)
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
