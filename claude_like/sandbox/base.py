"""The Sandbox interface: the single door between the agent's tools and the outside world.

Tools never call ``subprocess`` or ``open()`` themselves. They ask a sandbox, which
confines every path to the workspace and runs shell commands in a persistent session.
An implementation provides a shell session and, through :class:`WorkspaceFiles`, file
access to a host folder that the sandbox shows under its own ``root``.
"""

from __future__ import annotations

import os
import stat as stat_mod
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import TracebackType

DEFAULT_COMMAND_TIMEOUT = 120.0
MAX_COMMAND_TIMEOUT = 600.0
DEFAULT_OUTPUT_LIMIT = 30_000
READ_LIMIT = 16 * 1024 * 1024
"""The most bytes one read brings from the sandbox into the host process, whatever size
the file claims (a sparse file can claim gigabytes)."""
DEFAULT_SESSION = "main"
"""The shell session a command runs in when the caller names none (one per thread)."""


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
    """True when the middle of the output was dropped to respect the output limit."""
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
        persist within it; each conversation thread has its own)."""

    def run_program(
        self, argv: list[str], timeout: float, *, output_limit: int = DEFAULT_OUTPUT_LIMIT
    ) -> ExecResult:
        """Run one program (no shell, no session state) from the workspace root with a time
        limit, killing its whole tree when the time is up. Tools use it for work that must
        not run in the host process, e.g. Grep's ripgrep on a model-written regex."""
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
    Docker sandbox under its mount point. Symlinks are resolved on the host, so a link
    made inside a container that points out of the workspace is refused too.
    """

    def __init__(self, host_dir: str | os.PathLike[str], root: str | None = None) -> None:
        self.host_dir = Path(host_dir).resolve()
        if not self.host_dir.is_dir():
            raise SandboxError(f"workspace {self.host_dir} is not a directory")
        self.root = root or str(self.host_dir)

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

    def resolve(self, path: str) -> str:
        return self._to_view(self.host_path(path))

    def host_path(self, path: str) -> Path:
        """The host path for a sandbox path, following symlinks; refuses escapes."""
        p = self._normalise(path)
        try:
            rel = p.relative_to(self.root)
        except ValueError:
            raise self._outside(path) from None
        host = self.host_dir.joinpath(*rel.parts)
        real = Path(os.path.realpath(host))
        if real != self.host_dir and self.host_dir not in real.parents:
            raise self._outside(path)
        return real

    def _to_view(self, host: Path) -> str:
        rel = host.relative_to(self.host_dir)
        return str(PurePosixPath(self.root, *rel.parts))

    def _info(self, host: Path, view: str) -> FileInfo:
        st = os.lstat(host)
        is_link = stat_mod.S_ISLNK(st.st_mode)
        if is_link:
            try:
                target = self.host_path(view)
                st = os.stat(target)
            except (PathOutsideWorkspaceError, OSError):
                pass
        is_dir = stat_mod.S_ISDIR(st.st_mode)
        return FileInfo(
            path=view,
            is_dir=is_dir,
            size=0 if is_dir else st.st_size,
            mtime=st.st_mtime,
            is_symlink=is_link,
        )

    # -- operations ----------------------------------------------------------------------
    def read_bytes(self, path: str) -> bytes:
        host = self.host_path(path)
        if host.is_dir():
            raise IsADirectoryError(f"{path} is a directory")
        if not host.exists():
            raise FileNotFoundError(f"{path} does not exist")
        if not host.is_file():
            raise SandboxError(f"{path} is not a regular file")
        return host.read_bytes()

    def write_bytes(self, path: str, data: bytes) -> None:
        host = self.host_path(path)
        if host.is_dir():
            raise IsADirectoryError(f"{path} is a directory")
        created = self._make_parents(host.parent)
        tmp = host.with_name(f".{host.name}.claude-like-tmp")
        tmp.write_bytes(data)
        if host.exists():
            os.chmod(tmp, stat_mod.S_IMODE(os.stat(host).st_mode))
        os.replace(tmp, host)
        self._owned(host)
        for d in created:
            self._owned(d)

    def _make_parents(self, parent: Path) -> list[Path]:
        missing: list[Path] = []
        p = parent
        while not p.exists():
            missing.append(p)
            p = p.parent
        parent.mkdir(parents=True, exist_ok=True)
        return missing

    def _owned(self, host: Path) -> None:
        """Hook: give a created file to the sandbox's user (the Docker sandbox chowns)."""

    def stat(self, path: str) -> FileInfo | None:
        host = self.host_path(path)
        if not os.path.lexists(host):
            return None
        return self._info(host, self._to_view(host))

    def list_dir(self, path: str) -> list[FileInfo]:
        host = self.host_path(path)
        if not host.exists():
            raise FileNotFoundError(f"{path} does not exist")
        if not host.is_dir():
            raise NotADirectoryError(f"{path} is not a directory")
        view = self._to_view(host)
        out = []
        for name in sorted(os.listdir(host)):
            try:
                out.append(self._info(host / name, str(PurePosixPath(view, name))))
            except OSError:
                continue
        return out

    def walk(self, path: str, *, skip_dirs: frozenset[str] = frozenset({".git"})) -> list[FileInfo]:
        host = self.host_path(path)
        if not host.exists():
            raise FileNotFoundError(f"{path} does not exist")
        view = self._to_view(host)
        if not host.is_dir():
            return [self._info(host, view)]
        out: list[FileInfo] = []
        for dirpath, dirnames, filenames in os.walk(host):
            dirnames[:] = sorted(d for d in dirnames if d not in skip_dirs)
            rel = Path(dirpath).relative_to(host)
            for name in sorted(filenames):
                entry_view = str(PurePosixPath(view, *rel.parts, name))
                try:
                    info = self._info(Path(dirpath) / name, entry_view)
                except OSError:
                    continue
                if not info.is_dir:
                    out.append(info)
        return out
