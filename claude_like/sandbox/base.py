"""The Sandbox interface: the single door between the agent's tools and the outside world.

Tools never call ``subprocess`` or ``open()`` themselves. They ask a sandbox, which
confines every path to the workspace and runs shell commands in a persistent session.
An implementation provides a shell session and, through :class:`WorkspaceFiles`, file
access to a host folder that the sandbox shows under its own ``root``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat as stat_mod
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import TracebackType

from claude_like.sandbox.confined import Located, Tree, read_at_most, write_replacing

DEFAULT_COMMAND_TIMEOUT = 120.0
MAX_COMMAND_TIMEOUT = 600.0
DEFAULT_OUTPUT_LIMIT = 30_000
READ_LIMIT = 16 * 1024 * 1024
"""The most bytes one read brings from the sandbox into the host process, whatever size
the file claims (a sparse file can claim gigabytes)."""
DEFAULT_SESSION = "main"
"""The shell session a command runs in when the caller names none (one per thread)."""
OMITTED_MARK = "\n\n[... {omitted} bytes of output omitted ...]\n\n"
"""What stands where the middle of a truncated output was dropped (``ExecResult.output``)."""
OMITTED_MARK_RE = re.compile(re.escape(OMITTED_MARK).replace(r"\{omitted\}", r"(\d+)"))
"""Finds :data:`OMITTED_MARK` in an output; group 1 is the number of bytes left out."""


class SandboxError(Exception):
    """A sandbox operation failed in a way the model (or user) should be told about."""


class PathOutsideWorkspaceError(SandboxError):
    """A path resolves outside the workspace (through ``..``, an absolute path or a symlink)."""


class FileTooLargeError(SandboxError):
    """A file holds more bytes than the read's limit; nothing of it was returned."""


@dataclass(frozen=True)
class ExecResult:
    """What one shell command produced."""

    output: str
    """stdout and stderr interleaved as the command wrote them, cut to the output limit."""
    exit_code: int | None
    """The command's exit status; ``None`` when it was killed by the timeout."""
    truncated: bool = False
    """True when the middle of the output was dropped to respect the output limit (where,
    :data:`OMITTED_MARK` says, with the exact number of bytes)."""
    timed_out: bool = False
    """True when the command ran past its timeout and its process tree was killed."""
    cwd: str = ""
    """The shell's working directory after the command (as the sandbox sees it)."""
    note: str = ""
    """Anything else the model should know (e.g. the shell had to be restarted)."""

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


@dataclass(frozen=True)
class FileInfo:
    """One entry of the workspace, as the sandbox sees it."""

    path: str
    """Absolute path in the sandbox's view (under ``Sandbox.root``)."""
    is_dir: bool
    """True for a directory (a symlink to a directory inside the workspace counts)."""
    size: int
    """Size in bytes (0 for directories)."""
    mtime: float
    """Modification time, seconds since the epoch."""
    is_symlink: bool = False
    """True when the entry itself is a symbolic link."""


class Sandbox(ABC):
    """Shell execution plus confined file access for one workspace.

    ``root`` is the workspace's absolute path as tools and the model see it (the host path
    for :class:`~claude_like.sandbox.local.LocalSandbox`, the mount point inside a
    container for the Docker sandbox). Every path argument may be absolute (under
    ``root``) or relative to ``root``.
    """

    root: str

    # -- shell -------------------------------------------------------------------------
    @abstractmethod
    def execute(
        self, command: str, timeout: float | None = None, *, session: str = DEFAULT_SESSION
    ) -> ExecResult:
        """Run ``command`` in the persistent shell ``session`` (``cd`` and ``export``
        persist within it; each conversation thread has its own). ``timeout`` is in
        seconds: None for the sandbox's default, and a value above
        :data:`MAX_COMMAND_TIMEOUT` is lowered to it (the result's note says so)."""

    def run_program(
        self, argv: list[str], timeout: float, *, output_limit: int = DEFAULT_OUTPUT_LIMIT
    ) -> ExecResult:
        """Run one program (no shell, no session state) from the workspace root with a time
        limit in seconds, killing its whole tree when the time is up. Tools use it for work
        that must not run in the host process, e.g. Grep's ripgrep on a model-written
        regex."""
        raise NotImplementedError

    def close_session(self, session: str) -> None:
        """Stop the shell ``session`` and every process it started (no-op if unknown)."""

    # -- files -------------------------------------------------------------------------
    @abstractmethod
    def resolve(self, path: str) -> str:
        """The absolute sandbox path for ``path``; raises PathOutsideWorkspaceError."""

    @abstractmethod
    def read_bytes(self, path: str, limit: int = READ_LIMIT) -> bytes:
        """The file's content, never more than ``limit`` bytes brought into the host:
        FileTooLargeError when it holds more. Raises FileNotFoundError,
        IsADirectoryError, SandboxError."""

    @abstractmethod
    def write_bytes(self, path: str, data: bytes) -> None:
        """Create or replace the file atomically (a uniquely named temporary file created
        exclusively, never through a symlink, then renamed over it), creating parent
        folders as needed and keeping an existing file's mode."""

    @abstractmethod
    def stat(self, path: str) -> FileInfo | None:
        """Information about ``path``, or None when it does not exist."""

    @abstractmethod
    def list_dir(self, path: str) -> list[FileInfo]:
        """The entries of a directory, sorted by name."""

    @abstractmethod
    def walk(self, path: str, *, skip_dirs: frozenset[str] = frozenset({".git"})) -> list[FileInfo]:
        """Every file (not directory) below ``path``, without following directory symlinks."""

    # -- lifecycle ---------------------------------------------------------------------
    def close(self) -> None:
        """Release the shell and anything else the sandbox holds. Idempotent."""

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def display_path(self, path: str) -> str:
        """A short path for messages: relative to the workspace when inside it."""
        try:
            rel = PurePosixPath(path).relative_to(self.root)
        except ValueError:
            return path
        return str(rel) if str(rel) != "." else self.root


