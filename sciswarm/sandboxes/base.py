"""The Sandbox protocol: run one command in a workspace under limits the workspace cannot change."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from sciswarm.errors import ExpectedFailure

OutputCallback = Callable[[Literal["stdout", "stderr"], str], None]


@dataclass(frozen=True)
class ReadOnlyMount:
    """A host folder the command may read and never write (e.g. a template's prepared data).

    docker binds ``source`` read-only at ``target``; the local provider cannot move it, so the command sees it at
    ``source`` (readable by the run's uid, not writable). Either way ``env`` names the environment variable that
    holds the path the command sees it at.
    """

    source: str  # absolute host path
    target: str  # absolute path inside a container
    env: str = ""

    def __post_init__(self) -> None:
        if not (self.source.startswith("/") and self.target.startswith("/")):
            raise ValueError(f"mount paths must be absolute: {self.source!r} -> {self.target!r}")


@dataclass(frozen=True)
class RunSpec:
    """Built by the orchestrator from config; never read from the workspace."""

    argv: list[str]
    timeout_s: float = 600.0
    memory_mb: int = 4096
    cpus: float = 2.0
    gpus: int | list[str] | Literal["all"] = 0  # count, device ids, or "all"; one GPU slot per run
    env: dict[str, str] = field(default_factory=dict)
    network: bool = False
    pids_limit: int = 512
    tmp_mb: int = 512
    output_tail_chars: int = 4000
    max_log_bytes: int = 20_000_000
    mounts: tuple[ReadOnlyMount, ...] = ()

    @property
    def gpu_count(self) -> int:
        """How many GPUs the spec asks for (device ids: their number; "all": one, since a count, e.g. a Ray task's
        num_gpus, cannot say "every GPU of the node")."""
        if isinstance(self.gpus, list):
            return len(self.gpus)
        if self.gpus == "all":
            return 1
        return max(0, int(self.gpus))


@dataclass
class RunResult:
    exit_code: int | None
    stdout_tail: str
    stderr_tail: str
    timed_out: bool
    oom_killed: bool
    wall_s: float
    files_produced: list[str]
    stdout_log: Path | None = None
    stderr_log: Path | None = None
    error: str = ""  # a provider-level failure (e.g. GPU request impossible), not the command's
    gpus: int | None = None  # the GPUs the run held (GpuSlots: its slot); None: the Lab counts the spec's request
    gpu_ids: list[str] = field(default_factory=list)  # their device ids, when a GpuSlots pool handed them out

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out and not self.oom_killed and not self.error


class SandboxError(ExpectedFailure, RuntimeError):
    """The sandbox itself could not run the command (engine down, image missing, GPU unavailable)."""


@runtime_checkable
class Sandbox(Protocol):
    name: str
    isolated: bool  # False for providers that are not a security boundary (local)

    async def run(
        self,
        workspace: Path,
        spec: RunSpec,
        *,
        on_output: OutputCallback | None = None,
        log_dir: Path | None = None,
    ) -> RunResult:
        """Run spec.argv with cwd=workspace. Logs go to log_dir (outside the workspace by default)."""
        ...


def checked_workspace(workspace: Path, spec: RunSpec) -> Path:
    """The resolved workspace of a run about to start; ValueError / SandboxError when there is nothing to run or
    nowhere to run it (every provider checks the same)."""
    if not spec.argv:
        raise ValueError("RunSpec.argv is empty")
    ws = workspace.resolve()
    if not ws.is_dir():
        raise SandboxError(f"workspace {ws} is not a directory")
    return ws


def log_folder(log_dir: Path | None) -> Path:
    """Where a run's full logs go: ``log_dir``, else a fresh temporary folder (outside the workspace)."""
    logs = Path(log_dir) if log_dir is not None else Path(tempfile.mkdtemp(prefix="sciswarm-logs-"))
    logs.mkdir(parents=True, exist_ok=True)
    return logs
