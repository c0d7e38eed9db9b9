"""What a template's Python files import from outside: read with `ast`, never run.

Left out: the standard library (`sys.stdlib_module_names`), relative imports, the template's own modules (a
`.py` file or a folder of that name at the template's root or beside the importing file: `python experiment.py`
runs with both on its path), optional imports (inside a `try` whose handler catches ImportError), and the data
step's scripts (`data/<name>/prepare.py` runs on the host, not in the sandbox).
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path

from sciswarm.templates.files import template_files

_IMPORT_ERRORS = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}


@dataclass(frozen=True)
class ImportScan:
    """Top-level modules a template needs, each with the files that import it (relative, sorted)."""

    modules: dict[str, list[str]] = field(default_factory=dict)
    optional: dict[str, list[str]] = field(default_factory=dict)  # imported under `try: ... except ImportError`
    unreadable: list[str] = field(default_factory=list)  # files that do not parse (the contract check says so)


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(isinstance(k, ast.Name | ast.Attribute) and _last_name(k) in _IMPORT_ERRORS for k in kinds)


def _last_name(node: ast.expr) -> str:
    return node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else ""


class _Imports(ast.NodeVisitor):
    def __init__(self) -> None:
        self.required: set[str] = set()
        self.optional: set[str] = set()
        self._guarded = 0

    def _add(self, dotted: str) -> None:
        top = dotted.split(".", 1)[0]
        (self.optional if self._guarded else self.required).add(top)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level == 0 and node.module:
            self._add(node.module)

    def visit_Try(self, node: ast.Try) -> None:
        guarded = any(_catches_import_error(h) for h in node.handlers)
        self._guarded += guarded
        for stmt in node.body:
            self.visit(stmt)
        self._guarded -= guarded
        for part in (*node.handlers, *node.orelse, *node.finalbody):
            self.visit(part)

    def visit_TryStar(self, node: ast.TryStar) -> None:
        self.visit_Try(node)  # type: ignore[arg-type]  # the same fields


def _own_names(folder: Path) -> set[str]:
    """Modules importable from `folder` itself: its .py files and its sub-folders (packages or namespaces)."""
    names = set()
    for entry in folder.iterdir():
        if entry.is_dir() and entry.name.isidentifier():
            names.add(entry.name)
        elif entry.suffix in (".py", ".so", ".pyd") and entry.is_file():
            names.add(entry.name.split(".", 1)[0])
    return names


def scan_imports(root: Path) -> ImportScan:
    """The third-party modules the template's `.py` files import (see the module docstring)."""
    from sciswarm.templates.data import DATA_FOLDER, data_sources

    root = root.resolve()
    host_only = f"{DATA_FOLDER}/" if data_sources(root) else None  # the data step runs on the host, not in runs
    stdlib = set(sys.stdlib_module_names)
    own_by_dir: dict[Path, set[str]] = {}
    modules: dict[str, set[str]] = {}
    optional: dict[str, set[str]] = {}
    unreadable: list[str] = []
    for rel in template_files(root):
        if not rel.endswith(".py") or (host_only and rel.startswith(host_only)):
            continue
        path = root / rel
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
        except (SyntaxError, UnicodeDecodeError, ValueError):
            unreadable.append(rel)
            continue
        visitor = _Imports()
        visitor.visit(tree)
        own = set()
        for folder in {root, path.parent}:
            own |= own_by_dir.setdefault(folder, _own_names(folder))
        for names, into in ((visitor.required, modules), (visitor.optional - visitor.required, optional)):
            for name in names - stdlib - own:
                into.setdefault(name, set()).add(rel)
    for name in set(optional) & set(modules):
        del optional[name]
    return ImportScan(
        {m: sorted(f) for m, f in sorted(modules.items())},
        {m: sorted(f) for m, f in sorted(optional.items())},
        unreadable,
    )
