"""The template's LaTeX: section placeholder blocks, the bibliography (the packages it needs: latex_needs.py)."""

from __future__ import annotations

import re
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
