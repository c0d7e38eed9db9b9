"""Model-written LaTeX must not read or write host files outside the paper folder.

Each probe compiles the sample paper plus one attack; a secret file sits in the folder's parent. The
PDF (raw bytes and every deflated stream) and the extracted text must never contain the secret.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from paper_support import make_paper, needs_latex, pdf_contains

from sciswarm.paper import compile_pdf, extract_text
from sciswarm.paper import confine as confine_mod
from sciswarm.paper.landlock import abi_version

pytestmark = [pytest.mark.latex, needs_latex]
SECRET = "SCISWARM-HOST-SECRET-7f3a9c"
needs_landlock = pytest.mark.skipif(abi_version() < 1, reason="kernel without Landlock")


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(SECRET + "\n")
    (tmp_path / "secret.bib").write_text(f"@misc{{leak, title={{{SECRET}}}}}\n")
    return path


def _assert_no_leak(paper: Path) -> None:
    for pdf in paper.glob("*.pdf"):
        assert not pdf_contains(pdf, SECRET.encode()), pdf
        assert SECRET not in extract_text(pdf)
    for aux in paper.iterdir():
        if aux.suffix in {".log", ".blg", ".aux", ".bbl"}:
            assert SECRET not in aux.read_text(errors="replace"), aux


READS = {
    "input-etc": r"\input{/etc/hostname}",
    "input-parent": r"\input{../secret.txt}",
    "input-absolute": r"\input{%SECRET%}",
    "openin-parent": r"\newread\rd\openin\rd=../secret.txt \ifeof\rd CLOSED\else\read\rd to\x GOT[\x]\fi",
    "openin-absolute": r"\newread\rd\openin\rd=%SECRET% \ifeof\rd CLOSED\else\read\rd to\x GOT[\x]\fi",
    "filedump": r"FD[\pdffiledump length 40 {%SECRET%}]",
    "bibtex-database": r"\nocite{*}\bibliography{references,../secret}",
}


@pytest.mark.parametrize("probe", list(READS), ids=list(READS))
async def test_reads_outside_the_folder_are_blocked(tmp_path: Path, secret: Path, probe: str) -> None:
    paper = make_paper(tmp_path / "paper", body_extra=READS[probe].replace("%SECRET%", str(secret)))
    result = await compile_pdf(paper)
    _assert_no_leak(paper)
    if probe.startswith("input"):
        assert not result.ok
        assert any(e.kind == "blocked" for e in result.errors), result.feedback()
    if probe.startswith("openin") and result.ok and result.pdf is not None:
        assert "CLOSED" in extract_text(result.pdf)


@needs_landlock
async def test_pdfobj_file_embedding_is_blocked(tmp_path: Path, secret: Path) -> None:
    """pdfTeX reads ``\\pdfobj file`` without kpathsea's paranoia; Landlock denies it at the kernel."""
    paper = make_paper(tmp_path / "paper", body_extra=rf"\immediate\pdfobj stream file {{{secret}}}")
    result = await compile_pdf(paper, require_isolation=True)
    assert result.isolation == "landlock"
    assert not result.ok
    assert any(e.kind == "blocked" and str(secret) in e.message for e in result.errors), result.feedback()
    _assert_no_leak(paper)


async def test_pdfobj_leaks_without_landlock_control(
    tmp_path: Path, secret: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Control for the test above: kpathsea's paranoid mode alone lets the file into the PDF."""
    monkeypatch.setattr(confine_mod, "abi_version", lambda: 0)
    paper = make_paper(tmp_path / "paper", body_extra=rf"\immediate\pdfobj stream file {{{secret}}}")
    result = await compile_pdf(paper)
    assert result.isolation == "kpathsea"
    if not (result.ok and result.pdf is not None and pdf_contains(result.pdf, SECRET.encode())):
        pytest.skip("this pdfTeX refuses \\pdfobj file by itself")


async def test_require_isolation_fails_cleanly_without_landlock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(confine_mod, "abi_version", lambda: 0)
    result = await compile_pdf(make_paper(tmp_path / "paper"), require_isolation=True)
    assert not result.ok and result.errors[0].kind == "tool" and "Landlock" in result.errors[0].message


WRITE_TO = r"\newwrite\w\immediate\openout\w=%s \immediate\write\w{x}\immediate\closeout\w"
WRITES = {
    "openout-parent": WRITE_TO % "../pwned.txt",
    "openout-absolute": WRITE_TO % "%DIR%/pwned.txt",
    "openout-dotfile": WRITE_TO % ".pwned",
    "shell-escape": r"\immediate\write18{touch %DIR%/pwned.txt}",
    "pipe-input": r"\input{|touch %DIR%/pwned.txt}",
}


@pytest.mark.parametrize("probe", list(WRITES), ids=list(WRITES))
async def test_writes_and_commands_are_blocked(tmp_path: Path, probe: str) -> None:
    paper = make_paper(tmp_path / "paper", body_extra=WRITES[probe].replace("%DIR%", str(tmp_path)))
    await compile_pdf(paper)
    assert not (tmp_path / "pwned.txt").exists()
    assert not (paper / ".pwned").exists() and not (paper / ".pwned.tex").exists()


async def test_symlink_out_of_the_folder_is_refused(tmp_path: Path, secret: Path) -> None:
    paper = make_paper(tmp_path / "paper", body_extra=r"\input{notes.tex}")
    (paper / "notes.tex").symlink_to(secret)
    result = await compile_pdf(paper)
    assert not result.ok and result.steps == []
    assert result.errors[0].kind == "blocked" and "notes.tex" in result.errors[0].message
