"""LocalSandbox: tools act on the host, confined to the workspace folder.

File tools cannot leave the workspace. The shell is a bash on the host with a minimal
environment (no API keys), HOME and TMPDIR in a private folder, a size limit per file
and a bound on how much the workspace may grow; everything it starts is killed on
timeout and on close. It still runs as the user, so untrusted work belongs in the Docker
sandbox.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import replace

from claude_like.sandbox.base import (
    DEFAULT_COMMAND_TIMEOUT,
    DEFAULT_OUTPUT_LIMIT,
    DEFAULT_SESSION,
    MAX_COMMAND_TIMEOUT,
    ExecResult,
    FileInfo,
    Sandbox,
    SandboxError,
    WorkspaceFiles,
)
from claude_like.sandbox.disk import (
    DEFAULT_MAX_FILE_SIZE,
    DEFAULT_MAX_WORKSPACE_GROWTH,
    GrowthGuard,
)
from claude_like.sandbox.local_program import run_program
from claude_like.sandbox.local_shell import LocalShellFactory, minimal_env
from claude_like.sandbox.shell import MAX_SESSIONS, ShellPool


def _release(shells: ShellPool, private_dir: str) -> None:
    """Stop every shell and what it started, and remove the private folder."""
    try:
        shells.close_all()
    finally:
        shutil.rmtree(private_dir, ignore_errors=True)


class LocalSandbox(WorkspaceFiles, Sandbox):
    """Runs tools on this machine, confined to ``workspace`` for every file operation.

    Shell programs see only PATH, HOME, TMPDIR, LANG and TERM, plus the host variables
    named in ``env_allow`` and the ones given in ``env``. Everything is released on
    ``close()``, when the sandbox is garbage collected, and at interpreter exit.
    """

    def __init__(
        self,
        workspace: str | os.PathLike[str],
        *,
        output_limit: int = DEFAULT_OUTPUT_LIMIT,
        default_timeout: float = DEFAULT_COMMAND_TIMEOUT,
        env: Mapping[str, str] | None = None,
        env_allow: Iterable[str] = (),
        max_file_size: int = DEFAULT_MAX_FILE_SIZE,
        max_workspace_growth: int | None = DEFAULT_MAX_WORKSPACE_GROWTH,
        max_sessions: int = MAX_SESSIONS,
    ) -> None:
        WorkspaceFiles.__init__(self, workspace)
        self.private_dir = tempfile.mkdtemp(prefix="claude-like-local-")
        """HOME and TMPDIR of the sandbox's programs (0700, removed on close)."""
        home, tmp = (os.path.join(self.private_dir, d) for d in ("home", "tmp"))
        os.mkdir(home, 0o700)
        os.mkdir(tmp, 0o700)
        self.env = minimal_env(home=home, tmp=tmp, allow=env_allow, extra=env)
        self.max_file_size = max_file_size
        self.shells = ShellPool(
            LocalShellFactory(
                cwd=self.root,
                env=self.env,
                max_file_size=max_file_size,
                output_limit=output_limit,
                default_timeout=default_timeout,
            ),
            max_sessions=max_sessions,
        )
        self._finalizer = weakref.finalize(self, _release, self.shells, self.private_dir)
        self._guard = (
            GrowthGuard([self.root, self.private_dir], max_workspace_growth)
            if max_workspace_growth is not None
            else None
        )

    # -- shell -------------------------------------------------------------------------------
    def execute(
        self, command: str, timeout: float | None = None, *, session: str = DEFAULT_SESSION
    ) -> ExecResult:
        """Run ``command`` in shell ``session``; ``timeout`` in seconds."""
        result = self.shells.run(session, command, timeout)
        problem = self._guard.check() if self._guard is not None else None
        if problem is None:
            return result
        self.stop_background_jobs()
        note = f"{problem}; background jobs were stopped"
        return replace(result, note=f"{result.note}; {note}" if result.note else note)

    def stop_background_jobs(self) -> None:
        """Kill every process the shells started, keeping the shells."""
        for shell in self.shells.sessions():
            shell.stop_jobs()

    def close_session(self, session: str) -> None:
        self.shells.close(session)

    def run_program(
        self, argv: list[str], timeout: float, *, output_limit: int = DEFAULT_OUTPUT_LIMIT
    ) -> ExecResult:
        if not self._finalizer.alive:
            raise SandboxError("this sandbox is closed")
        return run_program(
            argv,
            cwd=self.root,
            env=self.env,
            timeout=min(timeout, MAX_COMMAND_TIMEOUT),
            output_limit=output_limit,
            max_file_size=self.max_file_size,
        )

    # -- files -------------------------------------------------------------------------------
    def write_bytes(self, path: str, data: bytes) -> None:
        if self._guard is not None and (problem := self._guard.check(len(data))):
            raise SandboxError(f"{path} was not written: {problem}")
        super().write_bytes(path, data)

    # -- lifecycle ---------------------------------------------------------------------------
    def close(self) -> None:
        """Stop every shell and everything it started, remove the private folder. Returns
        at once even while a command runs (that command's result says it was stopped)."""
        self._finalizer()

    def __repr__(self) -> str:
        return f"LocalSandbox({self.root!r})"


__all__ = ["FileInfo", "LocalSandbox"]
