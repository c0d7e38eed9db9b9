"""Build the experiment image with no registry: a local base image + a wheelhouse prepared on the host.

`sciswarm-base:bookworm` is bootstrapped from a Debian rootfs (mmdebstrap -> tar -> docker import) when
missing; `sciswarm-exp:latest` adds a venv at /opt/venv installed from the wheelhouse with
`pip install --no-index` in a build that has no network. The image carries a label with the hash of its
inputs (base image id, requirements, Python version, Dockerfile): a rebuild is skipped when nothing changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
import docker.utils

from sciswarm.sandboxes.base import SandboxError
from sciswarm.sandboxes.base_image import (
    DEFAULT_BASE,
    ProgressCallback,
    ensure_base_image,
    image_or_none,
    run_logged,
    say,
)

DEFAULT_IMAGE = "sciswarm-exp:latest"
DEFAULT_REQUIREMENTS: tuple[str, ...] = ("numpy", "matplotlib", "torch==2.13.0")
LABEL_INPUTS = "sciswarm.image.inputs"
LABEL_REQUIREMENTS = "sciswarm.image.requirements"
BUILDER_VERSION = "1"

RUNTIME_ENV = {
    "PATH": "/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/tmp",
    "LANG": "C.UTF-8",
    "PYTHONUNBUFFERED": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
    "MPLBACKEND": "Agg",
    "MPLCONFIGDIR": "/tmp/.matplotlib",
}

# how a smoke test of an image runs: as the sandbox user would, without network, on a read-only root
SMOKE_CONTAINER: dict[str, Any] = {
    "network_mode": "none",
    "remove": True,
    "user": "65534:65534",
    "read_only": True,
    "tmpfs": {"/tmp": "size=64m"},
    "labels": {"sciswarm": "1"},
    "stderr": True,
}
_SMOKE = """
import importlib, importlib.metadata as md, subprocess, sys
found = []
for dist in sys.argv[1:]:
    module = dist.replace("-", "_").lower()
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name != module:  # the package is there but one of its imports is not
            raise
    found.append(f"{dist}={md.version(dist)}")
subprocess.run([sys.executable, "-m", "pip", "check"], check=True, stdout=subprocess.DEVNULL)
print("python", sys.version.split()[0], *found)
"""

_DOCKERFILE = """\
ARG BASE
FROM ${{BASE}} AS build
COPY wheelhouse/ /wheelhouse/
RUN python3 -m venv /opt/venv \\
 && /opt/venv/bin/python -m pip install --no-index --find-links /wheelhouse --no-cache-dir \\
      --disable-pip-version-check {requirements}

