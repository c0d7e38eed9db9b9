"""An AutoGen `CodeExecutor` over any Sandbox, so AgentChat's CodeExecutorAgent can run code in ours.

    executor = SandboxCodeExecutor(make_sandbox("auto"), work_dir=Path("coding"))
    agent = CodeExecutorAgent("runner", code_executor=executor)

Each block is written to a file in `work_dir` (honouring a first-line `# filename: x.py` comment) and run
with its own sandbox run under `spec` (timeout enforced by the sandbox from the host). Execution stops at the
first failing block, like AutoGen's command-line executors.
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
    """AutoGen's CommandLineCodeResult shape (`code_file`) plus what the sandbox observed."""

    code_file: str | None = None
    timed_out: bool = False
    oom_killed: bool = False
    files_produced: tuple[str, ...] = ()


class SandboxCodeExecutor(CodeExecutor):
    def __init__(
        self,
        sandbox: Sandbox,
        work_dir: Path | None = None,
        *,
        spec: RunSpec | None = None,
        log_dir: Path | None = None,
    ) -> None:
        """`work_dir` defaults to a temp dir removed by stop(); `log_dir` (full logs of the last block) to a
        temp dir outside the work dir, removed with the executor."""
        self.sandbox = sandbox
        self.spec = spec or RunSpec(argv=["true"], timeout_s=60)
        self._tmp: list[tempfile.TemporaryDirectory[str]] = []
        self.work_dir = Path(work_dir) if work_dir is not None else self._temp("sciswarm-exec-")
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir = Path(log_dir) if log_dir is not None else self._temp("sciswarm-exec-logs-")

    def _temp(self, prefix: str) -> Path:
        tmp = tempfile.TemporaryDirectory(prefix=prefix)  # also cleaned up when garbage-collected
        self._tmp.append(tmp)
        return Path(tmp.name)

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

    async def execute_code_blocks(
        self, code_blocks: list[CodeBlock], cancellation_token: CancellationToken
    ) -> SandboxCodeResult:
        outputs: list[str] = []
        produced: list[str] = []
        last_file: str | None = None
        for block in code_blocks:
            lang = block.language.lower()
            if lang not in _RUNNERS:
                outputs.append(f"unsupported language {block.language!r} (supported: {', '.join(_RUNNERS)})")
                return SandboxCodeResult(1, "\n".join(outputs), last_file)
            path = self._file_for(block)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(block.code)
            last_file = str(path)
            rel = str(path.resolve().relative_to(self.work_dir.resolve()))
            spec = replace(self.spec, argv=[*_RUNNERS[lang], rel])
            task = asyncio.ensure_future(self.sandbox.run(self.work_dir, spec, log_dir=self.log_dir))
            cancellation_token.link_future(task)
            result: RunResult = await task
            produced += [p for p in result.files_produced if p not in produced]
            outputs.append(result.stdout_tail + result.stderr_tail)
            if result.error:
                outputs.append(f"sandbox error: {result.error}")
                return SandboxCodeResult(1, "".join(outputs), last_file, files_produced=tuple(produced))
            if result.timed_out:
                outputs.append(f"\nTimeout: killed after {spec.timeout_s:g} s")
                return SandboxCodeResult(TIMEOUT_EXIT_CODE, "".join(outputs), last_file, True, False, tuple(produced))
            if result.exit_code != 0:
                code = result.exit_code if result.exit_code is not None else 1
                return SandboxCodeResult(code, "".join(outputs), last_file, False, result.oom_killed, tuple(produced))
        return SandboxCodeResult(0, "".join(outputs), last_file, files_produced=tuple(produced))
