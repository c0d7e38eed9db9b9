"""Runners: how a template's code is run (a local subprocess, or through a Sandbox)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sciswarm.sandboxes.base import RunResult, RunSpec, Sandbox

Runner = Callable[[Path, list[str], float], Awaitable[RunResult]]
"""Runs argv with cwd=workspace under a timeout (seconds): e.g. through a Sandbox (see sandbox_runner)."""


async def local_runner(workspace: Path, argv: list[str], timeout_s: float) -> RunResult:
    """Run argv in a subprocess of its own process group, killed (whole group) at the timeout.

    ``python`` as argv[0] means this interpreter. Not a sandbox: use sandbox_runner for untrusted code.
    """
    if argv and argv[0] == "python":
        argv = [sys.executable, *argv[1:]]
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sciswarm-logs-") as logs:
        out_path, err_path = Path(logs) / "stdout", Path(logs) / "stderr"
        with out_path.open("wb") as out, err_path.open("wb") as err:
            proc = await asyncio.create_subprocess_exec(
                *argv, cwd=workspace, stdout=out, stderr=err, start_new_session=True, env=env
            )
            timed_out = False
            try:
                await asyncio.wait_for(proc.wait(), timeout=timeout_s)
            except TimeoutError:
                timed_out = True
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()
        return RunResult(
            exit_code=proc.returncode,
            stdout_tail=_tail(out_path),
            stderr_tail=_tail(err_path),
            timed_out=timed_out,
            oom_killed=False,
            wall_s=time.monotonic() - start,
            files_produced=[],
        )


def _tail(path: Path, chars: int = 4000) -> str:
    with path.open("rb") as f:
        f.seek(max(0, path.stat().st_size - 4 * chars))
        return f.read().decode(errors="replace")[-chars:]


def sandbox_runner(sandbox: Sandbox, **spec: Any) -> Runner:
    """Adapt a Sandbox into a Runner; spec holds further RunSpec fields (memory_mb, gpus, ...)."""

    async def run(workspace: Path, argv: list[str], timeout_s: float) -> RunResult:
        return await sandbox.run(workspace, RunSpec(argv=argv, timeout_s=timeout_s, **spec))

    return run
