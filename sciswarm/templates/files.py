"""A template's files on disk: listing them (without run_* folders and caches) and copying them."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from sciswarm.templates.errors import TemplateError

SKIP_DIRS = ("__pycache__", ".git")


def is_skipped_dir(name: str) -> bool:
    return name in SKIP_DIRS or name.startswith("run_")


def template_files(root: Path) -> list[str]:
    """Every file of the template, relative to root, without run_* folders and caches."""
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not is_skipped_dir(d))
        rel = Path(dirpath).relative_to(root)
        files += [(rel / f).as_posix() for f in sorted(filenames) if not f.endswith(".pyc")]
    return files


def copy_template(src: str | Path, dst: str | Path) -> Path:
    """Copy a template (all files, helpers included; not run_* folders or caches) into dst. A data folder
    (``data/<name>/prepare.py``) stays out: runs get its prepared copy read-only (templates/data.py)."""
    from sciswarm.templates.data import DATA_FOLDER, data_sources

    src, dst = Path(src).resolve(), Path(dst).resolve()
    if not src.is_dir():
        raise TemplateError(f"template folder {src} does not exist")
    if dst == src or src in dst.parents:
        raise TemplateError(f"cannot copy template {src} into itself ({dst})")
    dst.mkdir(parents=True, exist_ok=True)
    data = f"{DATA_FOLDER}/" if data_sources(src) else None
    for rel in template_files(src):
        if data and rel.startswith(data):
            continue
        target = dst / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src / rel, target)
    return dst
