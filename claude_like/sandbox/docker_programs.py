"""The programs a DockerSandbox runs in its container: one persistent shell per session
name, and one-off programs (``run_program``), each under its own launcher.

A timeout interrupts a shell's command and kills everything else its launcher holds
(background jobs, ``nohup``, ``setsid``); closing a session kills its whole tree. A shell
whose container died is dropped without sending kills (its pids now mean nothing, or
another process's) and restarted in the new container.
"""

from __future__ import annotations

import contextlib
import hashlib
import signal
import threading
from dataclasses import dataclass, replace

from claude_like.sandbox.base import MAX_COMMAND_TIMEOUT, ExecResult, SandboxError
from claude_like.sandbox.docker_container import Container, ContainerDiedError
from claude_like.sandbox.docker_image import DockerUnavailableError, connect
from claude_like.sandbox.docker_shell import DockerShellProcess, ExecStream, collect
from claude_like.sandbox.shell import OutputCapture, ShellSession

INTERRUPT, STOP = int(signal.SIGUSR1), int(signal.SIGUSR2)


@dataclass
class _Session:
    shell: ShellSession
    proc: DockerShellProcess | None = None
    container_id: str = ""


class Programs:
    """Shells by session name, and one-off programs, in one sandbox's container."""

    def __init__(self, box: Container, output_limit: int, default_timeout: float) -> None:
        self._box = box
        self._output_limit = output_limit
        self._default_timeout = default_timeout
        self._sessions: dict[str, _Session] = {}
        self._lock = threading.Lock()

    # -- shells --------------------------------------------------------------------------------
    def _session(self, name: str) -> _Session:
        with self._lock:
            s = self._sessions.get(name)
            if s is None:
                tag = hashlib.sha1(name.encode("utf-8", "surrogatepass")).hexdigest()[:12]
                s = _Session(shell=None)  # type: ignore[arg-type]  # set just below
                s.shell = ShellSession(
                    lambda: self._spawn(s),
                    lambda _pid: self._signal(s, INTERRUPT),
                    cwd=self._box.spec.root,
                    state_file=f"/tmp/.claude-like-exports-{tag}.sh",
                    output_limit=self._output_limit,
                    default_timeout=self._default_timeout,
                )
                self._sessions[name] = s
            return s

    def execute(self, command: str, timeout: float | None, session: str) -> ExecResult:
        s = self._session(session)
        self._box.notes.clear()
        if s.proc is not None and not s.proc.alive():
            # The container died or was removed since the last command: start afresh
            # before sending this one, so that it runs.
            self._drop(s)
        result = s.shell.run(command, timeout)
        if self._box.notes:
            notes = list(self._box.notes)
            # The shell's own "exports restored" is wrong after a new container.
            if result.note and "restored" not in result.note:
                notes.append(result.note)
            result = replace(result, note="; ".join(notes))
        return result

    def _drop(self, s: _Session) -> None:
        """Forget a shell whose container is gone, sending no kill."""
        s.container_id = ""
        with contextlib.suppress(Exception):
            s.shell.close()
        s.proc = None

    def _signal(self, s: _Session, sig: int) -> None:
        proc = s.proc
        if proc is not None and s.container_id and self._current_id() == s.container_id:
            self._box.signal_launcher(proc.launcher, sig)

    def _current_id(self) -> str:
        c = self._box.current
        return c.id if c is not None else ""

    def close_session(self, name: str) -> None:
        with self._lock:
            s = self._sessions.pop(name, None)
        if s is not None:
            with contextlib.suppress(Exception):
                s.shell.close()

    def close_all(self) -> None:
        with self._lock:
            sessions = list(self._sessions.values())
            self._sessions.clear()
        for s in sessions:
            with contextlib.suppress(Exception):
                s.shell.close()

    def stop_everything(self) -> None:
        """Kill every process the commands started (the shells stay)."""
        with self._lock:
            sessions = list(self._sessions.values())
        for s in sessions:
            self._signal(s, INTERRUPT)
        self._box.signal_launcher(0, INTERRUPT)  # and whatever escaped its launcher

    def _spawn(self, s: _Session) -> DockerShellProcess:
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
                        on_kill=lambda _launcher: self._signal(s, STOP),
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
                s.proc, s.container_id = proc, c.id
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
