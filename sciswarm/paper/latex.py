"""Compile a model-written LaTeX paper to PDF, safely, and keep the last good PDF.

``compile_pdf`` runs pdflatex -> bibtex -> pdflatex x2 (or latexmk, when it is on PATH) inside the
confinement of ``confine.py``, parses the log into ``LatexIssue``s an LLM can act on, and on success copies
the PDF to ``last_good.pdf``; a failed compile never touches that copy. One compile per folder at a time.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from sciswarm.paper.confine import Confinement, ConfinementError, Isolation, confine, tex_tree
from sciswarm.paper.confined_run import CONSOLE_TAIL_BYTES, read_tail, run_confined
from sciswarm.paper.tex_packages import install_command
from sciswarm.paper.texlog import (
    LatexIssue,
    dedupe,
    missing_packages,
    output_pages,
    parse_blg,
    parse_console,
    parse_log,
)

Engine = Literal["auto", "pdflatex", "latexmk"]
TEX_FLAGS = ["-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", "-file-line-error"]
LOG_TAIL_LINES = 40
_RERUN = ("Rerun to get", "Label(s) may have changed", "Citation(s) may have changed", "Rerun LaTeX")


class CompileResult(BaseModel):
    """Outcome of one compile. ``ok``: a fresh PDF was produced (``errors`` may still hold BibTeX errors
    and warnings such as undefined citations). ``pdf`` is that fresh PDF, None when not ok."""

    ok: bool
    pdf: Path | None
    pages: int
    errors: list[LatexIssue]
    log_tail: str
    wall_s: float
    timed_out: bool = False
    last_good: Path | None = None
    isolation: Isolation = "kpathsea"
    steps: list[str] = []

    @property
    def missing_packages(self) -> list[str]:
        """LaTeX packages, classes and styles (``x.sty``) this host lacks: no edit of the paper fixes those."""
        return missing_packages(self.errors)

    def missing_hint(self) -> str:
        """``"not installed: x.sty (apt-get install ...); "`` when files are missing on this host, else ``""``."""
        missing = self.missing_packages
        return f"LaTeX not installed: {', '.join(missing)} ({install_command(missing)}); " if missing else ""

    def feedback(self, limit: int = 15) -> str:
        """A short report to send back to the model that wrote the LaTeX."""
        head = (
            f"Compiled OK ({self.pages} pages)."
            if self.ok
            else ("Compilation timed out." if self.timed_out else "Compilation failed.")
        )
        lines = [head, *(f"- {e}" for e in self.errors[:limit])]
        if len(self.errors) > limit:
            lines.append(f"- ... and {len(self.errors) - limit} more")
        if not self.ok and not self.errors and self.log_tail:
            lines += ["Log tail:", self.log_tail[-1500:]]
        return "\n".join(lines)


def _resolve_engine(engine: Engine) -> str:
    if engine == "auto":
        return "latexmk" if shutil.which("latexmk") else "pdflatex"
    return engine


def _unsafe_links(paper_dir: Path) -> list[LatexIssue]:
    """Symlinks leading out of the folder (kpathsea checks names, not where links point)."""
    issues: list[LatexIssue] = []
    for root, dirs, files in os.walk(paper_dir):
        for name in [*dirs, *files]:
            p = Path(root, name)
            if p.is_symlink() and not p.resolve().is_relative_to(paper_dir):
                rel = p.relative_to(paper_dir)
                issues.append(
                    LatexIssue(
                        severity="error",
                        kind="blocked",
                        message=f"`{rel}' is a symlink leading out of the paper folder; replace it with a real file",
                    )
                )
    return issues


def _keep(pdf: Path, target: Path) -> None:
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.copyfile(pdf, tmp)
    os.replace(tmp, target)


def _needs_rerun(log: Path) -> bool:
    text = read_tail(log, 1 << 20)
    return any(marker in text for marker in _RERUN)


class _Run:
    """The steps of one compile, sharing a deadline, a confinement and the collected console output."""

    def __init__(self, paper_dir: Path, scratch: Path, conf: Confinement, deadline: float) -> None:
        self.paper_dir, self.scratch, self.conf, self.deadline = paper_dir, scratch, conf, deadline
        self.steps: list[str] = []
        self.console = ""
        self.timed_out = False
        self.launch_error: str | None = None

    async def step(self, argv: list[str]) -> int | None:
        out = self.scratch / f"step{len(self.steps)}.out"
        self.steps.append(Path(argv[0]).name)
        try:
            rc = await run_confined(argv, self.paper_dir, self.conf, self.deadline, out)
        except (OSError, subprocess.SubprocessError) as exc:
            self.launch_error = f"could not start {self.steps[-1]}: {exc}"
            return -1
        self.console += read_tail(out, CONSOLE_TAIL_BYTES)
        self.timed_out = self.timed_out or rc is None
        return rc


async def _pdflatex_sequence(run: _Run, main: str, stem: str) -> tuple[int | None, bool]:
    """pdflatex, bibtex if the .aux asks for it, pdflatex, and a third pass if needed. (rc, bibtex ran)."""
    tex = [shutil.which("pdflatex") or "pdflatex", *TEX_FLAGS, main]
    rc = await run.step(tex)
    if rc != 0:
        return rc, False
    aux = read_tail(run.paper_dir / f"{stem}.aux", 1 << 22)
    ran_bibtex = "\\bibdata{" in aux and "\\citation{" in aux
    if ran_bibtex and await run.step([shutil.which("bibtex") or "bibtex", stem]) is None:
        return None, True
    rc = await run.step(tex)
    if rc == 0 and (ran_bibtex or _needs_rerun(run.paper_dir / f"{stem}.log")):
        rc = await run.step(tex)
    return rc, ran_bibtex


async def compile_pdf(
    paper_dir: Path,
    main: str = "template.tex",
    *,
    timeout_s: float = 120,
    keep_as: str = "last_good.pdf",
    engine: Engine = "auto",
    require_isolation: bool = False,
) -> CompileResult:
    """Compile ``paper_dir/main`` to PDF within ``timeout_s`` seconds in total (the process group is
    killed at the deadline). ``require_isolation``: fail instead of running without Landlock."""
    t0 = time.monotonic()
    paper_dir = Path(paper_dir).resolve()
    src = paper_dir / main
    if main.startswith("-") or not main.endswith(".tex"):
        raise ValueError(f"main must be a .tex file name: {main!r}")
    if not src.is_file() or not src.resolve().is_relative_to(paper_dir):
        raise FileNotFoundError(f"{main} not found in {paper_dir}")
    stem = Path(main).stem
    pdf, kept = paper_dir / f"{stem}.pdf", paper_dir / keep_as
    if "/" in keep_as or kept == pdf or not keep_as.endswith(".pdf"):
        raise ValueError(f"keep_as must be a .pdf file name other than {pdf.name}: {keep_as!r}")

    def failed(issue: LatexIssue | list[LatexIssue]) -> CompileResult:
        issues = issue if isinstance(issue, list) else [issue]
        return CompileResult(
            ok=False,
            pdf=None,
            pages=0,
            errors=issues,
            log_tail="",
            wall_s=round(time.monotonic() - t0, 3),
            last_good=kept if kept.is_file() else None,
        )

    blocked = _unsafe_links(paper_dir)
    if blocked:
        return failed(blocked)
    name = _resolve_engine(engine)
    if shutil.which(name) is None:
        return failed(LatexIssue(severity="error", kind="tool", message=f"{name} is not installed (not on PATH)"))
    for stale in (pdf, paper_dir / f"{stem}.log", paper_dir / f"{stem}.blg"):
        stale.unlink(missing_ok=True)
    await asyncio.to_thread(tex_tree)  # asks kpsewhich once per process; keep it off the event loop
    scratch = Path(tempfile.mkdtemp(prefix="sciswarm-tex-"))
    try:
        try:
            conf = confine(
                paper_dir,
                scratch,
                timeout_s=timeout_s,
                programs=[name, "pdflatex", "bibtex"],
                require_landlock=require_isolation,
            )
        except ConfinementError as exc:
            return failed(LatexIssue(severity="error", kind="tool", message=str(exc)))
        run = _Run(paper_dir, scratch, conf, t0 + timeout_s)
        try:
            if name == "latexmk":
                argv = [shutil.which("latexmk") or name, "-pdf", "-norc", "-bibtex", *TEX_FLAGS, main]
                rc, ran_bibtex = await run.step(argv), True
            else:
                rc, ran_bibtex = await _pdflatex_sequence(run, main, stem)
        finally:
            conf.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    log_text = read_tail(paper_dir / f"{stem}.log", 1 << 22)
    ok = rc == 0 and not run.timed_out and pdf.is_file()
    issues = _collect_issues(run, log_text, paper_dir / f"{stem}.blg" if ran_bibtex else None, ok, rc)
    if run.timed_out:
        msg = f"compilation took longer than {timeout_s:g} s and was stopped (an endless loop?)"
        issues.insert(0, LatexIssue(severity="error", kind="timeout", message=msg))
    pages = 0
    if ok:
        pages = output_pages(log_text) or _count_pages(pdf)
        _keep(pdf, kept)
    else:
        pdf.unlink(missing_ok=True)  # a pass that died mid-write may leave a truncated PDF behind
    tail = "\n".join((log_text or run.console).splitlines()[-LOG_TAIL_LINES:])
    return CompileResult(
        ok=ok,
        pdf=pdf if ok else None,
        pages=pages,
        errors=dedupe(issues),
        log_tail=tail[-4000:],
        wall_s=round(time.monotonic() - t0, 3),
        timed_out=run.timed_out,
        last_good=kept if kept.is_file() else None,
        isolation=conf.isolation,
        steps=run.steps,
    )


def _collect_issues(run: _Run, log_text: str, blg: Path | None, ok: bool, rc: int | None) -> list[LatexIssue]:
    issues = parse_console(run.console) + parse_log(log_text)
    if blg is not None and blg.is_file():
        issues += parse_blg(read_tail(blg, 1 << 20))
    if ok:
        return issues
    # undefined citations are expected in a pass that stopped before bibtex: keep to the errors
    issues = [i for i in issues if i.kind not in ("undefined-citation", "undefined-reference")]
    if run.launch_error:
        issues.append(LatexIssue(severity="error", kind="tool", message=run.launch_error))
    elif rc not in (0, None) and not any(i.severity == "error" for i in issues):
        msg = f"{run.steps[-1]} failed (exit code {rc}); see the log tail"
        issues.append(LatexIssue(severity="error", kind="tool", message=msg))
    return issues


def _count_pages(pdf: Path) -> int:
    from sciswarm.paper.pdftext import PdfTextError, page_count

    try:
        return page_count(pdf)
    except PdfTextError:
        return 0
