"""A BwrapSandbox run's pid namespace, seen from the host: what bwrap reports about it (--info-fd), the processes
in it, and killing all of them (killing the namespace's init makes the kernel kill the rest)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from pathlib import Path


def read_info(fd: int) -> dict[str, int]:
    """bwrap's --info-fd JSON (the sandbox's init pid and namespaces); {} if bwrap exits before writing it."""
    buf = b""
    try:
        while chunk := os.read(fd, 4096):
            buf += chunk
            with contextlib.suppress(ValueError):
                data = json.loads(buf)
                return data if isinstance(data, dict) else {}
    finally:
        os.close(fd)
    return {}


def pidns_of(pid: int) -> str | None:
    """The pid namespace `pid` lives in (e.g. "pid:[4026532183]"), None if it is gone or not ours to see."""
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def pids_in_pidns(ns: str) -> list[int]:
    """Live host pids of every process in the pid namespace `ns` (a sandbox's whole process tree)."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and pidns_of(int(entry.name)) == ns:
            with contextlib.suppress(OSError):
                state = Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)[1].split()[0]
                if state not in ("Z", "X"):
                    found.append(int(entry.name))
    return found


def kill_pidns(init_pid: int, ns: str, *, timeout_s: float = 5.0) -> list[int]:
    """SIGKILL the namespace's init (the kernel then kills every process in it) and anything still in it;
    returns the pids still alive after `timeout_s` ([])."""
    deadline = time.monotonic() + timeout_s
    if pidns_of(init_pid) == ns:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(init_pid, signal.SIGKILL)
    while True:
        pids = pids_in_pidns(ns)
        if not pids or time.monotonic() > deadline:
            return pids
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.01)
