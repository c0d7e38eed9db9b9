"""What runs on a Ray node for one experiment run: unpack the workspace, run the configured provider there (it
enforces the timeout on that host), stream output lines back, pack what the run produced. A watchdog process
(ray_watchdog.py) ends the run and removes the task's copies of the workspace if the worker is killed mid-run.

Ray is imported only inside the functions that run under it; the packing helpers are plain Python.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import io
import os
import shutil
import socket
import tarfile
import tempfile
import threading
from pathlib import Path
from typing import Any, Literal

from sciswarm.sandboxes.base import ReadOnlyMount, RunSpec, Sandbox
from sciswarm.sandboxes.gpus import wants_gpu
from sciswarm.sandboxes.needs import Needs
from sciswarm.sandboxes.ray_watchdog import TASK_ENV, Watchdog

FLUSH_S = 0.2
STAGED_PREFIX = "sciswarm-ws-"  # a workspace copy the driver made in executor.shared_dir for one attempt
MOUNT_CACHE = Path(tempfile.gettempdir()) / "sciswarm-ray-mounts"

_sandboxes: dict[tuple[str, str, str], Sandbox] = {}
_sandboxes_lock = threading.Lock()


def pack(root: Path, only: list[str] | None = None) -> bytes:
    """A tar of `root` (symlinks kept as links, never followed), or of just the relative paths in `only`."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        if only is None:
            for entry in sorted(root.iterdir()):
                tar.add(entry, arcname=entry.name)
        else:
            for rel in only:
                path = root / rel
                if path.is_file() and not path.is_symlink():
                    tar.add(path, arcname=rel, recursive=False)
    return buf.getvalue()


def unpack(data: bytes, dest: Path) -> list[str]:
    """Extract a tar made by `pack` into dest (nothing may land outside it); the regular files written."""
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r") as tar:
        members = tar.getmembers()
        tar.extractall(dest, filter="data")
    return [m.name for m in members if m.isfile()]


def _sandbox(provider: str, image: str, needs: Needs | None) -> Sandbox:
    """One provider per worker process and configuration (making docker's checks its image once)."""
    from sciswarm.sandboxes.factory import make_sandbox

    key = (provider, image, repr(needs))
    with _sandboxes_lock:
        if key not in _sandboxes:
            chosen: Literal["auto", "docker", "bwrap", "local"] = provider  # type: ignore[assignment]
            _sandboxes[key] = make_sandbox(chosen, image=image, needs=needs, on_log=lambda level, text: None)
        return _sandboxes[key]


def _local_mounts(mounts: tuple[ReadOnlyMount, ...], shipped: dict[str, list[Any]]) -> tuple[ReadOnlyMount, ...]:
    """Mounts whose source this node lacks are unpacked (once per content) from the copy the driver shipped."""
    import ray

    out = []
    for m in mounts:
        if Path(m.source).is_dir() or m.source not in shipped:
            out.append(m)
            continue
        data: bytes = ray.get(shipped[m.source][0])
        target = MOUNT_CACHE / hashlib.sha256(data).hexdigest()[:16]
        if not target.is_dir():
            tmp = Path(tempfile.mkdtemp(prefix="incoming-", dir=_mkdir(MOUNT_CACHE)))
            unpack(data, tmp)
            tmp.chmod(0o755)
            try:
                tmp.rename(target)
            except OSError:  # another run unpacked it first
                shutil.rmtree(tmp, ignore_errors=True)
        out.append(dataclasses.replace(m, source=str(target)))
    return tuple(out)


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o755)
    return path


class _LineForwarder:
    """Batches a run's output lines and pushes them to the driver's line actor every FLUSH_S seconds."""

    def __init__(self, lines: Any, token: str) -> None:
        self.lines = lines
        self.token = token
        self._buf: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._last: Any = None
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def __call__(self, stream: str, line: str) -> None:
        with self._lock:
            self._buf.append((stream, line))

    def _flush(self) -> None:
        with self._lock:
            batch, self._buf = self._buf, []
        if batch:
            self._last = self.lines.push.remote(self.token, batch)

    def _loop(self) -> None:
        while not self._stop.wait(FLUSH_S):
            self._flush()

    def close(self) -> None:
        import ray

        self._stop.set()
        self._thread.join(timeout=5)
        self._flush()
        if self._last is not None:  # calls from one caller arrive in order: the last one done means all are
            ray.get(self._last, timeout=30)


