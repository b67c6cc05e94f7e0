"""Shell sessions: one persistent bash per session name, capped, closed one by one."""

from __future__ import annotations

import psutil
import pytest

from claude_like.sandbox import LocalSandbox
from claude_like.sandbox.shell import SessionClosedError, ShellPool


@pytest.fixture
def local(workspace):
    sb = LocalSandbox(workspace)
    try:
        yield sb
    finally:
        sb.close()


def test_cd_and_export_stay_in_their_session(local, workspace):
    (workspace / "sub").mkdir()
    local.execute("cd sub && export ONLY_A=yes", session="a")
    b = local.execute('pwd; echo "[$ONLY_A]"', session="b")
    assert b.output.splitlines() == [str(workspace), "[]"]
    a = local.execute('pwd; echo "[$ONLY_A]"', session="a")
    assert a.output.splitlines() == [str(workspace / "sub"), "[yes]"]


def test_default_session_is_main(local, workspace):
    (workspace / "sub").mkdir()
    local.execute("cd sub")
    assert local.execute("pwd", session="main").output.strip() == str(workspace / "sub")


def test_close_session_stops_its_processes_only(local):
    a = local.execute("sleep 300 & echo $!", session="a")
    b = local.execute("sleep 300 & echo $!", session="b")
    pid_a, pid_b = int(a.output.split()[-1]), int(b.output.split()[-1])
    assert psutil.pid_exists(pid_a) and psutil.pid_exists(pid_b)
    local.close_session("a")
    assert not _alive(pid_a)
    assert _alive(pid_b)
    # A closed session starts afresh on its next command.
    assert local.execute("echo again", session="a").output.strip() == "again"


def test_pool_closes_least_recently_used_idle_session(local):
    pool: ShellPool = local.shells
    pool.max_sessions = 2
    first = local.execute("sleep 300 & echo $!", session="one")
    local.execute("true", session="two")
    local.execute("true", session="one")  # "two" is now the least recently used
    local.execute("true", session="three")
    assert pool.names == ["one", "three"]
    assert _alive(int(first.output.split()[-1]))


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_a_session_closed_by_its_pool_never_starts_an_untracked_shell(local):
    pool: ShellPool = local.shells
    stale = pool.get("a")
    pool.close("a")  # e.g. another thread closed it right after this one looked it up
    with pytest.raises(SessionClosedError):
        stale.run("true")
    assert _shells_of_this_process() == []
    assert local.execute("echo ok", session="a").output == "ok\n"
    local.close()
    assert _shells_of_this_process() == []


def _shells_of_this_process() -> list[psutil.Process]:
    return [
        p
        for p in psutil.Process().children(recursive=True)
        if p.name() == "bash" and p.status() != psutil.STATUS_ZOMBIE
    ]
