"""A persistent bash session driven over a byte stream, shared by every sandbox.

The working directory and exported variables persist between commands, as in a
person's terminal. Each command runs through ``eval`` with stdin from ``/dev/null``
(so a syntax error or a reader of stdin cannot swallow the protocol), and is followed
by an end record carrying a per-session nonce, its exit status, the new ``$PWD`` and the
exported variables (kept in memory, never written to disk). On timeout the shell gets
SIGUSR1, trapped to ``return`` from the function running the command (so the rest of a
``build; deploy`` line never runs, and a builtin loop ends), and every other process the
session started is killed (background jobs included). If the shell still does not come
back, or it exited, it is restarted with its last directory and exports restored.

Timeouts are in seconds everywhere in this module.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import shlex
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

from claude_like.sandbox.base import (
    DEFAULT_COMMAND_TIMEOUT,
    DEFAULT_OUTPUT_LIMIT,
    MAX_COMMAND_TIMEOUT,
    ExecResult,
    SandboxError,
)
from claude_like.sandbox.shell_stream import CommandStream, OutputCapture, decode_output

SHELL_OUTPUT_LIMIT = 2_000_000
"""Least output (bytes) a command may produce before the shell drops its middle. Only a
bound against floods: the tool node saves an oversized result whole to a file, so the
shell must not cut output to the context's size (sandboxes still pass that smaller
``DEFAULT_OUTPUT_LIMIT``; a larger ``output_limit`` is kept as given)."""

KILL_GRACE_SECONDS = 2.0
"""How long the shell has to print its end record after the command's tree is killed."""

START_SECONDS = 30.0
"""How long a new shell has to announce itself."""

SHELL_SETUP = (
    "__cl_run() { eval \"$__cl_cmd\"; }\n"
    "trap 'return 124 2>/dev/null' USR1\n"
    "exec 2>/dev/null\n"
)
"""Commands run inside ``__cl_run``; the USR1 trap returns from it, abandoning the rest.
The shell's own stderr goes nowhere: a command's stderr is redirected to its output, and
what is left are notices about background jobs ("Killed ..."), which would otherwise
show up in the next command's output."""

STOPPED_NOTE = "the command was stopped because its shell session was closed"


class ShellProcess(Protocol):
    """A running ``bash`` whose stdin and merged stdout/stderr we hold."""

    def write(self, data: bytes) -> None: ...

    def read(self, timeout: float) -> bytes | None:
        """Next bytes; ``b""`` at end of stream; None if nothing came within ``timeout``."""
        ...

    def kill(self) -> None:
        """Kill the shell and everything it started; safe while another thread reads."""
        ...


class ShellDiedError(SandboxError):
    """The shell's stream ended (the command ran ``exit``, or the sandbox was killed)."""


class SessionClosedError(SandboxError):
    """The session was closed for good (by its pool) before the command could start."""


