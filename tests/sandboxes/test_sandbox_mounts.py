"""RunSpec.mounts: what the docker config binds read-only and which paths it refuses; what the local provider
requires of a folder it shows to the run's uid."""

from __future__ import annotations

from pathlib import Path

import pytest

from sciswarm.sandboxes.base import ReadOnlyMount, RunSpec, SandboxError
from sciswarm.sandboxes.docker_config import check_mounts, container_config
from sciswarm.sandboxes.host_run import check_host_mounts


def spec(*mounts: ReadOnlyMount) -> RunSpec:
    return RunSpec(argv=["python", "experiment.py"], mounts=mounts)


def test_docker_binds_each_mount_read_only_and_names_it_in_the_environment(tmp_path: Path) -> None:
    mount = ReadOnlyMount(str(tmp_path), "/data", env="SCISWARM_DATA")
    config = container_config(
        "img",
        spec(mount),
        user="1000:1000",
        workspace=tmp_path / "ws",
        harness=tmp_path / "h",
        name="n",
        host_cpus=2,
        shm_mb=64,
    )
    assert config["volumes"][str(tmp_path)] == {"bind": "/data", "mode": "ro"}
    assert config["volumes"][str(tmp_path / "ws")]["mode"] == "rw"
    assert config["environment"]["SCISWARM_DATA"] == "/data"
    check_mounts(spec(mount))


def test_docker_refuses_a_missing_source_and_targets_that_cover_the_sandbox(tmp_path: Path) -> None:
    with pytest.raises(SandboxError, match="is not a directory"):
        check_mounts(spec(ReadOnlyMount(str(tmp_path / "nope"), "/data")))
    for target in ("/workspace", "/workspace/data", "/harness", "/tmp/x", "/"):
        with pytest.raises(SandboxError, match="would cover"):
            check_mounts(spec(ReadOnlyMount(str(tmp_path), target)))
    with pytest.raises(ValueError, match="absolute"):
        ReadOnlyMount("relative/data", "/data")


def test_local_needs_a_folder_the_runs_uid_can_read(tmp_path: Path) -> None:
    open_dir = tmp_path / "open"
    open_dir.mkdir()
    check_host_mounts(spec(ReadOnlyMount(str(open_dir), "/data")), others=False)  # as the same user: it exists
    with pytest.raises(SandboxError, match="not a directory"):
        check_host_mounts(spec(ReadOnlyMount(str(tmp_path / "nope"), "/data")), others=False)
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    closed.chmod(0o700)
    with pytest.raises(SandboxError, match="not readable by the unprivileged uid"):
        check_host_mounts(spec(ReadOnlyMount(str(closed), "/data")), others=True)
