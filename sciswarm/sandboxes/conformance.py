"""The conformance + escape suite every Sandbox provider runs (`sciswarm sandbox check`).

Each case runs a hostile program (see escapes.py) through the provider and then checks *on the host* what it
achieved (conformance_probes.py); each gives a CaseResult with a verdict (conformance_report.py).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from sciswarm.procs import pid_alive
from sciswarm.sandboxes import escapes
from sciswarm.sandboxes.base import RunResult, RunSpec, Sandbox, SandboxError
from sciswarm.sandboxes.conformance_probes import Listener, grows, host_ips, leftover_containers, reported
from sciswarm.sandboxes.conformance_report import CaseResult
from sciswarm.sandboxes.gpus import host_gpu_ids

BASE_SPEC = RunSpec(argv=["true"], timeout_s=20, memory_mb=512, cpus=1.0, pids_limit=64, tmp_mb=64)


class Suite:
    def __init__(self, sandbox: Sandbox, root: Path) -> None:
        self.sb = sandbox
        self.root = root
        self.token = os.urandom(6).hex()
        self.host_pid = os.getpid()
        self._n = 0

    def _required(self, claim: str | None = None) -> bool:
        """Isolated providers must contain everything; an unsafe one what it claims (`claim` attr)."""
        return self.sb.isolated or (claim is not None and bool(getattr(self.sb, claim, False)))

    def _leftover_processes(self) -> list[int]:
        """Processes of earlier runs still alive, for providers that can tell (`leftover_processes()`)."""
        probe = getattr(self.sb, "leftover_processes", None)
        return list(probe()) if callable(probe) else []

    def _case_dir(self) -> Path:
        self._n += 1
        case = self.root / f"case{self._n}"
        (case / "workspace").mkdir(parents=True)
        return case

    async def _run(self, code: str, *args: str, **spec: Any) -> tuple[RunResult, Path]:
        case = self._case_dir()
        run_spec = replace(BASE_SPEC, argv=["python3", "-c", code, *args], **spec)
        result = await self.sb.run(case / "workspace", run_spec, log_dir=case / "logs")
        return result, case / "workspace"

    async def timeout_sleep(self) -> CaseResult:
        r, _ = await self._run(escapes.SLEEP, timeout_s=1.5)
        ok = r.timed_out and r.wall_s < 1.5 + 5
        return CaseResult(
            "sleep past the timeout",
            "killed at 1.5 s",
            f"timed_out={r.timed_out} wall={r.wall_s:.1f}s exit={r.exit_code}",
            ok,
            True,
        )

    async def sigterm_ignored(self) -> CaseResult:
        r, ws = await self._run(escapes.HEARTBEAT, "hb", "ignore-term", timeout_s=1.5)
        alive = await asyncio.to_thread(grows, ws / "hb")
        ok = r.timed_out and not alive and r.wall_s < 1.5 + 5
        beat = "GROWING" if alive else "stopped"
        obs = f"timed_out={r.timed_out} wall={r.wall_s:.1f}s, heartbeat after return: {beat}"
        return CaseResult("trap/ignore SIGTERM", "killed anyway (SIGKILL from host)", obs, ok, True)

    async def setsid_daemon(self) -> CaseResult:
        r, ws = await self._run(escapes.SETSID_DAEMON, escapes.HEARTBEAT, timeout_s=10)
        await asyncio.sleep(0.3)  # give a surviving daemon time to prove it is alive
        alive = await asyncio.to_thread(grows, ws / "daemon.hb")
        notes = [f"exit={r.exit_code}", f"heartbeat after return: {'GROWING' if alive else 'stopped'}"]
        pid_file = ws / "daemon.pid"
        if self.sb.name == "local" and pid_file.exists():
            pid = int(pid_file.read_text())
            pid_alive_after = pid_alive(pid)
            alive = alive or pid_alive_after
            notes.append(f"host pid {pid} {'ALIVE' if pid_alive_after else 'dead'}")
        if self.sb.name == "docker":
            left = leftover_containers()
            notes.append(f"sciswarm containers left: {left}")
            alive = alive or bool(left)
        if hasattr(self.sb, "leftover_processes"):
            stray = self._leftover_processes()
            notes.append(f"processes left: {stray or 'none'}")
            alive = alive or bool(stray)
        started = (ws / "daemon.hb").exists()
        notes.append("daemon started" if started else "daemon never started (inconclusive)")
        ok = started and not alive
        return CaseResult(
            "setsid/nohup child outlives parent", "no process survives the run", ", ".join(notes), ok, True
        )

    async def harness_edit(self) -> CaseResult:
        r, _ = await self._run(escapes.HARNESS_EDIT, str(self.host_pid), timeout_s=2)
        wrote = any(s.startswith("ok") for s in reported(r, "spec_write"))
        signalled = any(s.startswith("ok") for s in reported(r, "signal_supervisor"))
        ok = r.timed_out and r.wall_s < 2 + 5 and not wrote and not signalled
        attempts = [f"spec write {s}" for s in reported(r, "spec_write")]
        attempts += [f"signal {s}" for s in reported(r, "signal_supervisor")]
        obs = "; ".join(attempts) + f"; timed_out={r.timed_out} wall={r.wall_s:.1f}s"
        return CaseResult("edit harness / timeout, signal supervisor", "spec read-only, killed at 2 s", obs, ok, True)

    async def write_outside(self) -> CaseResult:
        case_root = self.root / f"outside-{self.token}"
        sibling = case_root / "other-idea-workspace"
        sibling.mkdir(parents=True)
        targets = [
            sibling / "pwned",
            Path(f"/tmp/sciswarm-escape-{self.token}"),
            Path(f"/var/tmp/sciswarm-escape-{self.token}"),
            Path(f"/dev/shm/sciswarm-escape-{self.token}"),
            Path(f"/sciswarm-escape-{self.token}"),
        ]
        r, _ = await self._run(escapes.WRITE_OUTSIDE, *map(str, targets))
        on_host = [str(t) for t in targets if t.exists()]
        for t in targets:
            if t.exists() and not t.is_symlink():
                t.unlink()
        inside = sum(s.startswith("ok") for s in reported(r, "write"))
        found = ", ".join(on_host) or "none"
        obs = f"writes that succeeded inside: {inside}/{len(targets)}; on the host: {found}"
        return CaseResult("write outside the workspace", "host files untouched", obs, not on_host, self._required())

    async def network(self) -> CaseResult:
        listener = Listener()
        try:
            targets = [f"127.0.0.1:{listener.port}"] + [f"{ip}:{listener.port}" for ip in host_ips()]
            targets.append("pypi.org:443")
            r, _ = await self._run(escapes.NETWORK, *targets)
        finally:
            listener.close()
        connected = [s.split()[1] for s in reported(r, "connect") if s.startswith("ok")]
        ok = not connected and listener.accepted == 0 and bool(reported(r, "connect"))
        obs = f"connected: {', '.join(connected) or 'none'}; host listener accepted {listener.accepted}"
        return CaseResult(
            "open a network connection",
            "no route (network none)",
            obs,
            ok,
            self._required("isolates_network"),
        )

    async def memory(self) -> CaseResult:
        limit = 256
        r, _ = await self._run(escapes.MEMORY, str(limit), memory_mb=limit)
        got = max((int(v) for v in reported(r, "allocated_mb")), default=0)
        unbounded = bool(reported(r, "allocation"))
        ok = not unbounded and got <= limit + 32
        obs = f"reached {got} MB of {4 * limit}; exit={r.exit_code} oom_killed={r.oom_killed}"
        return CaseResult("allocate past the memory limit", f"stopped near {limit} MB", obs, ok, True)

    async def fork_bomb(self) -> CaseResult:
        pids = 64
        if not self.sb.isolated and not getattr(self.sb, "bounds_processes", False):
            why = "RLIMIT_NPROC would not bound it (running as root or sharing the uid with the host)"
            return CaseResult("fork bomb", f"≤ {pids} processes", f"skipped: {why}", False, False, ran=False)
        r, ws = await self._run(escapes.FORK_BOMB, pids_limit=pids, timeout_s=5)
        count = (ws / "forks.count").stat().st_size if (ws / "forks.count").exists() else 0
        failures = reported(r, "fork_failures")
        left = leftover_containers() if self.sb.name == "docker" else len(self._leftover_processes())
        ok = count <= pids and r.timed_out and not left and not r.error
        seen = failures[0] if failures else "?"
        obs = f"{count} forks succeeded, root saw {seen} failures; timed_out={r.timed_out}"
        obs += f"; {r.error}" if r.error else ""
        return CaseResult("fork bomb", f"≤ {pids} processes, all killed", obs, ok, True)

    async def fill_tmp(self) -> CaseResult:
        tmp_mb = 64
        target = f"/tmp/sciswarm-fill-{self.token}"
        try:
            r, _ = await self._run(escapes.FILL_TMP, target, str(tmp_mb + 64), tmp_mb=tmp_mb, memory_mb=512)
        finally:
            shutil.rmtree(target, ignore_errors=True)
        line = (reported(r, "written_mb") or ["? stopped=?"])[0]
        written = int(line.split()[0]) if line.split()[0].isdigit() else 10**9
        ok = written <= tmp_mb + 8 and "stopped=no" not in line
        return CaseResult(
            "fill the disk of /tmp", f"ENOSPC near {tmp_mb} MB", f"written_mb={line}", ok, self._required()
        )

    async def read_secret(self) -> CaseResult:
        secret_dir = self.root / f"host-secrets-{self.token}"
        secret_dir.mkdir()
        secret = secret_dir / "api_key.txt"
        secret.write_text(f"sk-canary-{self.token}\n")
        secret.chmod(0o644)  # like most .env files: readable by anyone who can reach it
        environ = f"/proc/{self.host_pid}/environ"
        r, _ = await self._run(escapes.READ_SECRET, str(secret), environ)
        leaked = f"sk-canary-{self.token}" in r.stdout_tail
        env_read = any(s.startswith(f"ok {environ}") for s in reported(r, "read"))
        obs = f"secret file: {'READ' if leaked else 'not readable'}; "
        obs += f"supervisor environ: {'READ' if env_read else 'not readable'}"
        return CaseResult("read a host secret file", "not visible", obs, not leaked and not env_read, self._required())

    async def host_env(self) -> CaseResult:
        key = "SCISWARM_CANARY_API_KEY"
        os.environ[key] = f"canary-{self.token}"
        try:
            r, _ = await self._run(escapes.DUMP_ENV)
        finally:
            os.environ.pop(key, None)
        leaked = f"canary-{self.token}" in r.stdout_tail
        obs = f"{len(r.stdout_tail.splitlines())} variables visible; canary {'LEAKED' if leaked else 'absent'}"
        return CaseResult("inherit the host's environment (API keys)", "fresh environment", obs, not leaked, True)

    async def gpu_request(self) -> CaseResult:
        if host_gpu_ids():
            return CaseResult(
                "request a GPU when none exists", "clean error", "skipped: this host has GPUs", True, True
            )
        before = leftover_containers() if self.sb.name == "docker" else 0
        try:
            r, _ = await self._run(escapes.PRINT_RAN, gpus=1)
            error, ran = r.error, "ran=yes" in r.stdout_tail
        except SandboxError as exc:
            error, ran = f"SandboxError: {exc}", False
        left = leftover_containers() if self.sb.name == "docker" else 0
        ok = bool(error) and not ran and (left or 0) <= (before or 0)
        obs = f"error={error[:90]!r}{'…' if len(error) > 90 else ''}; command ran={ran}"
        if self.sb.name == "docker":
            obs += f"; containers left: {left}"
        return CaseResult("request a GPU when none exists", "clean error, nothing left", obs, ok, True)

    def cases(self) -> list[Callable[[], Awaitable[CaseResult]]]:
        return [
            self.timeout_sleep,
            self.sigterm_ignored,
            self.setsid_daemon,
            self.harness_edit,
            self.write_outside,
            self.network,
            self.memory,
            self.fork_bomb,
            self.fill_tmp,
            self.read_secret,
            self.host_env,
            self.gpu_request,
        ]


async def run_suite(sandbox: Sandbox, *, case_timeout_s: float = 90.0) -> list[CaseResult]:
    """Run every case sequentially against `sandbox`; never raises for a case (errors become ESCAPED rows)."""
    root = Path(tempfile.mkdtemp(prefix="sciswarm-conformance-"))
    root.chmod(0o755)  # like a runs/ directory: traversable by other users
    suite = Suite(sandbox, root)
    results = []
    try:
        for case in suite.cases():
            name = case.__name__.replace("_", " ")
            try:
                results.append(await asyncio.wait_for(case(), timeout=case_timeout_s))
            except Exception as exc:
                results.append(
                    CaseResult(name, "case completes", f"suite error: {type(exc).__name__}: {exc}", False, True)
                )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return results
