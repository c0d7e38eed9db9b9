"""The per-task watchdog of the Ray executor without Ray: a stand-in worker process starts it and a "run" that
carries the task's token (in its own session, as a sandbox starts runs); the worker then ends normally or is
SIGKILLed, and the watchdog leaves everything alone or ends the run and removes the task's copies."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sciswarm.procs import pid_alive, pids_with_env
from sciswarm.sandboxes.ray_watchdog import TASK_ENV

WORKER = """
import os, subprocess, sys, time
from pathlib import Path
from sciswarm.sandboxes.ray_watchdog import TASK_ENV, Watchdog

token, copy, ending = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
watchdog = Watchdog(token, [copy])
run = subprocess.Popen(
    [sys.executable, "-c", "import time; time.sleep(60)"], env={**os.environ, TASK_ENV: token}, start_new_session=True
)
print(run.pid, flush=True)
if ending == "normal":
    watchdog.release()
    print("released", flush=True)
time.sleep(60)
"""


def _worker(tmp_path: Path, ending: str) -> tuple[subprocess.Popen[str], str, Path, int]:
    token, copy = os.urandom(8).hex(), tmp_path / "copy"
    (copy / "ws").mkdir(parents=True)
    (copy / "ws" / "experiment.py").write_text("print(1)\n")
    argv = [sys.executable, "-c", WORKER, token, str(copy), ending]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, start_new_session=True)
    assert proc.stdout is not None
    return proc, token, copy, int(proc.stdout.readline())


def _until(check: Callable[[], object], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def _watchdogs(token: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"sciswarm.sandboxes.ray_watchdog" in cmd and token.encode() in cmd and pid_alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def _kill_as_ray_does(worker: subprocess.Popen[str]) -> None:
    """Ray ends a dead driver's worker with its children and its process group, then the worker itself."""
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError, ValueError):
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == worker.pid:
                os.kill(int(entry.name), signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(worker.pid, signal.SIGKILL)  # the worker leads a process group of its own, as Ray's workers do
    worker.wait(timeout=10)


def test_a_killed_worker_takes_its_run_and_its_copies_with_it(tmp_path: Path) -> None:
    proc, token, copy, run = _worker(tmp_path, "killed")
    assert _until(lambda: _watchdogs(token)), "the watchdog never started"
    assert pids_with_env(TASK_ENV, token) == [run]
    _kill_as_ray_does(proc)
    assert _until(lambda: not pids_with_env(TASK_ENV, token)), "the run outlived its worker"
    assert _until(lambda: not copy.exists()), "the task's copy of the workspace was left behind"
    assert _until(lambda: not _watchdogs(token)), "the watchdog did not end"


def test_a_worker_that_ends_normally_leaves_everything_alone(tmp_path: Path) -> None:
    proc, token, copy, run = _worker(tmp_path, "normal")
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "released"
        assert _until(lambda: not _watchdogs(token)), "a released watchdog did not end"
        assert pids_with_env(TASK_ENV, token) == [run] and (copy / "ws" / "experiment.py").exists()
    finally:
        proc.kill()
        proc.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.kill(run, signal.SIGKILL)
