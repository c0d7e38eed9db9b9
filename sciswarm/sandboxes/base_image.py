"""The base image of the experiment image, made with no registry: a Debian bookworm rootfs with python3,
bootstrapped by mmdebstrap and `docker import`ed, labelled with its recipe so a changed recipe rebuilds it."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker
import docker.errors
import docker.utils

from sciswarm.sandboxes.base import SandboxError

ProgressCallback = Callable[[str], None]
DEFAULT_BASE = "sciswarm-base:bookworm"
BOOTSTRAP_SUITE = "bookworm"
BOOTSTRAP_VARIANT = "essential"  # Essential:yes packages, configured; "extract" leaves packages unconfigured
# libstdc++6/libgomp1: manylinux wheels (numpy, torch, matplotlib) expect them from the system
BOOTSTRAP_INCLUDE = "python3,python3-venv,python3-pip,ca-certificates,libstdc++6,libgomp1"
BOOTSTRAP_RECIPE = f"mmdebstrap --variant={BOOTSTRAP_VARIANT} {BOOTSTRAP_SUITE} --include={BOOTSTRAP_INCLUDE}"
LABEL_BASE_RECIPE = "sciswarm.base.recipe"  # the shell script writes the same label


def say(progress: ProgressCallback | None, text: str) -> None:
    if progress is not None:
        progress(text)


def image_or_none(client: docker.DockerClient, name: str) -> Any:
    try:
        return client.images.get(name)
    except docker.errors.ImageNotFound:
        return None


def bootstrap_base_image(tag: str = DEFAULT_BASE, *, progress: ProgressCallback | None = None) -> None:
    """mmdebstrap a bookworm rootfs with python3 (3.11) and `docker import` it as `tag` (needs root)."""
    if shutil.which("mmdebstrap") is None:
        raise SandboxError("base image missing and mmdebstrap is not installed (apt-get install mmdebstrap)")
    with tempfile.TemporaryDirectory(prefix="sciswarm-rootfs-") as tmp:
        tarball = Path(tmp) / "rootfs.tar"
        say(progress, f"bootstrapping {tag}: mmdebstrap --variant={BOOTSTRAP_VARIANT} {BOOTSTRAP_SUITE}")
        cmd = [
            "mmdebstrap",
            "--quiet",
            f"--variant={BOOTSTRAP_VARIANT}",
            f"--include={BOOTSTRAP_INCLUDE}",
            "--dpkgopt=path-exclude=/usr/share/man/*",
            "--dpkgopt=path-exclude=/usr/share/doc/*",
            "--dpkgopt=path-include=/usr/share/doc/*/copyright",
            "--dpkgopt=path-exclude=/usr/share/locale/*",
            '--customize-hook=rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*',
            BOOTSTRAP_SUITE,
            str(tarball),
        ]
        run_logged(cmd, progress)
        say(progress, f"docker import -> {tag}")
        changes = [
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "ENV LANG=C.UTF-8",
            'CMD ["/usr/bin/python3"]',
            f'LABEL {LABEL_BASE_RECIPE}="{BOOTSTRAP_RECIPE}"',
        ]
        repo, version = docker.utils.parse_repository_tag(tag)
        client = docker.from_env()
        try:
            client.api.import_image_from_file(str(tarball), repository=repo, tag=version or "latest", changes=changes)
        finally:
            client.close()


def run_logged(cmd: list[str], progress: ProgressCallback | None) -> None:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    tail: list[str] = []
    for line in proc.stdout:
        line = line.rstrip()
        tail = [*tail[-30:], line]
        say(progress, f"  {line}")
    if proc.wait() != 0:
        raise SandboxError(f"{cmd[0]} failed (exit {proc.returncode}):\n" + "\n".join(tail))


def ensure_base_image(client: docker.DockerClient, base: str, progress: ProgressCallback | None = None) -> Any:
    image = image_or_none(client, base)
    if base != DEFAULT_BASE:
        if image is None:
            raise SandboxError(f"base image {base!r} is not present locally (no registry is used)")
        return image
    if image is not None and (image.labels or {}).get(LABEL_BASE_RECIPE) == BOOTSTRAP_RECIPE:
        return image
    if image is not None:
        say(progress, f"{base} was bootstrapped from another recipe; bootstrapping it again")
    bootstrap_base_image(base, progress=progress)
    return client.images.get(base)