class WorkspaceFiles:
    """Confined file access to a host folder shown to tools under another root.

    Both sandboxes share it: the local sandbox shows the folder under its own path, the
    Docker sandbox under its mount point. Every operation resolves its path and opens it in
    one walk on directory descriptors (:mod:`claude_like.sandbox.confined`), so a process
    that swaps a folder for a symlink meanwhile cannot lead it outside; symlinks that stay
    inside (relative, or absolute under the host folder or ``root``) work.
    """

    owner: tuple[int, int] | None = None
    """uid/gid to give files and folders this class creates (None: the host user's)."""

    def __init__(self, host_dir: str | os.PathLike[str], root: str | None = None) -> None:
        self.host_dir = Path(host_dir).resolve()
        if not self.host_dir.is_dir():
            raise SandboxError(f"workspace {self.host_dir} is not a directory")
        self.root = root or str(self.host_dir)
        self._tree = Tree(str(self.host_dir), aliases=(self.root,))

    # -- path mapping --------------------------------------------------------------------
    def _normalise(self, path: str) -> PurePosixPath:
        """Join relative paths onto root and fold ``..`` lexically (before any symlink)."""
        if not path or not path.strip():
            raise SandboxError("empty path")
        if "\x00" in path:
            raise SandboxError("path contains a NUL byte")
        p = PurePosixPath(path.strip())
        if not p.is_absolute():
            p = PurePosixPath(self.root) / p
        parts: list[str] = []
        for part in p.parts[1:]:
            if part in ("", "."):
                continue
            if part == "..":
                if parts:
                    parts.pop()
                continue
            parts.append(part)
        return PurePosixPath("/", *parts)

    def _outside(self, path: str) -> PathOutsideWorkspaceError:
        return PathOutsideWorkspaceError(
            f"{path} is outside the workspace {self.root}; only paths inside it can be used"
        )

    def _parts(self, path: str) -> tuple[str, ...]:
        try:
            return self._normalise(path).relative_to(self.root).parts
        except ValueError:
            raise self._outside(path) from None

    @contextlib.contextmanager
    def _locate(
        self, path: str, *, make_dirs: bool = False, missing_ok: bool = False
    ) -> Iterator[Located]:
        """Resolve ``path`` inside the workspace, with errors worded for the model."""
        parts = self._parts(path)
        try:
            with self._tree.locate(
                parts, make_dirs=make_dirs, missing_ok=missing_ok, owner=self.owner
            ) as loc:
                yield loc
        except OSError as exc:
            raise self._os_error(path, exc) from None

    def _os_error(self, path: str, exc: OSError) -> Exception:
        code = exc.errno
        if code == errno.EXDEV:
            return self._outside(path)
        if code == errno.ENOENT:
            return FileNotFoundError(f"{path} does not exist")
        if code == errno.ENOTDIR:
            return NotADirectoryError(f"{path}: a part of the path is not a directory")
        if code == errno.ELOOP:
            return SandboxError(f"{path}: too many levels of symbolic links")
        if code == errno.EAGAIN:
            return SandboxError(f"{path}: the workspace keeps changing under this path")
        return exc

    def resolve(self, path: str) -> str:
        with self._locate(path, missing_ok=True) as loc:
            return self._view(loc.parts)

    def host_path(self, path: str) -> Path:
        """The host path for a sandbox path, following symlinks; refuses escapes. Only for
        messages and checks: open through the operations below, never by this name."""
        with self._locate(path, missing_ok=True) as loc:
            return self.host_dir.joinpath(*loc.parts)

    def _view(self, parts: tuple[str, ...]) -> str:
        return str(PurePosixPath(self.root, *parts))

    def _to_view(self, host: Path) -> str:
        rel = host.relative_to(self.host_dir)
        return str(PurePosixPath(self.root, *rel.parts))

    # -- operations ----------------------------------------------------------------------
    def read_bytes(self, path: str, limit: int = READ_LIMIT) -> bytes:
        with self._locate(path) as loc:
            if loc.name == ".":
                raise IsADirectoryError(f"{path} is a directory")
            try:
                fd = loc.open(os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
            except OSError as exc:
                raise self._os_error(path, exc) from None
        try:
            return read_bounded(fd, path, limit)
        finally:
            os.close(fd)

    def write_bytes(self, path: str, data: bytes) -> None:
        with self._locate(path, make_dirs=True) as loc:
            if loc.name == ".":
                raise IsADirectoryError(f"{path} is a directory")
            try:
                write_replacing(loc.dir_fd, loc.name, data, owner=self.owner)
            except IsADirectoryError:
                raise IsADirectoryError(f"{path} is a directory") from None
            except OSError as exc:
                raise self._os_error(path, exc) from None

    def stat(self, path: str) -> FileInfo | None:
        try:
            with self._locate(path) as loc:
                st = os.stat(loc.name, dir_fd=loc.dir_fd, follow_symlinks=False)
                return _file_info(self._view(loc.parts), st, is_link=loc.via_link)
        except (FileNotFoundError, NotADirectoryError):
            return None

    def list_dir(self, path: str) -> list[FileInfo]:
        with self._locate(path) as loc, self._open_dir(path, loc) as fd:
            out = []
            for name in sorted(os.listdir(fd)):
                info = self._info_at(fd, name, (*loc.parts, name))
                if info is not None:
                    out.append(info)
            return out

    def walk(self, path: str, *, skip_dirs: frozenset[str] = frozenset({".git"})) -> list[FileInfo]:
        with self._locate(path) as loc:
            try:
                st = loc.lstat()
            except OSError as exc:
                raise self._os_error(path, exc) from None
            if not stat_mod.S_ISDIR(st.st_mode):
                return [_file_info(self._view(loc.parts), st, is_link=loc.via_link)]
            out: list[FileInfo] = []
            with self._open_dir(path, loc) as top:
                # fwalk holds a descriptor per folder and never descends into a symlink.
                for dirpath, dirnames, filenames, dfd in os.fwalk(
                    ".", dir_fd=top, follow_symlinks=False
                ):
                    dirnames[:] = sorted(d for d in dirnames if d not in skip_dirs)
                    below = (*loc.parts, *PurePosixPath(dirpath).parts)
                    for name in sorted(filenames):
                        info = self._info_at(dfd, name, (*below, name))
                        if info is not None and not info.is_dir:
                            out.append(info)
            return out

    @contextlib.contextmanager
    def _open_dir(self, path: str, loc: Located) -> Iterator[int]:
        try:
            fd = loc.open(os.O_RDONLY | os.O_DIRECTORY)
        except OSError as exc:
            if exc.errno == errno.ENOTDIR:
                raise NotADirectoryError(f"{path} is not a directory") from None
            raise self._os_error(path, exc) from None
        try:
            yield fd
        finally:
            os.close(fd)

    def _info_at(self, dir_fd: int, name: str, parts: tuple[str, ...]) -> FileInfo | None:
        """FileInfo for ``name`` in ``dir_fd``; a symlink is described by its target when
        that stays inside the workspace, else by the link itself."""
        try:
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except OSError:
            return None
        is_link = stat_mod.S_ISLNK(st.st_mode)
        if is_link:
            with contextlib.suppress(OSError), self._tree.locate(parts) as loc:
                st = loc.lstat()
        return _file_info(self._view(parts), st, is_link=is_link)


def _file_info(view: str, st: os.stat_result, *, is_link: bool) -> FileInfo:
    is_dir = stat_mod.S_ISDIR(st.st_mode)
    return FileInfo(
        path=view,
        is_dir=is_dir,
        size=0 if is_dir else st.st_size,
        mtime=st.st_mtime,
        is_symlink=is_link,
    )


def read_bounded(fd: int, path: str, limit: int) -> bytes:
    """A regular file's bytes from ``fd``, reading at most ``limit + 1`` of them whatever
    size it claims: FileTooLargeError when it holds more than ``limit``."""
    st = os.fstat(fd)
    if stat_mod.S_ISDIR(st.st_mode):
        raise IsADirectoryError(f"{path} is a directory")
    if not stat_mod.S_ISREG(st.st_mode):
        raise SandboxError(f"{path} is not a regular file")
    too_large = FileTooLargeError(
        f"{path} is larger than the read limit of {limit:,} bytes; nothing was read"
    )
    if st.st_size > limit:
        raise too_large
    data = read_at_most(fd, limit + 1)
    if len(data) > limit:
        raise too_large
    return data
