"""DockerSandbox against the real engine: limits, read-only mounts, host-side kill, OOM, cleanup."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import docker
import pytest

from sciswarm.sandboxes.base import RunSpec, Sandbox, SandboxError
from sciswarm.sandboxes.docker import DockerSandbox

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def sandbox(exp_image: str, docker_engine: docker.DockerClient) -> DockerSandbox:
    return DockerSandbox(exp_image, client=docker_engine)


def _py(code: str, **kw: object) -> RunSpec:
    return RunSpec(argv=["python", "-c", code], **kw)  # type: ignore[arg-type]


async def test_run_streams_logs_and_reports_files(sandbox: DockerSandbox, workspace: Path, tmp_path: Path) -> None:
    assert isinstance(sandbox, Sandbox) and sandbox.isolated
    seen: list[tuple[float, str, str]] = []
    code = (
        "import os, sys, time, numpy, torch; print('uid', os.getuid(), os.getcwd()); sys.stdout.flush(); "
        "print('warn', file=sys.stderr); time.sleep(1.0); open('result.txt', 'w').write('ok'); print('done')"
    )
    t0 = time.monotonic()
    result = await sandbox.run(
        workspace,
        _py(code, timeout_s=60),
        on_output=lambda s, line: seen.append((time.monotonic() - t0, s, line)),
        log_dir=tmp_path,
    )
    assert result.ok, result.stderr_tail
    assert result.stdout_tail.splitlines() == ["uid 65534 /workspace", "done"]
    assert ("stderr", "warn") in [(s, line) for _, s, line in seen]
    assert seen[0][0] < seen[-1][0] - 0.5, "lines must stream while the container runs"
    assert result.files_produced == ["result.txt"]
    assert (workspace / "result.txt").stat().st_uid == workspace.stat().st_uid, "ownership is given back"
    assert (tmp_path / "stdout.log").read_text() == result.stdout_tail


async def test_timeout_is_a_host_side_kill(
    sandbox: DockerSandbox, leftovers: Callable[[], list[str]], workspace: Path
) -> None:
    script = (
        "trap '' TERM HUP; setsid sh -c 'trap \"\" TERM; while :; do echo . >> hb; sleep 0.1; done' & "
        "nohup sleep 300 >/dev/null 2>&1 & sleep 300"
    )
    t0 = time.monotonic()
    result = await sandbox.run(workspace, RunSpec(argv=["sh", "-c", script], timeout_s=1.5))
    assert result.timed_out and result.exit_code == 137
    assert time.monotonic() - t0 < 6
    size = (workspace / "hb").stat().st_size
    time.sleep(0.6)
    assert (workspace / "hb").stat().st_size == size
    assert leftovers() == []


async def test_no_network_readonly_root_readonly_harness(sandbox: DockerSandbox, workspace: Path) -> None:
    code = """
import json, os, socket
print(json.dumps(sorted(name for _, name in socket.if_nameindex())))
for path in ("/usr/evil", "/harness/spec.json", "/etc/passwd", "/tmp/ok"):
    try:
        open(path, "a").write("x"); print(path, "writable")
    except OSError as e:
        print(path, "denied", e.errno)
print(json.load(open(os.environ["SCISWARM_SPEC"]))["timeout_s"])
"""
    result = await sandbox.run(workspace, _py(code, timeout_s=33))
    lines = result.stdout_tail.splitlines()
    assert json.loads(lines[0]) == ["lo"]
    assert lines[1].startswith("/usr/evil denied") and lines[2].startswith("/harness/spec.json denied")
    assert lines[3].startswith("/etc/passwd denied") and lines[4] == "/tmp/ok writable"
    assert lines[5] == "33"


async def test_network_opt_in(sandbox: DockerSandbox, workspace: Path) -> None:
    code = "import socket; print(sorted(name for _, name in socket.if_nameindex()))"
    result = await sandbox.run(workspace, _py(code, network=True))
    assert "eth0" in result.stdout_tail


async def test_oom_is_reported(sandbox: DockerSandbox, workspace: Path) -> None:
    result = await sandbox.run(workspace, _py("x = b'1' * (600 << 20); print('survived')", memory_mb=200))
    assert result.oom_killed and result.exit_code == 137 and "survived" not in result.stdout_tail


@pytest.mark.parametrize("gpus", [1, ["0"], "all"])
async def test_gpu_request_without_runtime_is_clean(
    sandbox: DockerSandbox,
    docker_engine: docker.DockerClient,
    leftovers: Callable[[], list[str]],
    workspace: Path,
    gpus: int | list[str] | str,
) -> None:
    info = docker_engine.info()
    if "nvidia" in (info.get("Runtimes") or {}):
        pytest.skip("this engine has the NVIDIA runtime")
    result = await sandbox.run(workspace, _py("print('ran')", gpus=gpus))
    assert result.exit_code is None and not result.ok
    assert "could not select device driver" in result.error and "nvidia-container-toolkit" in result.error
    assert leftovers() == [], "the Created container must be removed"


async def test_missing_image_and_command(
    docker_engine: docker.DockerClient, sandbox: DockerSandbox, leftovers: Callable[[], list[str]], workspace: Path
) -> None:
    with pytest.raises(SandboxError, match="not found"):
        await DockerSandbox("sciswarm-no-such-image:0", client=docker_engine).run(workspace, _py("1"))
    result = await sandbox.run(workspace, RunSpec(argv=["no-such-binary-xyz"]))
    assert result.exit_code == 127
    assert leftovers() == []


async def test_cancellation_removes_the_container(
    sandbox: DockerSandbox, leftovers: Callable[[], list[str]], workspace: Path
) -> None:
    import asyncio

    task = asyncio.create_task(sandbox.run(workspace, RunSpec(argv=["sleep", "60"], timeout_s=60)))
    for _ in range(100):
        await asyncio.sleep(0.05)
        if leftovers():
            break
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert leftovers() == []
