"""The data step: data/<name>/prepare.py runs once on the host, is cached by the data folder's hash, and is
mounted read-only into the template's runs (local provider, and docker); offline it fails with one clear line."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from sciswarm.sandboxes.factory import docker_available
from sciswarm.sandboxes.local import LocalSandbox
from sciswarm.templates import check_template, copy_template, load_template
from sciswarm.templates.data import DataPrepError, data_key, data_sources, prepare_data

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "data_template"
OFFLINE_PREPARE = """\
import socket
import urllib.request

socket.setdefaulttimeout(5)
# .invalid never resolves (RFC 2606): what a download does on a host without network
urllib.request.urlretrieve("http://corpus.sciswarm-offline.invalid/input.txt", "input.txt")
"""


@pytest.fixture
def template(open_dir: Path) -> Path:
    dst = open_dir / "data_template"
    shutil.copytree(FIXTURE, dst)
    return dst


def offline(template: Path) -> Path:
    (template / "data" / "toy" / "prepare.py").write_text(OFFLINE_PREPARE)
    return template


def test_prepare_runs_once_and_the_cache_is_reused(template: Path, open_dir: Path) -> None:
    cache = open_dir / "runs" / ".data"
    assert [(s.name, s.script) for s in data_sources(template)] == [("toy", "data/toy/prepare.py")]
    logs: list[str] = []
    first = prepare_data(template, cache, log=lambda level, text: logs.append(text))
    assert first is not None and first.fresh
    assert first.path == cache / data_key(template) and first.path.name.startswith("data_template-")
    values = first.path / "toy" / "values.txt"
    assert len(values.read_text().split()) == 200 and (first.path / "toy" / "meta.json").is_file()
    marker, mtime = first.marker(), values.stat().st_mtime_ns
    assert marker["scripts"][0]["script"] == "data/toy/prepare.py"
    assert any("running data/toy/prepare.py on this host" in t for t in logs)
    # read-only for everyone, readable by a run's uid
    assert stat.S_IMODE(values.stat().st_mode) == 0o444
    assert stat.S_IMODE(first.path.stat().st_mode) == stat.S_IMODE((first.path / "toy").stat().st_mode) == 0o555
    assert not (template / "data" / "toy" / "values.txt").exists()  # the template itself is untouched

    second = prepare_data(template, cache, log=lambda level, text: logs.append(text))
    assert second is not None and not second.fresh and second.path == first.path
    assert second.marker()["prepared_at"] == marker["prepared_at"] and values.stat().st_mtime_ns == mtime
    assert any("reusing" in t for t in logs)
    assert second.mount().source == str(first.path) and second.mount().target == "/data"
    assert second.mount().env == "SCISWARM_DATA"

    (template / "data" / "toy" / "prepare.py").write_text(FIXTURE.joinpath("data/toy/prepare.py").read_text() + "\n")
    third = prepare_data(template, cache)  # a changed data folder is another key: prepared again
    assert third is not None and third.fresh and third.path != first.path
    assert sorted(p.name for p in cache.iterdir() if not p.name.startswith(".")) == sorted(
        [first.path.name, third.path.name]
    )


def test_a_template_without_data_scripts_has_no_data_step(tmp_path: Path) -> None:
    tiny = Path(__file__).resolve().parents[1] / "fixtures" / "tiny_template"
    assert data_sources(tiny) == [] and prepare_data(tiny, tmp_path / "cache") is None
    assert not (tmp_path / "cache").exists()


def test_the_workspace_copy_leaves_the_data_folder_out(template: Path, tmp_path: Path) -> None:
    ws = copy_template(template, tmp_path / "ws")
    assert (ws / "experiment.py").is_file() and not (ws / "data").exists()
    loaded = load_template(template)
    assert loaded.extra_files == []  # data/toy/prepare.py is the data step's, not a helper of the workspace


def test_offline_prepare_fails_with_one_clear_line_and_leaves_no_cache(template: Path, open_dir: Path) -> None:
    cache = open_dir / "runs" / ".data"
    with pytest.raises(DataPrepError) as info:
        prepare_data(offline(template), cache)
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith("template data: data/toy/prepare.py could not download its data, this host seems")
    assert "Name or service not known" in msg or "Temporary failure in name resolution" in msg
    assert "before any model call" in msg and "connect the host to the network" in msg
    log = Path(msg.rsplit("(log: ", 1)[1].rstrip(")"))
    assert "urlopen error" in log.read_text()
    assert [p.name for p in cache.iterdir() if not p.name.startswith(".")] == []  # nothing half-prepared


def test_a_failing_prepare_names_the_script_and_its_error(template: Path, open_dir: Path) -> None:
    (template / "data" / "toy" / "prepare.py").write_text("raise SystemExit('the corpus checksum does not match')\n")
    with pytest.raises(DataPrepError, match=r"data/toy/prepare.py failed with exit code 1: the corpus checksum"):
        prepare_data(template, open_dir / ".data")
    (template / "data" / "toy" / "prepare.py").write_text("import time\ntime.sleep(30)\n")
    with pytest.raises(DataPrepError, match=r"data/toy/prepare.py did not finish within 0.5 s"):
        prepare_data(template, open_dir / ".data", timeout_s=0.5)


def probe_of(workspace: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((workspace / "run_0" / "data_probe.json").read_text())
    return data


@pytest.mark.skipif(os.geteuid() != 0, reason="as another user the files are the run's own (chmod could undo)")
def test_check_runs_the_baseline_on_the_data_read_only_with_the_local_provider(template: Path, open_dir: Path) -> None:
    cache = open_dir / "runs" / ".data"
    box = LocalSandbox(run_as="unprivileged")  # as root: a fresh uid, which the read-only files refuse
    report = check_template(template, sandbox=box, workspace=open_dir / "ws", data_dir=cache)
    assert report.ok, report.errors
    assert report.final_info is not None and report.final_info["toy"]["abs_error"] >= 0
    probe = probe_of(open_dir / "ws")
    assert probe["data_root"] == str(cache / data_key(template)) and probe["n"] == 200
    assert probe["append_refused"] and probe["create_refused"]  # read-only for the run
    assert not (open_dir / "ws" / "data").exists()
    again = check_template(template, sandbox=box, workspace=open_dir / "ws2", data_dir=cache)
    (step,) = [c for c in again.checks if c.name == "data step"]
    assert again.ok and step.detail.startswith("reused")


def test_check_stops_at_an_offline_data_step_before_the_baseline(template: Path, open_dir: Path) -> None:
    report = check_template(offline(template), sandbox=LocalSandbox(), workspace=open_dir / "ws", data_dir=open_dir)
    assert not report.ok
    (step,) = [c for c in report.checks if c.name == "data step"]
    assert step.status == "fail" and "could not download its data" in step.detail
    assert not any(c.name == "baseline run" for c in report.checks)


@pytest.fixture(scope="module")
def exp_image() -> str:
    if not docker_available():
        if os.environ.get("CI") or os.environ.get("SCISWARM_REQUIRE_DOCKER"):
            pytest.fail("CI: the Docker engine must be running (scripts/ensure_docker.sh)")
        pytest.skip("Docker engine not reachable: docker data-step tests skipped")
    from sciswarm.sandboxes.image import DEFAULT_IMAGE, build_image

    return build_image(image=DEFAULT_IMAGE, progress=lambda line: None).image


@pytest.mark.docker
@pytest.mark.timeout(900)  # a first build of the image takes minutes
def test_docker_mounts_the_data_read_only_at_data(exp_image: str, template: Path, open_dir: Path) -> None:
    from sciswarm.sandboxes.docker import DockerSandbox

    cache = open_dir / "runs" / ".data"
    report = check_template(template, sandbox=DockerSandbox(exp_image), workspace=open_dir / "ws", data_dir=cache)
    assert report.ok, report.errors
    probe = probe_of(open_dir / "ws")
    assert probe["data_root"] == "/data" and probe["n"] == 200
    assert probe["relative_found"]  # the AI Scientist's ../../data/<name> from /workspace
    assert "Read-only file system" in str(probe["create_refused"]) and probe["append_refused"]
    assert len((cache / data_key(template) / "toy" / "values.txt").read_text().split()) == 200  # unchanged
