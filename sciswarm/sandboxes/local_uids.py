"""The fresh unprivileged uid a root LocalSandbox runs each command as: claimed so that nothing on the host owns it
and no other run holds it, released by killing whatever still runs as it, and able to reach the workspace."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

from sciswarm import procs
from sciswarm.sandboxes.base import SandboxError

_UID_RANGE = (3_000_000, 3_900_000)  # unlikely to own anything on the host
_uids_in_use: set[int] = set()
_uids_lock = threading.Lock()


def claim_uid() -> int:
    """A uid that owns no process or file on the host and that no other run of this process holds."""
    with _uids_lock:
        for _ in range(20):
            uid = procs.free_uid(*_UID_RANGE)
            if uid not in _uids_in_use:
                _uids_in_use.add(uid)
                return uid
    raise SandboxError("could not find a free uid for the run")


def release_uid(uid: int) -> None:
    """Kill every process still running as `uid`, then let another run claim it."""
    procs.kill_uid(uid, uid)
    with _uids_lock:
        _uids_in_use.discard(uid)


def check_reachable(ws: Path) -> None:
    """The run's uid gets the workspace itself, but must be able to traverse its parents (Python, for one,
    turns `python script.py` into an absolute path)."""
    blocked = [str(d) for d in ws.parents if not os.stat(d).st_mode & stat.S_IXOTH]
    if blocked:
        raise SandboxError(
            f"workspace {ws} is not reachable by the unprivileged uid local runs use: {blocked[0]} is not "
            "o+x. Put workspaces under world-traversable directories (chmod o+x), use the docker provider, "
            "or LocalSandbox(run_as='self') to run as this user (no fork-bomb bound, can signal the host)."
        )
