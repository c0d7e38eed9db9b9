"""RaySandbox on a one-node Ray started in this process (`executor.address: local`: 127.0.0.1 only)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from executors.ray_support import ray_missing

from sciswarm.sandboxes.base import RunSpec
from sciswarm.sandboxes.bwrap import bwrap_available
from sciswarm.sandboxes.ray_config import ExecutorConfig

pytestmark = [pytest.mark.ray, pytest.mark.slow, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    if ray_missing():
        pytest.skip(ray_missing())
    from sciswarm.sandboxes.ray_executor import connect

    connect("local")
    import ray

    try:
        assert {n["NodeManagerAddress"] for n in ray.nodes()} == {"127.0.0.1"}
        yield
    finally:
        ray.shutdown()


def _workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "workspace"
    ws.mkdir()
    for d in (tmp_path, ws):
        d.chmod(0o755)
    (ws / "keep.txt").write_text("unchanged\n")
    return ws


def _sandbox(provider: str = "local", **cfg: object):  # type: ignore[no-untyped-def]
    from sciswarm.sandboxes.ray_executor import RaySandbox

    return RaySandbox(ExecutorConfig(kind="ray", address="local", **cfg), provider=provider)  # type: ignore[arg-type]


async def test_outputs_come_back_into_the_workspace_and_lines_stream(local_ray: None, tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    (ws / "exp.py").write_text(
        "import os, time\n"
        "for i in range(4):\n"
        "    print('step', i, flush=True)\n"
        "    time.sleep(0.6)\n"
        "os.makedirs('run_1', exist_ok=True)\n"
        "open('run_1/final_info.json', 'w').write('{}')\n"
    )
    sandbox = _sandbox()
    got: list[tuple[float, str, str]] = []
    t0 = time.monotonic()
    result = await sandbox.run(
        ws,
        RunSpec(argv=["python", "exp.py"], cpus=1, timeout_s=60),
        on_output=lambda stream, line: got.append((time.monotonic(), stream, line)),
        log_dir=tmp_path / "logs",
    )
    done = time.monotonic()
    assert result.ok, result
    assert [line for _, _, line in got] == [f"step {i}" for i in range(4)]
    assert got[0][0] < done - 1.0, "the first line arrived only at the end: not streamed"
    assert result.files_produced == ["run_1/final_info.json"]
    assert (ws / "run_1" / "final_info.json").read_text() == "{}"
    assert (ws / "keep.txt").read_text() == "unchanged\n"
    assert "step 3" in (tmp_path / "logs" / "stdout.log").read_text()
    assert sandbox.placements[-1]["node_ip"] == "127.0.0.1"
    print(f"ray single-node run: {done - t0:.1f}s (2.4s of work)")


async def test_the_timeout_is_enforced_on_the_node(local_ray: None, tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    t0 = time.monotonic()
    spec = RunSpec(argv=["python", "-c", "import time; print('up', flush=True); time.sleep(60)"], cpus=1, timeout_s=2)
    result = await _sandbox().run(ws, spec)
    assert result.timed_out and not result.ok
    assert result.stdout_tail == "up\n"
    assert time.monotonic() - t0 < 20


async def test_a_run_no_node_can_take_is_refused_at_once(local_ray: None, tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    t0 = time.monotonic()
    result = await _sandbox(resources={"node_b": 1}).run(ws, RunSpec(argv=["true"], cpus=1))
    assert result.exit_code is None
    assert "no alive Ray node has" in result.error and "node_b" in result.error
    assert time.monotonic() - t0 < 10


@pytest.mark.parametrize("inside", [False, True], ids=["workspace-elsewhere", "workspace-in-the-shared-dir"])
async def test_a_shared_dir_stages_the_workspace_instead_of_shipping_it(
    local_ray: None, tmp_path: Path, inside: bool
) -> None:
    shared = Path(tempfile.mkdtemp(prefix="sciswarm-shared-"))  # the local provider's uid must traverse it
    shared.chmod(0o755)
    if inside:  # runs_dir on the shared filesystem: still a copy per run, never the run folder itself
        (shared / "run").mkdir(mode=0o755)
    ws = _workspace(shared / "run" if inside else tmp_path)
    script = "import os; print(os.getcwd(), flush=True); open('out.txt', 'w').write('made')"
    try:
        result = await _sandbox(shared_dir=str(shared)).run(
            ws, RunSpec(argv=["python", "-c", script], cpus=1, timeout_s=30)
        )
        assert result.ok, result
        ran_in = Path(result.stdout_tail.strip())
        assert ran_in.parent == shared.resolve() and ran_in.name.startswith("sciswarm-ws-")  # the staged copy
        assert (ws / "out.txt").read_text() == "made"
        assert [p.name for p in shared.iterdir()] == (["run"] if inside else [])  # the staged copy is gone
    finally:
        shutil.rmtree(shared, ignore_errors=True)


async def test_the_node_may_run_the_bwrap_provider(local_ray: None, tmp_path: Path) -> None:
    ok, why = bwrap_available()
    if not ok:
        pytest.skip(f"bubblewrap cannot create a sandbox here: {why}")
    ws = _workspace(tmp_path)
    script = (
        "import json, os, socket\n"
        "seen = {'interfaces': sorted(n for _, n in socket.if_nameindex()), 'uid': os.getuid()}\n"
        "open('seen.json', 'w').write(json.dumps(seen))\n"
    )
    sandbox = _sandbox("bwrap")
    assert sandbox.isolated and sandbox.name == "ray/bwrap"
    result = await sandbox.run(ws, RunSpec(argv=["python", "-c", script], cpus=1, timeout_s=60))
    assert result.ok, result
    assert sandbox.placements[-1]["sandbox"] == "bwrap"  # what the node made of `provider: bwrap`
    seen = json.loads((ws / "seen.json").read_text())  # came back from the node
    assert seen["interfaces"] == ["lo"]
    if os.geteuid() == 0:
        assert seen["uid"] != 0
