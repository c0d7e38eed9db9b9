"""`python` in a LocalSandbox run is the swarm's interpreter with its venv (numpy/torch/matplotlib), also when
the swarm runs as root from a venv under /root (0700), which the run's unprivileged uid cannot traverse."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sciswarm.sandboxes import local_python
from sciswarm.sandboxes.base import RunSpec
from sciswarm.sandboxes.conformance import run_suite
from sciswarm.sandboxes.conformance_report import NOT_RUN, UNSAFE
from sciswarm.sandboxes.factory import make_sandbox
from sciswarm.sandboxes.local import LocalSandbox

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
IMPORTS = "import os, sys, numpy, torch, matplotlib; print(os.getuid(), sys.prefix, sys.executable)"
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="only root drops to an unprivileged uid")


def _logged() -> tuple[LocalSandbox, list[tuple[str, str]]]:
    logs: list[tuple[str, str]] = []
    sandbox = make_sandbox("local", on_log=lambda lvl, txt: logs.append((lvl, txt)))
    assert isinstance(sandbox, LocalSandbox)
    return sandbox, logs


async def _imports(sandbox: LocalSandbox, workspace: Path, python: str = "python") -> tuple[int, str, str]:
    result = await sandbox.run(workspace, RunSpec(argv=[python, "-c", IMPORTS], timeout_s=120))
    assert result.ok, result.stderr_tail
    uid, prefix, executable = result.stdout_tail.split()
    return int(uid), prefix, executable


async def test_default_local_sandbox_has_the_venv(workspace: Path) -> None:
    """What `sandbox: {provider: local|auto}` gets on this host: the venv's packages, and the uid drop kept."""
    sandbox, logs = _logged()
    for python in ("python", "python3"):
        uid, prefix, executable = await _imports(sandbox, workspace, python)
        assert prefix == sys.prefix and executable == sys.executable
    if sandbox.runs_as_root:  # only where no mount namespace is possible: then it must say so, loudly
        assert sandbox.fallback_reason and not sandbox.drops_privileges and uid == 0
        assert any(lvl == "warning" and "runs as root: NOT isolated" in txt for lvl, txt in logs)
    else:
        assert not any("runs as root" in txt for _, txt in logs)
        if os.geteuid() == 0:
            assert uid != 0 and sandbox.drops_privileges and sandbox.bounds_processes


async def test_self_mode_has_the_venv(workspace: Path) -> None:
    sandbox = LocalSandbox(run_as="self")
    uid, prefix, executable = await _imports(sandbox, workspace)
    assert uid == os.geteuid() and prefix == sys.prefix and executable == sys.executable
    assert sandbox.runs_as_root == (os.geteuid() == 0) and not sandbox.drops_privileges


async def test_children_started_with_sys_executable_keep_the_venv(local_sandbox: LocalSandbox, workspace: Path) -> None:
    child = "import numpy; print('child ok')"
    code = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {child!r}], check=True)"
    result = await local_sandbox.run(workspace, RunSpec(argv=["python", "-c", code]))
    assert result.ok and result.stdout_tail == "child ok\n", result.stderr_tail


@root_only
async def test_exposure_shows_only_the_interpreter_read_only(workspace: Path, open_dir: Path) -> None:
    """A venv under a 0700 directory: the run sees it (and nothing else there), read-only; the host is unchanged."""
    hidden = open_dir / "private-0700"
    hidden.mkdir(mode=0o700)
    (hidden / "secret.txt").write_text("sk-not-for-the-run")
    venv = hidden / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    sandbox = LocalSandbox(python=str(venv / "bin" / "python"))
    assert sandbox.drops_privileges and not sandbox.runs_as_root
    assert str(venv) in sandbox.exposed, sandbox.exposed
    code = (
        "import os, sys; print(sys.prefix); print(sorted(os.listdir(sys.argv[1])))\n"
        "for p in (sys.argv[1] + '/secret.txt', sys.prefix + '/pwned'):\n"
        "    try: open(p, 'a'); print('WROTE', p)\n"
        "    except OSError as e: print('refused', e.strerror)\n"
    )
    result = await sandbox.run(workspace, RunSpec(argv=["python", "-c", code, str(hidden)]))
    assert result.ok, result.stderr_tail
    prefix, listing, *writes = result.stdout_tail.splitlines()
    assert prefix == str(venv) and listing == "['venv']", "only the interpreter tree is visible"
    assert writes and all(w.startswith("refused") for w in writes), writes
    assert (hidden / "secret.txt").read_text() == "sk-not-for-the-run" and not (venv / "pwned").exists()
    assert str(hidden) not in Path("/proc/self/mountinfo").read_text(), "the host's mounts are untouched"


