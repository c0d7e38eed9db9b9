"""compile_pdf on real pdflatex/bibtex: success, parsed errors, last good PDF kept, timeout, latexmk."""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path

import pytest
from paper_support import line_of, make_paper, needs_latex

from sciswarm.paper import CompileResult, compile_pdf, extract_text
from sciswarm.paper.landlock import abi_version

pytestmark = [pytest.mark.latex, needs_latex]


def test_sample_paper_compiles_with_bibliography(compiled: CompileResult) -> None:
    assert compiled.ok and compiled.pdf is not None and compiled.pdf.is_file()
    assert compiled.pages >= 1
    assert compiled.steps == ["pdflatex", "bibtex", "pdflatex", "pdflatex"]
    assert [e for e in compiled.errors if e.severity == "error"] == []
    assert compiled.last_good is not None
    assert compiled.last_good.read_bytes() == compiled.pdf.read_bytes()
    assert compiled.isolation == ("landlock" if abi_version() >= 1 else "kpathsea")
    text = extract_text(compiled.pdf)
    assert "References" in text
    assert "Attention is all you need" in text  # the cited title, typeset by bibtex + plainnat
    assert "Grokking" in text and "Baseline" in text and "Algorithm 1" in text
    assert "[?]" not in text and "??" not in text  # citations and references all resolved


async def test_error_is_parsed_and_last_good_pdf_survives(tmp_path: Path) -> None:
    paper = make_paper(tmp_path / "paper")
    first = await compile_pdf(paper)
    assert first.ok and first.last_good is not None
    kept = first.last_good.read_bytes()
    kept_mtime = first.last_good.stat().st_mtime_ns

    tex = paper / "template.tex"
    tex.write_text(tex.read_text().replace("Table~\\ref{tab:res}", "Table~\\ref{tab:res} \\undefinedmacro here"))
    bad_line = line_of(tex, "\\undefinedmacro")
    second = await compile_pdf(paper)

    assert not second.ok and second.pdf is None and not second.timed_out
    err = second.errors[0]
    assert err.severity == "error" and err.kind == "latex"
    assert (err.file, err.line) == ("template.tex", bad_line)
    assert "Undefined control sequence" in err.message
    assert err.context is not None and "\\undefinedmacro" in err.context
    assert "template.tex" in second.feedback() and str(bad_line) in second.feedback()
    assert second.log_tail
    assert second.last_good == paper / "last_good.pdf"
    assert second.last_good.read_bytes() == kept
    assert second.last_good.stat().st_mtime_ns == kept_mtime
    assert not (paper / "template.pdf").exists()  # the stale PDF is not passed off as fresh


async def test_undefined_citation_and_missing_figure(tmp_path: Path) -> None:
    paper = make_paper(tmp_path / "paper", body_extra=r"See \citep{nosuchkey2020}.")
    result = await compile_pdf(paper)
    assert result.ok  # still typesets, with [?]
    cites = [e for e in result.errors if e.kind == "undefined-citation"]
    assert len(cites) == 1 and "nosuchkey2020" in cites[0].message and cites[0].severity == "warning"

    (paper / "loss.png").unlink()
    result = await compile_pdf(paper)
    assert not result.ok
    missing = result.errors[0]
    assert missing.kind == "missing-file" and "loss" in missing.message
    assert (missing.file, missing.line) == (
        "template.tex",
        line_of(paper / "template.tex", "includegraphics"),
    )


def _procs_in(folder: Path) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if Path(os.readlink(entry / "cwd")) == folder:
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


async def test_endless_loop_times_out_and_leaves_no_process(tmp_path: Path) -> None:
    paper = make_paper(tmp_path / "paper", body_extra=r"\loop\iftrue\repeat")
    start = time.monotonic()
    result = await compile_pdf(paper, timeout_s=3)
    elapsed = time.monotonic() - start
    assert not result.ok and result.timed_out and result.pdf is None
    assert result.errors[0].kind == "timeout"
    assert 2.9 <= elapsed < 6
    assert _procs_in(paper.resolve()) == []


async def test_latexmk_gets_the_same_hardening(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """latexmk is not installed here: a stand-in records how it is invoked (rc files off, flags, env)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "latexmk"
    shim.write_text('#!/bin/sh\nprintf "%s\\n" "$@" > latexmk-args.txt\nenv > latexmk-env.txt\nexit 12\n')
    shim.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-should-not-leak")
    paper = make_paper(tmp_path / "paper")

    result = await compile_pdf(paper)  # engine="auto" picks latexmk when it is on PATH

    assert not result.ok and result.steps == ["latexmk"]
    assert "exit code 12" in result.feedback()
    args = (paper / "latexmk-args.txt").read_text().split()
    assert args[:3] == ["-pdf", "-norc", "-bibtex"]  # -norc: a model-written latexmkrc is Perl code
    assert {"-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape"} <= set(args)
    env = dict(line.split("=", 1) for line in (paper / "latexmk-env.txt").read_text().splitlines() if "=" in line)
    assert (env["openin_any"], env["openout_any"], env["shell_escape"]) == ("p", "p", "f")
    assert "OPENAI_API_KEY" not in env


async def test_concurrent_compiles_in_separate_folders(tmp_path: Path) -> None:
    papers = [make_paper(tmp_path / f"idea{i}", body_extra=f"Idea number {i}.") for i in range(3)]
    results = await asyncio.gather(*(compile_pdf(p) for p in papers))
    for i, result in enumerate(results):
        assert result.ok and result.pdf is not None, result.feedback()
        assert f"Idea number {i}." in extract_text(result.pdf)


async def test_cancelling_a_compile_kills_tex(tmp_path: Path) -> None:
    paper = make_paper(tmp_path / "paper", body_extra=r"\loop\iftrue\repeat")
    scratch_dirs = set(Path(tempfile.gettempdir()).glob("sciswarm-tex-*"))
    task = asyncio.create_task(compile_pdf(paper, timeout_s=60))
    await asyncio.sleep(1.0)
    assert _procs_in(paper.resolve())  # pdflatex is spinning
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _procs_in(paper.resolve()) == []
    assert set(Path(tempfile.gettempdir()).glob("sciswarm-tex-*")) <= scratch_dirs  # scratch removed
