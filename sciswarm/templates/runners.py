"""Runners: how a template's code is run. The default goes through a Sandbox, like the pipeline's experiments."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sciswarm.sandboxes.base import ReadOnlyMount, RunResult, RunSpec, Sandbox
from sciswarm.sandboxes.spec import spec_from_config
from sciswarm.templates.report import CheckStatus

if TYPE_CHECKING:
    from sciswarm.sandboxes.config import SandboxConfig

Runner = Callable[[Path, list[str], float], Awaitable[RunResult]]
"""Runs argv with cwd=workspace under a timeout (seconds): e.g. through a Sandbox (see sandbox_runner)."""

LOCAL_CHECK_WARNING = (
    "!!! sandbox 'local': the template's code runs on THIS HOST WITHOUT ISOLATION (rlimits, a scrubbed "
    "environment and a host-side kill only). Use --sandbox docker (or bwrap) for templates you do not trust. !!!"
)


def sandbox_runner(sandbox: Sandbox, *, log_dir: Path | None = None, **spec: Any) -> Runner:
    """Adapt a Sandbox into a Runner; spec holds further RunSpec fields (memory_mb, gpus, ...).

    No ``env`` is added: the command gets the sandbox's own scrubbed environment, as the experimenter's runs do.
    Logs go to log_dir (the provider's default, a fresh temporary folder, when None).
    """

    async def run(workspace: Path, argv: list[str], timeout_s: float) -> RunResult:
        return await sandbox.run(workspace, RunSpec(argv=argv, timeout_s=timeout_s, **spec), log_dir=log_dir)

    return run


def pipeline_runner(
    sandbox: Sandbox, config: SandboxConfig, *, log_dir: Path | None = None, mounts: tuple[ReadOnlyMount, ...] = ()
) -> Runner:
    """A Runner through `sandbox` with the limits of the swarm YAML's sandbox section (the pipeline's runs'), and
    the read-only mounts they get (the template's prepared data)."""

    async def run(workspace: Path, argv: list[str], timeout_s: float) -> RunResult:
        spec = dataclasses.replace(spec_from_config(config, argv, timeout_s=timeout_s), mounts=mounts)
        return await sandbox.run(workspace, spec, log_dir=log_dir)

    return run


def describe_sandbox(sandbox: Sandbox) -> tuple[CheckStatus, str]:
    """The report's "sandbox" row: where the template's code ran, and whether that was isolated."""
    if sandbox.isolated:
        image = getattr(sandbox, "image", None)
        return "pass", f"{sandbox.name} (isolated)" + (f", image {image}" if image else "")
    detail = f"{sandbox.name} (NOT isolated): directly on this host"
    if getattr(sandbox, "runs_as_root", False):
        detail += ", as root"
    return "warn", detail
