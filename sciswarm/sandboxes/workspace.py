"""Workspace helpers shared by providers: what a run produced, and lending the workspace to another uid."""

from __future__ import annotations

import os
import stat
from pathlib import Path

Snapshot = dict[str, tuple[int, int]]


def snapshot(root: Path) -> Snapshot:
    """Relative path -> (mtime_ns, size) of every regular file under root (symlinks are not followed)."""
    out: Snapshot = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in filenames:
            path = os.path.join(dirpath, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode):
                out[os.path.relpath(path, root)] = (st.st_mtime_ns, st.st_size)
        dirnames.sort()
    return out


def produced(before: Snapshot, after: Snapshot) -> list[str]:
    """Files that are new or modified (mtime or size changed), sorted."""
    return sorted(p for p, sig in after.items() if before.get(p) != sig)


def chown_tree(root: Path, uid: int, gid: int) -> None:
    """lchown root and everything below it (never follows symlinks: the tree may hold hostile links)."""
    os.chown(root, uid, gid, follow_symlinks=False)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            try:
                os.chown(os.path.join(dirpath, name), uid, gid, follow_symlinks=False)
            except FileNotFoundError:
                continue


class LentWorkspace:
    """Hand a workspace to `uid:gid` for a run, then give everything in it back to the original owner.

    Only needed (and only possible) when the host process is root and the workspace owner differs from the
    uid the run uses. Files the run creates end up owned by the workspace's owner afterwards.
    """

    def __init__(self, root: Path, uid: int, gid: int) -> None:
        self.root = root
        st = os.stat(root)
        self.owner = (st.st_uid, st.st_gid)
        self.target = (uid, gid)
        self.active = os.geteuid() == 0 and self.owner != self.target

    def __enter__(self) -> LentWorkspace:
        if self.active:
            chown_tree(self.root, *self.target)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.active:
            chown_tree(self.root, *self.owner)
