"""A template's Python needs, met in docker: an image derived from the experiment image with only the missing
wheels (from the host wheelhouse, no network in the build or the run), used by `template check` and by the
pipeline's sandbox; an unmet need stops `template check` and `sciswarm run` before anything runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest
from needs_support import FIXTURES, NPEET_MI, write_swarm_yaml, write_wheel

from sciswarm.run.config import load_config
from sciswarm.run.services import Services, TemplateNeedsError
from sciswarm.sandboxes.derived_image import derived_tag, image_facts, plan_needs
from sciswarm.sandboxes.factory import docker_available
from sciswarm.sandboxes.image import DEFAULT_IMAGE, build_image, default_cache_dir
from sciswarm.templates.needs import template_needs

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(900)]

SCISWARM = Path(sys.executable).with_name("sciswarm")
EINOPS = FIXTURES / "einops_template"
NPEET = FIXTURES / "npeet_template"
WAYS_OUT = ("vendor it into the template folder", "point at a wheel", "map the module to the distribution")


@pytest.fixture(scope="module")
def client() -> docker.DockerClient:
    if not docker_available():
        if os.environ.get("CI") or os.environ.get("SCISWARM_REQUIRE_DOCKER"):
            pytest.fail("CI: the Docker engine must be running (scripts/ensure_docker.sh)")
        pytest.skip("Docker engine not reachable: docker tests of a template's Python needs skipped")
    build_image(image=DEFAULT_IMAGE, progress=lambda line: None)
    return docker.from_env()


def einops_tag(client: docker.DockerClient) -> str:
    base = client.images.get(DEFAULT_IMAGE)
    plan = plan_needs(template_needs(EINOPS), image_facts(client, base, default_cache_dir()), base.id)
    assert plan.requirements == ["einops"]  # numpy and matplotlib are the experiment image's own
    return derived_tag(DEFAULT_IMAGE, plan.digest)


def sciswarm(*args: str, timeout: float = 300) -> tuple[int, str]:
    env = {**os.environ, "COLUMNS": "250"}
    proc = subprocess.run([str(SCISWARM), *args], env=env, capture_output=True, text=True, timeout=timeout)
    text = "".join(" " if 0x2500 <= ord(c) <= 0x257F else c for c in proc.stdout + proc.stderr)
    return proc.returncode, " ".join(text.split())


def test_check_builds_the_derived_image_and_runs_the_baseline_in_it(
    client: docker.DockerClient, tmp_path: Path
) -> None:
    tag = einops_tag(client)
    if any(tag in (img.tags or []) for img in client.images.list(name=tag.split(":")[0])):
        client.images.remove(tag, force=True)  # a fresh build, timed
    ws = tmp_path / "ws"
    t0 = time.monotonic()
    code, out = sciswarm("template", "check", str(EINOPS), "--sandbox", "docker", "--workspace", str(ws))
    first = time.monotonic() - t0
    assert code == 0, out
    assert "template OK" in out
    assert f"sandbox pass docker (isolated), image {tag}" in out
    assert "python needs pass einops, matplotlib, numpy (from imports)" in out
    info = json.loads((ws / "run_0" / "final_info.json").read_text())
    assert info["patches"]["means"]["num_patches"] == 16
    assert (ws / "patch_energy.png").is_file()
    assert first < 60, f"derived build + check took {first:.0f} s"

    image = client.images.get(tag)
    assert image.labels["sciswarm.needs.requirements"] == "einops"
    probe = "import einops, json, numpy, os; print(json.dumps(os.listdir('/opt/needs'))); print(numpy.__file__)"
    out_run = client.containers.run(tag, ["python", "-c", probe], network_mode="none", remove=True)
    listing, numpy_file = bytes(out_run).decode().splitlines()
    assert [n for n in json.loads(listing) if not n.startswith("einops")] == []  # only the missing wheel was added
    assert numpy_file.startswith("/opt/venv/")  # the experiment image's numpy, not reinstalled

    code, out = sciswarm("template", "check", str(EINOPS), "--sandbox", "docker")
    assert code == 0, out
    assert f"{tag} has the template's Python needs (einops), reusing it" in out


def test_an_unmet_need_stops_check_before_anything_runs(client: docker.DockerClient, tmp_path: Path) -> None:
    code, out = sciswarm("template", "check", str(NPEET), "--sandbox", "docker", "--workspace", str(tmp_path / "ws"))
    assert code == 2, out
    assert "error: the template needs the Python module 'npeet' (imported by experiment.py)" in out
    assert "pip finds no distribution 'npeet'" in out
    assert all(way in out for way in WAYS_OUT), out
    assert "sandbox: {requirements: [./wheels/npeet-0.1-py3-none-any.whl]}" in out
    assert not (tmp_path / "ws").exists()  # nothing ran


def test_sciswarm_run_exits_with_the_setup_code_before_any_model_call(
    client: docker.DockerClient, tmp_path: Path
) -> None:
    config = write_swarm_yaml(tmp_path, NPEET, "{provider: docker}")
    code, out = sciswarm("run", str(config))
    assert code == 2, out
    assert "error: the template needs the Python module 'npeet'" in out
    assert all(way in out for way in WAYS_OUT), out
    for transcript in (tmp_path / "runs").glob("*/transcript.jsonl"):
        kinds = {json.loads(line).get("kind") for line in transcript.read_text().splitlines() if line.strip()}
        assert "model_call" not in kinds and "start" not in kinds, kinds


def test_a_wheel_named_in_the_yaml_meets_the_need(client: docker.DockerClient, tmp_path: Path) -> None:
    files = {"npeet/__init__.py": "", "npeet/entropy_estimators.py": NPEET_MI}
    write_wheel(tmp_path / "cfg" / "wheels", "npeet", "0.1", files)
    config = write_swarm_yaml(
        tmp_path / "cfg", NPEET, "{provider: docker, requirements: [./wheels/npeet-0.1-py3-none-any.whl]}"
    )
    ws = tmp_path / "ws"
    code, out = sciswarm(
        "template", "check", str(NPEET), "--sandbox", "docker", "--config", str(config), "--workspace", str(ws)
    )
    assert code == 0, out
    assert "image sciswarm-exp-needs:" in out
    assert json.loads((ws / "run_0" / "final_info.json").read_text())["toy"]["means"]["mi"] > 0


async def test_the_pipelines_sandbox_runs_the_baseline_in_the_derived_image(
    client: docker.DockerClient, tmp_path: Path
) -> None:
    tag = einops_tag(client)
    logs: list[str] = []
    cfg = load_config(write_swarm_yaml(tmp_path / "cfg", EINOPS, "{provider: docker}"), [])
    services = Services(cfg, tmp_path / "run", log=lambda level, text, *a, **k: logs.append(text))
    assert services.needs.beyond_experiment_image
    assert services._sandbox is not None  # made up front, before any role (and model call) ran
    assert any(tag in line for line in logs), logs
    ws = tmp_path / "ws"
    shutil.copytree(EINOPS, ws)
    os.chmod(tmp_path, 0o755)
    result = await services.sandbox().run(ws, services.run_spec(["python", "experiment.py", "--out_dir=run_0"]))
    assert result.exit_code == 0, result.stderr_tail
    assert json.loads((ws / "run_0" / "final_info.json").read_text())["patches"]["means"]["num_patches"] == 16


def test_services_turn_an_unmet_need_into_a_config_error(client: docker.DockerClient, tmp_path: Path) -> None:
    cfg = load_config(write_swarm_yaml(tmp_path / "cfg", NPEET, "{provider: docker}"), [])
    with pytest.raises(TemplateNeedsError, match="npeet"):
        Services(cfg, tmp_path / "run", log=lambda *a, **k: None)
