"""One program on the host, bounded: minimal environment, stdin from /dev/null, a time
limit after which its whole tree is killed, and output kept within a budget."""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import time
from collections.abc import Mapping

from claude_like.sandbox.base import ExecResult, SandboxError
from claude_like.sandbox.processes import MARKER_VAR, kill_processes, launch_argv, new_marker
from claude_like.sandbox.shell_stream import OutputCapture


def run_program(
    argv: list[str],
    *,
    cwd: str,
    env: Mapping[str, str],
    timeout: float,
    output_limit: int,
    max_file_size: int = 0,
) -> ExecResult:
    """Run ``argv`` (no shell) in ``cwd``; ``timeout`` in seconds. ``exit_code`` is None and
    ``timed_out`` True when the time ran out. Every process it started is gone on return."""
    if not argv:
        raise SandboxError("run_program needs a program to run")
    if shutil.which(argv[0], path=env.get("PATH")) is None:
        raise SandboxError(f"program not found on the sandbox's PATH: {argv[0]}")
    marker = new_marker()
    popen = subprocess.Popen(
        launch_argv(list(argv), max_file_size=max_file_size),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=cwd,
        env={**env, MARKER_VAR: marker},
        start_new_session=True,
    )
    assert popen.stdout is not None
    capture = OutputCapture(output_limit)
    deadline = time.monotonic() + max(timeout, 0.0)
    try:
        timed_out = not _read_until_end(popen.stdout.fileno(), capture, deadline)
        if not timed_out:
            try:
                popen.wait(max(deadline - time.monotonic(), 0.0))
            except subprocess.TimeoutExpired:
                timed_out = True
    finally:
        if popen.returncode is None:  # not reaped yet, so its pid is still its own
            kill_processes(root=popen.pid, marker=marker, session=popen.pid)
        else:
            kill_processes(marker=marker)  # what it left running
        popen.stdout.close()
        popen.wait()
    return ExecResult(
        output=capture.text(),
        exit_code=None if timed_out else popen.returncode,
        truncated=capture.truncated,
        timed_out=timed_out,
        cwd=cwd,
    )


def _read_until_end(fd: int, capture: OutputCapture, deadline: float) -> bool:
    """Read ``fd`` into ``capture`` until its end (True) or the deadline (False)."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            return False
        chunk = os.read(fd, 65536)
        if not chunk:
            return True
        capture.add(chunk)
