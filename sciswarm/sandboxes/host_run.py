"""What the local and the bubblewrap providers share: both run the command as a host process (bwrap is one),
under a uid of its own when sciswarm is root, with the run's GPUs named in CUDA_VISIBLE_DEVICES, its output
through two sinks, a host-side timeout after which everything the run started is killed, and one way of reading
the result. Each provider keeps what differs: how the process is started and how its descendants are found.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

from sciswarm import procs
from sciswarm.sandboxes.base import OutputCallback, RunResult, RunSpec, SandboxError
from sciswarm.sandboxes.gpus import cuda_visible_devices, host_gpu_ids, wants_gpu
from sciswarm.sandboxes.local_uids import check_reachable, claim_uid, release_uid
from sciswarm.sandboxes.output import OutputSink
from sciswarm.sandboxes.workspace import LentWorkspace, produced, snapshot

MEMORY_MARKERS = ("MemoryError", "std::bad_alloc", "can't allocate memory", "Cannot allocate memory")


class GpuRefused(Exception):
    """The run asks for a GPU this host does not have (a clean failed result, not a crash)."""


def refused(t0: float, error: str) -> RunResult:
    """The result of a run that was never started."""
    return RunResult(None, "", "", False, False, time.monotonic() - t0, [], error=error)


def gpu_env(spec: RunSpec) -> dict[str, str]:
    """CUDA_VISIBLE_DEVICES for a run that holds GPUs ({} for one that does not); GpuRefused on a host without."""
    if not wants_gpu(spec.gpus):
        return {}
    ids = host_gpu_ids()
    if not ids:
        raise GpuRefused(f"GPU requested (gpus={spec.gpus!r}) but this host has none")
    visible = cuda_visible_devices(spec.gpus, ids)
    return {"CUDA_VISIBLE_DEVICES": visible} if visible is not None else {}


def check_host_mounts(spec: RunSpec, *, others: bool) -> None:
    """A read-only mount is shown where it is: it must exist and, for another uid, be readable and traversable
    (its files being read-only and someone else's is what keeps the run from writing them)."""
    for m in spec.mounts:
        src = Path(m.source)
        if not src.is_dir():
            raise SandboxError(f"read-only mount {m.source} is not a directory on this host")
        if not others:
            continue
        rx = stat.S_IROTH | stat.S_IXOTH
        bad = src if os.stat(src).st_mode & rx != rx else None
        bad = bad or next((d for d in src.parents if not os.stat(d).st_mode & stat.S_IXOTH), None)
        if bad is not None:
            raise SandboxError(
                f"read-only mount {m.source} is not readable by the unprivileged uid local runs use ({bad} is not "
                "world-readable/traversable): keep the data folder under o+rx directories, or use docker"
            )


@contextlib.contextmanager
def run_uid(ws: Path, spec: RunSpec, *, drops_privileges: bool) -> Iterator[int | None]:
    """The uid the run gets (a fresh one while sciswarm is root, else None: this user's), once the workspace and
    the mounts are known to be reachable by it; released afterwards."""
    if drops_privileges:
        check_reachable(ws)
    check_host_mounts(spec, others=drops_privileges)
    uid = claim_uid() if drops_privileges else None
    try:
        yield uid
    finally:
        if uid is not None:
            release_uid(uid)


async def in_lent_workspace(ws: Path, uid: int | None, run: Callable[[], Awaitable[RunResult]]) -> RunResult:
    """``run()`` with the workspace lent to ``uid``; the result lists the files the run made or changed."""
    before = snapshot(ws)
    with LentWorkspace(ws, uid, uid) if uid is not None else contextlib.nullcontext():
        result = await run()
    result.files_produced = produced(before, snapshot(ws))
    return result


def output_sinks(spec: RunSpec, logs: Path, on_output: OutputCallback | None) -> list[OutputSink]:
    """stdout's and stderr's sinks: full logs under ``logs``, tails for the result, lines to ``on_output``."""
    return [
        OutputSink(
            s,
            logs / f"{s}.log",
            max_log_bytes=spec.max_log_bytes,
            tail_chars=spec.output_tail_chars,
            on_line=on_output,
        )
        for s in ("stdout", "stderr")
    ]


async def _pump(reader: asyncio.StreamReader, sink: OutputSink) -> None:
    while chunk := await reader.read(65536):
        sink.feed(chunk)


async def supervise(
    proc: asyncio.subprocess.Process,
    sinks: list[OutputSink],
    timeout_s: float,
    kill: Callable[[], Awaitable[list[int]]],
    *,
    drain_timeout_s: float,
) -> tuple[bool, list[int]]:
    """Stream the output until the process exits or ``timeout_s`` passes, then (always, also when cancelled)
    ``kill()`` everything the run started, reap it and close the sinks. Returns (timed out, survivors)."""
    assert proc.stdout is not None and proc.stderr is not None
    pumps = [asyncio.create_task(_pump(r, s)) for r, s in zip((proc.stdout, proc.stderr), sinks, strict=True)]
    timed_out = False
    try:
        await asyncio.wait_for(procs.exited(proc), timeout=timeout_s)
    except TimeoutError:
        timed_out = True
    finally:
        survivors = await kill()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(procs.reaped(proc), timeout=drain_timeout_s)
        _, pending = await asyncio.wait(pumps, timeout=drain_timeout_s)
        for task in pending:  # something that could not be killed still holds the pipe
            task.cancel()
        for s in sinks:
            s.close()
    return timed_out, survivors


def exit_code(returncode: int | None) -> int | None:
    """The process's exit status as a shell gives it (killed by signal N: 128 + N)."""
    return None if returncode is None else 128 - returncode if returncode < 0 else returncode


def finished(
    code: int | None, sinks: list[OutputSink], *, timed_out: bool, survivors: list[int], t0: float
) -> RunResult:
    """The result of a supervised run (out of memory: a failure whose stderr says so)."""
    memory = code not in (0, None) and not timed_out and any(m in sinks[1].tail for m in MEMORY_MARKERS)
    return RunResult(
        exit_code=code,
        stdout_tail=sinks[0].tail,
        stderr_tail=sinks[1].tail,
        timed_out=timed_out,
        oom_killed=memory,
        wall_s=time.monotonic() - t0,
        files_produced=[],
        stdout_log=sinks[0].log_path,
        stderr_log=sinks[1].log_path,
        error=f"processes survived the kill: {survivors}" if survivors else "",
    )
