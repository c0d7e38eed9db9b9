"""Pure pieces: GPU device requests, container config, Dockerfile/hash, output sink, workspace diff."""

from __future__ import annotations

from pathlib import Path

import pytest

from sciswarm.sandboxes.base import RunSpec
from sciswarm.sandboxes.docker_config import container_config
from sciswarm.sandboxes.gpus import cuda_visible_devices, device_requests, wants_gpu
from sciswarm.sandboxes.image import inputs_hash, render_dockerfile
from sciswarm.sandboxes.output import OutputSink
from sciswarm.sandboxes.workspace import produced, snapshot


def test_device_requests_count() -> None:
    (req,) = device_requests(2)
    assert req["Count"] == 2 and req["Capabilities"] == [["gpu"]] and not req["DeviceIDs"]


def test_device_requests_ids() -> None:
    (req,) = device_requests(["0", "GPU-3f2a"])
    assert req["DeviceIDs"] == ["0", "GPU-3f2a"] and req["Capabilities"] == [["gpu"]]
    assert req["Count"] == 0


def test_device_requests_all() -> None:
    (req,) = device_requests("all")
    assert req["Count"] == -1 and req["Capabilities"] == [["gpu"]]


def test_device_requests_none_and_invalid() -> None:
    assert device_requests(0) == [] and device_requests([]) == []
    assert not wants_gpu(0) and wants_gpu(1) and wants_gpu("all") and wants_gpu(["1"])
    with pytest.raises(ValueError):
        device_requests(-1)
    with pytest.raises(TypeError):
        device_requests(True)
    with pytest.raises(ValueError):
        device_requests([""])


def test_cuda_visible_devices() -> None:
    assert cuda_visible_devices(1, ["0", "1"]) == "0"
    assert cuda_visible_devices(["1"], ["0", "1"]) == "1"
    assert cuda_visible_devices("all", ["0", "1"]) is None


def test_container_config_is_locked_down(tmp_path: Path) -> None:
    spec = RunSpec(argv=["python", "x.py"], memory_mb=1024, cpus=8, gpus=1, env={"SEED": "1"}, tmp_mb=128)
    cfg = container_config(
        "img", spec, user="65534:65534", workspace=tmp_path, harness=tmp_path / "h", name="n", host_cpus=2, shm_mb=64
    )
    assert cfg["network_mode"] == "none"
    assert cfg["read_only"] is True and cfg["cap_drop"] == ["ALL"]
    assert cfg["security_opt"] == ["no-new-privileges"]
    assert cfg["mem_limit"] == cfg["memswap_limit"] == "1024m"
    assert cfg["nano_cpus"] == 2_000_000_000  # clamped to the host's CPUs
    assert cfg["user"] == "65534:65534" and cfg["working_dir"] == "/workspace"
    assert cfg["volumes"][str(tmp_path / "h")] == {"bind": "/harness", "mode": "ro"}
    assert cfg["volumes"][str(tmp_path)]["mode"] == "rw"
    assert "size=128m" in cfg["tmpfs"]["/tmp"]
    assert cfg["labels"]["sciswarm"] == "1"
    assert cfg["environment"]["SEED"] == "1"
    assert cfg["device_requests"][0]["Count"] == 1
    net = container_config(
        "img",
        RunSpec(argv=["x"], network=True),
        user="1:1",
        workspace=tmp_path,
        harness=tmp_path,
        name="n",
        host_cpus=2,
        shm_mb=64,
    )
    assert net["network_mode"] == "bridge"


def test_dockerfile_and_inputs_hash() -> None:
    text = render_dockerfile(["numpy", "torch==2.13.0"])
    assert "--no-index" in text and "torch==2.13.0" in text and "COPY --from=build /opt/venv" in text
    a = inputs_hash("sha256:base", ["numpy"], "3.11")
    assert a == inputs_hash("sha256:base", ["numpy"], "3.11")
    assert a != inputs_hash("sha256:base", ["numpy", "scipy"], "3.11")
    assert a != inputs_hash("sha256:other", ["numpy"], "3.11")


def test_output_sink_lines_tail_and_cap(tmp_path: Path) -> None:
    lines: list[tuple[str, str]] = []
    sink = OutputSink(
        "stdout", tmp_path / "o.log", max_log_bytes=10, tail_chars=5, on_line=lambda s, line: lines.append((s, line))
    )
    for chunk in (b"ab", b"c\nd\xc3", b"\xa9f\r\n", b"tail-no-newline"):
        sink.feed(chunk)
    sink.close()
    assert [line for _, line in lines] == ["abc", "d\u00e9f", "tail-no-newline"]
    assert sink.tail == "wline"
    data = (tmp_path / "o.log").read_bytes()
    assert data.startswith(b"abc\nd\xc3\xa9f\r\n"[:10]) and b"truncated at 10" in data


def test_output_sink_survives_broken_callback(tmp_path: Path) -> None:
    def boom(stream: str, line: str) -> None:
        raise RuntimeError("viewer crashed")

    sink = OutputSink("stderr", tmp_path / "e.log", max_log_bytes=100, tail_chars=100, on_line=boom)
    sink.feed(b"one\ntwo\n")
    sink.close()
    assert sink.tail == "one\ntwo\n"


def test_produced_files(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("a")
    (tmp_path / "mod.txt").write_text("a")
    before = snapshot(tmp_path)
    (tmp_path / "mod.txt").write_text("changed")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "new.json").write_text("{}")
    assert produced(before, snapshot(tmp_path)) == ["mod.txt", "sub/new.json"]
