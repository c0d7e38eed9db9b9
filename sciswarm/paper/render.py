"""One PDF page as a PNG, with poppler's pdftoppm (README screenshots, the web viewer)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


class RenderError(RuntimeError):
    """pdftoppm is missing, or could not render the page."""


def render_page_png(pdf: Path, page: int = 1, out: Path | None = None, dpi: int = 80, *, timeout_s: float = 60) -> Path:
    """Render page ``page`` (1-based) of ``pdf`` to ``out`` (default ``<pdf stem>-p<page>.png`` beside it)."""
    pdf = Path(pdf)
    exe = shutil.which("pdftoppm")
    if exe is None:
        raise RenderError("pdftoppm not found on PATH (install poppler-utils)")
    if not pdf.is_file():
        raise RenderError(f"PDF not found: {pdf}")
    if page < 1:
        raise RenderError(f"page numbers start at 1, got {page}")
    if not 10 <= dpi <= 1200:
        raise RenderError(f"dpi out of range 10..1200: {dpi}")
    out = Path(out) if out is not None else pdf.with_name(f"{pdf.stem}-p{page}.png")
    if out.suffix.lower() != ".png":
        raise RenderError(f"output must be a .png file: {out}")
    out.parent.mkdir(parents=True, exist_ok=True)
    argv = [exe, "-png", "-r", str(dpi), "-f", str(page), "-l", str(page), "-singlefile"]
    try:
        proc = subprocess.run(
            [*argv, str(pdf), str(out.with_suffix(""))],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise RenderError(f"pdftoppm took longer than {timeout_s:g} s") from exc
    produced = out.with_suffix(".png")
    if proc.returncode != 0 or not produced.is_file():
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise RenderError(f"pdftoppm failed on page {page} of {pdf}: {detail[-1] if detail else proc.returncode}")
    if produced != out:
        produced.replace(out)
    return out
