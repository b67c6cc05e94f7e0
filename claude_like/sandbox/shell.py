"""A persistent bash session driven over a byte stream, shared by every sandbox.

The working directory and exported variables persist between commands, as in a
person's terminal. Each command runs through ``eval`` with stdin from ``/dev/null``
(so a syntax error or a reader of stdin cannot swallow the protocol), and is followed
by an end marker carrying a per-session nonce, its exit status and the new ``$PWD``.
On timeout the shell gets SIGUSR1, trapped to ``return`` from the function running the
command (so the rest of a ``build; deploy`` line never runs, and a builtin loop ends),
and every other process of its session is killed (the whole process tree, background
jobs included). If the shell still does not come back, or it exited, it is restarted
with its last directory and exports restored.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import shlex
import threading
import time
from collections.abc import Callable
from typing import Protocol

from claude_like.sandbox.base import (
    DEFAULT_COMMAND_TIMEOUT,
    DEFAULT_OUTPUT_LIMIT,
    MAX_COMMAND_TIMEOUT,
    ExecResult,
    SandboxError,
)

SHELL_OUTPUT_LIMIT = 2_000_000
"""Least output (bytes) a command may produce before the shell drops its middle. Only a
bound against floods: the tool node saves an oversized result whole to a file, so the
shell must not cut output to the context's size (sandboxes still pass that smaller
``DEFAULT_OUTPUT_LIMIT``; a larger ``output_limit`` is kept as given)."""

KILL_GRACE_SECONDS = 2.0
"""How long the shell has to print its end marker after the command's tree is killed."""

KILL_SESSION_SCRIPT = (
    'kill -USR1 "$1" 2>/dev/null; '
    'for p in $(ps -eo pid=,sid= | awk -v s="$1" \'$2==s && $1!=s {print $1}\'); '
    "do kill -9 $p 2>/dev/null; done; true"
)
"""``sh -c`` script: interrupt shell ``$1`` (SIGUSR1) and kill every other process of its
session."""

SHELL_SETUP = (
    "__cl_run() { eval \"$__cl_cmd\"; }\n"
    "trap 'return 124 2>/dev/null' USR1\n"
)
"""Commands run inside ``__cl_run``; the USR1 trap returns from it, abandoning the rest."""


class ShellProcess(Protocol):
    """A running ``bash`` whose stdin and merged stdout/stderr we hold."""

    def write(self, data: bytes) -> None: ...

    def read(self, timeout: float) -> bytes | None:
        """Next bytes; ``b""`` at end of stream; None if nothing came within ``timeout``."""
        ...

    def kill(self) -> None: ...


class ShellDiedError(SandboxError):
    """The shell's stream ended (the command ran ``exit``, or the sandbox was killed)."""


