"""The Ray executor tests' cluster fixture (how it is made and torn down: ray_support.py)."""

from __future__ import annotations

import atexit
import uuid
from collections.abc import Iterator

import pytest
from executors.ray_support import (
    HEAD_IP,
    PORT,
    Cluster,
    _teardown,
    _wait_nodes,
    join_namespaces,
    netns_missing,
    ray_missing,
    start_head,
    start_worker,
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
        join_namespaces(ns_a, ns_b, veth, f"srv{tag}b")
        start_head(ns_a)
        start_worker(ns_b)
        _wait_nodes(ns_a, 2, timeout=90)
        yield Cluster(ns_a, ns_b, f"{HEAD_IP}:{PORT}", tmp_path_factory.mktemp("ray-cluster"))
    finally:
        _teardown(ns_a, ns_b, veth)
        atexit.unregister(_teardown)
