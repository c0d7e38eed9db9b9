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
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from sciswarm import procs
from sciswarm.sandboxes import host_run as hr
from sciswarm.sandboxes import namespaces as ns
from sciswarm.sandboxes.base import OutputCallback, RunResult, RunSpec, SandboxError, checked_workspace, log_folder
from sciswarm.sandboxes.local_limits import child_setup
from sciswarm.sandboxes.local_python import BASE_PATH, make_usable, shim

log = logging.getLogger(__name__)


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
        try:
            gpus = hr.gpu_env(spec)
        except hr.GpuRefused as exc:
            return hr.refused(t0, str(exc))
        with hr.run_uid(ws, spec, drops_privileges=self.drops_privileges) as uid:
            token = os.urandom(12).hex()
            private = Path(tempfile.mkdtemp(prefix="sciswarm-local-"))
            try:
                if uid is not None:
                    os.chown(private, uid, uid)
                env = self._env(spec, private, token, gpus)
                return await hr.in_lent_workspace(
                    ws, uid, lambda: self._run(ws, spec, env, uid, token, on_output, logs, t0)
                )
            finally:
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
        sinks = hr.output_sinks(spec, logs, on_output)
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

        async def kill() -> list[int]:
            return self._kill_everything(proc.pid, uid, token)

        timed_out, survivors = await hr.supervise(
            proc, sinks, spec.timeout_s, kill, drain_timeout_s=self.drain_timeout_s
        )
        return hr.finished(hr.exit_code(proc.returncode), sinks, timed_out=timed_out, survivors=survivors, t0=t0)

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
