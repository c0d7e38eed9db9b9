"""Plain text of a PDF (for the reviewers), page by page with pypdf."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from pypdf import PdfReader

from sciswarm.errors import ExpectedFailure

_LIGATURES = str.maketrans(
    {"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl", "\u00ad": ""}
)
_SPACES = re.compile(r"[ \t\u00a0\u2009\u200a\u202f]+")
_BLANK_LINES = re.compile(r"\n{3,}")


class PdfTextError(ExpectedFailure, RuntimeError):
    """The PDF is missing, unreadable or corrupt."""


def _open(pdf: Path) -> PdfReader:
    pdf = Path(pdf)
    if not pdf.is_file():
        raise PdfTextError(f"PDF not found: {pdf}")
    try:
        reader = PdfReader(pdf)
        if reader.is_encrypted:
            reader.decrypt("")
        _ = len(reader.pages)
        return reader
    except Exception as exc:  # pypdf raises many types on bad input
        raise PdfTextError(f"cannot read PDF {pdf}: {exc}") from exc


def clean_text(text: str) -> str:
    """Ligatures expanded, runs of spaces collapsed, trailing spaces and extra blank lines dropped."""
    text = text.translate(_LIGATURES).replace("\r\n", "\n").replace("\r", "\n")
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


# "URL https://host/path." as the bibliography styles print it; a URL that wraps continues on the next line
# alone (a bibliography entry starts a new paragraph), ending with the entry's full stop
_URL = re.compile(r"\s*URL\s*https?://\S*(?:\n(?=\S*\.$)\S*)?", re.MULTILINE)


def without_urls(text: str) -> str:
    """The text with the link URLs of the reference list dropped: a reader (a reviewer model) learns nothing
    from them, and they cost a third of the list's tokens."""
    return _URL.sub("", text)


def page_count(pdf: Path) -> int:
    return len(_open(pdf).pages)


def extract_text(pdf: Path, max_chars: int | None = None) -> str:
    """The PDF's text, pages separated by a blank line, cut at ``max_chars`` if given.

    A page whose text cannot be extracted is marked ``[page N: no text]`` instead of failing the whole
    document; a missing or corrupt file raises ``PdfTextError``.
    """
    reader = _open(pdf)
    parts: list[str] = []
    size = 0
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    for number, page in enumerate(reader.pages, start=1):
        try:
            text = clean_text(page.extract_text() or "")
        except Exception:
            text = ""
        parts.append(text or f"[page {number}: no text]")
        size += len(parts[-1]) + 2
        if max_chars is not None and size >= max_chars:
            break
    joined = "\n\n".join(parts)
    return joined if max_chars is None else joined[:max_chars]