@root_only
async def test_no_mount_namespace_falls_back_loudly(monkeypatch: pytest.MonkeyPatch, workspace: Path) -> None:
    """If the run's uid cannot use the venv: 'auto' runs as root and says so; 'unprivileged' keeps the drop."""
    real_probe = local_python._probe_prefix

    def unusable_by_other_uids(python: str, uid: int | None, plan: local_python.ns.Exposure) -> str | None:
        return None if uid is not None else real_probe(python, uid, plan)

    monkeypatch.setattr(local_python, "_probe_prefix", unusable_by_other_uids)
    sandbox, logs = _logged()
    assert sandbox.runs_as_root and not sandbox.drops_privileges and not sandbox.bounds_processes
    assert not sandbox.isolates_network and sandbox.fallback_reason
    assert sandbox.interpreter == sys.executable
    assert any(lvl == "warning" and "local sandbox runs as root: NOT isolated" in txt for lvl, txt in logs)
    uid, prefix, _ = await _imports(sandbox, workspace)
    assert uid == 0 and prefix == sys.prefix

    strict = LocalSandbox(run_as="unprivileged")
    assert strict.drops_privileges and not strict.runs_as_root and strict.fallback_reason is None
    assert strict.interpreter == shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin")


@root_only
async def test_suite_is_honest_about_running_as_root() -> None:
    """Running as root (the fallback), nothing the uid drop used to contain may be reported contained."""
    results = {r.name: r for r in await run_suite(LocalSandbox(run_as="self"))}
    assert results["fork bomb"].verdict == NOT_RUN
    for name in ("open a network connection", "write outside the workspace", "read a host secret file"):
        assert results[name].verdict == UNSAFE, (name, results[name].observed)
    assert not results["edit harness / timeout, signal supervisor"].contained  # root can signal the swarm
    for name in ("sleep past the timeout", "trap/ignore SIGTERM", "setsid/nohup child outlives parent"):
        assert results[name].contained, (name, results[name].observed)
    assert results["allocate past the memory limit"].contained
    assert results["inherit the host's environment (API keys)"].contained


@pytest.mark.slow
async def test_template_experiment_runs_through_the_default_local_sandbox(open_dir: Path) -> None:
    """End to end: the 2d_diffusion template's experiment.py (numpy + torch) through make_sandbox('local')."""
    ws = open_dir / "2d_diffusion"
    shutil.copytree(TEMPLATES / "2d_diffusion", ws, ignore=shutil.ignore_patterns("run_*", "__pycache__"))
    sandbox, _ = _logged()
    lines: list[tuple[str, str]] = []
    argv = ["python", "experiment.py", "--out_dir=run_0", "--datasets=circle", "--num_train_steps=200"]
    result = await sandbox.run(
        ws, RunSpec(argv=argv, timeout_s=300, memory_mb=8192), on_output=lambda s, line: lines.append((s, line))
    )
    assert result.ok, result.stderr_tail
    assert "run_0/final_info.json" in result.files_produced
    assert any(s == "stdout" and "circle" in line for s, line in lines), "output is streamed"
    assert (ws / "run_0" / "final_info.json").stat().st_size > 0
