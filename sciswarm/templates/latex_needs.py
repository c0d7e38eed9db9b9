"""What a template's LaTeX needs from the TeX installation, and which of it this host lacks.

The needs are the ``\\documentclass``, ``\\usepackage``, ``\\RequirePackage``, ``\\LoadClass`` and
``\\bibliographystyle`` of ``template.tex``, followed into the template's own ``.sty``/``.cls`` files (a
conference style that requires ``natbib`` needs ``natbib``) and the files it ``\\input``s or ``\\include``s (a
``.sty``/``.cls`` loaded that way is a need too). Only requirements count: what a file merely tests or names in a
message (``\\@ifpackageloaded{citeref}{...}{}``, ``\\IfFileExists``, ``\\PackageError{..}{..}{Move
\\usepackage{citeref} ...}``) is skipped with all its arguments. A file beside the .tex or written by a
``filecontents`` block is the template's; the rest is looked up with ``kpsewhich``. Each missing one comes with
the Debian package that provides it (``paper.tex_packages``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sciswarm.paper.tex_packages import debian_package, install_command
from sciswarm.templates.latex import strip_tex_comments

_OPT = r"(?:\[[^\]]*\])?"
_NEEDS = (
    (re.compile(rf"\\(?:usepackage|RequirePackage|RequirePackageWithOptions){_OPT}\{{([^}}]*)\}}"), ".sty"),
    (re.compile(rf"\\(?:documentclass|LoadClass|LoadClassWithOptions){_OPT}\{{([^}}]*)\}}"), ".cls"),
    (re.compile(r"\\bibliographystyle\{([^}]*)\}"), ".bst"),
)
_FILECONTENTS = re.compile(r"\\begin\{filecontents\*?\}(?:\[[^\]]*\])?\{([^}]+)\}")
_INPUT = re.compile(r"\\(?:input|include)(?:\s*\{([^}]*)\}|\s+([^\s{}\\%]+))")
_COMMAND = re.compile(r"\\([A-Za-z@]+)")
# Commands whose arguments are a test or a message, never a requirement, and how many arguments each takes
_NOT_REQUIRED = {
    **dict.fromkeys(("@ifpackageloaded", "@ifclassloaded", "IfFileExists", "InputIfFileExists"), 3),
    **dict.fromkeys(("IfPackageLoadedTF", "IfClassLoadedTF", "IfFormatAtLeastTF", "@ifundefined"), 3),
    **dict.fromkeys(("@ifpackagewith", "@ifclasswith", "@ifpackagelater", "@ifclasslater"), 4),
    **dict.fromkeys(("IfPackageLoadedWithOptionsTF", "IfClassLoadedWithOptionsTF"), 4),
    **dict.fromkeys(("IfPackageAtLeastTF", "IfClassAtLeastTF"), 4),
    **dict.fromkeys(("IfPackageLoadedT", "IfPackageLoadedF", "IfClassLoadedT", "IfClassLoadedF"), 2),
    **dict.fromkeys(("PackageError", "ClassError"), 3),
    "GenericError": 4,
    **dict.fromkeys(("PackageWarning", "PackageWarningNoLine", "PackageInfo", "PackageNote"), 2),
    **dict.fromkeys(("ClassWarning", "ClassWarningNoLine", "ClassInfo", "ClassNote"), 2),
    **dict.fromkeys(("GenericWarning", "GenericInfo"), 2),
    **dict.fromkeys(("typeout", "message", "wlog"), 1),
}


@dataclass(frozen=True)
class MissingTexFile:
    """A file the template's LaTeX needs that is neither the template's nor installed."""

    name: str  # e.g. "cleveref.sty"
    needed_by: str  # the template file that asks for it, e.g. "template.tex" or "iclr2024.sty"
    debian_package: str  # e.g. "texlive-latex-extra"; two names joined by " or " when unknown

    def __str__(self) -> str:
        via = "" if self.needed_by == "template.tex" else f" (for {self.needed_by})"
        return f"{self.name}{via}: {self.debian_package}"


def _argument_end(text: str, pos: int) -> int:
    """Where the argument starting at ``pos`` (after blanks) ends: a balanced ``{...}`` group, else one token."""
    while pos < len(text) and text[pos].isspace():
        pos += 1
    if pos >= len(text):
        return pos
    if text[pos] != "{":
        command = _COMMAND.match(text, pos)
        return command.end() if command else pos + (2 if text[pos] == "\\" else 1)
    depth = 0
    while pos < len(text):
        char = text[pos]
        if char == "\\":
            pos += 2
            continue
        depth += {"{": 1, "}": -1}.get(char, 0)
        pos += 1
        if depth == 0:
            break
    return pos


def requirements_text(tex: str) -> str:
    """``tex`` without comments and without the tests and messages (``\\@ifpackageloaded{x}{..}{..}``,
    ``\\IfFileExists``, ``\\PackageError``, ...) and their arguments: what is left is what the file requires."""
    body = strip_tex_comments(tex)
    kept: list[str] = []
    pos = 0
    for m in _COMMAND.finditer(body):
        if m.start() < pos or m.group(1) not in _NOT_REQUIRED:
            continue
        kept.append(body[pos : m.start()])
        pos = m.end()
        for _ in range(_NOT_REQUIRED[m.group(1)]):
            pos = _argument_end(body, pos)
    kept.append(body[pos:])
    return "".join(kept)


def needed_files(tex: str) -> list[str]:
    """The .sty/.cls/.bst files one LaTeX source requires, in order (``{a,b}`` lists split); what it only tests
    for or names in a message does not count."""
    body = requirements_text(tex)
    hits: list[tuple[int, str]] = []
    for rx, ext in _NEEDS:
        for m in rx.finditer(body):
            hits += [(m.start(), f"{name.strip()}{ext}") for name in m.group(1).split(",") if name.strip()]
    return list(dict.fromkeys(name for _, name in sorted(hits)))


def input_files(tex: str) -> list[str]:
    """The files inside the template's folder that one LaTeX source reads with ``\\input``/``\\include``
    (outside tests), ``.tex`` added when the name has no extension."""
    names = (m.group(1) or m.group(2) or "" for m in _INPUT.finditer(requirements_text(tex)))
    paths = (PurePosixPath(name.strip()) for name in names if name.strip() and "#" not in name)
    inside = (p for p in paths if not p.is_absolute() and ".." not in p.parts)  # the template's folder only
    return list(dict.fromkeys(str(p if p.suffix else p.with_name(p.name + ".tex")) for p in inside))


def template_needs(latex_dir: Path, tex: str) -> tuple[dict[str, str], set[str]]:
    """(every needed file -> the template file that first asks for it, the files the template itself has),
    following the template's own .sty/.cls files and the .tex files it inputs."""
    own = set(_FILECONTENTS.findall(strip_tex_comments(tex)))
    needs: dict[str, str] = {}
    read = {"template.tex"}
    queue = [("template.tex", tex)]
    while queue:
        source, text = queue.pop(0)
        inputs = input_files(text)
        for name in needed_files(text) + [n for n in inputs if PurePosixPath(n).suffix in (".sty", ".cls")]:
            if name in needs:
                continue
            needs[name] = source
            local = latex_dir / name
            if name not in own and local.is_file():
                own.add(name)
                if local.suffix in (".sty", ".cls"):
                    read.add(name)
                    queue.append((name, local.read_text(encoding="utf-8", errors="replace")))
        for name in inputs:  # the template's own .tex parts: what they require counts too
            local = latex_dir / name
            if name not in read and PurePosixPath(name).suffix == ".tex" and local.is_file():
                read.add(name)
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
