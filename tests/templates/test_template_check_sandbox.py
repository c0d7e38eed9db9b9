"""`sciswarm template check` runs a template's code in the pipeline's sandbox, never with the host's environment.

The template here reports on the process it runs in (environment, uid, cwd, hostname, network) into a side
file; the CLI runs as a real subprocess with a secret in its environment, as a user's shell would have.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from template_support import TEX

from sciswarm.run.config import SwarmConfig
from sciswarm.run.services import Services
from sciswarm.sandboxes.bwrap import bwrap_available
from sciswarm.sandboxes.config import SandboxConfig
from sciswarm.sandboxes.factory import docker_available
from sciswarm.sandboxes.image import DEFAULT_IMAGE, build_image
from sciswarm.sandboxes.spec import spec_from_config

SECRET = "hunter2"
SCISWARM = Path(sys.executable).with_name("sciswarm")

PROBE = """\
import argparse, json, os, socket

parser = argparse.ArgumentParser()
parser.add_argument("--out_dir", type=str, default="run_0")
args = parser.parse_args()
os.makedirs(args.out_dir, exist_ok=True)


def reaches_host_port():
    port = int(open("port.txt").read())
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


probe = {
    "secret": os.environ.get("SCISWARM_TEST_SECRET"),
    "env": sorted(os.environ),
    "uid": os.getuid(),
    "cwd": os.getcwd(),
    "hostname": socket.gethostname(),
    "interfaces": sorted(name for _, name in socket.if_nameindex()),
    "reaches_host_port": reaches_host_port(),
    "mplbackend": os.environ.get("MPLBACKEND"),
}
with open(os.path.join(args.out_dir, "probe.json"), "w") as f:
    json.dump(probe, f)
with open(os.path.join(args.out_dir, "final_info.json"), "w") as f:
    json.dump({"probe": {"means": {"secret_visible": float(probe["secret"] is not None)}}}, f)
"""

PLOT = """\
import struct, zlib

labels = {"run_0": "Baseline"}


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


png = b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
png += chunk(b"IDAT", zlib.compress(b"\\x00\\x00")) + chunk(b"IEND", b"")
with open("probe.png", "wb") as f:
    f.write(png)
"""


def write_probe_template(root: Path, port: int) -> Path:
    (root / "latex").mkdir(parents=True)
    (root / "experiment.py").write_text(PROBE)
    (root / "plot.py").write_text(PLOT)
    (root / "port.txt").write_text(str(port))
    (root / "prompt.json").write_text(json.dumps({"system": "You are a scientist.", "task_description": "Probe."}))
    idea = {
        "Name": "probe",
        "Title": "Where do I run?",
        "Experiment": "Look around.",
        "Interestingness": 1,
        "Feasibility": 10,
        "Novelty": 1,
    }
    (root / "seed_ideas.json").write_text(json.dumps([idea]))
    (root / "latex" / "template.tex").write_text(TEX)
    return root


@pytest.fixture
def listener() -> Iterator[int]:
    """A TCP port on the host's loopback that the template tries to reach (it must not, when isolated)."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server.getsockname()[1]


@pytest.fixture
def template(tmp_path: Path, listener: int) -> Path:
    return write_probe_template(tmp_path / "probe", listener)


@pytest.fixture(scope="module")
def exp_image() -> str:
    if not docker_available():
        if os.environ.get("CI") or os.environ.get("SCISWARM_REQUIRE_DOCKER"):
            pytest.fail("CI: the Docker engine must be running (scripts/ensure_docker.sh)")
        pytest.skip("Docker engine not reachable: docker template-check tests skipped")
    return build_image(image=DEFAULT_IMAGE, progress=lambda line: None).image


