"""Linux primitives the local sandbox builds on: a network namespace with only loopback, a private mount
namespace exposing the swarm's interpreter read-only to an unprivileged uid, and dropping privileges. No policy:
LocalSandbox decides what to use when."""

from __future__ import annotations

import ctypes
import fcntl
import os
import socket
import stat
import struct
import sys
from pathlib import Path

LIBC = ctypes.CDLL(None, use_errno=True)
LIBC.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_CLONE_NEWNET = 0x40000000
_CLONE_NEWNS = 0x00020000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_REMOUNT, _MS_BIND, _MS_REC, _MS_SLAVE = 1, 2, 4, 32, 4096, 16384, 1 << 19
PR_SET_PDEATHSIG = 1
_SIOCSIFFLAGS = 0x8914
_IFF_UP_LOOPBACK_RUNNING = 0x1 | 0x8 | 0x40


def unshare_net() -> None:
    if LIBC.unshare(_CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:  # bring up lo, like docker's "none"
        fcntl.ioctl(s, _SIOCSIFFLAGS, struct.pack("16sh", b"lo", _IFF_UP_LOOPBACK_RUNNING))


def probe_unshare() -> bool:
    import subprocess

    try:
        return subprocess.run(["true"], preexec_fn=unshare_net, check=False).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


Exposure = list[tuple[str, list[str]]]  # (directory the run's uid cannot traverse, trees to show under it)


def blocked_ancestor(path: str) -> str | None:
    """The topmost proper ancestor of `path` that others cannot traverse (no o+x), if any."""
    for parent in reversed(Path(path).parents):
        try:
            if not os.stat(parent).st_mode & stat.S_IXOTH:
                return str(parent)
        except OSError:
            return None
    return None


def is_running_interpreter(python: str) -> bool:
    """Same binary *and* same directory: a venv is identified by the path it is invoked by, not its target."""
    here = os.path.dirname(os.path.abspath(sys.executable))
    same_dir = os.path.dirname(os.path.abspath(python)) == here
    return same_dir and os.path.realpath(python) == os.path.realpath(sys.executable)


def interpreter_trees(python: str) -> set[str]:
    """The directories an interpreter needs: its prefix (a venv's) and its real install's, and for the running
    interpreter its sys prefixes and site-packages."""
    trees = {os.path.dirname(os.path.dirname(p)) for p in (os.path.abspath(python), os.path.realpath(python))}
    if is_running_interpreter(python):
        import site

        trees |= {sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix, *site.getsitepackages()}
    return {os.path.realpath(t) for t in trees if os.path.isdir(t)}


def exposure_plan(python: str) -> Exposure:
    """Which blocked directories to cover with a tmpfs, and which interpreter trees to bind back under each."""
    plan: dict[str, set[str]] = {}
    for tree in interpreter_trees(python):
        cover = blocked_ancestor(tree)
        if cover is not None and cover != "/":
            plan.setdefault(cover, set()).add(tree)
    result: Exposure = []
    for cover in sorted(plan):
        trees = sorted(plan[cover])
        outermost = [t for t in trees if not any(t != o and Path(t).is_relative_to(o) for o in trees)]
        result.append((cover, outermost))
    return result


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    args = [x.encode() if x is not None else None for x in (source, target, fstype)]
    if LIBC.mount(args[0], args[1], args[2], flags, data.encode() if data else None) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {target}: {os.strerror(err)}")


def expose(plan: Exposure) -> None:
    """In the child, before the uid drop: a private mount namespace where each blocked directory is covered by a
    read-only tmpfs holding only the interpreter trees, bind-mounted read-only. Nothing on the host changes."""
    if LIBC.unshare(_CLONE_NEWNS) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    mount(None, "/", None, _MS_REC | _MS_SLAVE)  # nothing done below propagates back to the host
    old_umask = os.umask(0o022)
    try:
        for cover, trees in plan:
            fds = [os.open(t, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC) for t in trees]  # before they are hidden
            mount("tmpfs", cover, "tmpfs", _MS_NOSUID | _MS_NODEV, "mode=0755,size=64k,nr_inodes=1024")
            for tree, fd in zip(trees, fds, strict=True):
                os.makedirs(tree, exist_ok=True)
                mount(f"/proc/self/fd/{fd}", tree, None, _MS_BIND | _MS_REC)
                mount(None, tree, None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY | _MS_NOSUID | _MS_NODEV)
                os.close(fd)
            mount(None, cover, None, _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV)
    finally:
        os.umask(old_umask)


def become(uid: int) -> None:
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
