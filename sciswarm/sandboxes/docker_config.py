"""What a run's container is allowed, as the keyword arguments for `containers.create` (pure: everything the run
may use is visible here).

No network (unless spec.network), memory (+swap) / CPU / pids limits, the given unprivileged user, a read-only root
with a size-capped tmpfs /tmp, no capabilities, no-new-privileges, the workspace bind-mounted at /workspace and the
run spec on a read-only /harness mount, tini as PID 1, and the labels that say whose container it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from docker.types import Ulimit

from sciswarm.sandboxes.base import RunSpec
from sciswarm.sandboxes.docker_orphans import LABEL, owner_labels
from sciswarm.sandboxes.gpus import device_requests


def container_config(
    image: str,
    spec: RunSpec,
    *,
    user: str,
    workspace: Path,
    harness: Path,
    name: str,
    host_cpus: int,
    shm_mb: int,
) -> dict[str, Any]:
    """keyword arguments for `containers.create` (pure: everything the run is allowed is visible here)."""
    env = {
        "HOME": "/tmp",
        "TMPDIR": "/tmp",
        "PYTHONUNBUFFERED": "1",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": "/tmp/.matplotlib",
        "SCISWARM_SPEC": "/harness/spec.json",
        **spec.env,
    }
    mem = f"{spec.memory_mb}m"
    return {
        "image": image,
        "command": list(spec.argv),
        "name": name,
        "labels": {LABEL: "1", f"{LABEL}.run": name, **owner_labels()},
        "user": user,
        "working_dir": "/workspace",
        "environment": env,
        "network_mode": "bridge" if spec.network else "none",
        "mem_limit": mem,
        "memswap_limit": mem,  # same as mem_limit: no swap
        "nano_cpus": int(min(spec.cpus, host_cpus) * 1e9),
        "pids_limit": spec.pids_limit,
        "read_only": True,
        "tmpfs": {"/tmp": f"rw,exec,nosuid,nodev,size={spec.tmp_mb}m,mode=1777"},
        "shm_size": f"{shm_mb}m",
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "ulimits": [Ulimit(name="nofile", soft=4096, hard=4096), Ulimit(name="core", soft=0, hard=0)],
        "volumes": {
            str(workspace): {"bind": "/workspace", "mode": "rw"},
            str(harness): {"bind": "/harness", "mode": "ro"},
        },
        "device_requests": device_requests(spec.gpus),
        "init": True,  # tini as PID 1 reaps zombies and forwards signals
        "detach": True,
        "stdin_open": False,
        "tty": False,
    }
