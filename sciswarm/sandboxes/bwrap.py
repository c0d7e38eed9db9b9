"""BwrapSandbox: each run in its own bubblewrap sandbox, for hosts without Docker (HPC, university clusters).

What a run gets (bwrap_args.py): its own user, pid, ipc, uts, cgroup and network namespaces (no network unless
spec.network; only `lo`), no further user namespaces, no_new_privs, a filesystem built from the system directories
read-only, /tmp a tmpfs of spec.tmp_mb, the workspace read-write and nothing else of the host's files but the
interpreter and the spec's read-only mounts; the rlimits of the local provider (memory through RLIMIT_AS, CPU
time, open files, file size, no core dumps, processes) and its CPU set (local_limits.py); a fresh environment.
As root, bwrap itself runs as a fresh unprivileged uid (local_uids.py), so the run is that uid on the host too;
an interpreter under a directory that uid cannot traverse (/root/.pyenv) is shown to it the local provider's way
(namespaces.expose) before bwrap binds it in. Not root: bwrap runs as this user (unprivileged user namespaces).

The timeout is enforced from the host: bwrap reports its init's pid (--info-fd), and killing that init makes the
kernel kill every process in the run's pid namespace; whatever is left is killed by namespace, uid and token, and
named in RunResult.error if it survives.

What it cannot do: cap disk use in the workspace (RLIMIT_FSIZE bounds each file, not their number), tell an OOM
from another failure (RLIMIT_AS makes allocations fail; `oom_killed` is a heuristic), bound memory across
processes (no cgroup: each process gets RLIMIT_AS), or filter system calls (no seccomp profile, unlike Docker's
default one): a kernel bug reachable from an unprivileged user namespace is not contained.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from sciswarm import procs
from sciswarm.sandboxes import bwrap_args as ba
from sciswarm.sandboxes import bwrap_pidns as pns
from sciswarm.sandboxes import host_run as hr
from sciswarm.sandboxes import namespaces as ns
from sciswarm.sandboxes.base import OutputCallback, RunResult, RunSpec, SandboxError, checked_workspace, log_folder
from sciswarm.sandboxes.gpus import wants_gpu
from sciswarm.sandboxes.local_limits import child_setup
from sciswarm.sandboxes.local_python import BASE_PATH
from sciswarm.sandboxes.local_uids import claim_uid, release_uid

log = logging.getLogger(__name__)

Ran = tuple[int | None, str | None, str]  # (uid, pid namespace, token) of a finished run


def bwrap_available() -> tuple[bool, str]:
    """Can bubblewrap start a sandbox here (installed, user namespaces allowed)? (ok, why not)"""
    try:
        BwrapSandbox(python=None)
    except SandboxError as exc:
        return False, str(exc)
    return True, ""


class BwrapSandbox:
    """See the module docstring. `expose`: extra host trees shown read-only at their paths (e.g. /cvmfs)."""

    name = "bwrap"
    isolated = True

    def __init__(
        self,
        *,
        python: str | None = sys.executable,
        expose: tuple[str, ...] = (),
        max_file_mb: int = 8192,
        max_open_files: int = 4096,
        drain_timeout_s: float = 5.0,
    ) -> None:
        self.bwrap = shutil.which("bwrap") or ""
        if not self.bwrap:
            raise SandboxError("bubblewrap is not installed (apt-get install bubblewrap)")
        self.expose = expose
        self.max_file_mb = max_file_mb
        self.max_open_files = max_open_files
        self.drain_timeout_s = drain_timeout_s
        self.drops_privileges = os.geteuid() == 0
        self._recent: deque[Ran] = deque(maxlen=8)
        system = shutil.which("python3", path=BASE_PATH)
        self.interpreter: str | None = None
        self._trees: list[str] = []
        self._exposure: ns.Exposure = []
        for candidate in (python, system):
            if candidate and self._try_interpreter(candidate):
                break
            if candidate:
                log.warning("bwrap sandbox: %s does not start inside the sandbox", candidate)
        if self.interpreter is None:
            self._probe(["true"])  # raises SandboxError when bwrap cannot run at all
        self._python_dir = os.path.dirname(self.interpreter) if self.interpreter else None

    @property
    def bounds_processes(self) -> bool:
        return True  # RLIMIT_NPROC counts the run's processes in its own user namespace

    def _try_interpreter(self, python: str) -> bool:
        self._trees = sorted(ns.interpreter_trees(python))
        self._exposure = ns.exposure_plan(python) if self.drops_privileges else []
        expected = sys.prefix if ns.is_running_interpreter(python) else None
        out = self._probe([python, "-I", "-c", "import sys; print(sys.prefix)"])
        if out is None or (expected is not None and out != expected):
            self._trees, self._exposure = [], []
            return False
        self.interpreter = python
        return True

    def _probe(self, argv: list[str]) -> str | None:
        """Run argv in a sandbox like a run's; its stdout, None if argv failed; SandboxError if bwrap did."""
        spec = RunSpec(argv=argv, timeout_s=60, tmp_mb=16)
        uid = claim_uid() if self.drops_privileges else None
        harness = Path(tempfile.mkdtemp(prefix="sciswarm-bwrap-"))
        try:
            harness.chmod(0o755)
            cmd = [self.bwrap, *ba.sandbox_args(spec, harness, harness, trees=self._trees), "--", *argv]
            proc = subprocess.run(
                cmd,
                env={"PATH": BASE_PATH, "LANG": "C.UTF-8"},
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
                preexec_fn=self._preexec(spec, uid),
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise SandboxError(f"bubblewrap could not start: {exc}") from exc
        finally:
            if uid is not None:
                release_uid(uid)
            shutil.rmtree(harness, ignore_errors=True)
        if proc.returncode != 0 and proc.stderr.startswith("bwrap:") and "execvp" not in proc.stderr:
            raise SandboxError(f"bubblewrap cannot create a sandbox here: {proc.stderr.strip()[:300]}")
        return proc.stdout.strip() if proc.returncode == 0 else None

    def leftover_processes(self) -> list[int]:
        """Processes of recent runs still alive on the host (by pid namespace, uid or token): should be []."""
        left: set[int] = set()
        for uid, pidns, token in self._recent:
            left.update(pns.pids_in_pidns(pidns) if pidns else [])
            left.update(procs.pids_of_uid(uid) if uid is not None else [])
            left.update(procs.pids_with_token(token))
        return sorted(left)

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
            harness = Path(tempfile.mkdtemp(prefix="sciswarm-harness-"))
            try:
                ba.write_harness(harness, spec, self.interpreter)
                env = ba.run_env(spec, token, self._python_dir, gpus)
                return await hr.in_lent_workspace(
                    ws, uid, lambda: self._run(ws, harness, spec, env, uid, token, on_output, logs, t0)
                )
            finally:
                shutil.rmtree(harness, ignore_errors=True)

    async def _run(
        self,
        ws: Path,
        harness: Path,
        spec: RunSpec,
        env: dict[str, str],
        uid: int | None,
        token: str,
        on_output: OutputCallback | None,
        logs: Path,
        t0: float,
    ) -> RunResult:
        sinks = hr.output_sinks(spec, logs, on_output)
        info_r, info_w = os.pipe()
        gpu = wants_gpu(spec.gpus)
        args = ba.sandbox_args(spec, ws, harness, trees=self._trees, extra_ro=self.expose, gpu=gpu, info_fd=info_w)
        try:
            proc = await asyncio.create_subprocess_exec(
                self.bwrap,
                *args,
                "--",
                *spec.argv,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
                pass_fds=(info_w,),
                preexec_fn=self._preexec(spec, uid),
            )
        except Exception as exc:
            for s in sinks:
                s.close()
            os.close(info_r)
            raise SandboxError(f"bwrap sandbox could not start: {exc}") from exc
        finally:
            os.close(info_w)
        info = asyncio.create_task(asyncio.to_thread(pns.read_info, info_r))

        async def kill() -> list[int]:
            init_pid, pidns = await self._sandbox_ids(info)
            survivors = await asyncio.to_thread(self._kill_everything, proc.pid, init_pid, pidns, uid, token)
            self._recent.append((uid, pidns, token))
            return survivors

        timed_out, survivors = await hr.supervise(
            proc, sinks, spec.timeout_s, kill, drain_timeout_s=self.drain_timeout_s
        )
        code = hr.exit_code(proc.returncode)
        if code == 1 and f"bwrap: execvp {spec.argv[0]}" in sinks[1].tail:
            code = 127  # the command does not exist in the sandbox, like a shell says
        return hr.finished(code, sinks, timed_out=timed_out, survivors=survivors, t0=t0)

    @staticmethod
    async def _sandbox_ids(info: asyncio.Task[dict[str, int]]) -> tuple[int | None, str | None]:
        """The init pid and pid namespace bwrap reported (None, None if it never got that far)."""
        try:
            data = await asyncio.wait_for(asyncio.shield(info), timeout=5)
        except (TimeoutError, ValueError, OSError):
            return None, None
        pid, ino = data.get("child-pid"), data.get("pid-namespace")
        return (int(pid) if pid else None), (f"pid:[{ino}]" if ino else None)

    @staticmethod
    def _kill_everything(pgid: int, init: int | None, pidns: str | None, uid: int | None, token: str) -> list[int]:
        left = pns.kill_pidns(init, pidns) if init is not None and pidns else []
        procs.kill_group(pgid)  # bwrap itself, outside the namespace
        left += procs.kill_uid(uid, uid) if uid is not None else []
        return sorted(set(left + procs.kill_token(token)))

    def _preexec(self, spec: RunSpec, uid: int | None) -> Callable[[], None]:
        return child_setup(
            spec,
            uid,
            max_open_files=self.max_open_files,
            max_file_mb=self.max_file_mb,
            unshare_net=False,
            exposure=self._exposure if uid is not None else [],
        )
