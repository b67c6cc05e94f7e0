"""Every process the agent starts on the host is gone after a timeout, close_session(),
close(), garbage collection and interpreter exit; close() never waits for a command."""

from __future__ import annotations

import gc
import os
import secrets
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import psutil
import pytest

from claude_like.sandbox import LocalSandbox
from claude_like.sandbox.processes import kill_processes
from claude_like.sandbox.shell import STOPPED_NOTE


def escapes(tag: str) -> str:
    """Commands that start sleepers every way a process can leave its shell's tree."""
    s = f"sleep {tag}"
    return "\n".join(
        [
            f"{s}1 &",
            f"nohup {s}2 >/dev/null 2>&1 &",
            f"setsid {s}3 >/dev/null 2>&1 &",
            f"( ( {s}4 >/dev/null 2>&1 & ) & )",
            f"env -i setsid /bin/sleep {tag}5 >/dev/null 2>&1 &",
            "python3 -c 'import os, subprocess, sys\n"
            "if os.fork() == 0:\n"
            "    os.setsid()\n"
            "    if os.fork() == 0:\n"
            f'        subprocess.Popen(["sleep", "{tag}6"], stdout=subprocess.DEVNULL)\n'
            "    os._exit(0)\n"
            "' ",
        ]
    )


def started(tag: str) -> list[psutil.Process]:
    """Live (not zombie) processes whose command line carries ``tag``."""
    out = []
    for p in psutil.process_iter(["cmdline", "status"]):
        cmd = p.info["cmdline"] or []
        if any(tag in a for a in cmd[1:]) and p.info["status"] != psutil.STATUS_ZOMBIE:
            out.append(p)
    return out


def wait_started(tag: str, n: int) -> None:
    """Until ``n`` sleepers run (they start in the background after the command)."""
    for _ in range(500):
        if len(started(tag)) >= n:
            return
        threading.Event().wait(0.01)
    raise AssertionError(f"only {len(started(tag))} of {n} sleepers started")


@pytest.fixture
def tag() -> str:
    return f"{secrets.randbelow(10**6) + 10**6}.{secrets.randbelow(1000)}"


@pytest.fixture
def local(workspace):
    sb = LocalSandbox(workspace)
    yield sb
    sb.close()


def test_everything_started_is_gone_after_a_timeout(local, tag):
    result = local.execute(escapes(tag) + f"\nsleep {tag}9", timeout=3)
    assert result.timed_out and result.exit_code is None
    assert started(tag) == []
    assert local.execute("echo still here").output.strip() == "still here"


def test_everything_started_is_gone_after_close(local, tag):
    local.execute(escapes(tag))
    wait_started(tag, 6)
    local.close()
    assert started(tag) == []


def test_close_session_stops_only_that_sessions_processes(local, tag):
    local.execute(escapes(tag), session="a")
    local.execute(f"sleep {tag}7 &", session="b")
    wait_started(tag, 7)
    local.close_session("a")
    assert [p.cmdline()[-1] for p in started(tag)] == [f"{tag}7"]


def test_a_shell_that_exits_takes_its_background_jobs_along(local, tag):
    result = local.execute(f"sleep {tag}1 & exit 3")
    assert result.exit_code is None and "restarted" in result.note
    assert started(tag) == []


def test_garbage_collection_releases_shells_and_private_folder(workspace, tag):
    sb = LocalSandbox(workspace)
    sb.execute(escapes(tag))
    private = Path(sb.private_dir)
    wait_started(tag, 6)
    del sb
    gc.collect()
    assert started(tag) == []
    assert not private.exists()


def test_interpreter_exit_without_close_releases_everything(workspace, tag):
    script = textwrap.dedent(
        f"""
        import sys
        from claude_like.sandbox import LocalSandbox
        sb = LocalSandbox({str(workspace)!r})
        sb.execute({escapes(tag)!r})
        print(sb.private_dir, flush=True)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=os.getcwd(),
        check=True,
    )
    private = Path(out.stdout.strip())
    assert private.name.startswith("claude-like-")
    assert not private.exists()
    assert started(tag) == []


def test_close_from_another_thread_stops_a_running_command(local, tag):
    threads_before = set(threading.enumerate())
    results = []
    runner = threading.Thread(target=lambda: results.append(local.execute(f"sleep {tag}")))
    runner.start()
    wait_started(tag, 1)
    closer = threading.Thread(target=local.close)
    closer.start()
    closer.join(timeout=60)  # the command itself would run for 11 days
    assert not closer.is_alive()
    runner.join(timeout=60)
    assert not runner.is_alive()
    (result,) = results
    assert result.exit_code is None and result.note == STOPPED_NOTE
    assert started(tag) == []
    assert set(threading.enumerate()) <= threads_before


def test_kill_processes_finds_a_process_by_its_marker_alone(tag):
    marker = secrets.token_hex(8)
    env = {**os.environ, "CLAUDE_LIKE_SANDBOX": marker}
    proc = subprocess.Popen(["setsid", "sleep", tag], env=env)
    try:
        wait_started(tag, 1)
        assert kill_processes(marker=marker) == 1
        assert started(tag) == []
    finally:
        proc.kill()
        proc.wait()