class ShellSession:
    """One persistent bash, restarted transparently when it dies.

    ``spawn`` starts a fresh ``bash`` (as a session leader, so that its whole tree can be
    found); ``kill_session(pid)`` interrupts the shell ``pid`` and kills every other
    process it started.
    """

    def __init__(
        self,
        spawn: Callable[[], ShellProcess],
        kill_session: Callable[[int], None],
        *,
        cwd: str,
        output_limit: int = DEFAULT_OUTPUT_LIMIT,
        default_timeout: float = DEFAULT_COMMAND_TIMEOUT,
        max_timeout: float = MAX_COMMAND_TIMEOUT,
    ) -> None:
        self._spawn = spawn
        self._kill_session = kill_session
        self.cwd = cwd
        self.exports = ""
        """The last ``export -p`` of the shell, replayed into a restarted shell."""
        self.output_limit = max(output_limit, SHELL_OUTPUT_LIMIT)
        self.default_timeout = default_timeout
        self.max_timeout = max_timeout
        self._lock = threading.Lock()
        self._proc: ShellProcess | None = None
        self._pid = 0
        self._closes = 0
        self._retired = False
        self._nonce = secrets.token_hex(8)

    # -- lifecycle ------------------------------------------------------------------------
    @property
    def pid(self) -> int:
        """The shell's pid in its own namespace (0 before it starts)."""
        return self._pid

    @property
    def busy(self) -> bool:
        """True while a command runs."""
        return self._lock.locked()

    def _start(self, restore: bool) -> None:
        proc = self._spawn()
        ready = f"__CL_READY_{self._nonce}"
        lines = ["export PS1='' PS2=''", "unset HISTFILE", SHELL_SETUP]
        if restore and self.exports:
            lines.append(f"eval {shlex.quote(self.exports)} >/dev/null 2>&1")
        lines.append(f"cd {shlex.quote(self.cwd)} 2>/dev/null")
        lines.append(f"printf '{ready} %s\\n' \"$$\"")
        proc.write(("\n".join(lines) + "\n").encode("utf-8", "surrogateescape"))
        pattern = re.compile(rf"{ready} (\d+)\n".encode())
        data = bytearray()
        deadline = time.monotonic() + START_SECONDS
        while not (m := pattern.search(data)):
            left = deadline - time.monotonic()
            chunk = proc.read(left) if left > 0 else None
            if not chunk:
                proc.kill()
                raise SandboxError("the sandbox shell did not start: " + decode_output(data)[-500:])
            data += chunk
        self._pid = int(m.group(1))
        self._proc = proc

    def close(self, *, final: bool = False) -> None:
        """Kill the shell and everything it started, without waiting for a running command
        (it ends at once and its result says it was stopped). The next command starts a
        fresh shell in the last directory with the last exports, unless ``final``: then it
        raises :class:`SessionClosedError` (a pool has forgotten this session)."""
        self._retired = self._retired or final
        self._closes += 1
        proc = self._proc
        if proc is not None:
            proc.kill()
        if self._lock.acquire(blocking=False):
            self._proc = None
            self._lock.release()

    def stop_jobs(self) -> None:
        """Kill every process the shell started (background jobs too); the shell stays."""
        if self._proc is not None:
            with contextlib.suppress(Exception):
                self._kill_session(self._pid)

    # -- commands -------------------------------------------------------------------------
    def run(self, command: str, timeout: float | None = None) -> ExecResult:
        """Run ``command``; ``timeout`` in seconds (default ``default_timeout``, at most
        ``max_timeout``; a larger value is lowered to it and the result says so)."""
        seconds, note = self._seconds(timeout)
        with self._lock:
            if self._retired:
                raise SessionClosedError("this shell session was closed")
            if self._proc is None:
                self._start(restore=self._pid != 0)
            if self._retired:  # closed while the shell started
                self._proc.kill()
                self._proc = None
                raise SessionClosedError("this shell session was closed")
            closes = self._closes
            try:
                result = self._run_locked(command, seconds)
            except ShellDiedError as exc:
                result = self._after_death(
                    str(exc.args[0]) if exc.args else "", stopped=self._closes != closes
                )
        if note:
            result = _with_note(result, note)
        return result

    def _seconds(self, timeout: float | None) -> tuple[float, str]:
        if timeout is None:
            return self.default_timeout, ""
        if timeout > self.max_timeout:
            return self.max_timeout, (
                f"the timeout {timeout:g} s is above the most allowed, "
                f"{self.max_timeout:g} s, which was used"
            )
        return max(timeout, 0.1), ""

    def _after_death(self, output: str, *, stopped: bool) -> ExecResult:
        if self._proc is not None:
            self._proc.kill()  # what the shell left running goes with it
        self._proc = None
        if stopped:
            return ExecResult(output=output, exit_code=None, cwd=self.cwd, note=STOPPED_NOTE)
        return ExecResult(output=output, exit_code=None, cwd=self.cwd, note=self._restart("exited"))

    def _restart(self, what: str) -> str:
        """Start a fresh shell with the last directory and exports; a note saying so."""
        try:
            self._start(restore=True)
        except SandboxError as exc:
            return f"the shell {what} and could not be restarted: {exc}"
        return f"the shell {what} and was restarted; directory and exports restored"

    def _wrap(self, command: str) -> bytes:
        script = (
            f"__cl_cmd={shlex.quote(command)}\n"
            "__cl_run </dev/null 2>&1\n"
            "__cl_ec=$?\n"
            "__cl_env=$(export -p)\n"
            f"printf '\\n__CL_END_{self._nonce} %d\\0%s\\0%s\\0' "
            '"$__cl_ec" "$PWD" "$__cl_env"\n'
        )
        return script.encode("utf-8", "surrogateescape")

    def _run_locked(self, command: str, timeout: float) -> ExecResult:
        assert self._proc is not None
        proc = self._proc
        closes = self._closes
        stream = CommandStream(self._nonce, self.output_limit)
        proc.write(self._wrap(command))
        deadline = time.monotonic() + timeout
        timed_out = False
        while True:
            left = deadline - time.monotonic()
            chunk = proc.read(left) if left > 0 else None
            if chunk is None:
                if timed_out:  # the shell itself is stuck (e.g. a builtin loop)
                    return self._replace_stuck_shell(stream, stopped=self._closes != closes)
                timed_out = True
                self._kill_session(self._pid)
                deadline = time.monotonic() + KILL_GRACE_SECONDS
                continue
            if chunk == b"":
                raise ShellDiedError(stream.rest())
            record = stream.feed(chunk)
            if record is not None:
                if self._closes != closes:  # closed meanwhile: the shell was killed
                    raise ShellDiedError(stream.capture.text())
                return self._finish(stream, record, timed_out)

    def _finish(
        self, stream: CommandStream, record: tuple[int, str, str], timed_out: bool
    ) -> ExecResult:
        status, cwd, exports = record
        self.cwd = cwd or self.cwd
        self.exports = exports
        return ExecResult(
            output=stream.capture.text(),
            exit_code=None if timed_out else status,
            truncated=stream.capture.truncated,
            timed_out=timed_out,
            cwd=self.cwd,
        )

    def _replace_stuck_shell(self, stream: CommandStream, *, stopped: bool) -> ExecResult:
        output = stream.rest()
        assert self._proc is not None
        self._proc.kill()
        self._proc = None
        note = STOPPED_NOTE if stopped else self._restart("was stuck")
        return ExecResult(
            output=output,
            exit_code=None,
            truncated=stream.capture.truncated,
            timed_out=True,
            cwd=self.cwd,
            note=note,
        )


