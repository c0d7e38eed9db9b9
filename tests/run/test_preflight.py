"""Preflight: a run that lacks what its roles will need (a Ray cluster, a Docker engine, a model's key or server,
LaTeX, the literature cache) ends `failed` in one line before any role runs, with no model call, its run folder,
transcript and run.json recording why; the checks follow the swarm's roles and the sandbox's fallback rules."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from importlib.util import find_spec
from pathlib import Path

import pytest
from support.fake_openai import FakeOpenAI

from sciswarm.run.config import SwarmConfig, load_config
from sciswarm.run.preflight import preflight
from sciswarm.run.roles import resolve_roles
from sciswarm.run.runner import SwarmRunner
from sciswarm.run.store import read_transcript

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "configs" / "demo.yaml"  # a scripted model: every reply it would give is in demo/replies.yaml


def free_port() -> int:
    """A port nothing listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def demo(tmp_path: Path, *overrides: str) -> SwarmConfig:
    return load_config(DEMO, [f"runs_dir={tmp_path / 'runs'}", *overrides])


def problems(cfg: SwarmConfig) -> list[str]:
    return preflight(cfg, resolve_roles(cfg))


async def failed_before_any_call(cfg: SwarmConfig) -> str:
    """Run the swarm; check it failed before any role or model call, recorded as such; its reason."""
    runner = SwarmRunner(cfg)
    assert await runner.run(handle_signals=False) == "failed"
    run_dir = runner.store.run_dir
    records = list(read_transcript(run_dir / "transcript.jsonl"))
    kinds = {str(r["kind"]) for r in records}
    assert "model_call" not in kinds and "start" not in kinds and "role_failed" not in kinds, kinds  # no role ran
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["status"] == "failed" and meta["totals"]["total"]["calls"] == 0
    (final,) = [r for r in records if r["kind"] == "run_status" and r["status"] == "failed"]
    reason = str(meta["reason"])
    assert final["reason"] == reason and "\n" not in reason and reason.startswith("preflight: ")
    return reason


@pytest.mark.skipif(find_spec("ray") is None, reason="ray is not installed (pip install 'sciswarm[ray]')")
def test_a_ray_address_where_nothing_listens_ends_the_run_in_one_line_before_any_model_call(tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tests"), "COLUMNS": "300"}
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "sciswarm", "run", str(DEMO), "-o", f"runs_dir={tmp_path / 'runs'}",
         "-o", "executor.kind=ray", "-o", f"executor.address={address}"],
        capture_output=True, text=True, cwd=ROOT, timeout=120, env=env,
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "Traceback" not in out, out
    line = f"preflight: executor.address={address}: no Ray cluster answers at {address} (Connection refused)"
    assert line in out
    assert time.monotonic() - t0 < 60  # not Ray's own connection timeout
    (run_dir,) = (tmp_path / "runs").iterdir()
    records = list(read_transcript(run_dir / "transcript.jsonl"))
    assert not [r for r in records if r["kind"] == "model_call"]
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["status"] == "failed" and meta["reason"].startswith(line)
    assert meta["totals"]["total"]["calls"] == 0


async def test_an_explicit_docker_provider_without_an_engine_fails_and_auto_falls_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    socket_path = tmp_path / "no-docker.sock"
    monkeypatch.setenv("DOCKER_HOST", f"unix://{socket_path}")
    reason = await failed_before_any_call(demo(tmp_path, "sandbox.provider=docker"))
    assert reason == (
        f"preflight: sandbox.provider=docker: no Docker engine answers at DOCKER_HOST=unix://{socket_path} "
        "(run scripts/ensure_docker.sh or start dockerd, or use sandbox.provider=auto)"
    )
    assert problems(demo(tmp_path, "sandbox.provider=auto")) == []  # auto: bwrap or local instead (said loudly)
    no_experiments = "roles=[{name: ideator}, {name: novelty_critic}]"
    assert problems(demo(tmp_path, "sandbox.provider=docker", no_experiments)) == []  # nothing would use it


async def test_a_model_server_that_does_not_answer_fails_naming_the_model_and_the_url(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    cfg = demo(tmp_path, "models.default.model=openai/qwen2.5-7b", f"models.default.api_base={url}")
    reason = await failed_before_any_call(cfg)
    assert (
        reason
        == f"preflight: models.default (openai/qwen2.5-7b): the server at {url} does not answer (Connection refused)"
    )
    with FakeOpenAI() as server:  # any HTTP answer will do (this one answers GET with 501): nothing is asked
        up = demo(tmp_path, "models.default.model=openai/qwen2.5-7b", f"models.default.api_base={server.api_base}")
        assert problems(up) == [] and server.requests == []


async def test_a_providers_key_that_is_not_set_fails_before_any_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model naming no api_key_env: the key LiteLLM would read (one naming it: test_config.py, exit 2)."""
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    reason = await failed_before_any_call(demo(tmp_path, "models.default.model=anthropic/claude-sonnet-4-5"))
    assert reason == (
        "preflight: models.default (anthropic/claude-sonnet-4-5): ANTHROPIC_API_KEY is not set "
        "(export it, or name models.default.api_key_env)"
    )
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    assert problems(demo(tmp_path, "models.default.model=anthropic/claude-sonnet-4-5")) == []
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert problems(demo(tmp_path, "vision_model=openai/gpt-4o")) == [
        "vision_model (openai/gpt-4o): OPENAI_API_KEY is not set (export it, or name api_key_env in a models: entry)"
    ]


def test_the_writer_needs_latex_and_the_literature_roles_their_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert problems(demo(tmp_path, "literature.seed_cache_json=demo/nope.json")) == [
        f"literature.seed_cache_json: no file {ROOT / 'configs/demo/nope.json'}"
    ]
    assert problems(demo(tmp_path, "literature.seed_cache_json=null")) == [
        "literature.cache_only: nothing to answer from (cache_path is null and no seed_cache_json)"
    ]
    assert problems(demo(tmp_path, "literature.seed_cache_json=null", "literature.engine=none")) == []
    monkeypatch.setenv("PATH", str(tmp_path))  # no TeX here
    assert problems(demo(tmp_path)) == [
        "the writer needs pdflatex (install texlive: scripts/setup.sh)",
        "the writer needs bibtex (install texlive: scripts/setup.sh)",
    ]
    assert problems(demo(tmp_path, "roles.writer.enabled=false")) == []


def test_all_is_well_in_no_time(tmp_path: Path) -> None:
    cfg = demo(tmp_path)
    roles = resolve_roles(cfg)
    t0 = time.monotonic()
    assert preflight(cfg, roles) == []
    assert time.monotonic() - t0 < 1.0
