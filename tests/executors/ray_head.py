"""A one-node Ray cluster on 127.0.0.1 that outlives the drivers using it (`ray start --head`), for the tests that
kill a driver: the cluster, and whatever the dead driver left running on it, stay behind to be looked at.

`RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0` makes Ray register the node as 127.0.0.1 (not the primary interface), so
every connection stays on loopback; the cluster has its own auth token, its own temp dir and free ports of its own.
Teardown never runs `ray stop` (it would stop every Ray on the machine): it kills this cluster's processes, found
by their temp dir in the command line, and their descendants (the workers and agents).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

RAY = str(Path(sys.executable).with_name("ray"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def all_processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every live process."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] in ("Z", "X"):
            continue
        out[int(entry.name)] = (int(fields[1]), cmd)
    return out


@dataclass
class Head:
    address: str
    temp_dir: Path
    env: dict[str, str] = field(repr=False)

    def processes(self) -> dict[int, str]:
        """This cluster's processes (pid -> command line): those naming its temp dir, and their descendants."""
        table = all_processes()
        mine = {pid for pid, (_, cmd) in table.items() if str(self.temp_dir) in cmd and pid != os.getpid()}
        grew = True
        while grew:
            kids = {pid for pid, (ppid, _) in table.items() if ppid in mine} - mine
            mine |= kids
            grew = bool(kids)
        return {pid: table[pid][1] for pid in mine}

    def tasks(self, *titles: str) -> list[str]:
        """The cluster's worker processes busy with one of `titles` (Ray titles them `ray::<task or actor>`)."""
        return sorted(cmd for cmd in self.processes().values() if cmd.startswith(tuple(f"ray::{t}" for t in titles)))

    def stop(self) -> None:
        for _ in range(5):
            pids = list(self.processes())
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.5)


def start_head(num_cpus: int = 2) -> Head:
    """`ray start --head` on 127.0.0.1 with its own token, temp dir and ports; raises with Ray's output if it fails."""
    temp_dir = Path(tempfile.mkdtemp(prefix="sciswarm-rayhead-", dir="/tmp"))
    port = free_port()
    env = {
        **os.environ,
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": uuid.uuid4().hex + uuid.uuid4().hex,
    }
    argv = [
        RAY, "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}", f"--num-cpus={num_cpus}",
        "--include-dashboard=false", "--disable-usage-stats", "--object-store-memory=100000000",
        f"--temp-dir={temp_dir}",
        f"--dashboard-agent-listen-port={free_port()}", f"--metrics-export-port={free_port()}",
    ]  # fmt: skip
    head = Head(f"127.0.0.1:{port}", temp_dir, env)
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        head.stop()
        shutil.rmtree(temp_dir, ignore_errors=True)
        raise AssertionError(
            f"ray start --head failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        )
    return head
