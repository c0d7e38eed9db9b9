"""BwrapSandbox for real (bubblewrap, no mocks): the escape suite, outputs, host-side kill of the whole sandbox,
no network, a read-only root that hides the host, an unprivileged uid, and `auto` choosing it without Docker."""

from __future__ import annotations

import asyncio
import os
import re
import sys
import time
import warnings
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sciswarm.cli.sandbox import app
from sciswarm.sandboxes.base import ReadOnlyMount, RunSpec, Sandbox
from sciswarm.sandboxes.bwrap import BwrapSandbox, bwrap_available
from sciswarm.sandboxes.bwrap_args import sandbox_args
from sciswarm.sandboxes.config import SandboxConfig
from sciswarm.sandboxes.conformance import run_suite
from sciswarm.sandboxes.factory import docker_available, make_sandbox

HEARTBEATS = (
    "trap '' TERM HUP; "
    "setsid sh -c 'trap \"\" TERM HUP; while :; do echo . >> hb; sleep 0.1; done' & "
    "nohup sh -c 'while :; do echo . >> hb2; sleep 0.1; done' >/dev/null 2>&1 & "
    "sleep 30"
)


@pytest.fixture(scope="module")
def bwrap() -> BwrapSandbox:
    ok, why = bwrap_available()
    if not ok:
        msg = f"bubblewrap cannot create a sandbox here: {why} (scripts/setup.sh installs it)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        warnings.warn(msg, stacklevel=1)
        pytest.skip(msg)
    return BwrapSandbox()


async def _py(sb: BwrapSandbox, ws: Path, code: str, **spec: object) -> tuple[int | None, str, str]:
    r = await sb.run(ws, RunSpec(argv=["python3", "-c", code], timeout_s=30, **spec))  # type: ignore[arg-type]
    return r.exit_code, r.stdout_tail, r.stderr_tail


def _size(p: Path) -> int:
    return p.stat().st_size if p.exists() else 0


@pytest.mark.slow
async def test_escape_suite_contains_every_case(bwrap: BwrapSandbox) -> None:
    results = await run_suite(bwrap)
    assert len(results) >= 12
    assert [(r.name, r.observed) for r in results if not r.contained] == []
    assert bwrap.leftover_processes() == []


@pytest.mark.slow
def test_sandbox_check_reports_bwrap(bwrap: BwrapSandbox) -> None:
    result = CliRunner().invoke(app, ["check", "--provider", "bwrap"])
    assert result.exit_code == 0, result.output
    assert "bubblewrap usable: yes" in result.output and "sandbox conformance: bwrap" in result.output
    assert "ESCAPED" not in result.output and "unsafe provider" not in result.output
    assert result.output.count("contained") >= 12


