"""Race-free workspace files, for a workspace that an untrusted process changes meanwhile.

:class:`WorkspaceFiles` checks a path (``realpath``) and then opens it by name. Inside a
container the model can swap a folder for a symlink between the two steps (a loop of
``renameat2(RENAME_EXCHANGE)`` wins that race within seconds), and the host process,
often root, would then read or write any host file. Here a path is resolved one
component at a time from a descriptor of the workspace, never letting the kernel follow a
symlink (``O_NOFOLLOW``): each link is read and resolved by us, ``..`` pops a descriptor
we hold, and nothing can step out of the tree, whatever is swapped meanwhile. Links that
stay inside work, relative ones and absolute ones written as the container sees them
(``/workspace/notes.txt``).

Reads bring at most ``limit + 1`` bytes into the host, whatever size the file claims;
writes go through a uniquely named temporary file created exclusively, then renamed.
Ownership is never changed: a replaced file keeps its owner and group, and what the host
creates belongs to the workspace's owner (when the host process may chown at all).
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat as stat_mod
from collections import deque
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from claude_like.sandbox.base import (
    READ_LIMIT,
    FileInfo,
    FileTooLargeError,
    SandboxError,
    WorkspaceFiles,
)

MAX_LINKS = 40
"""Symlinks followed while resolving one path (the kernel's own limit), then ELOOP."""
KEPT_MODE_BITS = 0o1777
"""A rewritten file keeps its mode without set-uid/set-gid (as the kernel does for a write)."""
_DIR = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class _Walk:
    """The descriptors of the folders from the workspace root to the current one."""

    def __init__(self, root_fd: int) -> None:
        self.fds = [root_fd]
        self.names: list[str] = []

    def up(self) -> bool:
        if not self.names:
            return False
        os.close(self.fds.pop())
        self.names.pop()
        return True

    def to_root(self) -> None:
        while self.up():
            pass

    def down(self, name: str, fd: int) -> None:
        self.fds.append(fd)
        self.names.append(name)

    def close(self) -> None:
        for fd in self.fds:
            os.close(fd)


class BeneathFiles(WorkspaceFiles):
    """:class:`WorkspaceFiles` whose every operation resolves within the workspace itself."""

    def __init__(self, host_dir: str | os.PathLike[str], root: str | None = None) -> None:
        super().__init__(host_dir, root)
        st = self.host_dir.stat()
        self.owner = (st.st_uid, st.st_gid)
        """Who owns what the host creates here (the workspace's owner)."""

    # -- resolution ----------------------------------------------------------------------------
    def _parts(self, path: str) -> list[str]:
        p = self._normalise(path)
        try:
            return list(p.relative_to(self.root).parts)
        except ValueError:
            raise self._outside(path) from None

    @contextlib.contextmanager
    def _resolved(
        self, path: str, *, follow: bool = True, make_parents: bool = False
    ) -> Iterator[tuple[int, str, list[str]]]:
        """``(folder descriptor, last name, folder's components)`` for ``path``; the last
        name is ``"."`` when the path is a folder reached through ``..`` or the root."""
        walk = _Walk(os.open(self.host_dir, _DIR))
        try:
            yield self._resolve(walk, path, follow, make_parents)
        finally:
            walk.close()

    def _resolve(
        self, walk: _Walk, path: str, follow: bool, make_parents: bool
    ) -> tuple[int, str, list[str]]:
        todo = deque(self._parts(path))
        links = 0
        while todo:
            part = todo.popleft()
            if part in ("", "."):
                continue
            if part == "..":
                if not walk.up():
                    raise self._outside(path)
                continue
            last = not any(p not in ("", ".") for p in todo)
            try:
                st = os.stat(part, dir_fd=walk.fds[-1], follow_symlinks=False)
            except FileNotFoundError:
                if last:
                    return walk.fds[-1], part, list(walk.names)
                if not make_parents:
                    raise FileNotFoundError(f"{path} does not exist") from None
                self._mkdir(part, walk.fds[-1])
                todo.appendleft(part)
                continue
            if stat_mod.S_ISLNK(st.st_mode) and (follow or not last):
                links += 1
                if links > MAX_LINKS:
                    raise SandboxError(f"{path}: too many levels of symbolic links")
                target = os.readlink(part, dir_fd=walk.fds[-1])
                if target.startswith("/"):
                    walk.to_root()
                    target_parts = self._parts(target)  # inside the workspace or refused
                else:
                    target_parts = target.split("/")
                todo.extendleft(reversed(target_parts))
                continue
            if last:
                return walk.fds[-1], part, list(walk.names)
            if not stat_mod.S_ISDIR(st.st_mode):
                raise NotADirectoryError(f"{path}: {'/'.join([*walk.names, part])} is not a folder")
            try:
                walk.down(part, os.open(part, _DIR, dir_fd=walk.fds[-1]))
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.ENOTDIR, errno.ENOENT):
                    raise
                links += 1  # swapped for a link meanwhile: look at it again
                if links > MAX_LINKS:
                    raise SandboxError(f"{path} keeps changing; try again") from None
                todo.appendleft(part)
        return walk.fds[-1], ".", list(walk.names)

    def _mkdir(self, name: str, dir_fd: int) -> None:
        try:
            os.mkdir(name, 0o755, dir_fd=dir_fd)
        except FileExistsError:
            return
        self._give(lambda uid, gid: os.chown(name, uid, gid, dir_fd=dir_fd, follow_symlinks=False))

    def _give(self, chown, owner: tuple[int, int] | None = None) -> None:  # type: ignore[no-untyped-def]
        """Give something the host just created to ``owner`` (default: the workspace's)."""
        if os.geteuid() == 0:
            with contextlib.suppress(OSError):
                chown(*(owner or self.owner))

    def _view(self, names: list[str], name: str = ".") -> str:
        parts = [*names, name] if name != "." else names
        return str(PurePosixPath(self.root, *parts))

    def host_path(self, path: str) -> Path:
        """The host path ``path`` resolves to (symlinks followed); refuses escapes."""
        with self._resolved(path) as (_fd, name, names):
            return self.host_dir.joinpath(*names, *([name] if name != "." else []))

    def resolve(self, path: str) -> str:
        with self._resolved(path) as (_fd, name, names):
            return self._view(names, name)

    # -- operations ----------------------------------------------------------------------------
    def read_bytes(self, path: str, limit: int = READ_LIMIT) -> bytes:
        with self._resolved(path) as (dfd, name, _names):
            try:
                fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC,
                             dir_fd=dfd)
            except FileNotFoundError:
                raise FileNotFoundError(f"{path} does not exist") from None
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    raise SandboxError(f"{path} changed while it was opened; try again") from None
                raise
        try:
            st = os.fstat(fd)
            if stat_mod.S_ISDIR(st.st_mode):
                raise IsADirectoryError(f"{path} is a directory")
            if not stat_mod.S_ISREG(st.st_mode):
                raise SandboxError(f"{path} is not a regular file")
            os.set_blocking(fd, True)
            return self._read_capped(fd, path, limit)
        finally:
            os.close(fd)

    @staticmethod
    def _read_capped(fd: int, path: str, limit: int) -> bytes:
        """At most ``limit + 1`` bytes, whatever the file claims (it may grow meanwhile)."""
        data = bytearray()
        while len(data) <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - len(data)))
            if not chunk:
                return bytes(data)
            data += chunk
        raise FileTooLargeError(
            f"{path} holds more than {limit:,} bytes, more than one read may bring; "
            "read a part of it (e.g. with head, tail or sed -n in the shell)"
        )

    def write_bytes(self, path: str, data: bytes) -> None:
        with self._resolved(path, make_parents=True) as (dfd, name, _names):
            if name == ".":
                raise IsADirectoryError(f"{path} is a directory")
            try:
                st: os.stat_result | None = os.stat(name, dir_fd=dfd, follow_symlinks=False)
            except FileNotFoundError:
                st = None
            if st is not None and stat_mod.S_ISDIR(st.st_mode):
                raise IsADirectoryError(f"{path} is a directory")
            mode = stat_mod.S_IMODE(st.st_mode) & KEPT_MODE_BITS if st is not None else 0o644
            self._replace(dfd, name, data, mode, (st.st_uid, st.st_gid) if st else None)

    def _replace(
        self, dfd: int, name: str, data: bytes, mode: int, owner: tuple[int, int] | None
    ) -> None:
        tmp = f".claude-like-{secrets.token_hex(8)}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(tmp, flags, 0o600, dir_fd=dfd)
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                self._give(lambda uid, gid: os.fchown(fd, uid, gid), owner)
                os.fchmod(fd, mode)
            finally:
                os.close(fd)
            os.replace(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=dfd)
            raise

    def stat(self, path: str) -> FileInfo | None:
        try:
            with self._resolved(path, follow=False) as (dfd, name, _names):
                link = stat_mod.S_ISLNK(os.stat(name, dir_fd=dfd, follow_symlinks=False).st_mode)
            with self._resolved(path) as (dfd, name, names):
                st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
        except (FileNotFoundError, NotADirectoryError):
            return None
        return self._file_info(st, self._view(names, name), link)

    @staticmethod
    def _file_info(st: os.stat_result, view: str, is_link: bool) -> FileInfo:
        is_dir = stat_mod.S_ISDIR(st.st_mode)
        return FileInfo(
            path=view,
            is_dir=is_dir,
            size=0 if is_dir else st.st_size,
            mtime=st.st_mtime,
            is_symlink=is_link,
        )

    @contextlib.contextmanager
    def _open_dir(self, path: str) -> Iterator[tuple[int, str]]:
        """A readable descriptor of folder ``path`` and its view path."""
        with self._resolved(path) as (dfd, name, names):
            try:
                fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                             dir_fd=dfd)
            except FileNotFoundError:
                raise FileNotFoundError(f"{path} does not exist") from None
            except OSError as exc:
                if exc.errno in (errno.ENOTDIR, errno.ELOOP):
                    raise NotADirectoryError(f"{path} is not a directory") from None
                raise
        try:
            yield fd, self._view(names, name)
        finally:
            os.close(fd)

    def list_dir(self, path: str) -> list[FileInfo]:
        with self._open_dir(path) as (fd, view):
            out = []
            for name in sorted(os.listdir(fd)):
                info = self._info_at(fd, name, str(PurePosixPath(view, name)))
                if info is not None:
                    out.append(info)
            return out

    def walk(self, path: str, *, skip_dirs: frozenset[str] = frozenset({".git"})) -> list[FileInfo]:
        info = self.stat(path)
        if info is None:
            raise FileNotFoundError(f"{path} does not exist")
        if not info.is_dir:
            return [info]
        out: list[FileInfo] = []
        with self._open_dir(path) as (top, view):
            # fwalk holds a descriptor per folder and never follows symlinks: race-free.
            for dirpath, dirnames, filenames, dfd in os.fwalk(
                ".", dir_fd=top, follow_symlinks=False
            ):
                dirnames[:] = sorted(d for d in dirnames if d not in skip_dirs)
                rel_dir = PurePosixPath(dirpath)
                for name in sorted(filenames):
                    entry = self._info_at(dfd, name, str(PurePosixPath(view, rel_dir, name)))
                    if entry is not None and not entry.is_dir:
                        out.append(entry)
        return out

    def _info_at(self, dir_fd: int, name: str, view: str) -> FileInfo | None:
        """FileInfo for ``name`` in ``dir_fd``; a symlink is described by its in-tree target."""
        try:
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except OSError:
            return None
        is_link = stat_mod.S_ISLNK(st.st_mode)
        if is_link:
            with contextlib.suppress(SandboxError, OSError), self._resolved(view) as (d, n, _):
                st = os.stat(n, dir_fd=d, follow_symlinks=False)
        return self._file_info(st, view, is_link)


def disk_usage(folder: Path) -> int:
    """Bytes the files below ``folder`` occupy on disk (blocks, each inode once; symlinks
    not followed), so a sparse file counts for what it really uses."""
    seen: set[tuple[int, int]] = set()
    total = 0
    stack = [str(folder)]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if st.st_nlink > 1 and not stat_mod.S_ISDIR(st.st_mode):
                key = (st.st_dev, st.st_ino)
                if key in seen:
                    continue
                seen.add(key)
            total += st.st_blocks * 512
            if stat_mod.S_ISDIR(st.st_mode):
                stack.append(entry.path)
    return total
