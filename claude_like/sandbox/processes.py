"""The one way to stop processes the agent started on the host.

A process can leave its parent's tree (a double fork), its process group and its session
(``setsid``), so no single relation finds them all. Three are combined:

- descendants of a root process: sandbox programs start through :data:`LAUNCHER`, which
  makes the program a *child subreaper*, so orphans are re-parented to it instead of to
  init and stay its descendants;
- a marker variable (:data:`MARKER_VAR`) in the environment every sandbox process
  inherits, found in ``/proc/PID/environ`` (``env -i`` drops it; the subreaper still holds
  such a process);
- the session id (a shell is started as a session leader).

:func:`kill_processes` stops every match (SIGSTOP, so nothing forks meanwhile), looks again
until no new one appears, then kills them all and waits until they are gone.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import sys
import time
from collections.abc import Collection

import psutil

MARKER_VAR = "CLAUDE_LIKE_SANDBOX"
"""Environment variable carried by every process a sandbox starts (a unique value each)."""

LAUNCHER = (
    "import ctypes, os, resource, signal, sys\n"
    "ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER\n"
    "signal.signal(signal.SIGPIPE, signal.SIG_DFL)\n"
    "limit = int(sys.argv[1])\n"
    "if limit > 0:\n"
    "    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))\n"
    "os.execvp(sys.argv[2], sys.argv[2:])\n"
)
"""``python -c LAUNCHER FSIZE PROGRAM ARGS...``: execs the program as a child subreaper with
RLIMIT_FSIZE set. SIGXFSZ stays ignored (Python ignores it and exec keeps that), so a write
over the limit fails with "File too large" instead of killing the writer."""

_STOP_ROUNDS = 100
_WAIT_SECONDS = 5.0


def new_marker() -> str:
    """A fresh value for :data:`MARKER_VAR`."""
    return secrets.token_hex(12)


def launch_argv(argv: list[str], *, max_file_size: int = 0) -> list[str]:
    """``argv`` run through :data:`LAUNCHER` (subreaper; file size limit when > 0)."""
    return [sys.executable, "-I", "-S", "-c", LAUNCHER, str(max_file_size), *argv]


def _carries(proc: psutil.Process, marker: str) -> bool:
    needle = f"\0{MARKER_VAR}={marker}\0".encode()
    try:
        with open(f"/proc/{proc.pid}/environ", "rb") as f:
            return needle in b"\0" + f.read() + b"\0"
    except OSError:
        try:
            return proc.environ().get(MARKER_VAR) == marker
        except (psutil.Error, OSError):
            return False


def _session_of(pid: int) -> int:
    try:
        return os.getsid(pid)
    except OSError:
        return -1


def find_processes(
    *,
    root: int | None = None,
    marker: str | None = None,
    session: int | None = None,
    keep: Collection[int] = (),
) -> list[psutil.Process]:
    """Processes that descend from ``root`` (itself included), carry ``marker`` or belong to
    ``session``, except the pids in ``keep`` and this process."""
    found: dict[int, psutil.Process] = {}
    if root:
        with contextlib.suppress(psutil.Error):
            top = psutil.Process(root)
            found[root] = top
            for child in top.children(recursive=True):
                found[child.pid] = child
    if marker or session:
        for proc in psutil.process_iter():
            if proc.pid in found:
                continue
            if (session and _session_of(proc.pid) == session) or (
                marker and _carries(proc, marker)
            ):
                found[proc.pid] = proc
    skip = {os.getpid(), *keep}
    return [p for pid, p in found.items() if pid not in skip]


def kill_processes(
    *,
    root: int | None = None,
    marker: str | None = None,
    session: int | None = None,
    keep: Collection[int] = (),
    wait: float = _WAIT_SECONDS,
) -> int:
    """Kill what :func:`find_processes` finds, forks racing the kill included; wait up to
    ``wait`` seconds until they are gone. Returns how many were killed."""
    stopped: dict[int, psutil.Process] = {}
    for _ in range(_STOP_ROUNDS):
        new = [
            p
            for p in find_processes(root=root, marker=marker, session=session, keep=keep)
            if p.pid not in stopped
        ]
        if not new:
            break
        for proc in new:
            with contextlib.suppress(psutil.Error):
                proc.send_signal(signal.SIGSTOP)
            stopped[proc.pid] = proc
    for proc in stopped.values():
        with contextlib.suppress(psutil.Error):
            proc.kill()
    _wait_gone(list(stopped.values()), wait)
    return len(stopped)


def _wait_gone(procs: list[psutil.Process], wait: float) -> None:
    """Wait until each process has exited (a zombie counts as gone: it runs nothing)."""
    deadline = time.monotonic() + wait
    left = procs
    while left and time.monotonic() < deadline:
        psutil.wait_procs([p for p in left if _is_child(p)], timeout=0)
        left = [p for p in left if _running(p)]
        if left:
            time.sleep(0.01)


def _is_child(proc: psutil.Process) -> bool:
    with contextlib.suppress(psutil.Error):
        return proc.ppid() == os.getpid()
    return False


def _running(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def signal_process(pid: int, sig: int) -> None:
    """Send ``sig`` to ``pid`` if it still exists."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


__all__ = [
    "LAUNCHER",
    "MARKER_VAR",
    "find_processes",
    "kill_processes",
    "launch_argv",
    "new_marker",
    "signal_process",
]
