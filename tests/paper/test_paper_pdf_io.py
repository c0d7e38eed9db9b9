"""Reading a PDF's text (pypdf) and rendering a page (pdftoppm)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sciswarm.paper import CompileResult, PdfTextError, RenderError, extract_text, page_count, render_page_png
from sciswarm.paper.pdftext import clean_text

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.mark.latex
def test_extract_text_pages_and_truncation(compiled: CompileResult) -> None:
    assert compiled.pdf is not None
    assert page_count(compiled.pdf) == compiled.pages == 2
    text = extract_text(compiled.pdf)
    assert "Grokking Under a Microscope" in text and "Figure 1: Training loss." in text
    assert "  " not in text and "\n\n\n" not in text
    assert extract_text(compiled.pdf, max_chars=100) == text[:100]


def test_clean_text() -> None:
    assert clean_text("  e\ufb03cient \u00a0 de\u00adsign  \n\n\n\nnext \r\n") == "efficient design\n\nnext"


def test_missing_and_corrupt_pdfs_raise_pdf_text_error(tmp_path: Path) -> None:
    with pytest.raises(PdfTextError, match="not found"):
        extract_text(tmp_path / "nope.pdf")
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.5\nthis is not really a pdf")
    with pytest.raises(PdfTextError, match="cannot read PDF"):
        extract_text(bad)
    with pytest.raises(PdfTextError):
        page_count(bad)


@pytest.mark.latex
@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
def test_render_page_png(compiled: CompileResult, tmp_path: Path) -> None:
    assert compiled.pdf is not None
    out = render_page_png(compiled.pdf, page=2, out=tmp_path / "shots" / "page2.png", dpi=40)
    assert out == tmp_path / "shots" / "page2.png"
    data = out.read_bytes()
    assert data.startswith(PNG_MAGIC)
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (340, 440)  # US letter at 40 dpi
    default = render_page_png(compiled.pdf)
    assert default == compiled.pdf.with_name("template-p1.png") and default.is_file()
    with pytest.raises(RenderError, match="page 9"):
        render_page_png(compiled.pdf, page=9, out=tmp_path / "p9.png")


def test_render_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(RenderError, match="PDF not found"):
        render_page_png(tmp_path / "nope.pdf")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RenderError, match="pdftoppm not found"):
        render_page_png(tmp_path / "nope.pdf")
