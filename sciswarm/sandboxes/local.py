"""LocalSandbox: a host subprocess with rlimits and a host-side kill. NOT an isolation boundary.

What it does: own session/process group; RLIMIT_AS/CPU/NOFILE/NPROC/FSIZE/CORE set before exec; a minimal
environment (the host's, with its API keys, is never inherited); on timeout, SIGKILL of the group and of
every process that carries the run's token in its environment. When the host process is root it also runs
the command as a fresh unprivileged uid (so RLIMIT_NPROC bounds fork bombs, the supervisor cannot be
signalled, root-owned files cannot be written, and *every* descendant — setsid'd or not — is found and
killed by uid) in its own network namespace (no network unless spec.network).

What it cannot do: hide the host filesystem (world-readable files are readable, /tmp is writable), cap disk
use, or tell an OOM from any other failure (RLIMIT_AS makes allocations fail; `oom_killed` is a heuristic).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import fcntl
import itertools
import logging
import math
import os
import resource
import shutil
import signal
import socket
import stat
import struct
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from sciswarm.sandboxes import procs
from sciswarm.sandboxes.base import OutputCallback, RunResult, RunSpec, SandboxError
from sciswarm.sandboxes.gpus import cuda_visible_devices, host_gpu_ids, wants_gpu
from sciswarm.sandboxes.output import OutputSink
from sciswarm.sandboxes.workspace import LentWorkspace, produced, snapshot

log = logging.getLogger(__name__)

_libc = ctypes.CDLL(None, use_errno=True)
_CLONE_NEWNET = 0x40000000
_PR_SET_PDEATHSIG = 1
_SIOCSIFFLAGS = 0x8914
_IFF_UP_LOOPBACK_RUNNING = 0x1 | 0x8 | 0x40
_UID_RANGE = (3_000_000, 3_900_000)  # unlikely to own anything on the host
_MEMORY_MARKERS = ("MemoryError", "std::bad_alloc", "can't allocate memory", "Cannot allocate memory")
_uids_in_use: set[int] = set()
_uids_lock = threading.Lock()
_cpu_rotor = itertools.count()


def _unshare_net() -> None:
    if _libc.unshare(_CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:  # bring up lo, like docker's "none"
        fcntl.ioctl(s, _SIOCSIFFLAGS, struct.pack("16sh", b"lo", _IFF_UP_LOOPBACK_RUNNING))


def _probe_unshare() -> bool:
    import subprocess

    try:
        return subprocess.run(["true"], preexec_fn=_unshare_net, check=False).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def _world_usable(path: str) -> bool:
    """Could an unrelated uid execute `path`? (every ancestor o+x, the file o+rx)"""
    real = Path(os.path.realpath(path))
    try:
        if not os.stat(real).st_mode & stat.S_IXOTH:
            return False
        return all(os.stat(d).st_mode & stat.S_IXOTH for d in real.parents)
    except OSError:
        return False


async def _exited(proc: asyncio.subprocess.Process) -> None:
    """Return when the process itself exits. (`proc.wait()` on 3.11 also waits for its pipes to close, which
    a background child holding stdout delays forever.) A pidfd becomes readable at exit."""
    try:
        fd = os.pidfd_open(proc.pid)
    except OSError:  # already reaped (ESRCH) or no pidfd support: poll the returncode instead
        await _reaped(proc)
        return
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    loop.add_reader(fd, lambda: done.done() or done.set_result(None))
    try:
        await done
    finally:
        loop.remove_reader(fd)
        os.close(fd)


async def _reaped(proc: asyncio.subprocess.Process) -> None:
    while proc.returncode is None:
        await asyncio.sleep(0.01)


def _exit_code(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode


class LocalSandbox:
    """Run a command as a host subprocess under rlimits; see the module docstring for what it cannot do."""

    name = "local"
    isolated = False

    def __init__(
        self,
        *,
        run_as: Literal["auto", "self"] = "auto",
        python: str | None = sys.executable,
        max_file_mb: int = 8192,
        max_open_files: int = 4096,
        drain_timeout_s: float = 5.0,
    ) -> None:
        self.drops_privileges = run_as == "auto" and os.geteuid() == 0
        self.isolates_network = self.drops_privileges and _probe_unshare()
        self.max_file_mb = max_file_mb
        self.max_open_files = max_open_files
        self.drain_timeout_s = drain_timeout_s
        self._python_dir = self._usable_python_dir(python)
        log.warning(
            "LocalSandbox is NOT isolation: the command runs on this host and can read world-readable files "
            "and write world-writable places. Use the docker provider for agent-written code."
        )

    @property
    def bounds_processes(self) -> bool:
        """True when RLIMIT_NPROC really bounds the run (it does not apply to root)."""
        return self.drops_privileges

    def _usable_python_dir(self, python: str | None) -> str | None:
        if not python:
            return None
        if self.drops_privileges and not _world_usable(python):
            log.warning(
                "local sandbox: %s is not reachable by an unprivileged uid (a parent directory is not o+x); "
                "runs get the system python on PATH instead",
                python,
            )
            return None
        return os.path.dirname(python)

    async def run(
        self,
        workspace: Path,
        spec: RunSpec,
        *,
        on_output: OutputCallback | None = None,
        log_dir: Path | None = None,
    ) -> RunResult:
        if not spec.argv:
            raise ValueError("RunSpec.argv is empty")
        ws = workspace.resolve()
        if not ws.is_dir():
            raise SandboxError(f"workspace {ws} is not a directory")
        logs = Path(log_dir) if log_dir is not None else Path(tempfile.mkdtemp(prefix="sciswarm-logs-"))
        logs.mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        gpu_env: dict[str, str] = {}
        if wants_gpu(spec.gpus):
            ids = host_gpu_ids()
            if not ids:
                return self._refused(spec, t0, f"GPU requested (gpus={spec.gpus!r}) but this host has none")
            visible = cuda_visible_devices(spec.gpus, ids)
            if visible is not None:
                gpu_env["CUDA_VISIBLE_DEVICES"] = visible
        uid = self._claim_uid() if self.drops_privileges else None
        token = os.urandom(12).hex()
        private = Path(tempfile.mkdtemp(prefix="sciswarm-local-"))
        try:
            if uid is not None:
                os.chown(private, uid, uid)
            env = self._env(spec, private, token, gpu_env)
            before = snapshot(ws)
            with LentWorkspace(ws, uid, uid) if uid is not None else contextlib.nullcontext():
                result = await self._run(ws, spec, env, uid, token, on_output, logs, t0)
            result.files_produced = produced(before, snapshot(ws))
            return result
        finally:
            if uid is not None:
                procs.kill_uid(uid, uid)
                with _uids_lock:
                    _uids_in_use.discard(uid)
            shutil.rmtree(private, ignore_errors=True)

    async def _run(
        self,
        ws: Path,
        spec: RunSpec,
        env: dict[str, str],
        uid: int | None,
        token: str,
        on_output: OutputCallback | None,
        logs: Path,
        t0: float,
    ) -> RunResult:
        sinks = [
            OutputSink(
                s,
                logs / f"{s}.log",
                max_log_bytes=spec.max_log_bytes,
                tail_chars=spec.output_tail_chars,
                on_line=on_output,
            )
            for s in ("stdout", "stderr")
        ]
        try:
            proc = await asyncio.create_subprocess_exec(
                *spec.argv,
                cwd=ws,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
                preexec_fn=self._preexec(spec, uid),
            )
        except (FileNotFoundError, PermissionError) as exc:
            for s in sinks:
                s.close()
            msg = f"cannot execute {spec.argv[0]!r}: {exc.strerror}"
            return RunResult(
                127, "", msg, False, False, time.monotonic() - t0, [], sinks[0].log_path, sinks[1].log_path
            )
        except Exception as exc:  # preexec failure (rlimit/uid/namespace) surfaces as SubprocessError
            for s in sinks:
                s.close()
            raise SandboxError(f"local sandbox could not start the command: {exc}") from exc
        assert proc.stdout is not None and proc.stderr is not None
        pumps = [
            asyncio.create_task(self._pump(r, s))
            for r, s in zip((proc.stdout, proc.stderr), sinks, strict=True)
        ]
        timed_out = False
        try:
            await asyncio.wait_for(_exited(proc), timeout=spec.timeout_s)
        except TimeoutError:
            timed_out = True
        finally:
            survivors = self._kill_everything(proc.pid, uid, token)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_reaped(proc), timeout=self.drain_timeout_s)
            _, pending = await asyncio.wait(pumps, timeout=self.drain_timeout_s)
            for task in pending:  # something we could not kill still holds the pipe
                task.cancel()
            for s in sinks:
                s.close()
        wall = time.monotonic() - t0
        code = _exit_code(proc.returncode) if proc.returncode is not None else None
        memory = code not in (0, None) and not timed_out and any(m in sinks[1].tail for m in _MEMORY_MARKERS)
        error = f"processes survived the kill: {survivors}" if survivors else ""
        return RunResult(
            exit_code=code,
            stdout_tail=sinks[0].tail,
            stderr_tail=sinks[1].tail,
            timed_out=timed_out,
            oom_killed=memory,
            wall_s=wall,
            files_produced=[],
            stdout_log=sinks[0].log_path,
            stderr_log=sinks[1].log_path,
            error=error,
        )

    @staticmethod
    async def _pump(reader: asyncio.StreamReader, sink: OutputSink) -> None:
        while chunk := await reader.read(65536):
            sink.feed(chunk)

    def _kill_everything(self, pgid: int, uid: int | None, token: str) -> list[int]:
        procs.kill_group(pgid)
        survivors = procs.kill_uid(uid, uid) if uid is not None else []
        return survivors + procs.kill_token(token)

    def _claim_uid(self) -> int:
        with _uids_lock:
            for _ in range(20):
                uid = procs.free_uid(*_UID_RANGE)
                if uid not in _uids_in_use:
                    _uids_in_use.add(uid)
                    return uid
        raise SandboxError("could not find a free uid for the run")

    def _env(self, spec: RunSpec, private: Path, token: str, gpu_env: dict[str, str]) -> dict[str, str]:
        path = "/usr/local/bin:/usr/bin:/bin"
        if self._python_dir:
            path = f"{self._python_dir}:{path}"
        env = {
            "PATH": path,
            "HOME": str(private),
            "TMPDIR": str(private),
            "LANG": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",
            "MPLBACKEND": "Agg",
        }
        env.update(gpu_env)
        env.update(spec.env)
        env["SCISWARM_RUN_TOKEN"] = (
            token  # how descendants are found again; set last so it can't be overridden
        )
        return env

    def _preexec(self, spec: RunSpec, uid: int | None) -> Callable[[], None]:
        mem = spec.memory_mb * 1024 * 1024
        cpu_s = math.ceil(spec.timeout_s * max(spec.cpus, 1.0)) + 5
        limits = [
            (resource.RLIMIT_AS, mem, mem),
            (resource.RLIMIT_CPU, cpu_s, cpu_s + 1),
            (resource.RLIMIT_NOFILE, self.max_open_files, self.max_open_files),
            (resource.RLIMIT_FSIZE, self.max_file_mb * 1024 * 1024, self.max_file_mb * 1024 * 1024),
            (resource.RLIMIT_CORE, 0, 0),
        ]
        if (
            uid is not None
        ):  # RLIMIT_NPROC is per real uid and ignored for root: only meaningful after the drop
            limits.append((resource.RLIMIT_NPROC, spec.pids_limit, spec.pids_limit))
        pool = sorted(os.sched_getaffinity(0))
        want = max(1, min(len(pool), math.ceil(spec.cpus)))
        first = next(_cpu_rotor) * want
        cpus = {pool[(first + i) % len(pool)] for i in range(want)}
        unshare = self.isolates_network and not spec.network

        def setup() -> None:  # runs in the child between fork and exec
            if unshare:
                _unshare_net()
            os.sched_setaffinity(0, cpus)
            for res, soft, hard in limits:
                resource.setrlimit(res, (soft, hard))
            if uid is not None:
                os.setgroups([])
                os.setresgid(uid, uid, uid)
                os.setresuid(uid, uid, uid)
            _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)  # after the uid change, which clears it

        return setup

    @staticmethod
    def _refused(spec: RunSpec, t0: float, error: str) -> RunResult:
        return RunResult(None, "", "", False, False, time.monotonic() - t0, [], error=error)
