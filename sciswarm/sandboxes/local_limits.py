"""What confines a LocalSandbox run's process, set in the child between fork and exec: rlimits (memory, CPU time,
open files, file size, no core dumps, and processes once the uid is dropped), a CPU set, the private mount and
network namespaces, the uid drop, and death with the supervisor."""

from __future__ import annotations

import itertools
import math
import os
import resource
import signal
from collections.abc import Callable

from sciswarm.sandboxes import namespaces as ns
from sciswarm.sandboxes.base import RunSpec

_cpu_rotor = itertools.count()  # successive runs start their CPU sets on different cores


def child_setup(
    spec: RunSpec,
    uid: int | None,
    *,
    max_open_files: int,
    max_file_mb: int,
    unshare_net: bool,
    exposure: ns.Exposure,
) -> Callable[[], None]:
    """The preexec function for one run: computed here, in the parent, so the child only makes system calls."""
    mem = spec.memory_mb * 1024 * 1024
    cpu_s = math.ceil(spec.timeout_s * max(spec.cpus, 1.0)) + 5
    limits = [
        (resource.RLIMIT_AS, mem, mem),
        (resource.RLIMIT_CPU, cpu_s, cpu_s + 1),
        (resource.RLIMIT_NOFILE, max_open_files, max_open_files),
        (resource.RLIMIT_FSIZE, max_file_mb * 1024 * 1024, max_file_mb * 1024 * 1024),
        (resource.RLIMIT_CORE, 0, 0),
    ]
    if uid is not None:  # RLIMIT_NPROC is per real uid and ignored for root: only meaningful after the drop
        limits.append((resource.RLIMIT_NPROC, spec.pids_limit, spec.pids_limit))
    pool = sorted(os.sched_getaffinity(0))
    want = max(1, min(len(pool), math.ceil(spec.cpus)))
    first = next(_cpu_rotor) * want
    cpus = {pool[(first + i) % len(pool)] for i in range(want)}

    def setup() -> None:  # runs in the child between fork and exec
        if exposure:
            ns.expose(exposure)
        if unshare_net:
            ns.unshare_net()
        os.sched_setaffinity(0, cpus)
        for res, soft, hard in limits:
            resource.setrlimit(res, (soft, hard))
        if uid is not None:
            ns.become(uid)
        ns.LIBC.prctl(ns.PR_SET_PDEATHSIG, signal.SIGKILL)  # after the uid change, which clears it

    return setup
