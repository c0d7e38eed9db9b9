"""The template's LaTeX: section placeholder blocks, the bibliography, packages it needs."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from sciswarm.templates.errors import TemplateError

SECTION_MARKER = re.compile(
    r"^[ \t]*%+[ \t]*BEGIN SECTION:[ \t]*(?P<name>[^\n]+?)[ \t]*\n(?P<body>.*?)"
    r"^[ \t]*%+[ \t]*END SECTION:[ \t]*(?P=name)[ \t]*$",
    re.MULTILINE | re.DOTALL,
)


def strip_tex_comments(tex: str) -> str:
    return re.sub(r"(?<!\\)%.*", "", tex)


def section_placeholders(tex: str) -> dict[str, str]:
    """The ``%% BEGIN SECTION: X`` ... ``%% END SECTION: X`` blocks of a template: {name: current body}."""
    return {m.group("name"): m.group("body") for m in SECTION_MARKER.finditer(tex)}


def fill_section(tex: str, name: str, body: str) -> str:
    """Replace the body of placeholder block ``name`` (markers are kept, so a section can be refilled)."""
    for m in SECTION_MARKER.finditer(tex):
        if m.group("name") == name:
            text = body if body.endswith("\n") or not body else body + "\n"
            return tex[: m.start("body")] + text + tex[m.end("body") :]
    raise KeyError(f"no placeholder block '% BEGIN SECTION: {name}' in the LaTeX template")


def find_bibliography(latex_dir: Path, tex: str) -> tuple[list[Path], str]:
    """Resolve the template's bibliography. Returns (.bib files beside the .tex, how it was found).

    Raises TemplateError when there is none, or a \\bibliography{x} names a file that is nowhere.
    """
    body = strip_tex_comments(tex)
    embedded = set(re.findall(r"\\begin\{filecontents\*?\}(?:\[[^\]]*\])?\{([^}]+)\}", body))
    embedded |= {name.removesuffix(".bib") for name in embedded}
    names = [n.strip() for group in re.findall(r"\\bibliography\{([^}]*)\}", body) for n in group.split(",")]
    names += re.findall(r"\\addbibresource(?:\[[^\]]*\])?\{([^}]+)\}", body)
    names = [n for n in names if n]
    if not names:
        if "\\begin{thebibliography}" in body:
            return [], "thebibliography environment inside template.tex"
        raise TemplateError(
            "latex/template.tex has no bibliography: add \\bibliography{references} with "
            "latex/references.bib (or a filecontents block), or a thebibliography environment"
        )
    beside: list[Path] = []
    found_inside: list[str] = []
    for name in names:
        stem = name.removesuffix(".bib")
        path = latex_dir / f"{stem}.bib"
        if path.is_file():
            beside.append(path)
        elif stem in embedded:
            found_inside.append(stem)
        else:
            raise TemplateError(
                f"latex/template.tex uses \\bibliography{{{name}}} but latex/{stem}.bib does not exist "
                "and no filecontents block in template.tex defines it"
            )
    how = ", ".join([f"latex/{p.name}" for p in beside] + [f"{n}.bib (filecontents)" for n in found_inside])
    return beside, how


def missing_tex_dependencies(latex_dir: Path, tex: str) -> list[str]:
    """Packages and bibliography styles used by the .tex that are neither beside it nor installed."""
    body = strip_tex_comments(tex)
    wanted = [
        f"{p.strip()}.sty"
        for group in re.findall(r"\\usepackage(?:\[[^\]]*\])?\{([^}]*)\}", body)
        for p in group.split(",")
        if p.strip()
    ]
    wanted += [f"{s.strip()}.bst" for s in re.findall(r"\\bibliographystyle\{([^}]*)\}", body) if s.strip()]
    embedded = set(re.findall(r"\\begin\{filecontents\*?\}(?:\[[^\]]*\])?\{([^}]+)\}", body))
    missing = [f for f in dict.fromkeys(wanted) if not (latex_dir / f).is_file() and f not in embedded]
    kpsewhich = shutil.which("kpsewhich")
    if not missing or kpsewhich is None:
        return []  # without a TeX installation nothing can be said
    try:
        proc = subprocess.run([kpsewhich, *missing], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return []
    found = {Path(line).name for line in proc.stdout.splitlines() if line.strip()}
    return [f for f in missing if f not in found]
