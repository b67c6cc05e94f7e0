"""An idmapped view of a root-owned workspace, so that the container need not run as root.

Docker's API cannot map users per container, and the sandbox must never chown the
user's files. An idmapped mount (Linux 5.12+, ``mount_setattr(MOUNT_ATTR_IDMAP)``) shows
the same folder with owners translated: here the workspace owner's uid and gid appear as
the sandbox's unprivileged uid (1000) and back, so the container writes as 1000 while
the disk keeps root's ownership, and what it creates is root's. Every other id stays as
it is. The view is made (as root) in a private temporary folder just long enough for
Docker to bind-mount it into a new container, then detached: the container's copy keeps
the mapping, and nothing stays mounted on the host.

The view covers the workspace's own file system only (folders mounted inside it are not
carried over, unlike a plain bind). When it cannot be made (not root, an older kernel, a
file system without idmap support, an engine that does not see our mounts),
:class:`IdmappedView` raises IdmapUnavailableError and the sandbox falls back to uid 0 without
privileges (see :mod:`claude_like.sandbox.docker`).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

SANDBOX_ID = 1000
"""The uid/gid the workspace's owner becomes inside (the image's ``sandbox`` user)."""

_SYS_OPEN_TREE, _SYS_MOVE_MOUNT, _SYS_MOUNT_SETATTR = 428, 429, 442  # same on every arch
_AT_FDCWD, _AT_EMPTY_PATH = -100, 0x1000
_OPEN_TREE_CLONE, _OPEN_TREE_CLOEXEC = 1, os.O_CLOEXEC
_MOVE_MOUNT_F_EMPTY_PATH = 0x4
_MOUNT_ATTR_IDMAP = 0x100000
_MNT_DETACH = 2
_MAX_ID = 4294967295

_USERNS_HOLDER = (
    "import ctypes, sys\n"
    "if ctypes.CDLL(None, use_errno=True).unshare(0x10000000) != 0:\n"  # CLONE_NEWUSER
    "    sys.exit(1)\n"
    "sys.stdout.write('ready\\n'); sys.stdout.flush(); sys.stdin.read()\n"
)


class _MountAttr(ctypes.Structure):
    _fields_ = [
        ("attr_set", ctypes.c_uint64),
        ("attr_clr", ctypes.c_uint64),
        ("propagation", ctypes.c_uint64),
        ("userns_fd", ctypes.c_uint64),
    ]


_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def swap_map(a: int, b: int) -> str:
    """A ``uid_map`` that swaps ``a`` and ``b`` and maps every other id to itself."""
    if a == b:
        return f"0 0 {_MAX_ID}\n"
    lo, hi = sorted((a, b))
    lines = [f"{a} {b} 1", f"{b} {a} 1"]
    for start, end in ((0, lo), (lo + 1, hi), (hi + 1, _MAX_ID)):
        if end > start:
            lines.append(f"{start} {start} {end - start}")
    return "\n".join(lines) + "\n"


def _check(result: int, what: str) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return result


@contextlib.contextmanager
def _user_namespace(uid_map: str, gid_map: str) -> Iterator[int]:
    """A descriptor of a new user namespace with these maps (held by a short-lived child)."""
    child = subprocess.Popen(
        [sys.executable, "-I", "-c", _USERNS_HOLDER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        if child.stdout.readline() != b"ready\n":
            raise OSError("could not make a user namespace")
        for name, text in (("uid_map", uid_map), ("setgroups", "deny"), ("gid_map", gid_map)):
            with open(f"/proc/{child.pid}/{name}", "w") as f:
                f.write(text)
        fd = os.open(f"/proc/{child.pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
        try:
            yield fd
        finally:
            os.close(fd)
    finally:
        child.stdin.close()
        child.stdout.close()
        child.wait()


class IdmapUnavailableError(Exception):
    """No idmapped view can be made here (not root, old kernel, unsupported file system)."""


class IdmappedView:
    """A temporary path showing a folder with ``uid``/``gid`` as SANDBOX_ID (and back),
    until :meth:`close` detaches and removes it."""

    def __init__(self, folder: Path, uid: int, gid: int) -> None:
        if os.geteuid() != 0:
            raise IdmapUnavailableError("only root can make an idmapped mount")
        self.path = tempfile.mkdtemp(prefix="claude-like-idmap-")
        self._mounted = False
        try:
            with _user_namespace(swap_map(uid, SANDBOX_ID), swap_map(gid, SANDBOX_ID)) as ns:
                self._mount(folder, ns)
        except OSError as exc:
            self.close()
            raise IdmapUnavailableError(str(exc)) from exc

    def _mount(self, folder: Path, userns_fd: int) -> None:
        tree = _check(
            _libc.syscall(
                _SYS_OPEN_TREE, _AT_FDCWD, os.fsencode(folder),
                _OPEN_TREE_CLONE | _OPEN_TREE_CLOEXEC,
            ),
            "open_tree",
        )
        try:
            attr = _MountAttr(_MOUNT_ATTR_IDMAP, 0, 0, userns_fd)
            _check(
                _libc.syscall(
                    _SYS_MOUNT_SETATTR, tree, b"", _AT_EMPTY_PATH, ctypes.byref(attr),
                    ctypes.sizeof(attr),
                ),
                "mount_setattr",
            )
            _check(
                _libc.syscall(
                    _SYS_MOVE_MOUNT, tree, b"", _AT_FDCWD, os.fsencode(self.path),
                    _MOVE_MOUNT_F_EMPTY_PATH,
                ),
                "move_mount",
            )
            self._mounted = True
        finally:
            os.close(tree)

    def close(self) -> None:
        if self._mounted:
            _libc.umount2(os.fsencode(self.path), _MNT_DETACH)
            self._mounted = False
        with contextlib.suppress(OSError):
            os.rmdir(self.path)
