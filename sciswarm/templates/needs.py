"""A template's Python needs: its `requirements.txt` when it has one, else its imports mapped to distributions;
plus the swarm YAML's `sandbox.requirements`. Static (nothing is run or downloaded); see sandboxes/needs.py for
how they are met."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from sciswarm.sandboxes.config import SandboxConfig, is_path_requirement
from sciswarm.sandboxes.distributions import distribution_for, requirement_name, wheel_modules
from sciswarm.sandboxes.needs import Need, Needs, UnmetNeeds
from sciswarm.templates.imports import scan_imports

REQUIREMENTS_FILE = "requirements.txt"
_INCLUDE = re.compile(r"(?:-r|--requirement)[=\s]*(\S.*)$")


def _logical_lines(path: Path) -> list[str]:
    """requirements.txt lines without comments, joined across trailing backslashes."""
    lines, pending = [], ""
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        text = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if text.endswith("\\"):
            pending += text[:-1] + " "
            continue
        text, pending = (pending + text).strip(), ""
        if text:
            lines.append(text)
    return lines


def read_requirements(path: Path, notes: list[str], seen: set[Path] | None = None) -> list[Need]:
    """The requirements of a requirements.txt (following `-r`); paths made absolute, relative to the file."""
    seen = seen if seen is not None else set()
    if path.resolve() in seen:
        return []
    seen.add(path.resolve())
    needs: list[Need] = []
    origin = path.name
    for line in _logical_lines(path):
        include = _INCLUDE.match(line)
        if include:
            target = include[1]
            nested = path.parent / target
            if not nested.is_file():
                raise UnmetNeeds(f"{path.name} includes {target!r}, which is not in the template folder")
            needs += read_requirements(nested, notes, seen)
            continue
        if line.startswith(("-e ", "--editable ")):
            line = line.split(None, 1)[1]
        elif line.startswith("-"):  # -i, --extra-index-url, -f, -c, --pre, ...
            notes.append(f"{path.name}: ignored the option line {line!r} (the host's pip settings apply)")
            continue
        if is_path_requirement(line):
            target = (path.parent / Path(line).expanduser()).resolve()
            if not target.exists():
                raise UnmetNeeds(f"{path.name} asks for {line!r}, which does not exist ({target})")
            line = str(target)
        needs.append(Need(line, (), origin))
    return needs


def _from_imports(root: Path, config: SandboxConfig, notes: list[str]) -> list[Need]:
    scan = scan_imports(root)
    grouped: dict[str, tuple[list[str], set[str]]] = {}
    for module, files in scan.modules.items():
        requirement = distribution_for(module, config.packages)
        if requirement is None:
            notes.append(f"{module}: needs nothing (sandbox.packages maps it to null)")
            continue
        modules, origin = grouped.setdefault(requirement, ([], set()))
        modules.append(module)
        origin.update(files)
    if scan.optional:
        notes.append("optional imports (under try/except ImportError), not installed: " + ", ".join(scan.optional))
    return [Need(req, tuple(mods), ", ".join(sorted(files))) for req, (mods, files) in grouped.items()]


def _with_extras(needs: list[Need], extras: list[str]) -> list[Need]:
    """The YAML's requirements added; each replaces the needs it covers (same distribution, or a wheel that
    provides their modules) and takes over their modules."""
    for extra in extras:
        if is_path_requirement(extra) and not Path(extra).exists():
            raise UnmetNeeds(f"sandbox.requirements names {extra!r}, which does not exist")
        provides = wheel_modules(Path(extra)) if extra.endswith(".whl") else set()
        name = requirement_name(extra)
        covered = [n for n in needs if (name and n.name == name) or (n.modules and set(n.modules) <= provides)]
        taken = tuple(dict.fromkeys(m for n in covered for m in n.modules))
        needs = [n for n in needs if n not in covered] + [Need(extra, taken, "sandbox.requirements")]
    return needs


def template_needs(root: str | Path, config: SandboxConfig | None = None) -> Needs:
    """What the template at `root` needs (its requirements.txt wins over its imports), with the YAML's
    `sandbox.requirements` (paths already absolute: `SandboxConfig.with_paths_from`) and torch choice."""
    root = Path(root).resolve()
    config = config or SandboxConfig()
    notes: list[str] = []
    source: Literal["imports", "requirements.txt", "none"] = "imports"
    if (root / REQUIREMENTS_FILE).is_file():
        source = "requirements.txt"
        items = read_requirements(root / REQUIREMENTS_FILE, notes)
    else:
        items = _from_imports(root, config, notes)
    items = _with_extras(items, config.requirements)
    if not items:
        source = "none"
    return Needs(tuple(items), source, tuple(notes), config.torch, config.torch_index_url)