@pytest.mark.slow
def test_sandbox_check_of_all_providers_reports_bwrap_beside_the_others(
    bwrap: BwrapSandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")  # docker's part is its own test
    result = CliRunner().invoke(app, ["check"])
    assert result.exit_code == 0, result.output
    assert "Docker engine usable: no" in result.output and "the docker provider is not checked" in result.output
    assert "bubblewrap usable: yes" in result.output
    checked = re.findall(r"running the conformance suite on (\w+) \(isolated=(\w+)\)", result.output)
    assert checked == [("bwrap", "True"), ("local", "False")]
    assert "bwrap: every case it must contain is contained" in result.output
    assert "local: every case it must contain is contained" in result.output


async def test_runs_the_venv_python_and_outputs_land_in_the_workspace(
    bwrap: BwrapSandbox, workspace: Path, tmp_path: Path
) -> None:
    assert isinstance(bwrap, Sandbox) and bwrap.isolated and bwrap.name == "bwrap"
    owner = workspace.stat().st_uid
    lines: list[tuple[str, str]] = []
    code = (
        "import os, sys, numpy; print(sys.prefix); print('warn', file=sys.stderr); "
        "os.makedirs('run_1'); open('run_1/final_info.json', 'w').write('{}')"
    )
    r = await bwrap.run(
        workspace,
        RunSpec(argv=["python", "-c", code]),
        on_output=lambda s, line: lines.append((s, line)),
        log_dir=tmp_path / "logs",
    )
    assert r.ok, r.stderr_tail
    assert r.stdout_tail.strip() == sys.prefix, "`python` is the swarm's venv, with its packages"
    assert ("stderr", "warn") in lines and ("stdout", sys.prefix) in lines
    assert r.files_produced == ["run_1/final_info.json"]
    assert (workspace / "run_1" / "final_info.json").stat().st_uid == owner, "ownership is given back"
    assert r.stdout_log == tmp_path / "logs" / "stdout.log" and r.stdout_log.read_text().strip() == sys.prefix
    missing = await bwrap.run(workspace, RunSpec(argv=["no-such-command"]))
    assert missing.exit_code == 127 and "no-such-command" in missing.stderr_tail


async def test_timeout_kills_the_whole_sandbox(bwrap: BwrapSandbox, workspace: Path) -> None:
    t0 = time.monotonic()
    r = await bwrap.run(workspace, RunSpec(argv=["sh", "-c", HEARTBEATS], timeout_s=1.5))
    assert r.timed_out and r.exit_code == 137 and not r.error
    assert time.monotonic() - t0 < 1.5 + 5
    beats = [workspace / "hb", workspace / "hb2"]
    assert all(_size(p) > 0 for p in beats), "the background children did run"
    before = [_size(p) for p in beats]
    time.sleep(0.8)
    assert [_size(p) for p in beats] == before, "a setsid/nohup child outlived the sandbox"
    assert bwrap.leftover_processes() == []


async def test_no_network_unless_asked(bwrap: BwrapSandbox, workspace: Path) -> None:
    code = "print(sorted(l.split(':')[0].strip() for l in open('/proc/net/dev').readlines()[2:]))"
    _, out, _ = await _py(bwrap, workspace, code)
    assert out.strip() == "['lo']"
    connect = "import socket\ntry:\n socket.create_connection(('1.1.1.1', 443), timeout=1); print('ok')\n"
    connect += "except OSError as e: print('failed', e.errno)"
    _, out, _ = await _py(bwrap, workspace, connect)
    assert out.startswith("failed")
    _, out, _ = await _py(bwrap, workspace, code, network=True)
    assert out.strip() != "['lo']", "network=True shares the host's interfaces"


async def test_read_only_root_hides_the_host(bwrap: BwrapSandbox, open_dir: Path) -> None:
    ws = open_dir / "ideas" / "a" / "workspace"
    ws.mkdir(parents=True)
    (open_dir / "ideas" / "b").mkdir()
    (open_dir / "ideas" / "b" / "notes.txt").write_text("another idea's work")
    project = Path(__file__).resolve().parents[2]  # its folder exists (the venv is bound inside), not its files
    code = f"""
import os
for p in ("/usr/pwned", "/etc/pwned", "/pwned", "/harness/pwned"):
    try:
        open(p, "w"); print("wrote", p)
    except OSError as e:
        print("refused", p, e.strerror)
for p in ("/home", "/root/.ssh", "/var", "/run", "{project / "pyproject.toml"}", "{open_dir / "ideas" / "b"}"):
    print("visible" if os.path.exists(p) else "hidden", p)
st = os.statvfs("/tmp")
print("tmp_mb", st.f_blocks * st.f_frsize // 2**20)
open("/tmp/scratch", "w").write("ok")
"""
    code_, out, err = await _py(bwrap, ws, code, tmp_mb=32)
    assert code_ == 0, err
    assert "wrote" not in out and out.count("refused") == 4 and "Read-only file system" in out
    assert "visible" not in out, out
    assert "tmp_mb 32" in out


def _host_uids(marker: str) -> set[int]:
    """Real uids, as the host sees them, of the processes whose command line contains `marker`."""
    found = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes() and int(pid) != os.getpid():
                status = Path(f"/proc/{pid}/status").read_text()
                found.add(int(next(ln for ln in status.splitlines() if ln.startswith("Uid:")).split()[1]))
        except (OSError, StopIteration):
            continue
    return found


async def test_runs_as_an_unprivileged_uid(bwrap: BwrapSandbox, workspace: Path) -> None:
    marker = f"sciswarm-uid-probe-{os.getpid()}"
    code = (
        f"import os, time; print(os.getuid()); open('started', 'w').close(); time.sleep(3)  # {marker}\n"
        "print([l for l in open('/proc/self/status') if l.startswith(('CapEff', 'NoNewPrivs'))])"
    )
    run = asyncio.create_task(_py(bwrap, workspace, code))
    deadline = time.monotonic() + 10
    while not (workspace / "started").exists() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    seen = _host_uids(marker)
    _, out, err = await run
    uid_inside, caps = out.splitlines()
    assert seen and 0 not in seen, f"the run's processes on the host run as {seen}"
    assert int(uid_inside) != 0, err
    assert "CapEff:\\t0000000000000000\\n" in caps and "NoNewPrivs:\\t1\\n" in caps


async def test_read_only_mounts_are_shown_where_they_are(bwrap: BwrapSandbox, open_dir: Path) -> None:
    data = open_dir / "data"
    data.mkdir()
    (data / "train.txt").write_text("1 2 3")
    ws = open_dir / "ws"
    ws.mkdir()
    mount = ReadOnlyMount(str(data), "/data", env="SCISWARM_DATA")
    code = (
        "import os; d = os.environ['SCISWARM_DATA']; print(open(d + '/train.txt').read())\n"
        "try:\n open(d + '/x', 'w'); print('wrote')\nexcept OSError as e: print(e.strerror)"
    )
    r = await bwrap.run(ws, RunSpec(argv=["python3", "-c", code], mounts=(mount,)))
    assert r.ok, r.stderr_tail
    assert r.stdout_tail.splitlines() == ["1 2 3", "Read-only file system"]


def test_arguments_unshare_everything_and_share_the_net_only_when_asked(tmp_path: Path) -> None:
    args = sandbox_args(RunSpec(argv=["true"], tmp_mb=64), tmp_path, tmp_path, trees=[])
    assert {"--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent"} <= set(args)
    assert "--share-net" not in args and args[-2:] == ["--remount-ro", "/"]
    assert args[args.index("--size") + 1] == str(64 << 20)
    assert "--share-net" in sandbox_args(RunSpec(argv=["true"], network=True), tmp_path, tmp_path, trees=[])


def test_auto_without_docker_picks_bwrap(bwrap: BwrapSandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert SandboxConfig(provider="bwrap").provider == "bwrap"
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")  # a really absent engine
    assert docker_available(timeout_s=1) is False
    logs: list[tuple[str, str]] = []
    sandbox = make_sandbox("auto", on_log=lambda lvl, txt: logs.append((lvl, txt)))
    assert isinstance(sandbox, BwrapSandbox) and sandbox.isolated
    assert any("bubblewrap" in txt for _, txt in logs)
    assert not any("NO ISOLATION" in txt for _, txt in logs)
    assert isinstance(make_sandbox("bwrap"), BwrapSandbox)
