"""The Ray executor tests' cluster fixture (how it is made and torn down: ray_support.py)."""

from __future__ import annotations

import atexit
import uuid
from collections.abc import Iterator

import pytest
from executors.ray_support import (
    HEAD_IP,
    PORT,
    RAY,
    WORKER_IP,
    Cluster,
    _ray_env,
    _sh,
    _teardown,
    _wait_nodes,
    netns_missing,
    ray_missing,
)


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    why = ray_missing() or netns_missing()
    if why:
        pytest.skip(why)
    tag = uuid.uuid4().hex[:6]
    ns_a, ns_b, veth = f"sciswarm-ray-a-{tag}", f"sciswarm-ray-b-{tag}", f"srv{tag}a"
    atexit.register(_teardown, ns_a, ns_b, veth)
    try:
        for ns in (ns_a, ns_b):
            _sh("ip", "netns", "add", ns)
        _sh("ip", "link", "add", veth, "type", "veth", "peer", "name", f"srv{tag}b")
        _sh("ip", "link", "set", veth, "netns", ns_a)
        _sh("ip", "link", "set", f"srv{tag}b", "netns", ns_b)
        for ns, dev, ip in ((ns_a, veth, HEAD_IP), (ns_b, f"srv{tag}b", WORKER_IP)):
            _sh("ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", dev)
            _sh("ip", "-n", ns, "link", "set", dev, "up")
            _sh("ip", "-n", ns, "link", "set", "lo", "up")
        common = ["--num-cpus=1", "--object-store-memory=100000000", "--disable-usage-stats"]
        _sh("ip", "netns", "exec", ns_a, RAY, "start", "--head", f"--node-ip-address={HEAD_IP}", f"--port={PORT}",
            "--include-dashboard=false", *common, timeout=90, env=_ray_env())  # fmt: skip
        _sh("ip", "netns", "exec", ns_b, RAY, "start", f"--address={HEAD_IP}:{PORT}", f"--node-ip-address={WORKER_IP}",
            '--resources={"node_b": 1}', *common, timeout=90, env=_ray_env())  # fmt: skip
        _wait_nodes(ns_a, 2, timeout=90)
        yield Cluster(ns_a, ns_b, f"{HEAD_IP}:{PORT}", tmp_path_factory.mktemp("ray-cluster"))
    finally:
        _teardown(ns_a, ns_b, veth)
        atexit.unregister(_teardown)