FROM ${{BASE}}
COPY --from=build /opt/venv /opt/venv
ENV {env}
WORKDIR /workspace
"""


@dataclass(frozen=True)
class BuildResult:
    image: str
    image_id: str
    reused: bool
    inputs_hash: str
    seconds: float


def default_cache_dir() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "sciswarm"


def render_dockerfile(requirements: Sequence[str]) -> str:
    env = " \\\n    ".join(f"{k}={shlex.quote(v)}" for k, v in RUNTIME_ENV.items())
    return _DOCKERFILE.format(requirements=" ".join(shlex.quote(r) for r in requirements), env=env)


def inputs_hash(base_id: str, requirements: Sequence[str], python_version: str) -> str:
    payload = json.dumps(
        {
            "builder": BUILDER_VERSION,
            "base": base_id,
            "requirements": list(requirements),
            "python": python_version,
            "dockerfile": render_dockerfile(requirements),
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def base_python_version(client: docker.DockerClient, base: str) -> str:
    """'3.11' for the base's python3 (the wheelhouse must match its ABI)."""
    try:
        out = client.containers.run(
            base,
            ["python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            network_mode="none",
            remove=True,
            labels={"sciswarm": "1"},
        )
    except docker.errors.ContainerError as exc:
        raise SandboxError(f"base image {base!r} has no working python3: {exc}") from exc
    return bytes(out).decode().strip()


def prepare_wheelhouse(
    requirements: Sequence[str],
    python_version: str,
    cache_dir: Path,
    progress: ProgressCallback | None = None,
) -> Path:
    """Wheels for `requirements` (and their deps) for `python_version`, cached per requirement set."""
    key = hashlib.sha256(json.dumps([python_version, *requirements]).encode()).hexdigest()[:16]
    dest = cache_dir / "wheelhouse" / key
    done = dest / ".complete"
    if done.exists():
        say(progress, f"wheelhouse {dest} already prepared")
        return dest
    dest.mkdir(parents=True, exist_ok=True)
    host_version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    if python_version == host_version:  # same ABI: `pip wheel` also builds sdists into wheels
        cmd = [*pip, "wheel", "--prefer-binary", "--wheel-dir", str(dest), *requirements]
    else:
        cmd = [*pip, "download", "--only-binary=:all:", "--python-version", python_version]
        cmd += ["--dest", str(dest), *requirements]
    say(progress, f"preparing wheelhouse for python {python_version}: {' '.join(requirements)}")
    run_logged(cmd, progress)
    done.write_text(json.dumps({"python": python_version, "requirements": list(requirements)}))
    return dest


def link_wheels(src: Path, dst: Path) -> None:
    dst.mkdir(parents=True)
    for item in src.iterdir():
        if item.is_file() and item.suffix == ".whl":
            try:
                os.link(item, dst / item.name)
            except OSError:
                shutil.copy2(item, dst / item.name)


def docker_build(
    client: docker.DockerClient,
    context: Path,
    image: str,
    base: str,
    labels: dict[str, str],
    progress: ProgressCallback | None,
) -> str:
    image_id = ""
    stream = client.api.build(
        path=str(context),
        tag=image,
        buildargs={"BASE": base},
        labels=labels,
        network_mode="none",
        rm=True,
        forcerm=True,
        decode=True,
    )
    for chunk in stream:
        if "error" in chunk:
            raise SandboxError(f"docker build of {image} failed: {chunk['error'].strip()}")
        text = str(chunk.get("stream", "")).rstrip()
        if text:
            say(progress, f"  {text}")
        aux = chunk.get("aux")
        if isinstance(aux, dict) and "ID" in aux:
            image_id = str(aux["ID"])
    return image_id or client.images.get(image).id


def drop_new_dangling(client: docker.DockerClient, before: set[str]) -> None:
    """Remove the build stage (an untagged 1+ GB image holding the wheelhouse) left by the legacy builder."""
    for img in client.images.list(filters={"dangling": True}):
        if img.id not in before:
            with contextlib.suppress(docker.errors.APIError):
                client.images.remove(img.id, noprune=False)


def smoke_test(client: docker.DockerClient, image: str, requirements: Sequence[str]) -> str:
    """Import every requirement as the sandbox user would (catches missing system libraries) + `pip check`."""
    names = [re.split(r"[\s\[<>=!~;]", r, maxsplit=1)[0] for r in requirements]
    try:
        out = client.containers.run(
            image,
            ["python", "-c", _SMOKE, *names],
            **SMOKE_CONTAINER,
        )
    except docker.errors.ContainerError as exc:
        stderr = bytes(exc.stderr or b"").decode(errors="replace")[-2000:]
        raise SandboxError(f"smoke test of {image} failed:\n{stderr}") from exc
    return bytes(out).decode().strip()


def build_image(
    *,
    base: str = DEFAULT_BASE,
    image: str = DEFAULT_IMAGE,
    requirements: Sequence[str] = DEFAULT_REQUIREMENTS,
    cache_dir: Path | None = None,
    progress: ProgressCallback | None = None,
    force: bool = False,
    client: docker.DockerClient | None = None,
) -> BuildResult:
    """Build (or reuse) `image` from `base` + a host wheelhouse. Blocking; report steps via `progress`."""
    t0 = time.monotonic()
    own_client = client is None
    dc = client or docker.from_env()
    try:
        base_image = ensure_base_image(dc, base, progress)
        py = base_python_version(dc, base)
        digest = inputs_hash(base_image.id, requirements, py)
        existing = image_or_none(dc, image)
        if existing is not None and not force and (existing.labels or {}).get(LABEL_INPUTS) == digest:
            say(progress, f"{image} is up to date (inputs {digest[:12]}), reusing it")
            return BuildResult(image, existing.id, True, digest, time.monotonic() - t0)
        wheels = prepare_wheelhouse(requirements, py, cache_dir or default_cache_dir(), progress)
        with tempfile.TemporaryDirectory(prefix="sciswarm-build-") as tmp:
            context = Path(tmp)
            link_wheels(wheels, context / "wheelhouse")
            (context / "Dockerfile").write_text(render_dockerfile(requirements))
            labels = {LABEL_INPUTS: digest, LABEL_REQUIREMENTS: " ".join(requirements), "sciswarm": "1"}
            say(progress, f"building {image} from {base} (python {py}, no network)")
            dangling = {i.id for i in dc.images.list(filters={"dangling": True})}
            image_id = docker_build(dc, context, image, base, labels, progress)
            drop_new_dangling(dc, dangling)
        say(progress, "smoke test: " + smoke_test(dc, image, requirements))
        return BuildResult(image, image_id, False, digest, time.monotonic() - t0)
    finally:
        if own_client:
            dc.close()


def image_present(image: str = DEFAULT_IMAGE) -> bool:
    try:
        client = docker.from_env(timeout=5)
    except docker.errors.DockerException:
        return False
    try:
        return image_or_none(client, image) is not None
    finally:
        client.close()
