"""A template's data step: its ``data/<name>/prepare.py`` scripts, run once on the host, cached, mounted read-only.

The AI Scientist's layout: a template that needs a corpus has a ``data/`` folder with one sub-folder per dataset,
each with a ``prepare.py`` (or ``prepare.sh``) that downloads and writes the files beside itself (nanoGPT's
``data/shakespeare_char/prepare.py`` writes ``train.bin``, ``val.bin``, ``meta.pkl``). The step copies ``data/``
into a staging folder of the cache, runs every script there (on the host, with network: ``data_script.py``),
makes the result read-only and moves it into place, keyed by a hash of the template's ``data/`` files, so a
second run (and ``template check``) reuses it. Runs see it read-only: at ``$SCISWARM_DATA`` in every provider,
and at ``/data`` in docker (so the AI Scientist's ``../../data/<name>`` from the workspace resolves too).
The workspace copy of the template leaves ``data/`` out.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sciswarm.sandboxes.base import ReadOnlyMount
from sciswarm.templates.data_script import DataPrepError, run_script

DATA_FOLDER = "data"
SCRIPTS = ("prepare.py", "prepare.sh")
DATA_ENV = "SCISWARM_DATA"
MOUNT_TARGET = "/data"
MARKER = ".sciswarm-data.json"
DEFAULT_TIMEOUT_S = 7200.0
DEFAULT_DATA_DIR = Path("runs") / ".data"  # <runs_dir>/.data, beside .baselines, for the default runs_dir

LogFn = Callable[[str, str], None]  # (level, text)

__all__ = ["DataPrepError", "DataSource", "PreparedData", "data_key", "data_sources", "prepare_data"]


@dataclass(frozen=True)
class DataSource:
    name: str  # the dataset's folder under data/
    script: str  # relative to the template, e.g. "data/shakespeare_char/prepare.py"


@dataclass(frozen=True)
class PreparedData:
    path: Path  # the prepared, read-only copy of the template's data/ folder
    key: str
    fresh: bool  # prepared by this call (False: taken from the cache)
    wall_s: float

    def mount(self) -> ReadOnlyMount:
        return ReadOnlyMount(source=str(self.path), target=MOUNT_TARGET, env=DATA_ENV)

    def marker(self) -> dict[str, object]:
        data: dict[str, object] = json.loads((self.path / MARKER).read_text())
        return data


def data_sources(template: Path) -> list[DataSource]:
    """The template's data scripts: ``data/<name>/prepare.py`` (or ``prepare.sh``), by dataset name."""
    root = template / DATA_FOLDER
    if not root.is_dir():
        return []
    found = []
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        script = next((sub / s for s in SCRIPTS if (sub / s).is_file()), None)
        if script is not None:
            found.append(DataSource(sub.name, script.relative_to(template).as_posix()))
    return found


def _data_files(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            if not name.endswith(".pyc"):
                yield Path(dirpath, name)


def data_key(template: Path) -> str:
    """``<template>-<hash>``: the hash of every file of the template's data/ folder (names and contents)."""
    h = hashlib.sha256()
    root = template / DATA_FOLDER
    for path in _data_files(root):
        h.update(path.relative_to(root).as_posix().encode() + b"\0")
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        h.update(b"\0")
    return f"{template.name}-{h.hexdigest()[:12]}"


def _set_read_only(root: Path) -> None:
    """Files r--r--r--, folders r-xr-xr-x: readable by a run's uid, writable by nobody but root."""
    for dirpath, _, filenames in os.walk(root, topdown=False):
        for name in filenames:
            p = Path(dirpath, name)
            if not p.is_symlink():
                p.chmod(0o444)
        Path(dirpath).chmod(0o555)


def _remove(root: Path) -> None:
    """rmtree for a read-only tree."""
    for dirpath, _, _ in os.walk(root):
        with contextlib.suppress(OSError):
            Path(dirpath).chmod(stat.S_IRWXU)
    shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One preparation of a key at a time, across processes (two runs starting together)."""
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def prepare_data(
    template: Path,
    cache_dir: Path,
    *,
    python: str = sys.executable,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    log: LogFn | None = None,
) -> PreparedData | None:
    """Prepare the template's data once (None when it has no data scripts); blocking: call it in a thread.

    Raises DataPrepError (an ExpectedFailure, one line) when a script fails, naming it and, when it could
    not reach the network, saying so. ``timeout_s`` bounds each script."""
    template = Path(template).resolve()
    sources = data_sources(template)
    if not sources:
        return None
    say = log or (lambda level, text: None)
    t0 = time.monotonic()
    key = data_key(template)
    cache_dir = Path(cache_dir).resolve()
    final = cache_dir / key
    if (final / MARKER).is_file():
        say("info", f"template data: reusing {final} (prepared earlier)")
        return PreparedData(final, key, False, time.monotonic() - t0)
    cache_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(PermissionError):
        cache_dir.chmod(0o755)  # a local run's uid must traverse it
    with _locked(cache_dir / f".{key}.lock"):
        if (final / MARKER).is_file():  # another process prepared it while we waited
            return PreparedData(final, key, False, time.monotonic() - t0)
        staging = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=cache_dir))
        try:
            _prepare_into(staging, template, sources, cache_dir / ".logs" / key, python, timeout_s, say)
            _set_read_only(staging)
            if final.exists():
                _remove(final)  # a folder without a marker: not ours, or never finished
            staging.rename(final)
        except BaseException:
            _remove(staging)
            raise
    say("info", f"template data: prepared in {time.monotonic() - t0:.1f} s, cached in {final}")
    return PreparedData(final, key, True, time.monotonic() - t0)


def _prepare_into(
    staging: Path,
    template: Path,
    sources: list[DataSource],
    logs: Path,
    python: str,
    timeout_s: float,
    say: LogFn,
) -> None:
    root = template / DATA_FOLDER
    for path in _data_files(root):
        target = staging / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    scripts = []
    for source in sources:
        script = staging / Path(source.script).relative_to(DATA_FOLDER)
        say("info", f"template data: running {source.script} on this host (once; with network, not sandboxed)")
        wall = run_script(
            script,
            source.script,
            data_root=staging,
            python=python,
            timeout_s=timeout_s,
            log_path=logs / f"{source.name}.log",
        )
        scripts.append({"script": source.script, "wall_s": round(wall, 3)})
    marker = {"template": str(template), "prepared_at": time.time(), "scripts": scripts}
    (staging / MARKER).write_text(json.dumps(marker, indent=2) + "\n")
