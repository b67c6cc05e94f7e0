"""Race-free workspace files, for a workspace that an untrusted process changes meanwhile.

:class:`WorkspaceFiles` checks a path (``realpath``) and then opens it by name. Inside a
container the model can swap a folder for a symlink between the two steps (a loop of
``renameat2(RENAME_EXCHANGE)`` wins that race within seconds), and the host process,
often root, would then read or write any host file. Here every open resolves relative to
a descriptor of the workspace with ``openat2(RESOLVE_BENEATH)``: the kernel itself refuses
any step out of the tree (``..``, absolute or outward symlinks), atomically. Symlinks that
stay inside still work. Where ``openat2`` is missing (Linux < 5.6) no symlink is followed.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import posixpath
import stat as stat_mod
from collections.abc import Iterator
from pathlib import PurePosixPath

from claude_like.sandbox.base import FileInfo, SandboxError, WorkspaceFiles

_SYS_OPENAT2 = 437  # the same number on every architecture (new syscalls share one table)
_RESOLVE_NO_MAGICLINKS = 0x02
_RESOLVE_BENEATH = 0x08
_EAGAIN_RETRIES = 200
_OUTSIDE_ERRNOS = (errno.EXDEV, errno.ELOOP)


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_have_openat2: bool | None = None


def _openat2(dir_fd: int, rel: str, flags: int, mode: int) -> int:
    how = _OpenHow(flags | os.O_CLOEXEC, mode, _RESOLVE_BENEATH | _RESOLVE_NO_MAGICLINKS)
    for _ in range(_EAGAIN_RETRIES):
        fd = _libc.syscall(
            ctypes.c_long(_SYS_OPENAT2),
            ctypes.c_int(dir_fd),
            ctypes.c_char_p(os.fsencode(rel)),
            ctypes.byref(how),
            ctypes.c_size_t(ctypes.sizeof(how)),
        )
        if fd >= 0:
            return int(fd)
        err = ctypes.get_errno()
        if err not in (errno.EAGAIN, errno.EINTR):  # EAGAIN: a rename raced the lookup
            raise OSError(err, os.strerror(err), rel)
    raise SandboxError(f"{rel}: the workspace keeps changing under this path; try again")


def _open_nofollow(dir_fd: int, rel: str, flags: int, mode: int) -> int:
    """Fallback without openat2: walk component by component, following no symlink."""
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise OSError(errno.EXDEV, "path leaves the workspace", rel)
    if not parts:
        return os.open(".", flags | os.O_CLOEXEC, mode, dir_fd=dir_fd)
    fd = os.dup(dir_fd)
    try:
        for part in parts[:-1]:
            nxt = os.open(
                part, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd
            )
            os.close(fd)
            fd = nxt
        try:
            return os.open(parts[-1], flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=fd)
        except OSError as exc:
            if exc.errno == errno.ENOTDIR and flags & os.O_DIRECTORY:
                st = os.stat(parts[-1], dir_fd=fd, follow_symlinks=False)
                if stat_mod.S_ISLNK(st.st_mode):
                    raise OSError(errno.ELOOP, "symlink not followed", rel) from None
            raise
    except OSError as exc:
        if exc.errno == errno.ENOTDIR:
            raise OSError(errno.ELOOP, "symlink not followed", rel) from None
        raise
    finally:
        os.close(fd)


def open_beneath(dir_fd: int, rel: str, flags: int, mode: int = 0) -> int:
    """``openat(dir_fd, rel)`` that can never resolve to anything outside ``dir_fd``."""
    global _have_openat2
    if _have_openat2 is not False:
        try:
            fd = _openat2(dir_fd, rel, flags, mode)
        except OSError as exc:
            if exc.errno != errno.ENOSYS:
                raise
            _have_openat2 = False
        else:
            _have_openat2 = True
            return fd
    return _open_nofollow(dir_fd, rel, flags, mode)


class BeneathFiles(WorkspaceFiles):
    """:class:`WorkspaceFiles` whose reads, writes and listings cannot be raced outside."""

    owner: tuple[int, int] | None = None
    """uid/gid to give files and folders this class creates (when the host user is root)."""

    # -- descriptors -----------------------------------------------------------------------
    def _rel(self, path: str) -> str:
        p = self._normalise(path)
        try:
            return str(p.relative_to(self.root))
        except ValueError:
            raise self._outside(path) from None

    @contextlib.contextmanager
    def _fd(self, path: str, rel: str, flags: int, mode: int = 0) -> Iterator[int]:
        root_fd = os.open(self.host_dir, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            fd = open_beneath(root_fd, rel, flags, mode)
        except OSError as exc:
            if exc.errno in _OUTSIDE_ERRNOS:
                raise self._outside(path) from None
            if exc.errno == errno.ENOENT:
                raise FileNotFoundError(f"{path} does not exist") from None
            if exc.errno == errno.ENOTDIR:
                raise NotADirectoryError(f"{path} is not a directory") from None
            raise
        finally:
            os.close(root_fd)
        try:
            yield fd
        finally:
            os.close(fd)

    def _chown_at(self, name: str, dir_fd: int) -> None:
        if self.owner is not None:
            with contextlib.suppress(OSError):
                os.chown(name, *self.owner, dir_fd=dir_fd, follow_symlinks=False)

    # -- operations ------------------------------------------------------------------------
    def read_bytes(self, path: str) -> bytes:
        self.host_path(path)  # the friendly refusal for the ordinary cases
        with self._fd(path, self._rel(path), os.O_RDONLY | os.O_NONBLOCK) as fd:
            st = os.fstat(fd)
            if stat_mod.S_ISDIR(st.st_mode):
                raise IsADirectoryError(f"{path} is a directory")
            if not stat_mod.S_ISREG(st.st_mode):
                raise SandboxError(f"{path} is not a regular file")
            os.set_blocking(fd, True)
            chunks = []
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
            return b"".join(chunks)

    def write_bytes(self, path: str, data: bytes) -> None:
        real = self.host_path(path)
        rel = self._rel(path)
        if rel == ".":
            raise IsADirectoryError(f"{path} is a directory")
        parent, name = posixpath.split(rel)
        with self._dir_fd(path, parent or ".") as pfd:
            try:
                st: os.stat_result | None = os.stat(name, dir_fd=pfd, follow_symlinks=False)
            except FileNotFoundError:
                st = None
            if st is not None and stat_mod.S_ISLNK(st.st_mode):
                # Write through a link that stays inside: to its (checked) target, once.
                target = str(real.relative_to(self.host_dir))
                if target == rel or target == ".":
                    raise SandboxError(f"{path} is a symlink that cannot be written through")
                self.write_bytes(str(PurePosixPath(self.root, target)), data)
                return
            if st is not None and stat_mod.S_ISDIR(st.st_mode):
                raise IsADirectoryError(f"{path} is a directory")
            mode = stat_mod.S_IMODE(st.st_mode) if st is not None else 0o644
            tmp = f".{name}.claude-like-tmp"
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp, dir_fd=pfd)
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            fd = os.open(tmp, flags, mode, dir_fd=pfd)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fchmod(fd, mode)
                if self.owner is not None:
                    os.fchown(fd, *self.owner)
            finally:
                os.close(fd)
            os.replace(tmp, name, src_dir_fd=pfd, dst_dir_fd=pfd)

    @contextlib.contextmanager
    def _dir_fd(self, path: str, rel: str) -> Iterator[int]:
        """A descriptor of folder ``rel`` (inside the workspace), creating missing folders."""
        parts = [p for p in rel.split("/") if p not in ("", ".")]
        prefix = "."
        for part in parts:
            with self._fd(path, prefix, os.O_PATH | os.O_DIRECTORY) as at:
                try:
                    os.mkdir(part, 0o755, dir_fd=at)
                except FileExistsError:
                    pass
                else:
                    self._chown_at(part, at)
            prefix = posixpath.join(prefix, part)
        with self._fd(path, prefix, os.O_PATH | os.O_DIRECTORY) as fd:
            yield fd

    def stat(self, path: str) -> FileInfo | None:
        real = self.host_path(path)  # like the base: describes what the path resolves to
        rel = str(real.relative_to(self.host_dir))
        try:
            with self._fd(path, rel, os.O_PATH | os.O_NOFOLLOW) as fd:
                st = os.fstat(fd)
        except (FileNotFoundError, NotADirectoryError):
            return None
        is_dir = stat_mod.S_ISDIR(st.st_mode)
        return FileInfo(
            path=self._to_view(real),
            is_dir=is_dir,
            size=0 if is_dir else st.st_size,
            mtime=st.st_mtime,
            is_symlink=stat_mod.S_ISLNK(st.st_mode),
        )

    def list_dir(self, path: str) -> list[FileInfo]:
        real = self.host_path(path)
        if not real.exists():
            raise FileNotFoundError(f"{path} does not exist")
        view = self._to_view(real)
        with self._fd(path, self._rel(path), os.O_RDONLY | os.O_DIRECTORY) as fd:
            out = []
            for name in sorted(os.listdir(fd)):
                info = self._info_at(fd, name, str(PurePosixPath(view, name)))
                if info is not None:
                    out.append(info)
            return out

    def walk(self, path: str, *, skip_dirs: frozenset[str] = frozenset({".git"})) -> list[FileInfo]:
        real = self.host_path(path)
        if not real.exists():
            raise FileNotFoundError(f"{path} does not exist")
        view = self._to_view(real)
        if not real.is_dir():
            info = self.stat(path)
            return [info] if info is not None and not info.is_dir else []
        out: list[FileInfo] = []
        with self._fd(path, self._rel(path), os.O_RDONLY | os.O_DIRECTORY) as top:
            # fwalk holds a descriptor per folder and never follows symlinks: race-free.
            for dirpath, dirnames, filenames, dfd in os.fwalk(
                ".", dir_fd=top, follow_symlinks=False
            ):
                # (fwalk itself does not descend into symlinks to folders.)
                dirnames[:] = sorted(d for d in dirnames if d not in skip_dirs)
                rel_dir = PurePosixPath(dirpath)
                for name in sorted(filenames):
                    info = self._info_at(dfd, name, str(PurePosixPath(view, rel_dir, name)))
                    if info is not None and not info.is_dir:
                        out.append(info)
        return out

    def _info_at(self, dir_fd: int, name: str, view: str) -> FileInfo | None:
        """FileInfo for ``name`` in ``dir_fd``; a symlink is described by its in-tree target."""
        try:
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except OSError:
            return None
        is_link = stat_mod.S_ISLNK(st.st_mode)
        if is_link:
            with contextlib.suppress(SandboxError, OSError), self._fd(
                view, self._rel(view), os.O_PATH
            ) as fd:
                st = os.fstat(fd)
        is_dir = stat_mod.S_ISDIR(st.st_mode)
        return FileInfo(
            path=view,
            is_dir=is_dir,
            size=0 if is_dir else st.st_size,
            mtime=st.st_mtime,
            is_symlink=is_link,
        )

