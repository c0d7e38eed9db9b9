"""Pick a sandbox provider: Docker when the engine answers (building the image on first use), else bubblewrap when
it can create a sandbox here, else local."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Literal

import docker
import docker.errors
import requests.exceptions

from sciswarm.sandboxes.base import Sandbox, SandboxError
from sciswarm.sandboxes.image import DEFAULT_IMAGE, build_image, image_present
from sciswarm.sandboxes.needs import Needs
from sciswarm.sandboxes.ray_config import ExecutorConfig

LogCallback = Callable[[str, str], None]  # (level, text): "info" | "warning" | "error"

log = logging.getLogger(__name__)

LOCAL_FALLBACK_WARNING = (
    "!!! NO ISOLATION: {why}; falling back to the LOCAL sandbox. Agent-written experiment code will run "
    "directly on this host (rlimits + host-side kill only; it can read world-readable files, write /tmp, "
    "fill the disk). Start Docker (scripts/ensure_docker.sh) or install bubblewrap, or use provider 'docker' "
    "to refuse. !!!"
)
LOCAL_AS_ROOT_WARNING = (
    "!!! local sandbox runs as root: NOT isolated AT ALL ({why}). Experiments run as root on this host: they "
    "can write anywhere (the swarm's code, /root, /etc), read every secret, signal or kill the swarm, and fork "
    "without bound. Use the docker provider, or make the swarm's Python readable by other users. !!!"
)


def docker_available(timeout_s: float = 3.0) -> bool:
    """Does a Docker engine answer a ping within `timeout_s`?"""
    try:
        client = docker.from_env(timeout=int(max(1, timeout_s)))
    except docker.errors.DockerException:
        return False
    try:
        return bool(client.ping())
    except (docker.errors.DockerException, requests.exceptions.RequestException):
        return False
    finally:
        client.close()


def _emit(on_log: LogCallback | None, level: str, text: str) -> None:
    """To the caller's on_log when given (it decides how to show it), else to logging."""
    if on_log is not None:
        on_log(level, text)
    else:
        getattr(log, level if level in ("info", "warning", "error") else "info")(text)


def _docker_sandbox(image: str, on_log: LogCallback | None, build_if_missing: bool, needs: Needs | None) -> Sandbox:
    from sciswarm.sandboxes.docker import DockerSandbox

    if not image_present(image):
        if not build_if_missing:
            raise SandboxError(f"image {image!r} is missing: run `sciswarm sandbox build`")
        _emit(on_log, "info", f"building sandbox image {image} (first use; a few minutes)")
        try:
            build_image(image=image, progress=lambda text: _emit(on_log, "info", text))
        except docker.errors.DockerException as exc:
            raise SandboxError(f"building {image} failed: {exc}") from exc
    if needs:
        from sciswarm.sandboxes.derived_image import ensure_needs_image

        try:
            image = ensure_needs_image(needs, image=image, progress=lambda text: _emit(on_log, "info", text))
        except docker.errors.DockerException as exc:
            raise SandboxError(f"building the image with the template's Python needs failed: {exc}") from exc
    return DockerSandbox(image)


def _local_sandbox(on_log: LogCallback | None, needs: Needs | None) -> Sandbox:
    import shutil

    from sciswarm.sandboxes.local import LocalSandbox
    from sciswarm.sandboxes.local_python import BASE_PATH
    from sciswarm.sandboxes.needs_local import check_local_needs

    sandbox = LocalSandbox()
    python = sandbox.interpreter or shutil.which("python3", path=BASE_PATH)
    if needs and python:
        for note in check_local_needs(python, needs):
            _emit(on_log, "info", f"python needs: {note}")
    if sandbox.runs_as_root:
        _emit(on_log, "warning", LOCAL_AS_ROOT_WARNING.format(why=sandbox.fallback_reason or "run_as='self'"))
    elif sandbox.exposed:
        shown = ", ".join(sandbox.exposed)
        _emit(on_log, "info", f"local sandbox: {shown} shown read-only to the run's uid (private mount namespace)")
    return sandbox


def _bwrap_sandbox(on_log: LogCallback | None, needs: Needs | None) -> Sandbox:
    from sciswarm.sandboxes.bwrap import BwrapSandbox
    from sciswarm.sandboxes.needs_local import check_local_needs

    sandbox = BwrapSandbox()
    if needs and sandbox.interpreter:
        for note in check_local_needs(sandbox.interpreter, needs):
            _emit(on_log, "info", f"python needs: {note}")
    return sandbox


def make_sandbox(
    provider: Literal["auto", "docker", "bwrap", "local"],
    *,
    image: str = DEFAULT_IMAGE,
    on_log: LogCallback | None = None,
    build_if_missing: bool = True,
    needs: Needs | None = None,
) -> Sandbox:
    """'docker' fails loudly without an engine, 'bwrap' without a usable bubblewrap; 'auto' takes docker, else bwrap
    (with a warning that Docker was not used), else degrades to local with a LOUD warning via on_log (and a
    louder one if the local sandbox, run by root, has to run experiments as root to give them the swarm's venv).
    With a template's `needs`, docker runs in an image derived from `image` that has them (built on first use)
    and local checks that its python has them; either raises UnmetNeeds (sandboxes/needs.py) when it cannot."""
    if provider == "local":
        _emit(on_log, "warning", "sandbox provider 'local' is NOT an isolation boundary")
        return _local_sandbox(on_log, needs)
    if provider == "docker":
        if not docker_available():
            raise SandboxError("Docker engine not reachable (run scripts/ensure_docker.sh or start dockerd)")
        return _docker_sandbox(image, on_log, build_if_missing, needs)
    if provider == "bwrap":
        return _bwrap_sandbox(on_log, needs)
    if provider != "auto":
        raise ValueError(f"unknown sandbox provider {provider!r} (auto, docker, bwrap, local)")
    why = "the Docker engine does not answer"
    if docker_available():
        try:
            return _docker_sandbox(image, on_log, build_if_missing, needs)
        except SandboxError as exc:
            why = f"the Docker sandbox is unusable ({exc})"
    try:
        sandbox = _bwrap_sandbox(on_log, needs)
    except SandboxError as exc:
        why = f"{why} and bubblewrap is unusable ({exc})"
    else:
        _emit(on_log, "warning", f"{why}: experiments run in the bubblewrap sandbox (bwrap) instead")
        return sandbox
    _emit(on_log, "warning", LOCAL_FALLBACK_WARNING.format(why=why))
    return _local_sandbox(on_log, needs)


def make_ray_sandbox(
    executor: ExecutorConfig,
    provider: Literal["auto", "docker", "bwrap", "local"],
    *,
    image: str = DEFAULT_IMAGE,
    on_log: LogCallback | None = None,
    needs: Needs | None = None,
) -> Sandbox:
    """`executor.kind: ray`: every run a Ray task that makes `provider` on its node (sandboxes/ray_executor.py)."""
    from sciswarm.sandboxes.ray_executor import RaySandbox

    return RaySandbox(executor, provider=provider, image=image, needs=needs, on_log=on_log)
