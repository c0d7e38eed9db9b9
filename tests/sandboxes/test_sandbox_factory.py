"""make_sandbox / docker_available, image build idempotence, and the helper scripts."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import docker
import pytest

from sciswarm.sandboxes.base import RunSpec, SandboxError
from sciswarm.sandboxes.docker import DockerSandbox
from sciswarm.sandboxes.factory import docker_available, make_sandbox
from sciswarm.sandboxes.image import build_image
from sciswarm.sandboxes.local import LocalSandbox

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def test_local_is_explicit() -> None:
    logs: list[tuple[str, str]] = []
    assert isinstance(make_sandbox("local", on_log=lambda lvl, txt: logs.append((lvl, txt))), LocalSandbox)
    assert logs and logs[0][0] == "warning"


def test_auto_without_engine_falls_back_loudly(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")  # a really absent engine
    monkeypatch.setenv("PATH", str(tmp_path))  # and no bubblewrap (else auto picks it: test_sandbox_bwrap.py)
    assert docker_available(timeout_s=1) is False
    logs: list[tuple[str, str]] = []
    sandbox = make_sandbox("auto", on_log=lambda lvl, txt: logs.append((lvl, txt)))
    assert isinstance(sandbox, LocalSandbox)
    assert any(lvl == "warning" and "NO ISOLATION" in txt for lvl, txt in logs)
    with pytest.raises(SandboxError, match="not reachable"):
        make_sandbox("docker")


async def test_docker_sandbox_without_engine_raises(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    with pytest.raises(SandboxError, match="not reachable"):
        await DockerSandbox().run(tmp_path, RunSpec(argv=["true"]))


@pytest.mark.docker
def test_auto_with_engine_is_docker(exp_image: str) -> None:
    assert docker_available()
    sandbox = make_sandbox("auto", image=exp_image, build_if_missing=False)
    assert isinstance(sandbox, DockerSandbox) and sandbox.isolated
    with pytest.raises(SandboxError, match="missing"):
        make_sandbox("docker", image="sciswarm-no-such-image:0", build_if_missing=False)


@pytest.mark.docker
def test_build_is_idempotent(exp_image: str, docker_engine: docker.DockerClient) -> None:
    steps: list[str] = []
    t0 = time.monotonic()
    result = build_image(image=exp_image, client=docker_engine, progress=steps.append)
    assert result.reused and time.monotonic() - t0 < 10
    assert any("up to date" in s for s in steps)
    labels = docker_engine.images.get(exp_image).labels
    assert labels["sciswarm.image.inputs"] == result.inputs_hash


@pytest.mark.docker
def test_scripts_are_quick_when_everything_is_there(exp_image: str) -> None:
    up = subprocess.run([SCRIPTS / "ensure_docker.sh"], capture_output=True, text=True, timeout=30)
    assert up.returncode == 0 and "already running" in up.stdout
    base = subprocess.run([SCRIPTS / "bootstrap_base_image.sh"], capture_output=True, text=True, timeout=30)
    assert base.returncode == 0 and "already present" in base.stdout
