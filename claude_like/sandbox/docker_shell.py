"""Programs inside the container, each driven over one ``docker exec`` attach socket.

Every program (each session's bash, each ``run_program``) starts under the launcher of
:mod:`~claude_like.sandbox.docker_inside` (seccomp filter, child subreaper), which
announces its pids first. ``docker exec`` without a TTY multiplexes stdout and stderr
into frames (an 8-byte header: stream id, three zero bytes, big-endian payload length);
:class:`ExecStream` undoes that. :class:`DockerShellProcess` offers the
:class:`~claude_like.sandbox.shell.ShellProcess` protocol, so the shared
:class:`~claude_like.sandbox.shell.ShellSession` drives it like a local bash: one exec per
shell, not per command, is what makes the sandbox fast.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import struct
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from claude_like.sandbox.base import SandboxError
from claude_like.sandbox.shell import OutputCapture

INSIDE_SOURCE = (Path(__file__).with_name("docker_inside.py")).read_text()
"""The code run inside the container (PID 1, the launcher of every program, the killer)."""

BOOT = (
    "import os, sys\n"
    "try:\n"
    "    fd = os.memfd_create('claude-like', 0)\n"
    "    os.write(fd, sys.argv[1].encode())\n"
    "    os.execv(sys.executable, [sys.executable, '-I', '/proc/self/fd/%d' % fd, *sys.argv[2:]])\n"
    "except OSError:\n"
    "    del sys.argv[0]\n"
    "    exec(compile(sys.argv[0], 'docker_inside', 'exec'))\n"
)
"""``python3 -I -c BOOT SOURCE ROLE ARGS``: re-executes the source from a memfd, so that
``ps`` in the sandbox shows a short ``python3 -I /proc/self/fd/3 launch 62617368``, not the
source. ``-I`` (isolated): these run in the workspace folder, where the model could plant
a ``ctypes.py``; isolated Python imports nothing from there, nor from PYTHON* variables."""


PYTHON = ["python3", "-I"]


def inside(role: str, *args: str) -> list[str]:
    """The argv running :mod:`~claude_like.sandbox.docker_inside` as ``role``."""
    return [*PYTHON, "-c", BOOT, INSIDE_SOURCE, role, *args]


SHELL_ARGV = ["bash", "--noprofile", "--norc"]

_HEADER = struct.Struct(">BxxxL")
STOP_GRACE_SECONDS = 5.0
"""How long a stopped program's stream has to end before its socket is simply closed."""


class ExecStream:
    """One ``docker exec`` of the launcher: its stdin, its merged output, and the pids it
    announced (the program's and the launcher's, in the container's pid namespace)."""

    def __init__(
        self,
        api: Any,
        container_id: str,
        argv: list[str],
        *,
        user: str,
        workdir: str,
        stdin: bool = True,
        start_timeout: float = 30.0,
    ) -> None:
        self.api = api
        self.exec_id = api.exec_create(
            container_id,
            inside("launch", *(os.fsencode(a).hex() for a in argv)),
            stdin=stdin,
            stdout=True,
            stderr=True,
            tty=False,
            user=user,
            workdir=workdir,
        )["Id"]
        raw = api.exec_start(self.exec_id, socket=True)
        self._holder = raw  # keeps the HTTP response (and so the socket) alive
        self._sock: socket.socket = getattr(raw, "_sock", raw)
        self._frames = bytearray()
        self._pending = bytearray()
        self._eof = False
        self.pid, self.launcher = self._read_pids(start_timeout)

    def _read_pids(self, timeout: float) -> tuple[int, int]:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._pending:
            chunk = self._read_frames(deadline - time.monotonic())
            if not chunk:
                self.close_socket()
                got = self._pending.decode(errors="replace")[-300:]
                raise SandboxError(f"the sandbox could not start a program: {got!r}")
            self._pending += chunk
        line, _, rest = bytes(self._pending).partition(b"\n")
        fields = line.split()
        if len(fields) != 3 or fields[0] != b"__CL_PID":
            self.close_socket()
            raise SandboxError(f"the sandbox could not start a program: {line[-300:]!r}")
        self._pending = bytearray(rest)
        return int(fields[1]), int(fields[2])

    def write(self, data: bytes) -> None:
        with contextlib.suppress(OSError):
            self._sock.sendall(data)

    def read(self, timeout: float) -> bytes | None:
        """Next output; ``b""`` at the end of the stream; None if nothing came in time."""
        if self._pending:
            out = bytes(self._pending)
            self._pending.clear()
            return out
        return self._read_frames(timeout)

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

    def exit_code(self) -> int | None:
        with contextlib.suppress(Exception):
            code = self.api.exec_inspect(self.exec_id).get("ExitCode")
            return int(code) if code is not None else None
        return None

    def close_socket(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self._sock.close()
        with contextlib.suppress(Exception):
            self._holder.close()
        self._eof = True

    # -- framing -------------------------------------------------------------------------------
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


class DockerShellProcess(ExecStream):
    """A bash in the container, offering the :class:`~claude_like.sandbox.shell.ShellProcess`
    protocol; ``kill`` stops it with everything it started (``on_kill(launcher pid)``)."""

    def __init__(
        self, api: Any, container_id: str, *, user: str, workdir: str,
        on_kill: Callable[[int], None],
    ) -> None:
        super().__init__(api, container_id, SHELL_ARGV, user=user, workdir=workdir)
        self._on_kill = on_kill

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self._on_kill(self.launcher)
        self.close_socket()


def collect(
    stream: ExecStream, timeout: float, capture: OutputCapture, stop: Callable[[int], None]
) -> bool:
    """Read ``stream`` to its end into ``capture``; past ``timeout`` call ``stop(launcher)``
    and give it a grace to end. True when the time was up."""
    deadline = time.monotonic() + timeout
    timed_out = False
    while True:
        chunk = stream.read(deadline - time.monotonic())
        if chunk:
            capture.add(chunk)
            continue
        if chunk == b"":
            return timed_out
        if timed_out:  # the tree did not end within the grace: let the socket go
            stream.close_socket()
            return True
        timed_out = True
        with contextlib.suppress(Exception):
            stop(stream.launcher)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