def _with_note(result: ExecResult, note: str) -> ExecResult:
    return replace(result, note=f"{result.note}; {note}" if result.note else note)


MAX_SESSIONS = 8
"""Shells a pool keeps; beyond it the least recently used idle one is closed."""


class ShellPool:
    """One :class:`ShellSession` per session name (each conversation thread has its own), so
    that one thread's ``cd`` and ``export`` never reach another.

    Sessions are made on first use by ``factory(name)``; beyond ``max_sessions`` the least
    recently used idle session is closed (a later command in it starts a fresh shell).
    """

    def __init__(
        self, factory: Callable[[str], ShellSession], *, max_sessions: int = MAX_SESSIONS
    ) -> None:
        self._factory = factory
        self.max_sessions = max(max_sessions, 1)
        self._sessions: OrderedDict[str, ShellSession] = OrderedDict()
        self._lock = threading.Lock()
        self._closed = False

    def get(self, name: str) -> ShellSession:
        """The session ``name``, made on first use; marks it most recently used."""
        with self._lock:
            if self._closed:
                raise SandboxError("this sandbox is closed")
            session = self._sessions.get(name)
            if session is None:
                session = self._factory(name)
                self._sessions[name] = session
            self._sessions.move_to_end(name)
            evicted = self._evict_locked(keep=name)
        for old in evicted:
            old.close(final=True)
        return session

    def run(self, name: str, command: str, timeout: float | None = None) -> ExecResult:
        """Run ``command`` in session ``name`` (a fresh shell if the session was closed by
        another thread between the lookup and the start)."""
        for _ in range(3):
            try:
                return self.get(name).run(command, timeout)
            except SessionClosedError:
                continue
        raise SandboxError(f"the shell session {name!r} keeps being closed; try again")

    def _evict_locked(self, keep: str) -> list[ShellSession]:
        evicted: list[ShellSession] = []
        for name in list(self._sessions):
            if len(self._sessions) <= self.max_sessions:
                break
            session = self._sessions[name]
            if name != keep and not session.busy:
                evicted.append(self._sessions.pop(name))
        return evicted

    @property
    def names(self) -> list[str]:
        """Open sessions, least recently used first."""
        with self._lock:
            return list(self._sessions)

    def sessions(self) -> list[ShellSession]:
        with self._lock:
            return list(self._sessions.values())

    def close(self, name: str) -> None:
        """Stop the session ``name`` and every process it started (no-op if unknown)."""
        with self._lock:
            session = self._sessions.pop(name, None)
        if session is not None:
            session.close(final=True)

    def close_all(self) -> None:
        """Stop every session; later ``get`` calls raise. Never waits for a running command."""
        with self._lock:
            self._closed = True
            sessions = list(self._sessions.values())
            self._sessions.clear()
        for session in sessions:
            session.close(final=True)


__all__ = [
    "SHELL_OUTPUT_LIMIT",
    "CommandStream",
    "OutputCapture",
    "SessionClosedError",
    "ShellPool",
    "ShellProcess",
    "ShellSession",
]
