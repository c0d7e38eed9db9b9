"""LocalSandbox for real: streaming, logs, host-side kill of everything, rlimits, fresh environment."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from sciswarm.sandboxes.base import RunSpec, Sandbox, SandboxError
from sciswarm.sandboxes.local import LocalSandbox

HEARTBEAT_DAEMON = (
    "trap '' TERM HUP; "
    "setsid sh -c 'trap \"\" TERM HUP; while :; do echo . >> hb; sleep 0.1; done' & "
    "nohup sh -c 'while :; do echo . >> hb2; sleep 0.1; done' >/dev/null 2>&1 & "
    "sleep 30"
)


def _size(p: Path) -> int:
    return p.stat().st_size if p.exists() else 0


def _stopped(*paths: Path) -> bool:
    before = [_size(p) for p in paths]
    time.sleep(0.8)
    return [_size(p) for p in paths] == before


def test_is_a_sandbox_and_labelled_unsafe(local_sandbox: LocalSandbox) -> None:
    assert isinstance(local_sandbox, Sandbox)
    assert local_sandbox.isolated is False and local_sandbox.name == "local"


async def test_streams_lines_live_and_writes_logs(local_sandbox: LocalSandbox, workspace: Path, tmp_path: Path) -> None:
    seen: list[tuple[float, str, str]] = []
    code = "import sys, time; print('first'); print('oops', file=sys.stderr); time.sleep(1.0); print('second')"
    t0 = time.monotonic()
    result = await local_sandbox.run(
        workspace,
        RunSpec(argv=["python3", "-c", code], timeout_s=20),
        on_output=lambda s, line: seen.append((time.monotonic() - t0, s, line)),
        log_dir=tmp_path / "logs",
    )
    assert result.ok and result.exit_code == 0
    assert [(s, line) for _, s, line in seen] == [("stdout", "first"), ("stderr", "oops"), ("stdout", "second")]
    assert seen[0][0] < seen[2][0] - 0.5, "the first line must arrive while the command still runs"
    assert result.stdout_tail == "first\nsecond\n" and result.stderr_tail == "oops\n"
    assert result.stdout_log == tmp_path / "logs" / "stdout.log"
    assert result.stdout_log.read_text() == "first\nsecond\n"
    assert result.stderr_log is not None and result.stderr_log.read_text() == "oops\n"


async def test_log_cap_and_tail(local_sandbox: LocalSandbox, workspace: Path, tmp_path: Path) -> None:
    spec = RunSpec(argv=["python3", "-c", "print('x' * 99 + '\\n', end='' ) or [print(i) for i in range(20000)]"])
    spec = RunSpec(argv=spec.argv, max_log_bytes=1000, output_tail_chars=50)
    result = await local_sandbox.run(workspace, spec, log_dir=tmp_path)
    assert result.exit_code == 0
    assert len(result.stdout_tail) == 50 and result.stdout_tail.endswith("19999\n")
    log = (tmp_path / "stdout.log").read_bytes()
    assert len(log) < 1200 and b"log truncated at 1000" in log


async def test_files_produced_and_ownership(local_sandbox: LocalSandbox, workspace: Path) -> None:
    (workspace / "input.txt").write_text("data")
    owner = workspace.stat().st_uid
    code = "import os; os.makedirs('run_1', exist_ok=True); open('run_1/final_info.json', 'w').write('{}')"
    result = await local_sandbox.run(workspace, RunSpec(argv=["python3", "-c", code]))
    assert result.ok, result.stderr_tail
    assert result.files_produced == ["run_1/final_info.json"]
    assert (workspace / "run_1" / "final_info.json").stat().st_uid == owner, "ownership is given back"


async def test_timeout_kills_group_sigterm_ignorers_and_setsid_children(
    local_sandbox: LocalSandbox, workspace: Path
) -> None:
    t0 = time.monotonic()
    result = await local_sandbox.run(workspace, RunSpec(argv=["sh", "-c", HEARTBEAT_DAEMON], timeout_s=1.5))
    assert result.timed_out and result.exit_code == 137
    assert time.monotonic() - t0 < 4
    assert _size(workspace / "hb") > 0 and _size(workspace / "hb2") > 0, "both children had started"
    assert _stopped(workspace / "hb", workspace / "hb2"), "a child outlived the run"


async def test_setsid_daemon_of_a_finished_run_is_killed(workspace: Path) -> None:
    """run_as='self' (no uid to sweep): the environment token still finds the setsid'd daemon."""
    sandbox = LocalSandbox(run_as="self")
    code = "setsid sh -c 'while :; do echo . >> hb; sleep 0.1; done' & sleep 0.5; echo started"
    result = await sandbox.run(workspace, RunSpec(argv=["sh", "-c", code], timeout_s=10))
    assert result.exit_code == 0 and not result.timed_out and not result.error
    assert _stopped(workspace / "hb")


