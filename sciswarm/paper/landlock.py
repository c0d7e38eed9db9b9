"""Landlock: an unprivileged Linux process confines itself (and its children) to a list of paths.

Used to run pdflatex/bibtex on model-written LaTeX. kpathsea's paranoid mode (``openin_any=p``) covers
``\\input``/``\\openin``, but not pdfTeX's ``\\pdfobj file {...}``, which embeds any readable host file into
the PDF; a Landlock domain denies that read at the kernel. Needs Linux >= 5.13 with Landlock enabled;
``abi_version()`` is 0 when it is not, and callers fall back to kpathsea's checks alone.

The ruleset is built in the parent; the child only calls ``restrict_self`` (two syscalls) between fork
and exec, so nothing here allocates or imports in the forked child.
"""

from __future__ import annotations

import ctypes
import functools
import os
import platform
import struct
from pathlib import Path

_SYS_CREATE_RULESET, _SYS_ADD_RULE, _SYS_RESTRICT_SELF = 444, 445, 446  # same on every Linux arch
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_FILE_ONLY = EXECUTE | WRITE_FILE | READ_FILE | (1 << 14) | (1 << 15)  # + TRUNCATE (v3), IOCTL_DEV (v5)
READ_EXEC = EXECUTE | READ_FILE | READ_DIR
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1
_SCOPE_ABSTRACT_UNIX, _SCOPE_SIGNAL = 1 << 0, 1 << 1


def _fs_rights(abi: int) -> int:
    bits = 13  # v1: EXECUTE .. MAKE_SYM
    if abi >= 2:
        bits = 14  # REFER
    if abi >= 3:
        bits = 15  # TRUNCATE
    if abi >= 5:
        bits = 16  # IOCTL_DEV
    return (1 << bits) - 1


@functools.cache
def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


@functools.cache
def abi_version() -> int:
    """Landlock ABI version of the running kernel, 0 if Landlock is unavailable."""
    if platform.system() != "Linux":
        return 0
    try:
        version = _libc().syscall(
            _SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION)
        )
    except (OSError, AttributeError):
        return 0
    return max(int(version), 0)


class LandlockError(OSError):
    """A Landlock syscall failed."""


def _check(result: int, what: str) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise LandlockError(err, f"landlock {what}: {os.strerror(err)}")
    return result


class Ruleset:
    """Everything the confined process may touch; anything else on the filesystem is denied.

    Also denies TCP bind/connect (ABI >= 4), signals to and abstract unix sockets of processes outside
    the domain (ABI >= 6).
    """

    def __init__(self) -> None:
        self.abi = abi_version()
        if self.abi < 1:
            raise LandlockError(0, "Landlock is not available on this kernel")
        self._all = _fs_rights(self.abi)
        fields = [self._all]
        if self.abi >= 4:
            fields.append(_NET_BIND_TCP | _NET_CONNECT_TCP)
        if self.abi >= 6:
            fields.append(_SCOPE_ABSTRACT_UNIX | _SCOPE_SIGNAL)
        attr = ctypes.create_string_buffer(struct.pack(f"={len(fields)}Q", *fields))
        self._fd = _check(
            _libc().syscall(_SYS_CREATE_RULESET, attr, ctypes.c_size_t(len(attr.raw)), ctypes.c_uint32(0)),
            "create_ruleset",
        )

    def allow(self, path: Path, rights: int) -> bool:
        """Grant ``rights`` on ``path`` (a directory: everything beneath it). False if it does not exist."""
        try:
            parent = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except FileNotFoundError:
            return False
        try:
            if not os.path.isdir(f"/proc/self/fd/{parent}"):
                rights &= _FILE_ONLY
            beneath = ctypes.create_string_buffer(struct.pack("=Qi", rights & self._all, parent))
            _check(
                _libc().syscall(
                    _SYS_ADD_RULE,
                    ctypes.c_int(self._fd),
                    ctypes.c_int(_RULE_PATH_BENEATH),
                    beneath,
                    ctypes.c_uint32(0),
                ),
                f"add_rule({path})",
            )
        finally:
            os.close(parent)
        return True

    def allow_read(self, path: Path) -> bool:
        return self.allow(path, READ_EXEC)

    def allow_write(self, path: Path) -> bool:
        return self.allow(path, self._all)

    def restrict_self(self) -> None:
        """Enter the domain. Call in the child (preexec); it is irreversible for that process."""
        libc = _libc()
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise LandlockError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
        if libc.syscall(_SYS_RESTRICT_SELF, ctypes.c_int(self._fd), ctypes.c_uint32(0)) != 0:
            raise LandlockError(ctypes.get_errno(), "landlock_restrict_self failed")

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> Ruleset:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
