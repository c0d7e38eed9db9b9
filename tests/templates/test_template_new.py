"""`sciswarm template new`: the written template passes the real `template check` (baseline and plot.py in the
sandbox), its experiment depends on the seed, its LaTeX compiles and has the writer's parts; no overwriting."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sciswarm.agents.paper_parts import ABSTRACT, PARTS, put
from sciswarm.cli.template import app
from sciswarm.paper import compile_pdf, extract_text
from sciswarm.paper.sections import TexDocument
from sciswarm.sandboxes.factory import docker_available
from sciswarm.sandboxes.image import DEFAULT_IMAGE, build_image
from sciswarm.templates import check_template, load_template, section_placeholders
from sciswarm.templates.new import TemplateExists, new_template, render_skeleton, skeleton_files

SCISWARM = Path(sys.executable).with_name("sciswarm")
FILES = {
    "README.md",
    "experiment.py",
    "plot.py",
    "prompt.json",
    "seed_ideas.json",
    "latex/template.tex",
    "latex/references.bib",
}
BLOCKS = [
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
HAVE_LATEX = shutil.which("pdflatex") is not None and shutil.which("bibtex") is not None


def flat(text: str) -> str:
    """CLI output without rich's table borders and line wrapping."""
    return " ".join("".join(" " if 0x2500 <= ord(c) <= 0x257F else c for c in text).split())


