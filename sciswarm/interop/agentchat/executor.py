"""An AutoGen ``CodeExecutor`` over the swarm's sandbox, so AgentChat's CodeExecutorAgent runs code in ours.

    executor = SandboxCodeExecutor(ctx.lab, work_dir=ctx.idea_dir / "agentchat")   # a role's lab: the swarm's limits
    executor = SandboxCodeExecutor(make_sandbox("auto"), spec=spec_from_config(cfg.sandbox, ["python3"]))
    agent = CodeExecutorAgent("runner", code_executor=executor)

Each block is written to a file in ``work_dir`` (honouring a first-line ``# filename: x.py`` comment) and run
as its own sandbox run. The limits (timeout, memory, CPUs, network, GPUs) are the host's: a lab takes them
from the swarm's config, a bare sandbox from ``spec``; no agent can change them (``timeout`` is read-only)
and the sandbox enforces the timeout from the host by killing the run. Execution stops at the first failing
block, like AutoGen's command-line executors.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from autogen_core import CancellationToken
from autogen_core.code_executor import CodeBlock, CodeExecutor, CodeResult

from sciswarm.agents.ports import Lab
from sciswarm.sandboxes.base import RunResult, RunSpec, Sandbox

_RUNNERS: dict[str, list[str]] = {
    "python": ["python3"],
    "py": ["python3"],
    "bash": ["bash"],
    "sh": ["sh"],
    "shell": ["sh"],
}
_EXT = {"python": "py", "py": "py", "bash": "sh", "sh": "sh", "shell": "sh"}
_FILENAME = re.compile(r"^\s*(?:#|//)\s*filename:\s*([\w./-]+)\s*$")
TIMEOUT_EXIT_CODE = 124


@dataclass
class SandboxCodeResult(CodeResult):
    """AutoGen's CommandLineCodeResult shape (``code_file``) plus what the sandbox observed."""

    code_file: str | None = None
    timed_out: bool = False
    oom_killed: bool = False
    files_produced: tuple[str, ...] = ()


class SandboxCodeExecutor(CodeExecutor):
    def __init__(
        self,
        sandbox: Sandbox | Lab,
        work_dir: Path | None = None,
        *,
        spec: RunSpec | None = None,
        log_dir: Path | None = None,
        label: str = "agentchat",
    ) -> None:
        """``sandbox``: a role's Lab (runs recorded in the transcript, logs under the idea's ``logs/<label>``,
        limits from the swarm's config) or any Sandbox with ``spec`` (default: 60 s). ``work_dir`` defaults to
        a temp dir removed by stop(); ``log_dir`` (a bare sandbox's full logs) to a temp dir outside it."""
        self._lab = sandbox if isinstance(sandbox, Lab) else None
        self._sandbox = None if isinstance(sandbox, Lab) else sandbox
        self._spec = spec or RunSpec(argv=["true"], timeout_s=60)
        self._label = label
        self._tmp: list[tempfile.TemporaryDirectory[str]] = []
        self.work_dir = Path(work_dir) if work_dir is not None else self._temp("sciswarm-exec-")
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir: Path | None = None  # a lab keeps its logs under the idea folder
        if self._lab is None:
            self.log_dir = Path(log_dir) if log_dir is not None else self._temp("sciswarm-exec-logs-")

    def _temp(self, prefix: str) -> Path:
        tmp = tempfile.TemporaryDirectory(prefix=prefix)  # also cleaned up when garbage-collected
        self._tmp.append(tmp)
        return Path(tmp.name)

    def limits(self, argv: list[str]) -> RunSpec:
        """The spec a block's run gets: the host's, whatever the block says."""
        return self._lab.limits(argv) if self._lab is not None else replace(self._spec, argv=argv)

    @property
    def timeout(self) -> float:
        """Seconds a block may run before the sandbox kills it (read-only: set by the host)."""
        return self.limits(["python3"]).timeout_s

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        for tmp in self._tmp:
            tmp.cleanup()
        self._tmp.clear()

    async def restart(self) -> None:
        return None

    def _file_for(self, block: CodeBlock) -> Path:
        lang = block.language.lower()
        first = block.code.lstrip().splitlines()[0] if block.code.strip() else ""
        match = _FILENAME.match(first)
        if match:
            path = (self.work_dir / match.group(1)).resolve()
            if not path.is_relative_to(self.work_dir.resolve()):
                raise ValueError(f"filename {match.group(1)!r} is outside the work dir")
            return path
        digest = hashlib.sha256(block.code.encode()).hexdigest()[:12]
        return self.work_dir / f"tmp_code_{digest}.{_EXT[lang]}"

    async def _run(self, argv: list[str]) -> RunResult:
        if self._lab is not None:
            return await self._lab.run(self.work_dir, argv, label=self._label)
        assert self._sandbox is not None
        return await self._sandbox.run(self.work_dir, self.limits(argv), log_dir=self.log_dir)

    async def _run_block(self, block: CodeBlock, cancellation_token: CancellationToken) -> tuple[Path, RunResult]:
        path = self._file_for(block)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(block.code)
        rel = str(path.resolve().relative_to(self.work_dir.resolve()))
        task = asyncio.ensure_future(self._run([*_RUNNERS[block.language.lower()], rel]))
        cancellation_token.link_future(task)
        return path, await task

    async def execute_code_blocks(
        self, code_blocks: list[CodeBlock], cancellation_token: CancellationToken
    ) -> SandboxCodeResult:
        outputs: list[str] = []
        produced: list[str] = []
        last_file: str | None = None
        for block in code_blocks:
            if block.language.lower() not in _RUNNERS:
                outputs.append(f"unsupported language {block.language!r} (supported: {', '.join(_RUNNERS)})")
                return SandboxCodeResult(1, "\n".join(outputs), last_file)
            path, result = await self._run_block(block, cancellation_token)
            last_file = str(path)
            produced += [p for p in result.files_produced if p not in produced]
            outputs.append(result.stdout_tail + result.stderr_tail)
            files = tuple(produced)
            if result.error:
                outputs.append(f"sandbox error: {result.error}")
                return SandboxCodeResult(1, "".join(outputs), last_file, files_produced=files)
            if result.timed_out:
                outputs.append(f"\nTimeout: killed after {self.timeout:g} s")
                return SandboxCodeResult(TIMEOUT_EXIT_CODE, "".join(outputs), last_file, True, False, files)
            if result.exit_code != 0:
                code = result.exit_code if result.exit_code is not None else 1
                return SandboxCodeResult(code, "".join(outputs), last_file, False, result.oom_killed, files)
        return SandboxCodeResult(0, "".join(outputs), last_file, files_produced=tuple(produced))
