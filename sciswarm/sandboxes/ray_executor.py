"""RaySandbox: the Sandbox protocol over a Ray cluster (`executor: {kind: ray}`; `pip install 'sciswarm[ray]'`).

Each run becomes one Ray task asking for the RunSpec's CPUs and GPUs (and the config's custom resources). On the
node Ray picks, the task runs the configured provider (docker, bwrap or local, made there with make_sandbox), which
enforces the timeout on that host. The workspace travels as tar bytes through Ray's object store (or is copied
into `executor.shared_dir`, a path every node sees, once per attempt), and what the run produced (new or changed
files) comes back into the workspace; deletions do not. Output lines stream back while the run goes: the task
pushes batches to a small actor on the driver's node, which the driver polls. A node lost mid-run gives a clean
failure (`error` says "node lost") after at most `executor.retries` more tries; a run no alive node can take is
refused at once. The bus, the roles and the transcript stay on the driver. Ray is imported lazily, on the first run.

A driver that dies mid-run (a crash, SIGKILL) takes its runs with it: Ray kills the workers of a dead driver's job
and the line actor it owns, each task's watchdog (ray_watchdog.py) then ends the sandboxed run and removes the
task's copy of the workspace, and no run ever works in the run folder itself, so nothing of it lands there.
`sciswarm resume` redelivers the unfinished run, which runs again from the workspace as the driver left it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sciswarm.sandboxes.base import OutputCallback, RunResult, RunSpec, SandboxError, checked_workspace, log_folder
from sciswarm.sandboxes.needs import Needs
from sciswarm.sandboxes.ray_config import ExecutorConfig
from sciswarm.sandboxes.ray_node import STAGED_PREFIX, pack, unpack
from sciswarm.sandboxes.workspace import snapshot

LogCallback = Callable[[str, str], None]
POLL_S = 0.25
CHECK_S = 2.0  # how often a waiting run checks that some alive node can still take it
NODE_LOST = "ray node lost"
ISOLATING = ("docker", "bwrap")  # the node-side providers that are an isolation boundary


def connect(address: str) -> None:
    """ray.init once per process. `local` starts a one-node Ray bound to 127.0.0.1 only."""
    if address == "local":
        # Ray reads this at import: with it off, a local Ray registers the node as 127.0.0.1, not the primary NIC
        os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    try:
        import ray
        from ray._private import ray_constants
    except ImportError as exc:
        raise SandboxError("executor.kind=ray needs Ray: pip install 'sciswarm[ray]'") from exc
    if ray.is_initialized():
        return
    kwargs: dict[str, Any] = {"log_to_driver": False, "ignore_reinit_error": True}
    if address == "local":
        ray_constants.ENABLE_RAY_CLUSTER = False
        kwargs.update(address="local", _node_ip_address="127.0.0.1", include_dashboard=False)
    else:
        kwargs.update(address=address)
    try:
        ray.init(**kwargs)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise SandboxError(f"cannot reach the Ray cluster at {address!r}: {exc}") from exc


def node_lost_errors() -> tuple[type[BaseException], ...]:
    import ray.exceptions as rex

    return (
        rex.NodeDiedError,
        rex.WorkerCrashedError,
        rex.ObjectLostError,
        rex.LocalRayletDiedError,
        rex.RaySystemError,
    )


class _Lines:
    """Output lines per run token, pushed by the tasks, taken by the driver (a Ray actor on the driver's node)."""

    def __init__(self) -> None:
        self.items: dict[str, list[tuple[str, str]]] = {}

    def push(self, token: str, batch: list[tuple[str, str]]) -> None:
        self.items.setdefault(token, []).extend(batch)

    def take(self, token: str) -> list[tuple[str, str]]:
        return self.items.pop(token, [])


class RaySandbox:
    name = "ray"

    def __init__(
        self,
        config: ExecutorConfig,
        *,
        provider: str = "auto",
        image: str = "sciswarm-exp:latest",
        needs: Needs | None = None,
        on_log: LogCallback | None = None,
    ) -> None:
        self.config = config
        self.provider = provider
        self.image = image
        self.needs = needs
        self.isolated = provider in ISOLATING  # auto may fall back to local on a node without Docker or bwrap
        self.name = f"ray/{provider}"
        self._on_log = on_log
        self._lock = threading.Lock()
        self._remote: Any = None
        self._lines: Any = None
        self._mounts: dict[str, Any] = {}
        self.placements: list[dict[str, Any]] = []  # where each attempt ran (node id, ip, host), newest last

    def _log(self, level: str, text: str) -> None:
        if self._on_log is not None:
            self._on_log(level, text)

    def _ready(self) -> None:
        with self._lock:
            if self._remote is not None:
                return
            connect(self.config.address)
            import ray
            from ray.util.scheduling_strategies import (
                NodeAffinitySchedulingStrategy,
            )

            from sciswarm.sandboxes.ray_node import run_on_node

            here = ray.get_runtime_context().get_node_id()
            pinned = NodeAffinitySchedulingStrategy(node_id=here, soft=False)
            self._lines = ray.remote(num_cpus=0)(_Lines).options(scheduling_strategy=pinned).remote()
            self._remote = ray.remote(run_on_node)
            self._log("info", f"ray executor: connected ({self.config.address}), driver node {here[:12]}")

    def _shipped_mounts(self, spec: RunSpec) -> dict[str, list[Any]]:
        """Each read-only mount's contents once in the object store (a node without the path unpacks them)."""
        import ray

        out = {}
        for m in spec.mounts:
            if m.source not in self._mounts:
                self._mounts[m.source] = ray.put(pack(Path(m.source)))
            out[m.source] = [self._mounts[m.source]]  # nested: the task fetches it only when it needs it
        return out

    def unmet(self, spec: RunSpec) -> str:
        """Why no alive node could take this run ('' when one can)."""
        import ray

        want = {"CPU": spec.cpus, "GPU": spec.gpu_count, **self.config.resources}
        want = {k: v for k, v in want.items() if v}
        for node in ray.nodes():
            have = node.get("Resources", {})
            if node.get("Alive") and all(have.get(k, 0) >= v for k, v in want.items()):
                return ""
        return f"no alive Ray node has {want}"

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
        await asyncio.to_thread(self._ready)
        lost: list[str] = []
        for attempt in range(self.config.retries + 1):
            why = await asyncio.to_thread(self.unmet, spec)
            if why:
                error = f"{NODE_LOST}: {'; '.join(lost)}; {why}, not retried" if lost else f"ray: {why}"
                return RunResult(None, "", "", False, False, time.monotonic() - t0, [], error=error)
            outcome = await self._attempt(ws, spec, on_output, logs, t0)
            if isinstance(outcome, RunResult):
                return outcome
            lost.append(outcome)
            left = self.config.retries - attempt
            self._log("warning", f"{NODE_LOST} mid-run ({outcome}); {left} retr{'y' if left == 1 else 'ies'} left")
        error = f"{NODE_LOST}: {'; '.join(lost)} ({len(lost)} attempt(s), retries={self.config.retries})"
        return RunResult(None, "", "", False, False, time.monotonic() - t0, [], error=error)

    def _stage(self, ws: Path) -> Path | None:
        """With a shared_dir: this attempt's own copy of the workspace there, which the node runs in. Never the
        workspace itself (even when it is in the shared folder): a run the driver lost track of (it died, or it
        cancelled the task) can then write only into its copy, and only this driver brings outputs back."""
        if self.config.shared_dir is None:
            return None
        shared = Path(self.config.shared_dir).expanduser().resolve()
        shared.mkdir(parents=True, exist_ok=True)
        staged = Path(tempfile.mkdtemp(prefix=STAGED_PREFIX, dir=shared))
        staged.chmod(0o755)
        shutil.copytree(ws, staged, symlinks=True, dirs_exist_ok=True)
        return staged

    async def _attempt(
        self, ws: Path, spec: RunSpec, on_output: OutputCallback | None, logs: Path, t0: float
    ) -> RunResult | str:
        """One try: the RunResult, or why the node was lost (a string)."""
        import ray

        token = os.urandom(8).hex()
        staged = await asyncio.to_thread(self._stage, ws)
        try:
            tar = b"" if staged is not None else await asyncio.to_thread(pack, ws)
            shipped = await asyncio.to_thread(self._shipped_mounts, spec)
            options: dict[str, Any] = {"num_cpus": spec.cpus, "num_gpus": spec.gpu_count, "max_retries": 0}
            if self.config.resources:
                options["resources"] = dict(self.config.resources)
            ref = self._remote.options(**options).remote(
                spec,
                tar,
                str(staged) if staged is not None else None,
                shipped,
                self.provider,
                self.image,
                self.needs,
                self._lines,
                token,
            )
            deadline = time.monotonic() + spec.timeout_s + self.config.grace_s
            checked = time.monotonic()
            while True:
                ready, _ = await asyncio.to_thread(ray.wait, [ref], timeout=POLL_S)
                await self._drain(token, on_output)
                if ready:
                    break
                if time.monotonic() - checked > CHECK_S:  # its node died before it started, or the only fit did
                    checked = time.monotonic()
                    why = await asyncio.to_thread(self.unmet, spec)
                    if why:
                        ray.cancel(ref, force=True)
                        return f"{why} while the run waited or ran"
                if time.monotonic() > deadline:
                    ray.cancel(ref, force=True)
                    late = f"ray: no answer {self.config.grace_s:.0f}s past the run's timeout; task cancelled"
                    return RunResult(None, "", "", True, False, time.monotonic() - t0, [], error=late)
            try:
                out: dict[str, Any] = await asyncio.to_thread(ray.get, ref, timeout=60)
            except node_lost_errors() as exc:
                return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".strip()
            except ray.exceptions.RayTaskError as exc:
                cause = exc.cause if exc.cause is not None else exc
                return RunResult(
                    None, "", "", False, False, time.monotonic() - t0, [], error=f"ray task failed on its node: {cause}"
                )
            await self._drain(token, on_output)
            return self._finish(ws, staged, out, logs, t0)
        finally:
            if staged is not None:
                shutil.rmtree(staged, ignore_errors=True)

    async def _drain(self, token: str, on_output: OutputCallback | None) -> None:
        import ray

        try:
            batch = await asyncio.to_thread(ray.get, self._lines.take.remote(token), timeout=30)
        except ray.exceptions.RayError:
            return
        if on_output is not None:
            for stream, line in batch:
                on_output(stream, line)

    def _finish(self, ws: Path, staged: Path | None, out: dict[str, Any], logs: Path, t0: float) -> RunResult:
        files: list[str] = list(out["files_produced"])
        if staged is None:
            unpack(out["outputs"], ws)
        else:
            present = snapshot(staged)  # regular files only: a link the run made is not followed back
            for rel in files:
                src = staged / rel
                if rel in present and src.is_file() and not src.is_symlink():
                    dst = ws / rel
                    if not dst.resolve().is_relative_to(ws):
                        continue
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(src, dst)
        paths = {}
        for name in ("stdout", "stderr"):
            paths[name] = logs / f"{name}.log"
            paths[name].write_bytes(out["logs"].get(name, b""))
        self.placements.append({k: out[k] for k in ("node_id", "node_ip", "hostname", "pid", "sandbox")})
        return RunResult(
            exit_code=out["exit_code"],
            stdout_tail=out["stdout_tail"],
            stderr_tail=out["stderr_tail"],
            timed_out=out["timed_out"],
            oom_killed=out["oom_killed"],
            wall_s=time.monotonic() - t0,
            files_produced=files,
            stdout_log=paths["stdout"],
            stderr_log=paths["stderr"],
            error=out["error"],
        )
