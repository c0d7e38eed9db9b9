"""What a BwrapSandbox run sees: its bubblewrap arguments, its harness (spec.json, `python` wrappers), its environment.

The filesystem is built from nothing: the system directories (/usr, /etc, /opt, the /bin, /lib… links) and
/sys read-only, a fresh /dev and /proc, a size-capped tmpfs /tmp, the interpreter's trees read-only at their
paths, the run's harness (spec.json, the `python` wrappers) read-only at /harness, the spec's read-only mounts
at their paths and the workspace read-write at its path; then the root is remounted read-only. Everything else
on the host (/root, /home, /srv, /var, /run, /mnt, the runs folder beside the workspace, the project) is not
there at all.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
from collections.abc import Iterable
from pathlib import Path

from sciswarm.sandboxes.base import RunSpec
from sciswarm.sandboxes.local_python import BASE_PATH, shim

SYSTEM_DIRS = ("usr", "etc", "opt", "bin", "sbin", "lib", "lib32", "lib64", "libx32")
HARNESS = "/harness"  # spec.json and bin/python* inside the sandbox


def _under(path: str, roots: Iterable[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def system_args(extra_ro: Iterable[str] = ()) -> list[str]:
    """The host's system directories, read-only (top-level symlinks such as /bin -> usr/bin recreated)."""
    args: list[str] = []
    for name in SYSTEM_DIRS:
        path = f"/{name}"
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    if os.path.isdir("/sys"):
        args += ["--ro-bind", "/sys", "/sys"]
    for path in extra_ro:
        args += ["--ro-bind-try", path, path]
    return args


def visible_roots() -> list[str]:
    """The host paths system_args already shows (their real paths), so trees under them need no bind."""
    return [os.path.realpath(f"/{n}") for n in SYSTEM_DIRS if os.path.isdir(f"/{n}")]


def tree_args(trees: Iterable[str]) -> list[str]:
    """Read-only binds of the interpreter's trees not already visible through the system directories."""
    shown = visible_roots()
    args: list[str] = []
    done: list[str] = []
    for tree in sorted(set(trees)):  # sorted: a tree comes before the trees inside it
        if not _under(tree, shown + done):
            args += ["--ro-bind", tree, tree]
            done.append(tree)
    return args


def gpu_device_args() -> list[str]:
    """The NVIDIA device nodes, for a run that holds a GPU slot (the run sees only its CUDA_VISIBLE_DEVICES)."""
    args: list[str] = []
    for dev in sorted(glob.glob("/dev/nvidia*")):
        if not os.path.isdir(dev):
            args += ["--dev-bind", dev, dev]
    return args


def sandbox_args(
    spec: RunSpec,
    ws: Path,
    harness: Path,
    *,
    trees: Iterable[str],
    extra_ro: Iterable[str] = (),
    gpu: bool = False,
    info_fd: int | None = None,
) -> list[str]:
    """Everything between `bwrap` and `--` for one run."""
    args = ["--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--new-session"]
    if spec.network:
        args.append("--share-net")
    args += ["--hostname", "sciswarm"]
    args += system_args(extra_ro)
    args += ["--dev", "/dev", "--proc", "/proc"]
    args += ["--size", str(spec.tmp_mb * 1024 * 1024), "--perms", "1777", "--tmpfs", "/tmp"]
    args += tree_args(trees)
    if gpu:
        args += gpu_device_args()
    for m in spec.mounts:
        args += ["--ro-bind", m.source, m.source]
    args += ["--ro-bind", str(harness), HARNESS]
    args += ["--bind", str(ws), str(ws), "--chdir", str(ws)]
    if info_fd is not None:
        args += ["--info-fd", str(info_fd)]
    args += ["--remount-ro", "/"]
    return args


def write_harness(harness: Path, spec: RunSpec, interpreter: str | None) -> None:
    """spec.json and the `python`/`python3` wrappers (the swarm's interpreter), all read-only, shown at /harness."""
    (harness / "spec.json").write_text(json.dumps(dataclasses.asdict(spec), indent=2))
    (harness / "spec.json").chmod(0o444)
    bin_dir = harness / "bin"
    bin_dir.mkdir()
    if interpreter:
        for name in ("python", "python3"):
            (bin_dir / name).write_text(shim(interpreter))
            (bin_dir / name).chmod(0o555)
    bin_dir.chmod(0o555)
    harness.chmod(0o555)


def run_env(spec: RunSpec, token: str, python_dir: str | None, extra: dict[str, str]) -> dict[str, str]:
    """A fresh environment (never the host's): the wrappers and the interpreter's bin/ first on PATH."""
    path = BASE_PATH
    if python_dir and python_dir not in BASE_PATH.split(":"):
        path = f"{python_dir}:{path}"
    env = {
        "PATH": f"{HARNESS}/bin:{path}",
        "HOME": "/tmp",
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "MPLBACKEND": "Agg",
        "SCISWARM_SPEC": f"{HARNESS}/spec.json",
    }
    env.update(extra)
    env.update({m.env: m.source for m in spec.mounts if m.env})  # seen where they are, like the local provider
    env.update(spec.env)
    env["SCISWARM_RUN_TOKEN"] = token  # how stray processes are found again; last so it can't be overridden
    return env
