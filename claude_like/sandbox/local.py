"""LocalSandbox: tools act on the host, confined to the workspace folder.

File tools cannot leave the workspace. The shell is the user's own (a persistent bash
on the host): it is as powerful as the user, so untrusted work belongs in the Docker
sandbox.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from claude_like.sandbox.base import (
    DEFAULT_COMMAND_TIMEOUT,
    DEFAULT_OUTPUT_LIMIT,
    ExecResult,
    FileInfo,
    Sandbox,
    WorkspaceFiles,
)
from claude_like.sandbox.shell import ShellSession


class LocalShellProcess:
    """A host ``bash`` in a session of its own, so its whole tree can be found."""

    def __init__(self, cwd: str, env: dict[str, str] | None) -> None:
        self.popen = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            start_new_session=True,
        )
        assert self.popen.stdin is not None and self.popen.stdout is not None
        self._fd = self.popen.stdout.fileno()

    def write(self, data: bytes) -> None:
        assert self.popen.stdin is not None
        try:
            self.popen.stdin.write(data)
            self.popen.stdin.flush()
        except BrokenPipeError:
            pass

    def read(self, timeout: float) -> bytes | None:
        ready, _, _ = select.select([self._fd], [], [], max(timeout, 0.0))
        if not ready:
            return None
        return os.read(self._fd, 65536)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait()
        for stream in (self.popen.stdin, self.popen.stdout):
            if stream is not None:
                stream.close()


def kill_host_session(sid: int) -> None:
    """Interrupt the shell ``sid`` and kill every other process of its session."""
    if sid <= 0:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(sid, signal.SIGUSR1)  # the shell abandons the rest of the command line
    proc = Path("/proc")
    if not proc.is_dir():
        subprocess.run(["sh", "-c", _ps_kill_script(), "sh", str(sid)], check=False)
        return
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == sid:
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 3 and int(fields[3]) == sid:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(entry.name), signal.SIGKILL)


def _ps_kill_script() -> str:
    from claude_like.sandbox.shell import KILL_SESSION_SCRIPT

    return KILL_SESSION_SCRIPT


class LocalSandbox(WorkspaceFiles, Sandbox):
    """Runs tools on this machine, confined to ``workspace`` for every file operation."""

    def __init__(
        self,
        workspace: str | os.PathLike[str],
        *,
        output_limit: int = DEFAULT_OUTPUT_LIMIT,
        default_timeout: float = DEFAULT_COMMAND_TIMEOUT,
        env: dict[str, str] | None = None,
    ) -> None:
        WorkspaceFiles.__init__(self, workspace)
        self._env = env
        self._state_dir = tempfile.mkdtemp(prefix="claude-like-shell-")
        self.shell = ShellSession(
            lambda: LocalShellProcess(self.root, self._env),
            kill_host_session,
            cwd=self.root,
            state_file=os.path.join(self._state_dir, "exports.sh"),
            output_limit=output_limit,
            default_timeout=default_timeout,
        )

    def execute(self, command: str, timeout: float | None = None) -> ExecResult:
        return self.shell.run(command, timeout)

    def close(self) -> None:
        self.shell.close()
        shutil.rmtree(self._state_dir, ignore_errors=True)

    def __repr__(self) -> str:
        return f"LocalSandbox({self.root!r})"


__all__ = ["FileInfo", "LocalSandbox"]