def run_check(
    template: Path, workspace: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """`sciswarm template check` as a user runs it, with a secret in the environment; the template's probe."""
    env = {**os.environ, "SCISWARM_TEST_SECRET": SECRET, "COLUMNS": "250", **(env or {})}
    argv = [str(SCISWARM), "template", "check", str(template), "--workspace", str(workspace), *args]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=240)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "template OK" in output, output
    probe = json.loads((workspace / "run_0" / "probe.json").read_text())
    assert (workspace / "probe.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return proc, probe


def flat(proc: subprocess.CompletedProcess[str]) -> str:
    """The output with rich's table borders and line wrapping taken out."""
    text = "".join(" " if 0x2500 <= ord(c) <= 0x257F else c for c in proc.stdout + proc.stderr)
    return " ".join(text.split())


def assert_scrubbed(probe: dict[str, Any]) -> None:
    assert probe["secret"] is None, "the host's environment reached the template's code"
    assert "SCISWARM_TEST_SECRET" not in probe["env"]
    assert not {name for name in probe["env"] if "API_KEY" in name or "TOKEN" in name} - {"SCISWARM_RUN_TOKEN"}
    assert probe["mplbackend"] == "Agg"  # the sandbox's own environment, as for the pipeline's experiments


@pytest.mark.docker
@pytest.mark.timeout(900)  # a first build of the image takes minutes
@pytest.mark.parametrize("choice", [[], ["--sandbox", "docker", "--image", DEFAULT_IMAGE]], ids=["default", "docker"])
def test_check_runs_the_template_in_the_docker_sandbox(
    choice: list[str], exp_image: str, template: Path, open_dir: Path
) -> None:
    proc, probe = run_check(template, open_dir / "ws", *choice)
    assert_scrubbed(probe)
    assert probe["cwd"] == "/workspace"  # the docker provider's bind mount
    assert probe["uid"] != 0
    assert probe["hostname"] != socket.gethostname()
    assert probe["interfaces"] == ["lo"]
    assert not probe["reaches_host_port"]
    assert f"sandbox pass docker (isolated), image {exp_image}" in flat(proc)
    assert "NOT isolated" not in flat(proc)


def test_check_with_local_sandbox_is_labelled_and_scrubbed(template: Path, open_dir: Path) -> None:
    proc, probe = run_check(template, open_dir / "ws", "--sandbox", "local")
    assert_scrubbed(probe)
    out = flat(proc)
    assert "the template's code runs on THIS HOST WITHOUT ISOLATION" in out
    assert "sandbox warn local (NOT isolated)" in out
    if os.geteuid() == 0 and "runs as root" not in out:  # root: a fresh unprivileged uid in its own netns
        assert probe["uid"] != 0


def test_check_runs_the_template_in_the_bubblewrap_sandbox(template: Path, open_dir: Path) -> None:
    ok, why = bwrap_available()
    if not ok:
        pytest.skip(f"bubblewrap cannot create a sandbox here: {why}")
    proc, probe = run_check(template, open_dir / "ws", "--sandbox", "bwrap")
    assert_scrubbed(probe)
    assert probe["cwd"] == str(open_dir / "ws")  # the workspace, bound at its own path
    assert probe["hostname"] != socket.gethostname()
    assert probe["interfaces"] == ["lo"]
    assert not probe["reaches_host_port"]
    if os.geteuid() == 0:  # root: bwrap itself runs as a fresh unprivileged uid
        assert probe["uid"] != 0
    out = flat(proc)
    assert "sandbox pass bwrap (isolated)" in out
    assert "NOT isolated" not in out and "WITHOUT ISOLATION" not in out and "NO ISOLATION" not in out


def test_bwrap_without_bubblewrap_refuses_to_run(template: Path, open_dir: Path) -> None:
    bare = open_dir / "bin"  # a PATH without bwrap
    bare.mkdir()
    for tool in ("python", "python3", "sh", "env"):
        found = shutil.which(tool)
        if found:
            (bare / tool).symlink_to(found)
    env = {**os.environ, "PATH": str(bare)}
    argv = [str(SCISWARM), "template", "check", str(template), "--sandbox", "bwrap", "--workspace", f"{open_dir}/ws"]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "sandbox 'bwrap' unavailable: bubblewrap is not installed" in flat(proc)
    assert not (open_dir / "ws").exists()  # nothing ran


def test_auto_without_an_engine_runs_in_bubblewrap(template: Path, open_dir: Path) -> None:
    no_engine = {"DOCKER_HOST": f"unix://{open_dir}/no-docker.sock"}
    proc, probe = run_check(template, open_dir / "ws", env=no_engine)
    assert_scrubbed(probe)
    out = flat(proc)
    assert "the Docker engine does not answer: experiments run in the bubblewrap sandbox (bwrap) instead" in out
    assert "NO ISOLATION" not in out


def test_auto_without_an_engine_or_bubblewrap_falls_back_to_local_loudly(template: Path, open_dir: Path) -> None:
    bare = open_dir / "bin"  # a PATH with the tools the check needs, but no bwrap
    bare.mkdir()
    for tool in ("python", "python3", "sh", "env"):
        found = shutil.which(tool)
        if found:
            (bare / tool).symlink_to(found)
    no_engine = {"DOCKER_HOST": f"unix://{open_dir}/no-docker.sock", "PATH": str(bare)}
    proc, probe = run_check(template, open_dir / "ws", env=no_engine)
    assert_scrubbed(probe)
    out = flat(proc)
    assert "NO ISOLATION: the Docker engine does not answer" in out and "falling back to the LOCAL sandbox" in out
    assert "sandbox warn local (NOT isolated)" in out


def test_docker_without_an_engine_refuses_to_run(template: Path, open_dir: Path) -> None:
    env = {**os.environ, "DOCKER_HOST": f"unix://{open_dir}/no-docker.sock"}
    argv = [str(SCISWARM), "template", "check", str(template), "--sandbox", "docker", "--workspace", f"{open_dir}/ws"]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "sandbox 'docker' unavailable: Docker engine not reachable" in flat(proc)
    assert not (open_dir / "ws").exists()  # nothing ran


@pytest.mark.parametrize("section", [{}, {"memory_mb": 1234, "cpus": 1.5, "timeout_s": 42, "network": True}])
def test_check_and_pipeline_build_the_same_spec(section: dict[str, Any], tmp_path: Path) -> None:
    """Same limits, and no env of their own: both get the provider's scrubbed environment."""
    cfg = SwarmConfig(models={"default": {"model": "openai/x"}}, roles=[{"name": "experimenter"}], sandbox=section)
    argv = ["python", "experiment.py", "--out_dir=run_0"]
    pipeline = Services(cfg, tmp_path, log=lambda *_: None).run_spec(argv)
    assert spec_from_config(SandboxConfig(**section), argv) == pipeline
    assert pipeline.env == {}
