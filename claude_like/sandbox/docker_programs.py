"""The programs a DockerSandbox runs in its container: one persistent shell per session
name (a :class:`~claude_like.sandbox.shell.ShellPool`), and one-off programs
(``run_program``), each under its own launcher.

A timeout interrupts a shell's command and kills everything else its launcher holds
(background jobs, ``nohup``, ``setsid``); closing a session kills its whole tree. A shell
whose container died is dropped without sending kills (its pids now mean nothing, or
another process's) and restarted in the new container.
"""

from __future__ import annotations

import contextlib
import signal
from dataclasses import dataclass, replace

from claude_like.sandbox.base import MAX_COMMAND_TIMEOUT, ExecResult, SandboxError
from claude_like.sandbox.docker_container import Container, ContainerDiedError
from claude_like.sandbox.docker_image import DockerUnavailableError, connect
from claude_like.sandbox.docker_shell import DockerShellProcess, ExecStream, collect
from claude_like.sandbox.shell import OutputCapture, ShellPool, ShellSession

INTERRUPT, STOP = int(signal.SIGUSR1), int(signal.SIGUSR2)


@dataclass
class _Shell:
    """What a session's shell runs as: its process and the container it lives in."""

    proc: DockerShellProcess | None = None
    container_id: str = ""


class Programs:
    """Shells by session name (a :class:`ShellPool`), and one-off programs, in one
    sandbox's container."""

    def __init__(
        self, box: Container, output_limit: int, default_timeout: float, max_sessions: int
    ) -> None:
        self._box = box
        self._output_limit = output_limit
        self._default_timeout = default_timeout
        self._shells: dict[str, _Shell] = {}
        self.pool = ShellPool(self._new_session, max_sessions=max_sessions)

    # -- shells --------------------------------------------------------------------------------
    def _new_session(self, name: str) -> ShellSession:
        shell = self._shells[name] = _Shell()
        return ShellSession(
            lambda: self._spawn(shell),
            lambda _pid: self._signal(shell, INTERRUPT),
            cwd=self._box.spec.root,
            output_limit=self._output_limit,
            default_timeout=self._default_timeout,
        )

    def execute(self, command: str, timeout: float | None, session: str) -> ExecResult:
        session_shell = self.pool.get(session)
        shell = self._shells[session]
        self._box.notes.clear()
        if shell.proc is not None and not shell.proc.alive():
            # The container died or was removed since the last command: start afresh
            # before sending this one, so that it runs (no kill: its pids mean nothing now).
            shell.container_id = ""
            session_shell.close()
        result = session_shell.run(command, timeout)
        if self._box.notes:
            notes = list(self._box.notes)
            # The shell's own "exports restored" is wrong after a new container.
            if result.note and "restored" not in result.note:
                notes.append(result.note)
            result = replace(result, note="; ".join(notes))
        return result

    def _signal(self, shell: _Shell, sig: int) -> None:
        proc = shell.proc
        if proc is not None and shell.container_id and self._current_id() == shell.container_id:
            self._box.signal_launcher(proc.launcher, sig)

    def _current_id(self) -> str:
        c = self._box.current
        return c.id if c is not None else ""

    def close_session(self, name: str) -> None:
        self.pool.close(name)
        self._shells.pop(name, None)

    def close_all(self) -> None:
        self.pool.close_all()

    def stop_everything(self) -> None:
        """Kill every process the commands started (the shells stay)."""
        for session_shell in self.pool.sessions():
            session_shell.stop_jobs()
        self._box.signal_launcher(0, INTERRUPT)  # and whatever escaped its launcher

    def _spawn(self, shell: _Shell) -> DockerShellProcess:
        from docker.errors import APIError

        with self._engine_errors():
            for attempt in range(2):
                c = self._box.ensure()
                try:
                    proc = DockerShellProcess(
                        self._box.client.api,
                        c.id,
                        user=self._box.spec.user,
                        workdir=self._box.spec.root,
                        on_kill=lambda _launcher: self._signal(shell, STOP),
                    )
                except (APIError, SandboxError, OSError) as exc:
                    if attempt == 1:
                        raise ContainerDiedError(
                            f"could not start a shell in the sandbox container: {exc}"
                        ) from exc
                    if not self._box.settled_dead(c):
                        # Alive but unusable (e.g. no pid left): start over with a new one.
                        self._box.notes.append(
                            "the sandbox container could not start a shell and was recreated: "
                            "workspace files are kept; /tmp, home and exports were reset"
                        )
                        self._box.discard()
                    continue  # ensure() notes a death and recreates the container
                shell.proc, shell.container_id = proc, c.id
                return proc
        raise AssertionError("unreachable")

    @contextlib.contextmanager
    def _engine_errors(self):  # type: ignore[no-untyped-def]
        """Engine failures become DockerUnavailableError (engine gone) or SandboxError."""
        import requests
        from docker.errors import DockerException

        if self._box.closed:
            raise SandboxError("this sandbox is closed")
        try:
            yield
        except (requests.ConnectionError, DockerException) as exc:
            try:
                connect().close()
            except DockerUnavailableError as down:
                raise down from exc
            raise SandboxError(f"the Docker engine failed: {exc}") from exc

    # -- one-off programs ----------------------------------------------------------------------
    def run(self, argv: list[str], timeout: float, capture: OutputCapture) -> ExecResult:
        timeout = min(max(timeout, 0.1), MAX_COMMAND_TIMEOUT)
        with self._engine_errors():
            c = self._box.ensure()
            stream = ExecStream(
                self._box.client.api,
                c.id,
                argv,
                user=self._box.spec.user,
                workdir=self._box.spec.root,
                stdin=False,
            )
        try:
            timed_out = collect(stream, timeout, capture, lambda pid: self._stop_in(c.id, pid))
            code = None if timed_out else stream.exit_code()
        finally:
            stream.close_socket()
        return ExecResult(
            output=capture.text(),
            exit_code=code,
            truncated=capture.truncated,
            timed_out=timed_out,
            cwd=self._box.spec.root,
        )

    def _stop_in(self, container_id: str, launcher: int) -> None:
        if self._current_id() == container_id:
            self._box.signal_launcher(launcher, STOP)
