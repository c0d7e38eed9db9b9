"""The one process-helper leaf: is a pid alive, and finding and killing every process a run left behind
(process group, uid, environment token). Imports nothing from sciswarm."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

_PROC = Path("/proc")
_KILL = shutil.which("kill") or ""


def _live_pids() -> list[int]:
    return [int(p.name) for p in _PROC.iterdir() if p.name.isdigit()]


def _status(pid: int) -> dict[str, str]:
    try:
        text = (_PROC / str(pid) / "status").read_text()
    except OSError:
        return {}
    fields = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields


def pids_of_uid(uid: int) -> list[int]:
    """Live (non-zombie) processes whose real uid is `uid`."""
    found = []
    for pid in _live_pids():
        st = _status(pid)
        if not st or st.get("State", "").startswith(("Z", "X")):
            continue
        if int(st.get("Uid", "-1 ").split()[0]) == uid:
            found.append(pid)
    return found


def pids_with_token(token: str) -> list[int]:
    """Live processes whose environment carries SCISWARM_RUN_TOKEN=<token> (readable: same uid or root)."""
    return pids_with_env("SCISWARM_RUN_TOKEN", token)


def pids_with_env(name: str, value: str) -> list[int]:
    """Live processes (this one aside) whose environment has name=value (readable: same uid or root)."""
    needle = f"{name}={value}".encode()
    me = os.getpid()
    found = []
    for pid in _live_pids():
        if pid == me:
            continue
        try:
            env = (_PROC / str(pid) / "environ").read_bytes()
        except OSError:
            continue
        if needle in env.split(b"\0") and not _status(pid).get("State", "").startswith(("Z", "X")):
            found.append(pid)
    return found


def pid_alive(pid: int) -> bool:
    st = _status(pid)
    return bool(st) and not st.get("State", "").startswith(("Z", "X"))


def kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _kill_each(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def kill_uid(uid: int, gid: int, *, timeout_s: float = 5.0) -> list[int]:
    """SIGKILL every process of `uid` (needs root). Returns the pids still alive after `timeout_s` ([]).

    `kill(-1, SIGKILL)` issued *as that uid* reaches all its processes in one kernel pass, which beats a fork
    bomb that a /proc scan + per-pid kill would race with.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        pids = pids_of_uid(uid)
        if not pids or time.monotonic() > deadline:
            return pids
        cmd = [_KILL, "-s", "KILL", "--", "-1"] if _KILL else [sys.executable, "-c", "import os; os.kill(-1, 9)"]
        subprocess.run(
            cmd,
            user=uid,
            group=gid,
            extra_groups=[],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        _kill_each(pids_of_uid(uid))
        time.sleep(0.01)


def kill_token(token: str, *, timeout_s: float = 2.0) -> list[int]:
    """SIGKILL processes carrying the run token in their environment; returns survivors."""
    return kill_env("SCISWARM_RUN_TOKEN", token, timeout_s=timeout_s)


def kill_env(name: str, value: str, *, timeout_s: float = 2.0) -> list[int]:
    """SIGKILL processes whose environment has name=value (until none is left or timeout_s); returns survivors."""
    deadline = time.monotonic() + timeout_s
    while True:
        pids = pids_with_env(name, value)
        if not pids or time.monotonic() > deadline:
            return pids
        _kill_each(pids)
        time.sleep(0.01)


def free_uid(lo: int, hi: int) -> int:
    """A uid in [lo, hi) that no live process uses (random probe)."""
    import secrets

    for _ in range(100):
        uid = lo + secrets.randbelow(hi - lo)
        if not pids_of_uid(uid):
            return uid
    raise RuntimeError(f"no free uid in [{lo}, {hi})")


async def exited(proc: asyncio.subprocess.Process) -> None:
    """Return when the process itself exits. (`proc.wait()` on 3.11 also waits for its pipes to close, which
    a background child holding stdout delays forever.) A pidfd becomes readable at exit."""
    try:
        fd = os.pidfd_open(proc.pid)
    except OSError:  # already reaped (ESRCH) or no pidfd support: poll the returncode instead
        await reaped(proc)
        return
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        if not done.done():
            done.set_result(None)

    loop.add_reader(fd, readable)
    try:
        await done
    finally:
        loop.remove_reader(fd)
        os.close(fd)


async def reaped(proc: asyncio.subprocess.Process) -> None:
    while proc.returncode is None:
        await asyncio.sleep(0.01)
