"""The local provider builds nothing: it checks that the interpreter its runs use has the template's needs."""

from __future__ import annotations

import subprocess

from sciswarm.sandboxes.local_python import BASE_PATH
from sciswarm.sandboxes.needs import PROBE, EnvFacts, Needs, UnmetNeeds, facts_from_probe, missing_from


def interpreter_facts(python: str, modules: list[str]) -> EnvFacts:
    """What `python` has, started as a run starts it (isolated mode, a minimal environment)."""
    try:
        proc = subprocess.run(
            [python, "-I", "-c", PROBE, *modules],
            env={"PATH": BASE_PATH, "LANG": "C.UTF-8"},
            cwd="/",
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise UnmetNeeds(f"could not ask the local sandbox's python ({python}) what it has: {exc}") from exc
    return facts_from_probe(proc.stdout)


def check_local_needs(python: str, needs: Needs) -> list[str]:
    """Raise UnmetNeeds naming what `python` cannot import (or lacks) of `needs`; else the notes to show."""
    missing, notes = missing_from(needs, interpreter_facts(python, needs.modules))
    if needs.torch == "cuda":
        notes.append("sandbox.torch: cuda is for the docker provider; the local sandbox uses its python's torch")
    if not missing:
        return [*needs.notes, *notes]
    what = "; ".join(
        f"module {', '.join(n.modules)} (imported by {n.origin}; pip install {n.requirement})"
        if n.modules
        else f"{n.requirement} (from {n.origin})"
        for n in missing
    )
    raise UnmetNeeds(
        f"the local sandbox's python ({python}) lacks what the template needs: {what}. Install it into that "
        "python, or use the docker provider (sandbox: {provider: docker}), which builds an image with it"
    )
