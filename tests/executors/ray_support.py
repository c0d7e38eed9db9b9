"""A real two-node Ray cluster on this machine, for the Ray executor tests (the fixture is in conftest.py).

Ray registers a node under the machine's primary address, whose traffic must not leave this host; so the
cluster lives in two network namespaces joined by a veth pair (10.77.0.1 head, 10.77.0.2 worker with the
custom resource `node_b`), and its driver runs inside the first one (`ip netns exec`). Teardown ALWAYS runs
(fixture finally + atexit): the nodes' processes are killed by the pids in their namespace (`ray stop` is not
namespace-scoped: it would kill every Ray on the machine), then the namespaces (and the veth) are deleted.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

RAY = str(Path(sys.executable).with_name("ray"))
HEAD_IP, WORKER_IP = "10.77.0.1", "10.77.0.2"
PORT = 6379
# node deaths noticed in ~2 s, not ~30 s
FAST_HEALTH = {
    "RAY_health_check_initial_delay_ms": "1000",
    "RAY_health_check_period_ms": "500",
    "RAY_health_check_timeout_ms": "500",
    "RAY_health_check_failure_threshold": "3",
}


TOKEN = uuid.uuid4().hex + uuid.uuid4().hex  # this cluster's own auth token (Ray 2.60 checks one on every RPC)


def _ray_env() -> dict[str, str]:
    return {
        **os.environ,
        **FAST_HEALTH,
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "1",
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": TOKEN,
    }


def _sh(*argv: str, timeout: float = 30, check: bool = True, **kw: object) -> subprocess.CompletedProcess[str]:
    done: subprocess.CompletedProcess[str] = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)  # type: ignore[call-overload]
    if check and done.returncode != 0:
        raise AssertionError(
            f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        )
    return done


def ray_missing() -> str:
    if shutil.which(RAY) is None:
        return "ray is not installed (pip install 'sciswarm[ray]'; scripts/setup.sh does)"
    return ""


def netns_missing() -> str:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return "the multi-node Ray test needs root and iproute2 (network namespaces)"
    return ""


@dataclass
class Cluster:
    ns_a: str
    ns_b: str
    address: str
    tmp: Path

    def in_a(self, *argv: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        return subprocess.Popen(
            ["ip", "netns", "exec", self.ns_a, *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env or _ray_env(),
        )

    def kill_node(self, ns: str) -> list[int]:
        """SIGKILL every process in `ns` (one node's raylet, its workers, its store): the node is lost."""
        pids = [int(p) for p in _sh("ip", "netns", "pids", ns, check=False).stdout.split()]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return pids

    def kill_worker_node(self) -> list[int]:
        return self.kill_node(self.ns_b)


def _teardown(ns_a: str, ns_b: str, veth: str) -> None:
    for ns in (ns_b, ns_a):
        for _ in range(3):
            pids = [int(p) for p in _sh("ip", "netns", "pids", ns, check=False).stdout.split()]
            if not pids:
                break
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.5)
    _sh("ip", "link", "del", veth, check=False)
    for ns in (ns_a, ns_b):
        _sh("ip", "netns", "del", ns, check=False)


NODE_FLAGS = ["--num-cpus=1", "--object-store-memory=100000000", "--disable-usage-stats"]


def join_namespaces(ns_a: str, ns_b: str, veth: str, peer: str) -> None:
    """Two network namespaces joined by a veth pair (`veth` in ns_a at HEAD_IP, `peer` in ns_b at WORKER_IP)."""
    for ns in (ns_a, ns_b):
        _sh("ip", "netns", "add", ns)
    _sh("ip", "link", "add", veth, "type", "veth", "peer", "name", peer)
    _sh("ip", "link", "set", veth, "netns", ns_a)
    _sh("ip", "link", "set", peer, "netns", ns_b)
    for ns, dev, ip in ((ns_a, veth, HEAD_IP), (ns_b, peer, WORKER_IP)):
        _sh("ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", dev)
        _sh("ip", "-n", ns, "link", "set", dev, "up")
        _sh("ip", "-n", ns, "link", "set", "lo", "up")


def start_head(ns: str) -> None:
    _sh("ip", "netns", "exec", ns, RAY, "start", "--head", f"--node-ip-address={HEAD_IP}", f"--port={PORT}",
        "--include-dashboard=false", *NODE_FLAGS, timeout=90, env=_ray_env())  # fmt: skip


def start_worker(ns: str, resources: str = '{"node_b": 1}') -> None:
    _sh("ip", "netns", "exec", ns, RAY, "start", f"--address={HEAD_IP}:{PORT}", f"--node-ip-address={WORKER_IP}",
        f"--resources={resources}", *NODE_FLAGS, timeout=90, env=_ray_env())  # fmt: skip


def _wait_nodes(ns: str, want: int, timeout: float) -> None:
    script = (
        "import ray,sys,time; ray.init(address=sys.argv[1], log_to_driver=False); "
        "t=time.time()\n"
        "while len([n for n in ray.nodes() if n['Alive']]) < int(sys.argv[2]) and time.time()-t < 60: time.sleep(0.5)\n"
        "print(len([n for n in ray.nodes() if n['Alive']]))"
    )
    out = _sh("ip", "netns", "exec", ns, sys.executable, "-c", script, f"{HEAD_IP}:{PORT}", str(want),
              timeout=timeout, env=_ray_env())  # fmt: skip
    assert int(out.stdout.strip().splitlines()[-1]) >= want, out.stderr[-2000:]


def driver_json(proc: subprocess.Popen[str], timeout: float) -> dict[str, object]:
    """The driver script's last stdout line, parsed (its stderr in the failure message)."""
    try:
        out, errs = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, errs = proc.communicate()
        pytest.fail(f"driver timed out; stderr: {errs[-3000:]}")
    lines = [line for line in out.splitlines() if line.startswith("{")]
    assert proc.returncode == 0 and lines, f"driver failed ({proc.returncode}): {out[-2000:]}\n{errs[-3000:]}"
    result: dict[str, object] = json.loads(lines[-1])
    return result
