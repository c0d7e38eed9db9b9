"""A swarm run's data step: the template's data/<name>/prepare.py runs once when the run starts, before any role,
is reused by the next run, and every sandboxed run reads it read-only; offline the run fails in one line
before any model call."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from sciswarm.run.config import load_config
from sciswarm.run.runner import SwarmRunner
from sciswarm.run.store import read_transcript
from sciswarm.sandboxes.factory import docker_available
from sciswarm.sandboxes.image import DEFAULT_IMAGE, build_image
from sciswarm.templates.data import data_key

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "data_template"
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "tests"), "LITELLM_LOCAL_MODEL_COST_MAP": "True", "COLUMNS": "300"}


@pytest.fixture
def work() -> Iterator[Path]:
    """World-traversable (the local provider's unprivileged uid must reach the workspaces and the data)."""
    path = Path(tempfile.mkdtemp(prefix="sciswarm-data-run-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def write_cfg(work: Path, template: Path, roles: list[dict[str, object]], provider: str = "local") -> Path:
    (work / "none.yaml").write_text("{}\n")  # a scripted model with no replies: any call would fail
    cfg = {
        "name": "data-test",
        "template": str(template),
        "runs_dir": str(work / "runs"),
        "models": {"default": {"model": "scripted", "script": str(work / "none.yaml")}},
        "roles": roles,
        "flow": {"timeout_s": 120},
        "sandbox": {"provider": provider, "timeout_s": 60, "memory_mb": 1024, "cpus": 1},
        "literature": {"engine": "none", "cache_path": None},
    }
    path = work / "swarm.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


async def run_once(cfg: Path) -> tuple[str, list[dict[str, object]]]:
    runner = SwarmRunner(load_config(cfg))
    status = await runner.run(handle_signals=False)
    return status, list(read_transcript(runner.store.run_dir / "transcript.jsonl"))


def probe_note(records: list[dict[str, object]]) -> dict[str, object]:
    (note,) = [r for r in records if r["kind"] == "note" and r.get("text") == "data probe"]
    data = note["data"]
    assert isinstance(data, dict)
    return data


@pytest.fixture(params=["local", pytest.param("docker", marks=[pytest.mark.docker, pytest.mark.timeout(900)])])
def provider(request: pytest.FixtureRequest) -> str:
    if request.param == "docker":
        if not docker_available():
            if os.environ.get("CI") or os.environ.get("SCISWARM_REQUIRE_DOCKER"):
                pytest.fail("CI: the Docker engine must be running (scripts/ensure_docker.sh)")
            pytest.skip("Docker engine not reachable: docker data-step run skipped")
        build_image(image=DEFAULT_IMAGE, progress=lambda line: None)
    return str(request.param)


async def test_the_data_step_runs_once_and_every_run_reads_it_read_only(work: Path, provider: str) -> None:
    template = work / "data_template"
    shutil.copytree(FIXTURE, template)
    cfg = write_cfg(work, template, [{"name": "data_probe", "use": "support.data_roles:DataProbe"}], provider)
    status, records = await run_once(cfg)
    assert status == "completed"
    data = work / "runs" / ".data" / data_key(template)
    logs = [str(r["text"]) for r in records if r["kind"] == "log"]
    assert any("running data/toy/prepare.py on this host" in t for t in logs)
    first = probe_note(records)
    probe = first["probe"]
    assert isinstance(probe, dict), first["stderr"]
    assert probe["data_root"] == ("/data" if provider == "docker" else str(data)) and probe["n"] == 200
    assert probe["relative_found"] == (provider == "docker")  # ../../data/toy from /workspace is /data/toy
    assert not first["workspace_has_data"]
    if provider == "docker" or os.geteuid() == 0:  # a read-only mount, or a fresh uid meeting read-only files
        assert probe["append_refused"] and probe["create_refused"]
    marker = json.loads((data / ".sciswarm-data.json").read_text())

    status, records = await run_once(cfg)  # a second run: the cache, not the script
    assert status == "completed"
    logs = [str(r["text"]) for r in records if r["kind"] == "log"]
    assert not any("running data/toy/prepare.py" in t for t in logs)
    assert any(f"template data: reusing {data}" in t for t in logs)
    assert json.loads((data / ".sciswarm-data.json").read_text())["prepared_at"] == marker["prepared_at"]
    assert probe_note(records)["probe"] == probe


def test_offline_the_run_fails_in_one_line_before_any_model_call(work: Path) -> None:
    template = work / "data_template"
    shutil.copytree(FIXTURE, template)
    (template / "data" / "toy" / "prepare.py").write_text(
        "import urllib.request\nurllib.request.urlretrieve('http://corpus.sciswarm-offline.invalid/x.txt', 'x.txt')\n"
    )
    roles: list[dict[str, object]] = [{"name": "ideator", "params": {"num_ideas": 1, "num_reflections": 1}}]
    cfg = write_cfg(work, template, roles)
    proc = subprocess.run(
        [sys.executable, "-m", "sciswarm", "run", str(cfg)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env=ENV,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "Traceback" not in out
    assert "template data: data/toy/prepare.py could not download its data" in out
    (run_dir,) = [p for p in (work / "runs").iterdir() if not p.name.startswith(".")]
    records = list(read_transcript(run_dir / "transcript.jsonl"))
    kinds = {r["kind"] for r in records}
    assert "model_call" not in kinds and "start" not in kinds and "role_failed" not in kinds  # no role ran
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["status"] == "failed"
    assert meta["reason"].startswith("template data: data/toy/prepare.py could not download its data")
    assert not (run_dir / "errors.log").exists()


async def test_data_dir_moves_the_cache_and_every_run_spec_gets_the_mount(work: Path) -> None:
    from sciswarm.run.services import Services

    cfg = load_config(write_cfg(work, FIXTURE, [{"name": "data_probe", "use": "support.data_roles:DataProbe"}]))
    cfg.data_dir = str(work / "elsewhere")
    services = Services(cfg, work / "runs" / "r1", log=lambda *_: None)
    assert services.run_spec(["python"]).mounts == ()
    await services.prepare_data()
    (mount,) = services.run_spec(["python", "experiment.py"]).mounts
    assert mount.source == str(work / "elsewhere" / data_key(FIXTURE)) and mount.target == "/data"
    assert not (work / "runs" / ".data").exists()