async def test_memory_rlimit(local_sandbox: LocalSandbox, workspace: Path) -> None:
    code = "x = b'1' * (600 << 20); print('allocated')"
    result = await local_sandbox.run(workspace, RunSpec(argv=["python3", "-c", code], memory_mb=256))
    assert result.exit_code == 1 and "MemoryError" in result.stderr_tail
    assert "allocated" not in result.stdout_tail
    assert result.oom_killed  # heuristic: the allocation failed under RLIMIT_AS


async def test_fresh_environment_and_unprivileged(local_sandbox: LocalSandbox, workspace: Path) -> None:
    os.environ["SCISWARM_TEST_SECRET"] = "do-not-leak"
    try:
        code = "import os; print(os.getuid()); print(sorted(os.environ))"
        result = await local_sandbox.run(workspace, RunSpec(argv=["python3", "-c", code], env={"SEED": "3"}))
    finally:
        del os.environ["SCISWARM_TEST_SECRET"]
    assert "SCISWARM_TEST_SECRET" not in result.stdout_tail and "'SEED'" in result.stdout_tail
    uid = int(result.stdout_tail.splitlines()[0])
    if os.geteuid() == 0:
        assert uid != 0 and local_sandbox.bounds_processes


async def test_network_namespace(local_sandbox: LocalSandbox, workspace: Path) -> None:
    if not local_sandbox.isolates_network:
        pytest.skip("network namespaces need root")
    code = "import socket; print(sorted(name for _, name in socket.if_nameindex()))"
    closed = await local_sandbox.run(workspace, RunSpec(argv=["python3", "-c", code]))
    opened = await local_sandbox.run(workspace, RunSpec(argv=["python3", "-c", code], network=True))
    assert closed.stdout_tail.strip() == "['lo']"
    assert opened.stdout_tail.strip() != "['lo']"


async def test_unreachable_workspace_is_refused(local_sandbox: LocalSandbox, tmp_path: Path) -> None:
    if not local_sandbox.drops_privileges:
        pytest.skip("only root drops to an unprivileged uid")
    locked = tmp_path / "locked"
    (locked / "ws").mkdir(parents=True)
    locked.chmod(0o700)
    with pytest.raises(SandboxError, match="not reachable"):
        await local_sandbox.run(locked / "ws", RunSpec(argv=["true"]))


async def test_missing_command_and_gpu(local_sandbox: LocalSandbox, workspace: Path) -> None:
    missing = await local_sandbox.run(workspace, RunSpec(argv=["no-such-binary-xyz"]))
    assert missing.exit_code == 127 and not missing.ok
    gpu = await local_sandbox.run(workspace, RunSpec(argv=["true"], gpus=1))
    if gpu.error:
        assert "GPU" in gpu.error and gpu.exit_code is None


async def test_python_means_the_chosen_interpreter(local_sandbox: LocalSandbox, workspace: Path) -> None:
    code = "import os, sys; print(os.path.realpath(sys.executable))"
    result = await local_sandbox.run(workspace, RunSpec(argv=["python", "-c", code]))
    assert result.ok, result.stderr_tail
    assert local_sandbox.interpreter is not None
    assert result.stdout_tail.strip() == os.path.realpath(local_sandbox.interpreter)
