"""Confined access to a run folder's artifacts: safe paths, links for a record, bytes and headers to serve."""

from __future__ import annotations

import os
import re
from http import HTTPStatus
from pathlib import Path, PurePosixPath
from typing import Any

# A safe single folder name: run ids and idea ids.
RUN_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
TEXT_TYPES = frozenset({".txt", ".md", ".tex", ".bib", ".log", ".py", ".yaml", ".yml", ".csv", ".jsonl", ".sh", ".out"})
INLINE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
    ".pdf": "application/pdf",
    ".json": "application/json",
}
IMAGE_TYPES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg"})
# Artifacts are written by LLM-authored code: never let one run script in the viewer's origin.
ARTIFACT_CSP = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'self'"
PDF_CSP = "frame-ancestors 'self'"  # the browser's PDF viewer needs scripts: only who may frame it is said


def safe_path(root: Path, rel: str) -> Path | None:
    """`root/rel` if it stays inside `root` (after resolving symlinks), else None. `rel` is already URL-decoded."""
    if not rel or "\x00" in rel or "\\" in rel or rel.startswith("/"):
        return None
    pure = PurePosixPath(rel)
    if pure.is_absolute() or any(part in {"..", ""} for part in pure.parts):
        return None
    base = root.resolve()
    target = (base / pure).resolve()
    if not target.is_relative_to(base):
        return None
    return target


def artifacts(rec: dict[str, Any], run_dir: Path) -> list[dict[str, str]]:
    """Links a viewer can show for a record: figure thumbnails, the paper PDF, reviews.json, notes."""
    kind, idea = rec.get("kind"), str(rec.get("idea_id") or "")
    if not RUN_ID_RE.fullmatch(idea):
        idea = ""
    out: list[dict[str, str]] = []

    def add(rel: str, label: str, *, must_exist: bool = True, caption: str = "") -> None:
        target = safe_path(run_dir, rel)
        if target is None or (must_exist and not target.is_file()):
            return
        suffix = target.suffix.lower()
        kind_ = "image" if suffix in IMAGE_TYPES else "pdf" if suffix == ".pdf" else "file"
        out.append({"path": rel, "label": label, "type": kind_, "caption": caption})

    if kind == "figures" and idea and isinstance(rec.get("files"), list):
        descriptions = rec.get("descriptions") if isinstance(rec.get("descriptions"), dict) else {}
        for name in rec["files"]:
            if isinstance(name, str):
                add(f"ideas/{idea}/workspace/{name}", name, caption=str((descriptions or {}).get(name, "")))
    elif kind == "paper" and isinstance(rec.get("pdf"), str):
        pdf = rec["pdf"]
        if os.path.isabs(pdf):
            try:
                pdf = str(Path(pdf).resolve().relative_to(run_dir.resolve()))
            except ValueError:
                pdf = ""
        if pdf:
            add(pdf, "paper PDF", must_exist=False)
    elif kind == "meta_review" and idea:  # published just before reviews.json is saved
        add(f"ideas/{idea}/reviews.json", "reviews.json", must_exist=False)
    elif kind == "experiments_done" and isinstance(rec.get("notes_path"), str) and rec["notes_path"]:
        add(rec["notes_path"], "notes")
    return out


class ArtifactError(Exception):
    """An artifact that cannot be served: the HTTP status and a message for the JSON error body."""

    def __init__(self, code: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def artifact(run_dir: Path, rel: str) -> tuple[Path, str, dict[str, str]]:
    """(file, content type, extra headers) for `run_dir/rel`; raises ArtifactError when it cannot be served.
    The caller streams the file (with range requests: the browser's PDF viewer asks for pieces)."""
    target = safe_path(run_dir, rel)
    if target is None:
        raise ArtifactError(HTTPStatus.FORBIDDEN, "path outside the run folder")
    if not target.is_file():
        raise ArtifactError(HTTPStatus.NOT_FOUND, f"no file {rel!r}")
    if not os.access(target, os.R_OK):
        raise ArtifactError(HTTPStatus.NOT_FOUND, f"cannot read {rel!r}")
    suffix = target.suffix.lower()
    headers = {"Cache-Control": "no-cache"}
    if suffix in INLINE_TYPES:
        ctype = INLINE_TYPES[suffix]
    elif suffix in TEXT_TYPES:
        ctype = "text/plain; charset=utf-8"
    else:  # anything else (html, js, binaries) is a download, never rendered in our origin
        ctype = "application/octet-stream"
        headers["Content-Disposition"] = f'attachment; filename="{target.name.replace(chr(34), "")}"'
    headers["Content-Security-Policy"] = PDF_CSP if suffix == ".pdf" else ARTIFACT_CSP
    return target, ctype, headers


def read_text_tail(path: Path, limit: int = 200_000) -> str:
    """The last `limit` bytes of a text file (logs can be long), decoded leniently."""
    with path.open("rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        fh.seek(max(0, size - limit))
        data = fh.read()
    text = data.decode("utf-8", "replace")
    return text if size <= limit else "[...]\n" + text
