"""What a template's LaTeX needs from the TeX installation, and which of it this host lacks.

The needs are the ``\\documentclass``, ``\\usepackage``, ``\\RequirePackage``, ``\\LoadClass`` and
``\\bibliographystyle`` of ``template.tex``, followed into the template's own ``.sty``/``.cls`` files (a
conference style that requires ``natbib`` needs ``natbib``). A file beside the .tex or written by a
``filecontents`` block is the template's; the rest is looked up with ``kpsewhich``. Each missing one comes with
the Debian package that provides it (``paper.tex_packages``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sciswarm.paper.tex_packages import debian_package, install_command
from sciswarm.templates.latex import strip_tex_comments

_OPT = r"(?:\[[^\]]*\])?"
_NEEDS = (
    (re.compile(rf"\\(?:usepackage|RequirePackage|RequirePackageWithOptions){_OPT}\{{([^}}]*)\}}"), ".sty"),
    (re.compile(rf"\\(?:documentclass|LoadClass|LoadClassWithOptions){_OPT}\{{([^}}]*)\}}"), ".cls"),
    (re.compile(r"\\bibliographystyle\{([^}]*)\}"), ".bst"),
)
_FILECONTENTS = re.compile(r"\\begin\{filecontents\*?\}(?:\[[^\]]*\])?\{([^}]+)\}")


@dataclass(frozen=True)
class MissingTexFile:
    """A file the template's LaTeX needs that is neither the template's nor installed."""

    name: str  # e.g. "cleveref.sty"
    needed_by: str  # the template file that asks for it, e.g. "template.tex" or "iclr2024.sty"
    debian_package: str  # e.g. "texlive-latex-extra"; two names joined by " or " when unknown

    def __str__(self) -> str:
        via = "" if self.needed_by == "template.tex" else f" (for {self.needed_by})"
        return f"{self.name}{via}: {self.debian_package}"


def needed_files(tex: str) -> list[str]:
    """The .sty/.cls/.bst files one LaTeX source asks for, in order (``{a,b}`` lists split)."""
    body = strip_tex_comments(tex)
    hits: list[tuple[int, str]] = []
    for rx, ext in _NEEDS:
        for m in rx.finditer(body):
            hits += [(m.start(), f"{name.strip()}{ext}") for name in m.group(1).split(",") if name.strip()]
    return list(dict.fromkeys(name for _, name in sorted(hits)))


def template_needs(latex_dir: Path, tex: str) -> tuple[dict[str, str], set[str]]:
    """(every needed file -> the template file that first asks for it, the files the template itself has),
    following the template's own .sty/.cls files."""
    own = set(_FILECONTENTS.findall(strip_tex_comments(tex)))
    needs: dict[str, str] = {}
    queue = [("template.tex", tex)]
    while queue:
        source, text = queue.pop(0)
        for name in needed_files(text):
            if name in needs:
                continue
            needs[name] = source
            local = latex_dir / name
            if name not in own and local.is_file():
                own.add(name)
                if local.suffix in (".sty", ".cls"):
                    queue.append((name, local.read_text(encoding="utf-8", errors="replace")))
    return needs, own


def installed(names: list[str]) -> set[str] | None:
    """Which of ``names`` kpsewhich finds; None when there is no TeX installation to ask."""
    kpsewhich = shutil.which("kpsewhich")
    if kpsewhich is None:
        return None
    if not names:
        return set()
    try:
        proc = subprocess.run([kpsewhich, *names], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return {Path(line.strip()).name for line in proc.stdout.splitlines() if line.strip()}


def missing_tex_files(latex_dir: Path, tex: str) -> list[MissingTexFile] | None:
    """The needed files this host lacks, with their Debian packages; None when there is no TeX installation."""
    needs, own = template_needs(latex_dir, tex)
    wanted = [name for name in needs if name not in own]
    found = installed(wanted)
    if found is None:
        return None
    return [MissingTexFile(name, needs[name], debian_package(name)) for name in wanted if name not in found]


def describe_missing(missing: list[MissingTexFile]) -> str:
    """One line for the template report: each file with its package, then the install command."""
    items = "; ".join(str(m) for m in missing)
    return f"not installed: {items}. Install with: {install_command([m.name for m in missing])}"
