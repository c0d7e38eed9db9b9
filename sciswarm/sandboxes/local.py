"""LocalSandbox: a host subprocess with rlimits and a host-side kill. NOT an isolation boundary.

What it does: own session/process group; RLIMIT_AS/CPU/NOFILE/NPROC/FSIZE/CORE set before exec (local_limits.py);
a minimal environment (the host's, with its API keys, is never inherited); on timeout, SIGKILL of the group and of
every process that carries the run's token in its environment. When the host process is root it also runs
the command as a fresh unprivileged uid (local_uids.py; so RLIMIT_NPROC bounds fork bombs, the supervisor cannot be
signalled, root-owned files cannot be written, and *every* descendant — setsid'd or not — is found and
killed by uid) in its own network namespace (no network unless spec.network).

`python`/`python3` in a command mean the interpreter the swarm runs with (its venv), also for that uid when it
can be made so; see local_python.py for how, and for what happens when it cannot.

What it cannot do: hide the host filesystem (world-readable files are readable, /tmp is writable), cap disk
use, or tell an OOM from any other failure (RLIMIT_AS makes allocations fail; `oom_killed` is a heuristic).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import stat
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from sciswarm import procs
from sciswarm.sandboxes import namespaces as ns
from sciswarm.sandboxes.base import OutputCallback, RunResult, RunSpec, SandboxError, checked_workspace, log_folder
from sciswarm.sandboxes.gpus import cuda_visible_devices, host_gpu_ids, wants_gpu
from sciswarm.sandboxes.local_limits import child_setup
from sciswarm.sandboxes.local_python import BASE_PATH, make_usable, shim
from sciswarm.sandboxes.local_uids import check_reachable, claim_uid, release_uid
from sciswarm.sandboxes.output import OutputSink
from sciswarm.sandboxes.workspace import LentWorkspace, produced, snapshot

log = logging.getLogger(__name__)

_MEMORY_MARKERS = ("MemoryError", "std::bad_alloc", "can't allocate memory", "Cannot allocate memory")


def _exit_code(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode


def _check_mounts(spec: RunSpec, *, others: bool) -> None:
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


class LocalSandbox:
    """Run a command as a host subprocess under rlimits; see the module docstring for what it cannot do."""

    name = "local"
    isolated = False

    def __init__(
        self,
        *,
        run_as: Literal["auto", "unprivileged", "self"] = "auto",
        python: str | None = sys.executable,
        max_file_mb: int = 8192,
        max_open_files: int = 4096,
        drain_timeout_s: float = 5.0,
    ) -> None:
        """run_as (matters only when this process is root): "unprivileged" always runs commands as a fresh uid,
        with the system python if `python` cannot be made usable by it; "auto" does the same but, rather than
        lose `python`, runs as this user (NOT isolated; see `fallback_reason`); "self" always runs as this user.
        """
        self.max_file_mb = max_file_mb
        self.max_open_files = max_open_files
        self.drain_timeout_s = drain_timeout_s
        self.fallback_reason: str | None = None  # why a root run_as="auto" sandbox runs commands as root
        self.interpreter: str | None = python  # what `python`/`python3` mean in a run (wrappers first on PATH)
        self._exposure: ns.Exposure = []  # interpreter trees shown to the run's uid in a private mount namespace
        root = os.geteuid() == 0
        drop = root and run_as != "self"
        if drop and python:
            access = make_usable(python, strict=run_as == "unprivileged")
            drop, self.interpreter, self._exposure = access.drops_privileges, access.interpreter, access.exposure
            self.fallback_reason = access.fallback_reason
        self.drops_privileges = drop
        self.runs_as_root = root and not drop
        self.isolates_network = drop and ns.probe_unshare()
        if not self.interpreter:
            self.interpreter = shutil.which("python3", path=BASE_PATH)
        self._python_dir = os.path.dirname(self.interpreter) if self.interpreter else None
        log.warning(
            "LocalSandbox is NOT isolation: the command runs on this host and can read world-readable files "
            "and write world-writable places. Use the docker provider for agent-written code."
        )
        if self.runs_as_root:
            log.warning("LocalSandbox runs commands as root: %s", self.fallback_reason or "run_as='self'")

    @property
    def bounds_processes(self) -> bool:
        """True when RLIMIT_NPROC really bounds the run (it does not apply to root)."""
        return self.drops_privileges

    @property
    def exposed(self) -> list[str]:
        """Interpreter trees shown read-only to the run's uid although the host hides them from it."""
        return [tree for _, trees in self._exposure for tree in trees]

    async def run(
        self,
        workspace: Path,
        spec: RunSpec,
        *,
        on_output: OutputCallback | None = None,
        log_dir: Path | None = None,
    ) -> RunResult:
        ws = checked_workspace(workspace, spec)
        logs = log_folder(log_dir)
        t0 = time.monotonic()
        gpu_env: dict[str, str] = {}
        if wants_gpu(spec.gpus):
            ids = host_gpu_ids()
            if not ids:
                return self._refused(spec, t0, f"GPU requested (gpus={spec.gpus!r}) but this host has none")
            visible = cuda_visible_devices(spec.gpus, ids)
            if visible is not None:
                gpu_env["CUDA_VISIBLE_DEVICES"] = visible
        if self.drops_privileges:
            check_reachable(ws)
        _check_mounts(spec, others=self.drops_privileges)
        uid = claim_uid() if self.drops_privileges else None
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
                release_uid(uid)
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
        pumps = [asyncio.create_task(self._pump(r, s)) for r, s in zip((proc.stdout, proc.stderr), sinks, strict=True)]
        timed_out = False
        try:
            await asyncio.wait_for(procs.exited(proc), timeout=spec.timeout_s)
        except TimeoutError:
            timed_out = True
        finally:
            survivors = self._kill_everything(proc.pid, uid, token)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(procs.reaped(proc), timeout=self.drain_timeout_s)
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

    def _env(self, spec: RunSpec, private: Path, token: str, gpu_env: dict[str, str]) -> dict[str, str]:
        shims = private / "bin"
        shims.mkdir()
        shims.chmod(0o755)
        if self.interpreter:
            for name in ("python", "python3"):
                (shims / name).write_text(shim(self.interpreter))
                (shims / name).chmod(0o755)
        path = BASE_PATH
        if self._python_dir and self._python_dir not in BASE_PATH.split(":"):
            path = f"{self._python_dir}:{path}"  # the venv's other tools too, as if it were activated
        env = {
            "PATH": f"{shims}:{path}",
            "HOME": str(private),
            "TMPDIR": str(private),
            "LANG": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",
            "MPLBACKEND": "Agg",
        }
        env.update(gpu_env)
        env.update({m.env: m.source for m in spec.mounts if m.env})  # seen where they are: no mount namespace
        env.update(spec.env)
        env["SCISWARM_RUN_TOKEN"] = token  # how descendants are found again; set last so it can't be overridden
        return env

    def _preexec(self, spec: RunSpec, uid: int | None) -> Callable[[], None]:
        return child_setup(
            spec,
            uid,
            max_open_files=self.max_open_files,
            max_file_mb=self.max_file_mb,
            unshare_net=self.isolates_network and not spec.network,
            exposure=self._exposure if uid is not None else [],
        )

    @staticmethod
    def _refused(spec: RunSpec, t0: float, error: str) -> RunResult:
        return RunResult(None, "", "", False, False, time.monotonic() - t0, [], error=error)