class OutputCapture:
    """Keeps the head and the tail of a stream of bytes within a budget, never stalling."""

    def __init__(self, limit: int) -> None:
        self.half = max(limit // 2, 1)
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def add(self, data: bytes | bytearray) -> None:
        self.total += len(data)
        room = self.half - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            if len(self.tail) > 2 * self.half:
                del self.tail[: len(self.tail) - self.half]

    @property
    def truncated(self) -> bool:
        return self.total > len(self.head) + min(len(self.tail), self.half)

    def text(self) -> str:
        tail = self.tail[-self.half :] if len(self.tail) > self.half else self.tail
        head_s = self.head.decode("utf-8", errors="replace")
        tail_s = bytes(tail).decode("utf-8", errors="replace")
        if not self.truncated:
            return (self.head + tail).decode("utf-8", errors="replace")
        omitted = self.total - len(self.head) - len(tail)
        return f"{head_s}\n\n[... {omitted} bytes of output omitted ...]\n\n{tail_s}"


class ShellSession:
    """One persistent bash, restarted transparently when it dies.

    ``spawn`` starts a fresh ``bash`` (as a session leader, so that its whole tree can be
    found); ``kill_session`` kills every process of a session except the leader.
    """

    def __init__(
        self,
        spawn: Callable[[], ShellProcess],
        kill_session: Callable[[int], None],
        *,
        cwd: str,
        state_file: str,
        output_limit: int = DEFAULT_OUTPUT_LIMIT,
        default_timeout: float = DEFAULT_COMMAND_TIMEOUT,
        max_timeout: float = MAX_COMMAND_TIMEOUT,
    ) -> None:
        self._spawn = spawn
        self._kill_session = kill_session
        self.cwd = cwd
        self._state_file = state_file
        self.output_limit = max(output_limit, SHELL_OUTPUT_LIMIT)
        self.default_timeout = default_timeout
        self.max_timeout = max_timeout
        self._lock = threading.Lock()
        self._proc: ShellProcess | None = None
        self._pid = 0
        self._nonce = secrets.token_hex(8)

    # -- lifecycle ------------------------------------------------------------------------
    @property
    def pid(self) -> int:
        """The shell's pid in its own namespace (0 before it starts)."""
        return self._pid

    def _start(self, restore: bool) -> None:
        proc = self._spawn()
        ready = f"__CL_READY_{self._nonce}"
        lines = ["export PS1='' PS2=''", "unset HISTFILE", SHELL_SETUP]
        if restore:
            lines.append(f". {shlex.quote(self._state_file)} >/dev/null 2>&1")
        lines.append(f"cd {shlex.quote(self.cwd)} 2>/dev/null")
        lines.append(f"printf '{ready} %s\\n' \"$$\"")
        proc.write(("\n".join(lines) + "\n").encode())
        data = bytearray()
        deadline = time.monotonic() + 30
        while True:
            m = re.search(rf"{ready} (\d+)\n".encode(), data)
            if m:
                self._pid = int(m.group(1))
                break
            left = deadline - time.monotonic()
            chunk = proc.read(max(left, 0.0)) if left > 0 else None
            if not chunk:
                proc.kill()
                raise SandboxError(
                    "the sandbox shell did not start: " + data.decode(errors="replace")[-500:]
                )
            data += chunk
        self._proc = proc

    def close(self) -> None:
        with self._lock:
            if self._proc is not None:
                with contextlib.suppress(Exception):
                    self._kill_session(self._pid)
                self._proc.kill()
                self._proc = None

    # -- commands -------------------------------------------------------------------------
    def run(self, command: str, timeout: float | None = None) -> ExecResult:
        timeout = self.default_timeout if timeout is None else timeout
        timeout = min(max(timeout, 0.1), self.max_timeout)
        with self._lock:
            if self._proc is None:
                self._start(restore=self._pid != 0)
            try:
                return self._run_locked(command, timeout)
            except ShellDiedError as exc:
                self._proc = None
                return ExecResult(
                    output=str(exc.args[0]) if exc.args else "",
                    exit_code=None,
                    cwd=self.cwd,
                    note=self._restart("exited"),
                )

    def _restart(self, what: str) -> str:
        """Start a fresh shell with the last directory and exports; a note saying so."""
        try:
            self._start(restore=True)
        except SandboxError as exc:
            return f"the shell {what} and could not be restarted: {exc}"
        return f"the shell {what} and was restarted; directory and exports restored"

    def _wrap(self, command: str) -> bytes:
        end = f"__CL_END_{self._nonce}"
        script = (
            f"__cl_cmd={shlex.quote(command)}\n"
            "__cl_run </dev/null 2>&1\n"
            "__cl_ec=$?\n"
            f"export -p > {shlex.quote(self._state_file)} 2>/dev/null\n"
            f"printf '\\n{end} %d %s\\n' \"$__cl_ec\" \"$PWD\"\n"
        )
        return script.encode()

    def _run_locked(self, command: str, timeout: float) -> ExecResult:
        assert self._proc is not None
        proc = self._proc
        end = f"__CL_END_{self._nonce} ".encode()
        capture = OutputCapture(self.output_limit)
        buf = bytearray()
        proc.write(self._wrap(command))
        deadline = time.monotonic() + timeout
        timed_out = False
        while True:
            idx = buf.find(end)
            if idx >= 0:
                nl = buf.find(b"\n", idx)
                if nl >= 0:
                    body = buf[:idx]
                    if body.endswith(b"\n"):
                        body = body[:-1]
                    capture.add(body)
                    trailer = buf[idx + len(end) : nl].decode(errors="replace")
                    code_s, _, cwd = trailer.partition(" ")
                    self.cwd = cwd or self.cwd
                    return ExecResult(
                        output=capture.text(),
                        exit_code=None if timed_out else int(code_s),
                        truncated=capture.truncated,
                        timed_out=timed_out,
                        cwd=self.cwd,
                    )
            elif len(buf) > len(end):
                capture.add(buf[: -len(end)])
                del buf[: -len(end)]
            left = deadline - time.monotonic()
            chunk = proc.read(left) if left > 0 else None
            if chunk is None:
                if timed_out:
                    # The shell itself is stuck (e.g. a builtin loop): replace it.
                    return self._replace_stuck_shell(capture, buf)
                timed_out = True
                self._kill_session(self._pid)
                deadline = time.monotonic() + KILL_GRACE_SECONDS
                continue
            if chunk == b"":
                capture.add(buf)
                raise ShellDiedError(capture.text())
            buf += chunk

    def _replace_stuck_shell(self, capture: OutputCapture, buf: bytearray) -> ExecResult:
        capture.add(buf)
        assert self._proc is not None
        self._proc.kill()
        self._proc = None
        note = self._restart("was stuck")
        return ExecResult(
            output=capture.text(),
            exit_code=None,
            truncated=capture.truncated,
            timed_out=True,
            cwd=self.cwd,
            note=note,
        )
