"""`sciswarm template new`: write a small, working template from the skeleton kept as package data.

The skeleton (``sciswarm/templates/skeleton/``) is a numpy MLP on two synthetic 2-D datasets, with a plot.py,
a prompt, seed ideas and a LaTeX paper with the writer's section markers. Each file is a jinja2 template named
``<file>.j2``; only ``{{ variable }}`` is special in them. Blocks and comments use ``<% %>`` and ``<# #>``, so
LaTeX's ``{%`` and ``{#`` and Python's braces need no escaping (a literal ``{{`` must not appear).
"""

from __future__ import annotations

import re
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import jinja2

from sciswarm.templates.errors import TemplateError

SKELETON = "skeleton"
SUFFIX = ".j2"
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")


class TemplateExists(TemplateError):
    """The destination of a new template is a non-empty folder (or a file)."""


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        block_start_string="<%",
        block_end_string="%>",
        comment_start_string="<#",
        comment_end_string="#>",
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def skeleton_files() -> dict[str, Traversable]:
    """The skeleton's files: {path in the new template ("latex/template.tex"): the .j2 resource}."""
    found: dict[str, Traversable] = {}

    def walk(folder: Traversable, prefix: str) -> None:
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.is_dir():
                walk(entry, f"{prefix}{entry.name}/")
            elif entry.name.endswith(SUFFIX):
                found[prefix + entry.name.removesuffix(SUFFIX)] = entry

    walk(resources.files("sciswarm.templates").joinpath(SKELETON), "")
    return found


def check_name(name: str) -> str:
    """A template name: a letter, then letters, digits, ``_`` or ``-`` (it names the folder)."""
    if not _NAME.fullmatch(name):
        raise TemplateError(
            f"template name {name!r}: use a letter, then letters, digits, '_' or '-' (at most 64 characters)"
        )
    return name


def variables(name: str) -> dict[str, str]:
    """What the skeleton's ``{{ ... }}`` placeholders are filled with."""
    return {
        "name": name,
        "title": " ".join(name.replace("-", "_").split("_")).strip() or name,
        "name_tex": name.replace("_", r"\_"),
    }


def render_skeleton(name: str) -> dict[str, str]:
    """Every file of a new template called ``name``: {relative path: text}."""
    env, values = _environment(), variables(check_name(name))
    return {
        rel: env.from_string(res.read_text(encoding="utf-8")).render(values) for rel, res in skeleton_files().items()
    }


def new_template(name: str, parent: str | Path = ".") -> tuple[Path, list[Path]]:
    """Write the skeleton as template ``name`` into ``parent/name``; returns (the folder, the files written).

    Raises TemplateExists when ``parent/name`` is a file or a non-empty folder (nothing is overwritten), and
    TemplateError for a bad name.
    """
    files = render_skeleton(name)
    dest = Path(parent).expanduser().resolve() / name
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        what = "a non-empty folder" if dest.is_dir() else "a file"
        raise TemplateExists(f"{dest} already exists and is {what}; not overwriting it (choose another NAME or --dir)")
    written = []
    for rel, text in files.items():
        path = dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return dest, written
