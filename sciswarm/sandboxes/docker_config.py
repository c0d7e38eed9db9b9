"""What a run's container is allowed, as the keyword arguments for `containers.create` (pure: everything the run
may use is visible here).

No network (unless spec.network), memory (+swap) / CPU / pids limits, the given unprivileged user, a read-only root
with a size-capped tmpfs /tmp, no capabilities, no-new-privileges, the workspace bind-mounted at /workspace and the
run spec on a read-only /harness mount, the spec's read-only mounts (a template's data at /data), tini as PID 1,
and the labels that say whose container it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from docker.types import Ulimit

from sciswarm.sandboxes.base import RunSpec, SandboxError
from sciswarm.sandboxes.docker_orphans import LABEL, owner_labels
from sciswarm.sandboxes.gpus import device_requests

RESERVED = ("/workspace", "/harness", "/tmp", "/")


def check_mounts(spec: RunSpec) -> None:
    """A read-only mount must exist on the host (docker would create a missing one, as root) and must not cover
    the places the run's own set-up uses."""
    for m in spec.mounts:
        if not Path(m.source).is_dir():
            raise SandboxError(f"read-only mount {m.source} is not a directory on this host")
        target = m.target.rstrip("/") or "/"
        if any(target == r or (r != "/" and target.startswith(r + "/")) for r in RESERVED):
            raise SandboxError(f"read-only mount target {m.target} would cover the sandbox's own {target}")


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
        **{m.env: m.target for m in spec.mounts if m.env},
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
            **{m.source: {"bind": m.target, "mode": "ro"} for m in spec.mounts},
        },
        "device_requests": device_requests(spec.gpus),
        "init": True,  # tini as PID 1 reaps zombies and forwards signals
        "detach": True,
        "stdin_open": False,
        "tty": False,
    }
