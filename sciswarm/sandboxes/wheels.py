"""The wheels a template's needs add to an image, fetched on the host with pip (the build has no network).

The image's own distributions are pinned as constraints, so what is added fits what is there (numpy stays the
image's numpy, torch its pinned build), and their wheels are dropped from the result: only what is missing goes
into the build. The experiment image's wheelhouse is offered to pip as `--find-links`, so its wheels (the pinned
CPU torch among them) are not fetched again. A result is cached per requirement set, under the project's wheelhouse
folder (`~/.cache/sciswarm/wheelhouse/needs-<hash>`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sciswarm.sandboxes.base_image import ProgressCallback, say
from sciswarm.sandboxes.distributions import canonical, wheel_version
from sciswarm.sandboxes.needs import inputs_digest

COMPLETE = ".complete"
NEEDS_PREFIX = "needs-"
_NOT_FOUND = (
    re.compile(r"No matching distribution found for\s+(\S+)"),
    re.compile(r"Could not find a version that satisfies the requirement\s+(\S+)"),
)


@dataclass
class PipFailure(Exception):
    """pip could not get the wheels: the requirements it found nothing for, and the end of its output."""

    not_found: list[str]
    tail: str

    def __str__(self) -> str:
        return self.tail


def not_found_in(output: str) -> list[str]:
    """The requirements pip says no distribution exists for, in order (e.g. ['npeet'])."""
    found: list[str] = []
    for pattern in _NOT_FOUND:
        for match in pattern.finditer(output):
            if match[1] not in found:
                found.append(match[1])
    return found


def pip_argv(
    requirements: Sequence[str],
    *,
    python_version: str,
    dest: Path,
    constraints: Path | None = None,
    find_links: Sequence[Path] = (),
    extra_index_url: str | None = None,
    host_version: str | None = None,
) -> list[str]:
    """The pip command that puts wheels for `requirements` (and their dependencies) into `dest`: `pip wheel`
    when the host's Python is the image's (it also builds sdists), else `pip download` of binary wheels."""
    host = host_version or f"{sys.version_info[0]}.{sys.version_info[1]}"
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    if python_version == host:
        cmd += ["wheel", "--prefer-binary", "--wheel-dir", str(dest)]
    else:
        cmd += ["download", "--only-binary=:all:", "--python-version", python_version, "--dest", str(dest)]
    if constraints is not None:
        cmd += ["--constraint", str(constraints)]
    for folder in find_links:
        cmd += ["--find-links", str(folder)]
    if extra_index_url:
        cmd += ["--extra-index-url", extra_index_url]
    return [*cmd, *requirements]


def _run_pip(cmd: list[str], progress: ProgressCallback | None) -> None:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    lines: list[str] = []
    for line in proc.stdout:
        lines.append(line.rstrip())
        say(progress, f"  {line.rstrip()}")
    if proc.wait() != 0:
        output = "\n".join(lines)
        tail = " | ".join(x.strip() for x in lines if x.strip().startswith("ERROR"))[-1500:]
        raise PipFailure(not_found_in(output), tail or " | ".join(lines[-5:]))


def image_wheelhouses(cache_dir: Path) -> list[Path]:
    """The experiment images' complete wheelhouses under `cache_dir/wheelhouse` (not those of other needs: a wheel
    a YAML pointed at once must not meet a need by name later)."""
    root = cache_dir / "wheelhouse"
    if not root.is_dir():
        return []
    return sorted(
        p for p in root.iterdir() if p.is_dir() and (p / COMPLETE).exists() and not p.name.startswith(NEEDS_PREFIX)
    )


def prune_installed(folder: Path, installed: Mapping[str, str]) -> list[str]:
    """Remove the wheels of distributions the image has at that very version; the names of those kept."""
    kept = []
    for wheel in sorted(folder.glob("*.whl")):
        parsed = wheel_version(wheel.name)
        if parsed is not None and installed.get(parsed[0]) == parsed[1]:
            wheel.unlink()
        else:
            kept.append(wheel.name)
    return kept


def prepare_needs_wheelhouse(
    requirements: Sequence[str],
    *,
    python_version: str,
    installed: Mapping[str, str],
    unpinned: Sequence[str] = (),
    cache_dir: Path,
    extra_index_url: str | None = None,
    progress: ProgressCallback | None = None,
) -> Path:
    """A folder with the wheels `requirements` add to an environment that has `installed` ({name: version},
    pinned except `unpinned`). Raises PipFailure when pip cannot get them."""
    free = set(unpinned)
    pins = sorted(f"{name}=={version}" for name, version in installed.items() if name not in free)
    key = inputs_digest([python_version, *requirements, "--", *pins, extra_index_url or ""])
    dest = cache_dir / "wheelhouse" / f"{NEEDS_PREFIX}{key}"
    if (dest / COMPLETE).exists():
        say(progress, f"wheelhouse {dest} already prepared")
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{dest.name}.", dir=dest.parent))
    try:
        constraints = work / "constraints.txt"
        constraints.write_text("\n".join(pins) + "\n")
        wheels = work / "wheels"
        wheels.mkdir()
        cmd = pip_argv(
            requirements,
            python_version=python_version,
            dest=wheels,
            constraints=constraints,
            find_links=image_wheelhouses(cache_dir),
            extra_index_url=extra_index_url,
        )
        say(progress, f"fetching wheels for python {python_version}: {' '.join(requirements)}")
        _run_pip(cmd, progress)
        kept = prune_installed(wheels, {canonical(k): v for k, v in installed.items()})
        (wheels / COMPLETE).write_text(json.dumps({"python": python_version, "requirements": list(requirements)}))
        say(progress, f"wheels to add: {', '.join(kept) or 'none'}")
        try:
            os.rename(wheels, dest)
        except OSError:  # another process prepared it meanwhile
            if not (dest / COMPLETE).exists():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dest
