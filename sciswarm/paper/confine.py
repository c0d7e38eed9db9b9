"""How TeX runs on untrusted input: a scrubbed environment, kpathsea paranoia, rlimits, Landlock.

Layers, each enough for what it covers:

- environment: only PATH/locale pass through (no API keys for kpathsea's ``$VAR`` expansion to leak);
  HOME, TMPDIR and TEXMFVAR point into a private scratch dir;
- kpathsea: ``openin_any=p`` / ``openout_any=p`` (no absolute paths, no ``..``, no dot files, for reading
  and writing), ``shell_escape=f`` (plus ``-no-shell-escape`` on the command line);
- rlimits: CPU seconds and file size, so a runaway survives neither a crashed parent nor a full disk;
- Landlock (when the kernel has it): reads only from the TeX trees and system dirs, writes only to the
  paper folder and the scratch dir, no TCP. This is what stops ``\\pdfobj file {/abs/path}``, which
  pdfTeX reads without asking kpathsea's paranoia.
"""

from __future__ import annotations

import functools
import math
import os
import resource
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from sciswarm.paper.landlock import READ_FILE, WRITE_FILE, Ruleset, abi_version

Isolation = Literal["landlock", "kpathsea"]

MAX_FILE_BYTES = 256 * 1024 * 1024
_PASS_ENV = ("PATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "SOURCE_DATE_EPOCH")
_TEXMF_VARS = (
    "TEXMFROOT",
    "TEXMFDIST",
    "TEXMFMAIN",
    "TEXMFLOCAL",
    "TEXMFSYSVAR",
    "TEXMFSYSCONFIG",
    "TEXMFHOME",
)
_SYSTEM_READ = (
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
    "/etc/texmf",
    "/etc/perl",
    "/var/lib/texmf",
    "/dev/urandom",
)


class ConfinementError(RuntimeError):
    """Landlock was required but is unavailable or could not be set up."""


@dataclass(frozen=True)
class TexTree:
    """Where the TeX installation lives (asked once from kpsewhich)."""

    read_dirs: tuple[Path, ...]
    texmfhome: Path | None


@functools.cache
def tex_tree() -> TexTree:
    kpsewhich = shutil.which("kpsewhich")
    if kpsewhich is None:
        return TexTree((), None)
    spec = "|".join(f"${v}" for v in _TEXMF_VARS)
    values: list[str] = []
    cnfs: list[str] = []
    try:
        out = subprocess.run(
            [kpsewhich, f"--expand-var={spec}"], capture_output=True, text=True, timeout=20, check=False
        )
        values = out.stdout.strip().split("|")
        cnf = subprocess.run([kpsewhich, "-all", "texmf.cnf"], capture_output=True, text=True, timeout=20, check=False)
        cnfs = cnf.stdout.split()
    except (OSError, subprocess.SubprocessError):
        pass
    dirs: list[Path] = []
    for raw in [*values, *(str(Path(c).resolve().parent) for c in cnfs)]:
        raw = raw.strip().lstrip("!")
        if raw and not any(ch in raw for ch in "{}$,;:") and Path(raw).is_dir():
            dirs.append(Path(raw).resolve())
    home = values[-1].strip() if len(values) == len(_TEXMF_VARS) else ""
    return TexTree(tuple(dict.fromkeys(dirs)), Path(home) if home.startswith("/") else None)


def tex_env(scratch: Path) -> dict[str, str]:
    env = {k: os.environ[k] for k in _PASS_ENV if k in os.environ}
    env.setdefault("PATH", os.defpath)
    env.setdefault("LC_ALL", "C.UTF-8")
    home = tex_tree().texmfhome
    env.update(
        HOME=str(scratch),
        TMPDIR=str(scratch),
        TEXMFVAR=str(scratch / "texmf-var"),
        TEXMFCONFIG=str(scratch / "texmf-config"),
        openin_any="p",
        openout_any="p",
        shell_escape="f",
        max_print_line="1000",
        error_line="254",
        half_error_line="238",
    )
    if home is not None and home.is_dir():
        env["TEXMFHOME"] = str(home)
    else:
        env["TEXMFHOME"] = str(scratch / "texmf")
    return env


@dataclass
class Confinement:
    """What to pass to ``create_subprocess_exec``: ``env`` and ``preexec``. Close it afterwards."""

    env: dict[str, str]
    isolation: Isolation
    cpu_s: int
    _ruleset: Ruleset | None = field(default=None, repr=False)

    def preexec(self) -> None:
        resource.setrlimit(resource.RLIMIT_CPU, (self.cpu_s, self.cpu_s + 1))
        resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE_BYTES, MAX_FILE_BYTES))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if self._ruleset is not None:
            self._ruleset.restrict_self()

    def close(self) -> None:
        if self._ruleset is not None:
            self._ruleset.close()


def confine(
    paper_dir: Path,
    scratch: Path,
    *,
    timeout_s: float,
    programs: Iterable[str],
    require_landlock: bool = False,
) -> Confinement:
    """Set up confinement for TeX programs run in ``paper_dir``, with ``scratch`` as private temp space."""
    env = tex_env(scratch)
    cpu_s = max(2, math.ceil(timeout_s) + 2)
    if abi_version() < 1:
        if require_landlock:
            raise ConfinementError("Landlock is not available on this kernel (require_isolation=True)")
        return Confinement(env, "kpathsea", cpu_s)
    ruleset = Ruleset()
    try:
        for p in _SYSTEM_READ:
            ruleset.allow_read(Path(p))
        for d in tex_tree().read_dirs:
            ruleset.allow_read(d)
        if "TEXMFHOME" in env:
            ruleset.allow_read(Path(env["TEXMFHOME"]))
        for prog in programs:
            found = shutil.which(prog, path=env["PATH"])
            if found:
                ruleset.allow_read(Path(found).resolve().parent)
                ruleset.allow_read(Path(found).parent)
        ruleset.allow(Path("/dev/null"), READ_FILE | WRITE_FILE)
        ruleset.allow_write(paper_dir)
        ruleset.allow_write(scratch)
    except Exception as exc:
        ruleset.close()
        if require_landlock:
            raise ConfinementError(f"could not set up Landlock: {exc}") from exc
        return Confinement(env, "kpathsea", cpu_s)
    return Confinement(env, "landlock", cpu_s, ruleset)
