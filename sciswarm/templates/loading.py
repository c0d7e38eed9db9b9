"""Inspecting a template folder against the contract (without running it), and loading it."""

from __future__ import annotations

import ast
from pathlib import Path

from sciswarm.templates.contract import (
    REQUIRED_FILES,
    IdeaSpec,
    Template,
    TemplatePrompt,
    parse_prompt,
    parse_seed_ideas,
    read_json,
)
from sciswarm.templates.data import DATA_FOLDER, data_sources
from sciswarm.templates.errors import TemplateError
from sciswarm.templates.files import template_files
from sciswarm.templates.latex import find_bibliography, section_placeholders
from sciswarm.templates.latex_needs import describe_missing, missing_tex_files
from sciswarm.templates.report import TemplateReport


def _check_structure(root: Path, report: TemplateReport) -> tuple[TemplatePrompt | None, list[IdeaSpec] | None]:
    missing = [f for f in REQUIRED_FILES if not (root / f).is_file()]
    report.add("files", "fail" if missing else "pass", f"missing: {', '.join(missing)}" if missing else "")

    for script in ("experiment.py", "plot.py"):
        path = root / script
        if not path.is_file():
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=script)
        except (SyntaxError, UnicodeDecodeError) as e:
            report.add(script, "fail", f"does not parse: {e}")
            continue
        if script == "experiment.py":
            uses_out_dir = "out_dir" in path.read_text(encoding="utf-8")
            report.add(script, "pass" if uses_out_dir else "warn", "" if uses_out_dir else "no --out_dir option")
        else:
            has_labels = any(
                isinstance(t, ast.Name) and t.id == "labels"
                for node in tree.body
                if isinstance(node, ast.Assign | ast.AnnAssign)
                for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
            )
            report.add(
                script,
                "pass" if has_labels else "warn",
                "" if has_labels else "no module-level `labels` dict (the coder names runs there)",
            )

    prompt = ideas = None
    if (root / "prompt.json").is_file():
        try:
            prompt = parse_prompt(read_json(root / "prompt.json"))
            report.add("prompt.json", "pass")
        except TemplateError as e:
            report.add("prompt.json", "fail", str(e))
    if (root / "seed_ideas.json").is_file():
        try:
            ideas = parse_seed_ideas(read_json(root / "seed_ideas.json"))
            report.add("seed_ideas.json", "pass" if ideas else "warn", f"{len(ideas)} idea(s)")
        except TemplateError as e:
            report.add("seed_ideas.json", "fail", str(e))
    return prompt, ideas


def _check_latex(root: Path, report: TemplateReport) -> list[Path] | None:
    tex_path = root / "latex" / "template.tex"
    if not tex_path.is_file():
        return None
    tex = tex_path.read_text(encoding="utf-8", errors="replace")
    try:
        bibs, how = find_bibliography(tex_path.parent, tex)
        report.add("bibliography", "pass", how)
    except TemplateError as e:
        report.add("bibliography", "fail", str(e))
        bibs = None
    missing = missing_tex_files(tex_path.parent, tex)
    if missing is None:
        report.add("latex packages", "skip", "no TeX installation here (kpsewhich not found): cannot tell")
    elif missing:  # a warning: the code still runs; the paper will not compile until they are installed
        report.add("latex packages", "warn", describe_missing(missing))
    else:
        report.add("latex packages", "pass", "all installed or beside template.tex")
    blocks = section_placeholders(tex)
    if blocks:
        report.add("placeholders", "pass", f"{len(blocks)} blocks: {', '.join(blocks)}")
    else:
        report.add("placeholders", "warn", "no '%% BEGIN SECTION: X' blocks; the writer falls back to \\section{}")
    return bibs


def inspect_template(root: Path) -> TemplateReport:
    """Check the folder's files against the contract; report.template is set when they all pass."""
    report = TemplateReport(path=root)
    if not root.is_dir():
        report.add("folder", "fail", f"{root} is not a directory")
        return report
    prompt, ideas = _check_structure(root, report)
    bibs = _check_latex(root, report)
    data = data_sources(root)
    if data:
        scripts = ", ".join(s.script for s in data)
        report.add("data", "pass", f"{scripts} (the data step: run once on this host, cached, mounted read-only)")
    if report.ok and prompt is not None and ideas is not None and bibs is not None:
        extras = [
            f
            for f in template_files(root)
            if f not in REQUIRED_FILES and not _is_bib(root, f, bibs) and not (data and f.startswith(f"{DATA_FOLDER}/"))
        ]
        report.template = Template(root.name, root, prompt, ideas, bibs, extras)
    return report


def _is_bib(root: Path, rel: str, bibs: list[Path]) -> bool:
    return any((root / rel).resolve() == b.resolve() for b in bibs)


def load_template(path: str | Path) -> Template:
    """Load a template folder; raises TemplateError listing every contract violation."""
    report = inspect_template(Path(path).resolve())
    if report.template is None:
        raise TemplateError(f"invalid template {path}: " + "; ".join(report.errors))
    return report.template
