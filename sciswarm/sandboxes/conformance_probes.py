"""What the conformance suite observes on the host, outside the sandbox: connections to a listener, the host's
addresses, containers left behind, a file still growing, and the `key=value` lines a hostile program reported."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

from sciswarm.sandboxes.base import RunResult


class Listener:
    """A TCP listener on all host interfaces that counts the connections it accepts."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("0.0.0.0", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


def host_ips() -> list[str]:
    """This host's addresses a sandboxed program could try to reach it by (besides loopback)."""
    ips = set()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))
            ips.add(s.getsockname()[0])
        except OSError:
            pass
    if Path("/sys/class/net/docker0").exists():
        ips.add("172.17.0.1")
    return sorted(ips - {"0.0.0.0"})


def leftover_containers() -> int | None:
    """How many sciswarm containers this process started still exist on the engine (None: no engine to ask).
    Only this process's: a swarm running beside `sandbox check` has containers of its own, which are no leak."""
    try:
        import docker

        from sciswarm.sandboxes.docker_orphans import owner_labels

        mine = [f"{k}={v}" for k, v in owner_labels().items()]
        client = docker.from_env(timeout=5)
        try:
            return len(client.containers.list(all=True, filters={"label": ["sciswarm=1", *mine]}))
        finally:
            client.close()
    except Exception:
        return None


def grows(path: Path, wait_s: float = 1.0) -> bool:
    """Does `path` (a heartbeat file) still grow over `wait_s`: is something still writing it?"""
    size = path.stat().st_size if path.exists() else 0
    time.sleep(wait_s)
    return (path.stat().st_size if path.exists() else 0) > size


def reported(result: RunResult, key: str) -> list[str]:
    """The values a program reported on stdout as `key=value` lines."""
    return [line.split("=", 1)[1] for line in result.stdout_tail.splitlines() if line.startswith(key + "=")]