def run_experiment(folder: Path, out_dir: str, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    argv = [sys.executable, "experiment.py", f"--out_dir={out_dir}", *args]
    clean = {k: v for k, v in os.environ.items() if k != "SCISWARM_SEED"}
    proc = subprocess.run(argv, cwd=folder, env={**clean, **(env or {})}, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads((folder / out_dir / "final_info.json").read_text())
    return result


# --- what is written ------------------------------------------------------------------------------


def test_the_skeleton_is_package_data_and_renders_every_placeholder() -> None:
    assert set(skeleton_files()) == FILES
    files = render_skeleton("my-task_2")
    assert set(files) == FILES
    assert not [rel for rel, text in files.items() if "{{" in text]  # every placeholder filled
    assert "my task 2" in files["experiment.py"].splitlines()[0]
    assert r"my-task\_2" in files["latex/template.tex"]
    assert "# my-task_2" in files["README.md"]
    assert json.loads(files["prompt.json"])["task_description"]


def test_new_template_passes_the_static_checks_without_warnings(tmp_path: Path) -> None:
    dest, written = new_template("toy_mlp", tmp_path)
    assert dest == tmp_path.resolve() / "toy_mlp"
    assert {p.relative_to(dest).as_posix() for p in written} == FILES
    report = check_template(dest, run_baseline=False)
    assert report.ok, report.errors
    assert not report.warnings, report.warnings
    template = load_template(dest)
    assert len(template.seed_ideas) == 2
    assert [p.name for p in template.bibliography] == ["references.bib"]
    assert template.extra_files == ["README.md"]


# --- the real check: baseline and plot.py in the sandbox -------------------------------------------


def check_cli(template: Path, workspace: Path, *args: str) -> str:
    argv = [str(SCISWARM), "template", "check", str(template), "--workspace", str(workspace), *args]
    proc = subprocess.run(argv, env={**os.environ, "COLUMNS": "250"}, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "template OK" in out, out
    final = json.loads((workspace / "run_0" / "final_info.json").read_text())
    assert set(final) == {"moons", "rings"}
    for dataset in final.values():
        assert set(dataset["means"]) == {"train_loss", "train_accuracy", "test_loss", "test_accuracy"}
        assert dataset["means"]["test_accuracy"] > 0.8  # it learned something
    for png in ("metrics.png", "curves.png"):
        assert (workspace / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return flat(out)


def test_new_then_check_in_the_local_sandbox(open_dir: Path) -> None:
    new = subprocess.run(
        [str(SCISWARM), "template", "new", "toy_mlp", "--dir", str(open_dir)], capture_output=True, text=True
    )
    assert new.returncode == 0, new.stderr
    out = check_cli(open_dir / "toy_mlp", open_dir / "ws", "--sandbox", "local")
    assert "sandbox warn local (NOT isolated)" in out
    assert "figures pass curves.png, metrics.png" in out


@pytest.fixture(scope="module")
def exp_image() -> str:
    if not docker_available():
        if os.environ.get("CI") or os.environ.get("SCISWARM_REQUIRE_DOCKER"):
            pytest.fail("CI: the Docker engine must be running (scripts/ensure_docker.sh)")
        pytest.skip("Docker engine not reachable: docker template-check tests skipped")
    return build_image(image=DEFAULT_IMAGE, progress=lambda line: None).image


@pytest.mark.docker
@pytest.mark.timeout(900)  # a first build of the image takes minutes
def test_new_then_check_in_the_docker_sandbox(exp_image: str, open_dir: Path) -> None:
    dest, _ = new_template("toy_mlp", open_dir)
    out = check_cli(dest, open_dir / "ws", "--sandbox", "docker", "--image", exp_image)
    assert f"sandbox pass docker (isolated), image {exp_image}" in out


# --- the experiment --------------------------------------------------------------------------------


def test_the_experiment_depends_on_its_seed(tmp_path: Path) -> None:
    dest, _ = new_template("toy_mlp", tmp_path)
    seed0 = run_experiment(dest, "run_0")
    seed1 = run_experiment(dest, "run_1", "--seed=1")
    assert seed0 != seed1
    for dataset in ("moons", "rings"):
        assert seed0[dataset]["means"]["test_loss"] != seed1[dataset]["means"]["test_loss"]
    assert run_experiment(dest, "run_2", "--seed=0") == seed0  # reproducible
    assert run_experiment(dest, "run_3", env={"SCISWARM_SEED": "1"}) == seed1  # the swarm's way to set it
    curves = json.loads((dest / "run_0" / "curves.json").read_text())
    assert len(curves["moons"]["train_loss"]) == len(curves["rings"]["test_accuracy"]) == 60


# --- the LaTeX -------------------------------------------------------------------------------------


def compile_ok(latex: Path) -> Path:
    result = asyncio.run(compile_pdf(latex))
    assert result.ok, result.feedback()
    assert not [e for e in result.errors if e.severity == "error"], result.errors
    assert result.pdf is not None
    return result.pdf


@pytest.mark.latex
@pytest.mark.skipif(not HAVE_LATEX, reason="pdflatex/bibtex not installed")
def test_latex_compiles_and_has_the_writers_parts(tmp_path: Path) -> None:
    dest, _ = new_template("toy_mlp", tmp_path)
    tex = (dest / "latex" / "template.tex").read_text()
    assert list(section_placeholders(tex)) == BLOCKS
    assert all("HERE" in body for body in section_placeholders(tex).values())
    doc = TexDocument(tex)
    for part in PARTS:
        if part != ABSTRACT:
            assert doc.has_section(part), part
    assert "TITLE HERE" in doc.get_title()
    assert "ABSTRACT HERE" in doc.get_abstract()

    assert "DEMO FIGURE" in extract_text(compile_ok(dest / "latex"))  # the bare template: a box for the figure
    run_experiment(dest, "run_0")  # the demo figure: plot.py's metrics.png, copied beside the .tex as the writer does
    subprocess.run([sys.executable, "plot.py"], cwd=dest, check=True, capture_output=True, timeout=120)
    shutil.copy2(dest / "metrics.png", dest / "latex" / "metrics.png")
    pdf = compile_ok(dest / "latex")
    assert "DEMO FIGURE" not in extract_text(pdf)
    assert "metrics.png" in (dest / "latex" / "template.log").read_text(errors="replace")
    assert "Cybenko" in extract_text(pdf)  # the bibliography resolved

    for part in PARTS:  # the writer fills every part; the paper still compiles
        reply = f"{part} text for the paper, citing \\citet{{rumelhart1986learning}}."
        put(doc, part, f"TITLE: A Filled Paper\n```latex\n{reply}\n```" if part == ABSTRACT else reply)
    (dest / "latex" / "template.tex").write_text(doc.text)
    text = extract_text(compile_ok(dest / "latex"))
    assert "A Filled Paper" in text
    assert "Experimental Setup text for the paper" in text
    assert "HERE" not in text


# --- refusing to overwrite -------------------------------------------------------------------------


def test_new_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    runner = CliRunner(env={"COLUMNS": "200"})
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "experiment.py").write_text("mine\n")
    result = runner.invoke(app, ["new", "taken", "--dir", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert "already exists and is a non-empty folder; not overwriting it" in flat(result.output)
    assert sorted(p.name for p in (tmp_path / "taken").iterdir()) == ["experiment.py"]
    assert (tmp_path / "taken" / "experiment.py").read_text() == "mine\n"
    with pytest.raises(TemplateExists):
        new_template("taken", tmp_path)

    (tmp_path / "a_file").write_text("x")
    assert runner.invoke(app, ["new", "a_file", "--dir", str(tmp_path)]).exit_code == 2
    bad = runner.invoke(app, ["new", "../escape", "--dir", str(tmp_path)])
    assert bad.exit_code == 2 and "template name" in bad.output
    assert not (tmp_path.parent / "escape").exists()


def test_new_into_an_empty_folder_prints_the_files_and_next_steps(tmp_path: Path) -> None:
    (tmp_path / "fresh").mkdir()
    result = CliRunner(env={"COLUMNS": "250"}).invoke(app, ["new", "fresh", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    dest = tmp_path.resolve() / "fresh"
    out = flat(result.output)
    assert f"wrote template 'fresh' in {dest}" in out
    assert all(rel in out for rel in FILES)
    assert f"sciswarm template check {dest}" in out
    assert f"template: {dest}" in out
    assert (dest / "latex" / "template.tex").is_file()
