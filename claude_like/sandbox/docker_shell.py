"""A bash inside a container, driven over one ``docker exec`` attach socket.

``docker exec`` without a TTY multiplexes stdout and stderr into frames (an 8-byte header:
stream id, three zero bytes, big-endian payload length); :class:`DockerShellProcess`
undoes that and offers the :class:`~claude_like.sandbox.shell.ShellProcess` protocol, so
the shared :class:`~claude_like.sandbox.shell.ShellSession` drives it like a local bash.
One exec is made per shell, not per command: that is what makes the sandbox fast.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import time
from collections.abc import Callable
from typing import Any

from claude_like.sandbox.base import SandboxError

SHELL_COMMAND = [
    "setsid",
    "-w",
    "bash",
    "--noprofile",
    "--norc",
    "-c",
    'printf "__CL_PID %s\\n" "$$"; exec bash --noprofile --norc',
]
"""bash as a session leader (its pid is the session id), announcing its pid first."""

KILL_TREE_SCRIPT = (
    'for p in $(ps -eo pid=,sid= | awk -v s="$1" \'$2==s {print $1}\'); '
    "do kill -9 $p 2>/dev/null; done; true"
)
"""``sh -c`` script killing every process of session ``$1``, the shell included."""

INIT_SCRIPT = r"""
import os, signal, sys, time

def reap(*_):
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return

def others(leaders):
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or name == "1":
            continue
        try:
            with open("/proc/%s/stat" % name, "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        pid, sid = int(name), int(fields[3])
        if leaders or pid != sid:
            out.append(pid)
    return out

def sweep(leaders):
    # Stop first (a stopped process cannot fork), until no new process shows up; then kill.
    stopped = set()
    for _ in range(1000):
        new = [p for p in others(leaders) if p not in stopped]
        if not new:
            break
        for p in new:
            try:
                os.kill(p, signal.SIGSTOP)
            except OSError:
                pass
            stopped.add(p)
    for p in stopped:
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass
    reap()

signal.signal(signal.SIGCHLD, reap)
signal.signal(signal.SIGUSR1, lambda *_: sweep(False))
signal.signal(signal.SIGUSR2, lambda *_: sweep(True))
signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
signal.signal(signal.SIGINT, lambda *_: os._exit(0))
limit = int(sys.argv[1]) if len(sys.argv) > 1 else 0
high = 0
while True:
    time.sleep(0.5)
    if limit > 0:
        count = sum(1 for name in os.listdir("/proc") if name.isdigit())
        high = high + 1 if count >= 0.9 * limit else 0
        if high >= 4:  # near the pids limit for 2 s: a fork bomb, even in the background
            sweep(False)
            high = 0
"""
"""The container's PID 1 (``python3 -c INIT_SCRIPT PIDS_LIMIT``): reaps orphans, so killed
trees leave no zombies holding the pids limit, and kills from inside without forking, for
when a fork bomb has used up every pid: SIGUSR1 kills every process but PID 1 and session
leaders (the shells), SIGUSR2 kills the shells too (sent with ``container.kill(signal=...)``).
It also sweeps by itself when the processes stay near the pids limit: a fork bomb left in
the background would otherwise cripple every later command until one timed out."""

INIT_BOOT = (
    "import os, sys\n"
    "try:\n"
    "    fd = os.memfd_create('claude-like-init', 0)\n"
    "    os.write(fd, sys.argv[1].encode())\n"
    "    os.execv(sys.executable, [sys.executable, '/proc/self/fd/%d' % fd, *sys.argv[2:]])\n"
    "except OSError:\n"
    "    del sys.argv[0]\n"
    "    exec(sys.argv[0])\n"
)
"""``python3 -c INIT_BOOT INIT_SCRIPT LIMIT``: re-executes the init from a memfd, so that
``ps`` in the sandbox shows a short ``python3 /proc/self/fd/3 256``, not the whole script."""

_HEADER = struct.Struct(">BxxxL")


class DockerShellProcess:
    """The stdin and the merged stdout/stderr of one bash started by ``docker exec``."""

    def __init__(
        self,
        api: Any,
        container_id: str,
        *,
        user: str,
        workdir: str,
        on_kill: Callable[[int], None],
        start_timeout: float = 30.0,
    ) -> None:
        exec_id = api.exec_create(
            container_id,
            SHELL_COMMAND,
            stdin=True,
            stdout=True,
            stderr=True,
            tty=False,
            user=user,
            workdir=workdir,
        )["Id"]
        raw = api.exec_start(exec_id, socket=True)
        self._holder = raw  # keeps the HTTP response (and so the socket) alive
        self._sock: socket.socket = getattr(raw, "_sock", raw)
        self._frames = bytearray()
        self._pending = bytearray()
        self._eof = False
        self._on_kill = on_kill
        self.pid = self._read_pid(start_timeout)

    def _read_pid(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._pending:
            chunk = self._read_frames(deadline - time.monotonic())
            if not chunk:
                self.close_socket()
                got = self._pending.decode(errors="replace")[-300:]
                raise SandboxError(f"the sandbox shell did not start in the container: {got!r}")
            self._pending += chunk
        line, _, rest = bytes(self._pending).partition(b"\n")
        if not line.startswith(b"__CL_PID "):
            self.close_socket()
            raise SandboxError(f"the sandbox shell did not start: {line[-300:]!r}")
        self._pending = bytearray(rest)
        return int(line.split()[1])

    # -- ShellProcess protocol ---------------------------------------------------------------
    def write(self, data: bytes) -> None:
        with contextlib.suppress(OSError):
            self._sock.sendall(data)

    def read(self, timeout: float) -> bytes | None:
        if self._pending:
            out = bytes(self._pending)
            self._pending.clear()
            return out
        return self._read_frames(timeout)

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self._on_kill(self.pid)
        self.close_socket()

    def alive(self) -> bool:
        """False when the stream has ended (the container died between two commands)."""
        if self._eof:
            return False
        try:
            ready, _, _ = select.select([self._sock], [], [], 0)
            if ready and self._sock.recv(1, socket.MSG_PEEK) == b"":
                self._eof = True
        except BlockingIOError:
            pass
        except (OSError, ValueError):
            self._eof = True
        return not self._eof

    # -- internals -----------------------------------------------------------------------------
    def close_socket(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self._sock.close()
        with contextlib.suppress(Exception):
            self._holder.close()
        self._eof = True

    def _take_payload(self) -> bytes:
        """Every complete frame's payload in the buffer (stdout and stderr alike)."""
        out = bytearray()
        buf = self._frames
        while len(buf) >= _HEADER.size:
            _stream, size = _HEADER.unpack_from(buf)
            if len(buf) < _HEADER.size + size:
                break
            out += buf[_HEADER.size : _HEADER.size + size]
            del buf[: _HEADER.size + size]
        return bytes(out)

    def _read_frames(self, timeout: float) -> bytes | None:
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            payload = self._take_payload()
            if payload:
                return payload
            if self._eof:
                return b""
            left = deadline - time.monotonic()
            try:
                ready, _, _ = select.select([self._sock], [], [], max(left, 0.0))
            except (OSError, ValueError):
                self._eof = True
                continue
            if not ready:
                return None
            try:
                data = self._sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                self._eof = True
            self._frames += data
