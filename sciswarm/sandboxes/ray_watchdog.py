"""A Ray task's sandboxed run dies with the task's worker: one watchdog process per task (ray_node.py starts it).

Ray kills a task's worker outright when the driver that submitted it dies (a crash, SIGKILL), when the driver
cancels it with force, or when the worker's raylet dies; the worker cannot clean up then. What it started would live
on: a docker container; under the local provider, the processes the experiment started (the provider's own child
dies with the worker, its children do not); and the task's copy of the workspace, which in a shared_dir is on
the shared filesystem. The watchdog is a process of its own (no child of the worker, so it outlives it) reading a
pipe from the worker: the task writes "done" when it ended normally. End of file without it means the worker died: the
watchdog then kills every process whose environment carries the task's token (TASK_ENV=<token>, which the task
puts in the run's environment; every provider passes it on) and removes the task's copies of the workspace.

What it cannot do: find a process that cleared its environment (`env -i`) under the local provider (docker's
container and bwrap's pid namespace end as a whole: bwrap dies with its parent, a container's processes carry the
token), or a container's processes when the node runs as a user who cannot read them (then the docker provider's
own reaping of orphans removes the container on the node's next run).

    python -m sciswarm.sandboxes.ray_watchdog TOKEN [PATH ...]
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from sciswarm import procs

TASK_ENV = "SCISWARM_RAY_TASK"
DONE = b"done"


class Watchdog:
    """The worker's end: start the watchdog for one task, tell it the task ended normally (`release`).

    Ray kills a dying worker's children, so the watchdog must not be one: a shell starts it in the background and
    exits at once (the watchdog is then nobody's child but init's), in a session of its own (Ray also kills the
    worker's process group). It reads the pipe as its standard input; the worker keeps the only write end."""

    def __init__(self, token: str, paths: list[Path]) -> None:
        read, self._write = os.pipe()
        try:
            argv = [sys.executable, "-m", "sciswarm.sandboxes.ray_watchdog", token, *map(str, paths)]
            shell = 'exec 3<&0; "$@" <&3 3<&- >/dev/null 2>&1 &'  # a background job's stdin is the pipe only if said
            subprocess.run(
                ["/bin/sh", "-c", shell, "watchdog", *argv],
                stdin=read,
                start_new_session=True,
                check=True,
                timeout=30,
            )
        except BaseException:
            os.close(self._write)
            raise
        finally:
            os.close(read)

    def release(self) -> None:
        """The task ended on its own path: the watchdog exits without touching anything."""
        with contextlib.suppress(OSError):
            os.write(self._write, DONE)
        with contextlib.suppress(OSError):
            os.close(self._write)


def clean_up(token: str, paths: list[str]) -> list[int]:
    """Kill the task's processes and remove its copies; the pids that survived the kill."""
    survivors = procs.kill_env(TASK_ENV, token, timeout_s=10)
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)
    return survivors


def main(argv: list[str]) -> int:
    token, paths = argv[0], argv[1:]
    said = sys.stdin.buffer.read()  # until the worker closes the pipe: on purpose, or by dying
    if said == DONE:
        return 0
    return 1 if clean_up(token, paths) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
