"""DockerSandbox: one locked-down container per run; the timeout is a kill issued from the host.

No network (unless spec.network), memory (+swap) / CPU / pids limits, an unprivileged user, a read-only root
with a size-capped tmpfs /tmp, no capabilities, no-new-privileges, the workspace bind-mounted at
/workspace, the run spec on a read-only /harness mount and the spec's read-only mounts (all of it in
docker_config.py). Containers carry the label `sciswarm=1` and are removed on every path, including a start that
fails (e.g. a GPU request on a host without the NVIDIA runtime); those a crashed swarm left behind are reaped on
first use (docker_orphans.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests.exceptions

from sciswarm.sandboxes.base import OutputCallback, RunResult, RunSpec, SandboxError, checked_workspace, log_folder
from sciswarm.sandboxes.docker_config import check_mounts, container_config
from sciswarm.sandboxes.docker_orphans import reap_orphans
from sciswarm.sandboxes.gpus import GPU_UNAVAILABLE_HINT
from sciswarm.sandboxes.image import DEFAULT_IMAGE
from sciswarm.sandboxes.output import LineCallback, OutputSink, StreamName
from sciswarm.sandboxes.workspace import LentWorkspace, produced, snapshot

log = logging.getLogger(__name__)

NOBODY = (65534, 65534)  # the user a root-owned workspace is lent to
_GPU_START_ERRORS = (
    "could not select device driver",
    "nvidia-container-cli",
    "unknown or invalid runtime name: nvidia",
)
_NOT_FOUND_ERRORS = ("executable file not found", "no such file or directory")


class DockerSandbox:
    """See the module docstring. `client` defaults to `docker.from_env()` (created on first use)."""

    name = "docker"
    isolated = True

    def __init__(
        self,
        image: str = DEFAULT_IMAGE,
        *,
        client: docker.DockerClient | None = None,
        shm_mb: int | None = None,
    ) -> None:
        self.image = image
        self.shm_mb = shm_mb
        self._client = client
        self._host_cpus: int | None = None
        self._lock = threading.Lock()
        self.reaped: list[str] = []

    def _docker(self) -> tuple[docker.DockerClient, int]:
        with self._lock:
            try:
                if self._client is None:
                    self._client = docker.from_env()
                if self._host_cpus is None:
                    self._host_cpus = int(self._client.info().get("NCPU") or os.cpu_count() or 1)
                    self.reaped = reap_orphans(self._client)  # experiments left running by a crashed swarm
            except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
                raise SandboxError(f"Docker engine not reachable: {exc} (try scripts/ensure_docker.sh)") from exc
            return self._client, self._host_cpus

    async def run(
        self,
        workspace: Path,
        spec: RunSpec,
        *,
        on_output: OutputCallback | None = None,
        log_dir: Path | None = None,
    ) -> RunResult:
        ws = checked_workspace(workspace, spec)
        check_mounts(spec)
        logs = log_folder(log_dir)
        t0 = time.monotonic()
        client, host_cpus = await asyncio.to_thread(self._docker)
        owner = os.stat(ws)
        uid, gid = (owner.st_uid, owner.st_gid) if owner.st_uid != 0 else NOBODY
        harness = Path(tempfile.mkdtemp(prefix="sciswarm-harness-"))
        name = f"sciswarm-{os.urandom(6).hex()}"
        before = snapshot(ws)
        try:
            (harness / "spec.json").write_text(json.dumps(dataclasses.asdict(spec), indent=2))
            (harness / "spec.json").chmod(0o444)
            harness.chmod(0o555)
            config = container_config(
                self.image,
                spec,
                user=f"{uid}:{gid}",
                workspace=ws,
                harness=harness,
                name=name,
                host_cpus=host_cpus,
                shm_mb=self.shm_mb or max(64, spec.memory_mb // 4),
            )
            with LentWorkspace(ws, uid, gid):
                result = await self._run(client, config, spec, on_output, logs, t0)
        finally:
            harness.chmod(0o755)
            shutil.rmtree(harness, ignore_errors=True)
        result.files_produced = produced(before, snapshot(ws))
        return result

    async def _run(
        self,
        client: docker.DockerClient,
        config: dict[str, Any],
        spec: RunSpec,
        on_output: OutputCallback | None,
        logs: Path,
        t0: float,
    ) -> RunResult:
        container = None
        try:
            try:
                container = await asyncio.to_thread(client.containers.create, **config)
            except docker.errors.ImageNotFound as exc:
                raise SandboxError(f"image {self.image!r} not found: build it with `sciswarm sandbox build`") from exc
            except docker.errors.DockerException as exc:
                raise SandboxError(f"could not create the container: {exc}") from exc
            try:
                await asyncio.to_thread(container.start)
            except docker.errors.APIError as exc:
                return self._start_failed(exc, spec, t0)
            deadline = time.monotonic() + spec.timeout_s
            sinks, readers = self._follow_logs(container, spec, logs, on_output)
            timed_out = False
            try:
                await asyncio.to_thread(container.wait, timeout=max(0.01, spec.timeout_s))
            except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
                if time.monotonic() < deadline - 0.5:  # not our timeout: the engine went away
                    raise SandboxError("lost the Docker engine while waiting for the container") from None
                timed_out = True
                with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                    await asyncio.to_thread(container.kill)  # SIGKILL from the host
            status = await asyncio.to_thread(container.wait, timeout=30)
            await asyncio.to_thread(self._join, readers, sinks)
            await asyncio.to_thread(container.reload)
            state = container.attrs.get("State", {})
            code = int(status.get("StatusCode", state.get("ExitCode", -1)))
            return RunResult(
                exit_code=code,
                stdout_tail=sinks[0].tail,
                stderr_tail=sinks[1].tail,
                timed_out=timed_out,
                oom_killed=bool(state.get("OOMKilled")) and code != 0,
                wall_s=time.monotonic() - t0,
                files_produced=[],
                stdout_log=sinks[0].log_path,
                stderr_log=sinks[1].log_path,
            )
        finally:
            if container is not None:
                await asyncio.to_thread(self._remove, container)

    def _follow_logs(
        self, container: Any, spec: RunSpec, logs: Path, on_output: OutputCallback | None
    ) -> tuple[list[OutputSink], list[threading.Thread]]:
        loop = asyncio.get_running_loop()
        on_line: LineCallback | None = None
        if on_output is not None:
            callback = on_output

            def on_line(stream: StreamName, line: str) -> None:  # deliver on the event loop, like local does
                loop.call_soon_threadsafe(callback, stream, line)

        sinks = [
            OutputSink(
                s,
                logs / f"{s}.log",
                max_log_bytes=spec.max_log_bytes,
                tail_chars=spec.output_tail_chars,
                on_line=on_line,
            )
            for s in ("stdout", "stderr")
        ]
        readers = []
        for sink in sinks:
            out = sink.stream == "stdout"
            t = threading.Thread(
                target=self._pump, args=(container, sink, out), daemon=True, name=f"logs-{sink.stream}"
            )
            t.start()
            readers.append(t)
        return sinks, readers

    @staticmethod
    def _pump(container: Any, sink: OutputSink, stdout: bool) -> None:
        try:
            for chunk in container.logs(stdout=stdout, stderr=not stdout, stream=True, follow=True):
                sink.feed(chunk)
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            log.debug("log stream ended: %s", exc)

    @staticmethod
    def _join(readers: list[threading.Thread], sinks: list[OutputSink]) -> None:
        for t in readers:
            t.join(timeout=10)
        for s in sinks:
            s.close()

    @staticmethod
    def _remove(container: Any) -> None:
        for attempt in range(5):
            try:
                container.remove(force=True, v=True)
                return
            except docker.errors.NotFound:
                return
            except docker.errors.APIError as exc:  # e.g. "removal already in progress"
                if attempt == 4:
                    log.error("could not remove container %s: %s", container.name, exc)
                time.sleep(0.2)

    def _start_failed(self, exc: docker.errors.APIError, spec: RunSpec, t0: float) -> RunResult:
        text = str(exc.explanation or exc)
        wall = time.monotonic() - t0
        if any(m in text for m in _GPU_START_ERRORS):
            error = f"GPU request gpus={spec.gpus!r} failed: {GPU_UNAVAILABLE_HINT} (engine said: {text})"
            return RunResult(None, "", "", False, False, wall, [], error=error)
        if any(m in text.lower() for m in _NOT_FOUND_ERRORS):
            return RunResult(127, "", f"cannot execute {spec.argv[0]!r}: {text}", False, False, wall, [])
        raise SandboxError(f"container failed to start: {text}") from exc
