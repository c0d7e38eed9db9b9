"""Run one confined TeX program in its own process group, with a deadline enforced from here."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from pathlib import Path

from sciswarm.paper.confine import Confinement
from sciswarm.procs import kill_group

CONSOLE_TAIL_BYTES = 64 * 1024


def read_tail(path: Path, limit: int) -> str:
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - limit))
            return f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


async def run_confined(argv: list[str], cwd: Path, conf: Confinement, deadline: float, console: Path) -> int | None:
    """Exit code, or None if the deadline (``time.monotonic()``) passed and the group was killed.

    Output goes to the file ``console`` (size-capped by RLIMIT_FSIZE), never to a pipe we would have to
    drain. Whatever happens, including cancellation of the awaiting task, the process group is killed
    and the child reaped before this returns.
    """
    with console.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env=conf.env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=conf.preexec,
        )
    try:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        try:
            return await asyncio.wait_for(proc.wait(), timeout=remaining)
        except TimeoutError:
            return None
    finally:
        kill_group(proc.pid)  # also children left behind by a normal exit (mktexpk and the like)
        if proc.returncode is None:
            await asyncio.shield(proc.wait())