def run_on_node(
    spec: RunSpec,
    workspace_tar: bytes,
    shared_workspace: str | None,
    shipped_mounts: dict[str, list[Any]],
    provider: str,
    image: str,
    needs: Needs | None,
    lines: Any,
    token: str,
) -> dict[str, Any]:
    """The body of the Ray task (sciswarm/sandboxes/ray_executor.py makes it remote)."""
    import ray

    base = _mkdir(Path(tempfile.mkdtemp(prefix="sciswarm-ray-")))
    copies = [base]
    if shared_workspace is not None and Path(shared_workspace).name.startswith(STAGED_PREFIX):
        copies.append(Path(shared_workspace))  # the driver's copy for this attempt, in the shared folder
    watchdog = Watchdog(token, copies)  # if this worker is killed (its driver died), the run dies with it
    try:
        if shared_workspace is not None:
            ws = Path(shared_workspace)
        else:
            ws = _mkdir(base / "ws")
            unpack(workspace_tar, ws)
        if wants_gpu(spec.gpus):  # Ray chose the devices: hand exactly those to the provider
            ids = [str(int(i)) for i in ray.get_gpu_ids()]
            spec = dataclasses.replace(spec, gpus=ids or spec.gpus)
        env = {**spec.env, TASK_ENV: token}  # how the watchdog finds the run's processes
        spec = dataclasses.replace(spec, env=env, mounts=_local_mounts(spec.mounts, shipped_mounts))
        sandbox = _sandbox(provider, image, needs)
        forward = _LineForwarder(lines, token)
        try:
            result = asyncio.run(sandbox.run(ws, spec, on_output=forward, log_dir=base / "logs"))
        finally:
            forward.close()
        logs = {}
        for name, path in (("stdout", result.stdout_log), ("stderr", result.stderr_log)):
            logs[name] = path.read_bytes() if path is not None and path.is_file() else b""
        return {
            "exit_code": result.exit_code,
            "stdout_tail": result.stdout_tail,
            "stderr_tail": result.stderr_tail,
            "timed_out": result.timed_out,
            "oom_killed": result.oom_killed,
            "wall_s": result.wall_s,
            "files_produced": result.files_produced,
            "error": result.error,
            "outputs": b"" if shared_workspace is not None else pack(ws, result.files_produced),
            "logs": logs,
            "node_id": ray.get_runtime_context().get_node_id(),
            "node_ip": ray.util.get_node_ip_address(),
            "hostname": socket.gethostname(),
            "pid": os.getpid(),
            "sandbox": sandbox.name,
        }
    finally:
        watchdog.release()
        shutil.rmtree(base, ignore_errors=True)


def check_image_on_node(image: str, build: bool) -> dict[str, Any]:
    """`sciswarm cluster prepare`'s task on one node: is the experiment image there (built when asked)?"""
    import ray

    from sciswarm.sandboxes.factory import docker_available
    from sciswarm.sandboxes.image import build_image, image_present

    info: dict[str, Any] = {"node_id": ray.get_runtime_context().get_node_id(), "hostname": socket.gethostname()}
    if not docker_available():
        return {**info, "status": "no-docker", "detail": "no Docker engine answers on this node"}
    if image_present(image):
        return {**info, "status": "present", "detail": image}
    if not build:
        return {**info, "status": "missing", "detail": f"{image} is missing (run without --check to build it)"}
    try:
        build_image(image=image, progress=lambda text: None)
    except Exception as exc:
        return {**info, "status": "failed", "detail": f"building {image} failed: {exc}"}
    return {**info, "status": "built", "detail": image}
