"""`sciswarm run --serve`: the viewer beside the run on loopback, its URL printed; or the viewer that already
serves that runs folder."""

from __future__ import annotations

import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from web_support import get, get_json

from sciswarm.view.web import ViewerServer, running_viewer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "agents"))

from agent_support import TINY_TEMPLATE, Swarm, edit, idea_reply, plan_reply

IDEA = "divisor_doubling"
ROLES = [
    {"name": "ideator", "params": {"num_ideas": 1, "num_reflections": 1}},
    {"name": "novelty_critic"},
    {"name": "coder", "params": {"max_runs": 1, "editable": ["experiment.py"]}},
    {"name": "experimenter"},
]
REPLIES = {
    "ideator": [idea_reply(IDEA)],
    "coder": [plan_reply("Double the divisor."), edit("experiment.py", "DIVISOR = 2.0", "DIVISOR = 4.0")],
}


@pytest.fixture
def swarm() -> Iterator[Swarm]:
    work = Path(tempfile.mkdtemp(prefix="sciswarm-serve-", dir="/tmp"))
    os.chmod(work, 0o755)  # the local sandbox's uid must traverse it
    template = work / "tiny_template"
    shutil.copytree(TINY_TEMPLATE, template)
    code = (template / "experiment.py").read_text()  # runs long enough to look at the viewer meanwhile
    (template / "experiment.py").write_text(
        code.replace("def main():\n", "def main():\n    __import__('time').sleep(2)\n")
    )
    yield Swarm(work, template)
    shutil.rmtree(work, ignore_errors=True)


class Cli:
    """`sciswarm run ... --serve` in a subprocess, its stdout read line by line on a thread."""

    def __init__(self, swarm: Swarm) -> None:
        cmd = [sys.executable, "-m", "sciswarm", "run", str(swarm.config_path), "--serve", "--no-output"]
        env = {**os.environ, "COLUMNS": "250"}
        self.proc = subprocess.Popen(
            cmd, cwd=swarm.work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            self.seen.append(line)
            if found := re.search(pattern, line):
                return found
        raise AssertionError(f"no {pattern!r} in {self.seen}")

    def finish(self) -> int:
        try:
            return self.proc.wait(timeout=120)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()


@pytest.mark.slow
def test_run_serve_starts_the_viewer_beside_the_run(swarm: Swarm) -> None:
    swarm.write_config(ROLES, replies=REPLIES)
    cli = Cli(swarm)
    found = cli.wait_for(r"viewer: (http://127\.0\.0\.1:(\d+)/)#(\S+)  \(stops with this run")
    root, port, run_id = found.group(1), int(found.group(2)), found.group(3)
    assert run_id.endswith("agents-test") and (swarm.runs / run_id).is_dir()
    assert running_viewer(swarm.runs) is not None  # announced in the runs folder for later --serve runs
    code, page, _ = get(root)
    assert code == 200 and b"sciswarm" in page
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the board fills in while the run goes on
        ideas = get_json(root + f"api/runs/{run_id}/board")["ideas"]
        if ideas and ideas[0]["stage"] == "experiments":
            break
        time.sleep(0.1)
    assert [c["id"] for c in ideas] == [IDEA] and ideas[0]["stage"] == "experiments"
    assert get_json(root + "api/runs")[0]["status"] == "running"
    assert cli.finish() == 0, cli.seen
    with pytest.raises(OSError):  # the viewer stopped with the run
        get(f"http://127.0.0.1:{port}/api/runs")
    assert running_viewer(swarm.runs) is None and not (swarm.runs / ".viewer.json").exists()


def test_run_serve_uses_the_viewer_already_serving_the_runs_folder(swarm: Swarm) -> None:
    swarm.write_config(ROLES[:1], replies=REPLIES)
    swarm.runs.mkdir()
    with ViewerServer(swarm.runs) as srv:
        assert running_viewer(swarm.runs) == {**running_viewer(swarm.runs), "url": srv.url, "port": srv.port}
        cli = Cli(swarm)
        found = cli.wait_for(r"viewer: (\S+)#(\S+)  \(already serving this runs folder\)")
        assert found.group(1) == srv.url
        assert cli.finish() == 0, cli.seen
        assert get_json(srv.url + "api/runs")[0]["id"] == found.group(2)  # the run shows in the running viewer
    assert running_viewer(swarm.runs) is None
