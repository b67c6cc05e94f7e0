"""The host side of the local sandbox's shell: a bash with a minimal environment, started
through the process launcher (subreaper, file size limit), and killed as a whole tree."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from claude_like.sandbox.processes import (
    MARKER_VAR,
    kill_processes,
    launch_argv,
    new_marker,
    signal_process,
)
from claude_like.sandbox.shell import ShellSession

EXIT_POLL = 0.25
"""Seconds between checks that the shell is still alive while it prints nothing."""

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def minimal_env(
    *,
    home: str,
    tmp: str,
    allow: Iterable[str] = (),
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment sandbox programs get: PATH, HOME and TMPDIR in the sandbox's private
    folder, LANG, TERM, the user's git identity, the host variables named in ``allow`` and
    ``extra``; never the rest of the host's environment (API keys live there)."""
    env = {
        "PATH": os.environ.get("PATH") or DEFAULT_PATH,
        "HOME": home,
        "TMPDIR": tmp,
        "LANG": os.environ.get("LANG") or "C.UTF-8",
        "TERM": "dumb",
    }
    env.update(git_identity())
    for name in allow:
        if name in os.environ:
            env[name] = os.environ[name]
    env.update(extra or {})
    return env


def git_identity() -> dict[str, str]:
    """The user's git name and email as GIT_AUTHOR_*/GIT_COMMITTER_* variables: HOME is
    private, so git would not find them, and the rest of ``~/.gitconfig`` (URLs with
    tokens, credential helpers) stays out of the sandbox."""
    out: dict[str, str] = {}
    for key, names in (
        ("user.name", ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME")),
        ("user.email", ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL")),
    ):
        try:
            value = subprocess.run(
                ["git", "config", "--global", "--get", key],
                capture_output=True,
                text=True,
                timeout=10,
                stdin=subprocess.DEVNULL,
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return {}
        if value:
            out.update(dict.fromkeys(names, value))
    return out


class LocalShellProcess:
    """A host ``bash`` as a session leader and child subreaper, tagged with a marker
    variable: everything it starts can be found and killed (see ``processes``)."""

    def __init__(self, cwd: str, env: Mapping[str, str], *, max_file_size: int) -> None:
        self.marker = new_marker()
        self.popen = subprocess.Popen(
            launch_argv(["bash", "--noprofile", "--norc"], max_file_size=max_file_size),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env={**env, MARKER_VAR: self.marker},
            start_new_session=True,
        )
        assert self.popen.stdin is not None and self.popen.stdout is not None
        self._fd = self.popen.stdout.fileno()
        self._io = threading.Lock()
        self._reading = False
        self._dead = False
        self._killed = False

    @property
    def pid(self) -> int:
        return self.popen.pid

    def write(self, data: bytes) -> None:
        with contextlib.suppress(BrokenPipeError, ValueError, OSError):
            assert self.popen.stdin is not None
            self.popen.stdin.write(data)
            self.popen.stdin.flush()

    def read(self, timeout: float) -> bytes | None:
        with self._io:
            if self._dead:
                return b""
            self._reading = True
        try:
            return self._read_or_exit(timeout)
        except (OSError, ValueError):
            return b""
        finally:
            with self._io:
                self._reading = False
                if self._dead:
                    self._close_streams()

    def _read_or_exit(self, timeout: float) -> bytes | None:
        """Wait in short slices: when the shell has exited while a background job it left
        holds the pipe open, the stream never ends, so its exit counts as the end."""
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._fd], [], [], min(max(left, 0.0), EXIT_POLL))
            if ready:
                return os.read(self._fd, 65536)
            if self._exited():
                return b""
            if left <= EXIT_POLL:
                return None

    def _exited(self) -> bool:
        """True once the shell has exited (checked without reaping it, so its pid stays
        its own until :meth:`kill`)."""
        try:
            info = os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return True
        return info is not None

    def kill_children(self) -> None:
        """Interrupt the shell (SIGUSR1: it abandons the rest of the command line) and kill
        every other process it started."""
        if self._killed:
            return
        signal_process(self.pid, signal.SIGUSR1)
        kill_processes(root=self.pid, marker=self.marker, session=self.pid, keep={self.pid})

    def kill(self) -> None:
        """Kill the shell and everything it started; a reader in another thread gets the
        end of the stream. Only once: after it the pid may belong to another process."""
        with self._io:
            if self._killed:
                return
            self._killed = True
        kill_processes(root=self.pid, marker=self.marker, session=self.pid)
        with contextlib.suppress(subprocess.TimeoutExpired, ChildProcessError):
            self.popen.wait(timeout=5)
        with self._io:
            self._dead = True
            if not self._reading:
                self._close_streams()

    def _close_streams(self) -> None:
        for stream in (self.popen.stdin, self.popen.stdout):
            if stream is not None:
                with contextlib.suppress(OSError, ValueError):
                    stream.close()


@dataclass
class LocalShellFactory:
    """Makes the local sandbox's shell sessions. Holds no reference to the sandbox, so the
    sandbox's finalizer can own the pool."""

    cwd: str
    env: Mapping[str, str]
    max_file_size: int
    output_limit: int
    default_timeout: float

    def __call__(self, name: str) -> ShellSession:
        current: dict[str, LocalShellProcess] = {}

        def spawn() -> LocalShellProcess:
            proc = LocalShellProcess(self.cwd, self.env, max_file_size=self.max_file_size)
            current["proc"] = proc
            return proc

        def kill_session(pid: int) -> None:
            proc = current.get("proc")
            if proc is not None and proc.pid == pid:
                proc.kill_children()

        return ShellSession(
            spawn,
            kill_session,
            cwd=self.cwd,
            output_limit=self.output_limit,
            default_timeout=self.default_timeout,
        )
