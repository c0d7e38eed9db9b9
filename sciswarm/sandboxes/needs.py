"""What a template's Python code needs in its sandbox, and which of it a given environment lacks.

A `Needs` is a list of pip requirements, each with the modules it serves (none for the lines of a template's
`requirements.txt` and the YAML's `sandbox.requirements`). Against an environment's `EnvFacts` (the modules and
distributions an image or interpreter has) it yields what is missing; what the environment already has is never
reinstalled (the experiment image's numpy, matplotlib and pinned CPU torch stay as they are).

A need that cannot be met is an `UnmetNeeds`: one line naming the module and the ways out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from sciswarm.errors import ExpectedFailure
from sciswarm.sandboxes.config import is_path_requirement
from sciswarm.sandboxes.distributions import EXPERIMENT_IMAGE_MODULES, requirement_name

WAYS_OUT = (
    "Ways out: vendor it into the template folder ({module}/ or {module}.py beside experiment.py); point at a "
    "wheel in the swarm YAML (sandbox: {{requirements: [./wheels/{module}-0.1-py3-none-any.whl]}}) or in the "
    "template's requirements.txt; or map the module to the distribution that provides it "
    "(sandbox: {{packages: {{{module}: <distribution>}}}}; null if it needs nothing)."
)


class UnmetNeeds(ExpectedFailure, ValueError):
    """The template needs Python modules the sandbox cannot be given; raised before anything runs."""


@dataclass(frozen=True)
class Need:
    requirement: str  # what pip installs: "scikit-learn", "einops==0.8.2", "/abs/path/npeet-0.1-py3-none-any.whl"
    modules: tuple[str, ...] = ()  # the imports it serves; empty: a requirement given as such
    origin: str = ""  # who asks: "experiment.py, plot.py", "requirements.txt", "sandbox.requirements"

    @property
    def name(self) -> str | None:
        return requirement_name(self.requirement)

    def describe(self) -> str:
        if not self.modules or self.modules == (self.requirement,):
            return self.requirement
        return f"{self.requirement} (for {', '.join(self.modules)})"


@dataclass(frozen=True)
class Needs:
    """A template's Python needs; `source` says where they were read from."""

    items: tuple[Need, ...] = ()
    source: Literal["imports", "requirements.txt", "none"] = "none"
    notes: tuple[str, ...] = ()
    torch: Literal["cpu", "cuda"] = "cpu"
    torch_index_url: str | None = None

    def __bool__(self) -> bool:
        return bool(self.items) or self.torch == "cuda"

    @property
    def modules(self) -> list[str]:
        return sorted({m for n in self.items for m in n.modules})

    @property
    def beyond_experiment_image(self) -> bool:
        """Does anything here go beyond what the default experiment image has (static, no image consulted)?"""
        if self.torch == "cuda" or self.source == "requirements.txt":
            return True
        return any(not n.modules or not set(n.modules) <= EXPERIMENT_IMAGE_MODULES for n in self.items)

    def describe(self) -> str:
        if not self:
            return "nothing beyond the standard library and the template's own modules"
        text = ", ".join(n.describe() for n in self.items) + f" (from {self.source})"
        return text + ("; torch: CUDA build" if self.torch == "cuda" else "")

    def for_module(self, module: str) -> Need | None:
        return next((n for n in self.items if module in n.modules), None)


@dataclass(frozen=True)
class EnvFacts:
    """What an environment (an image, an interpreter) has: its Python version, distributions and modules."""

    python: str
    dists: dict[str, str] = field(default_factory=dict)  # canonical name -> version
    modules: frozenset[str] = frozenset()  # importable top-level names


# run by the environment's python (argv: modules to look for besides the installed distributions' own): one JSON
PROBE = """
import importlib.metadata as md, importlib.util, json, re, sys
dists = {}
for d in md.distributions():
    name = d.metadata["Name"]
    if name:
        dists.setdefault(re.sub(r"[-_.]+", "-", name).lower(), d.version)
modules = set(md.packages_distributions())
for m in sys.argv[1:]:
    try:
        if importlib.util.find_spec(m) is not None:
            modules.add(m)
    except (ImportError, ValueError):
        pass
print(json.dumps({"python": "%d.%d" % sys.version_info[:2], "dists": dists, "modules": sorted(modules)}))
"""


def facts_from_probe(output: str) -> EnvFacts:
    """EnvFacts from PROBE's output (its last line)."""
    data = json.loads(output.strip().splitlines()[-1])
    return EnvFacts(str(data["python"]), dict(data["dists"]), frozenset(data["modules"]))


def missing_from(needs: Needs, facts: EnvFacts) -> tuple[list[Need], list[str]]:
    """The needs `facts` does not meet, and notes on what it meets differently (a kept, other version)."""
    missing: list[Need] = []
    notes: list[str] = []
    for need in needs.items:
        name = need.name
        if need.modules:
            if all(m in facts.modules for m in need.modules):
                continue
        elif name is not None and name in facts.dists:
            if need.requirement.strip() != name and not is_path_requirement(need.requirement):
                notes.append(f"{need.requirement}: kept {name} {facts.dists[name]} of the environment")
            continue
        if name is not None and name in facts.dists and need.modules:
            notes.append(f"{name} {facts.dists[name]} is installed but does not provide {', '.join(need.modules)}")
        missing.append(need)
    return missing, notes


def inputs_digest(parts: Iterable[str]) -> str:
    """A short, stable hash of a requirement set's inputs (files by name and content, not by folder)."""
    sha = hashlib.sha256()
    for part in parts:
        path = Path(part)
        if is_path_requirement(part) and path.is_file():
            sha.update(path.name.encode() + hashlib.sha256(path.read_bytes()).hexdigest().encode())
        else:
            sha.update(part.encode())
        sha.update(b"\0")
    return sha.hexdigest()[:16]


def unmet_message(module: str, need: Need | None, why: str) -> str:
    """One line: the module, who imports it, why it cannot be had, and the ways out."""
    who = f" (imported by {need.origin})" if need is not None and need.origin and need.modules else ""
    return f"the template needs the Python module {module!r}{who}, and {why}. " + WAYS_OUT.format(module=module)


def unmet_requirement(need: Need, why: str) -> UnmetNeeds:
    """The error for a need pip or the environment cannot satisfy, worded for its module when it has one."""
    if need.modules:
        return UnmetNeeds(unmet_message(need.modules[0], need, why))
    module = need.name or need.requirement
    origin = f" (from {need.origin})" if need.origin else ""
    return UnmetNeeds(f"the template needs {need.requirement!r}{origin}, and {why}. " + WAYS_OUT.format(module=module))
