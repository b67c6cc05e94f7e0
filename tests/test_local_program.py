"""run_program: one program on the host, bounded in time, output and what it leaves."""

from __future__ import annotations

import secrets

import psutil
import pytest

from claude_like.sandbox import LocalSandbox
from claude_like.sandbox.base import SandboxError


@pytest.fixture
def local(workspace):
    sb = LocalSandbox(workspace)
    yield sb
    sb.close()


def live(tag: str) -> list[psutil.Process]:
    out = []
    for p in psutil.process_iter(["cmdline", "status"]):
        if tag in " ".join(p.info["cmdline"] or []) and p.info["status"] != "zombie":
            out.append(p)
    return [p for p in out if p.pid != psutil.Process().pid]


def test_runs_in_the_workspace_with_no_stdin(local, workspace):
    (workspace / "a.txt").write_text("hello\n")
    result = local.run_program(["sh", "-c", "pwd; cat a.txt; cat; exit 3"], 30)
    assert result.output == f"{workspace}\nhello\n"
    assert result.exit_code == 3 and not result.timed_out


def test_a_program_past_its_time_is_killed_with_its_whole_tree(local):
    tag = f"999{secrets.randbelow(10**6)}.{secrets.randbelow(1000)}"
    script = f"import subprocess; subprocess.Popen(['setsid', 'sleep', '{tag}']); "
    script += "\nwhile True: pass"
    result = local.run_program(["python3", "-c", script], 2)
    assert result.timed_out and result.exit_code is None
    assert live(tag) == []


def test_what_a_finished_program_leaves_running_is_killed(local):
    tag = f"999{secrets.randbelow(10**6)}.{secrets.randbelow(1000)}"
    result = local.run_program(["sh", "-c", f"setsid sleep {tag} >/dev/null 2>&1 &"], 30)
    assert result.exit_code == 0
    assert live(tag) == []


def test_output_is_capped_with_a_true_note(local):
    result = local.run_program(["sh", "-c", "head -c 100000 /dev/zero | tr '\\0' x"], 30,
                               output_limit=1000)
    assert result.truncated
    assert "[... 99000 bytes of output omitted ...]" in result.output
    assert result.output.count("x") == 1000


def test_a_missing_program_is_a_clear_error(local):
    with pytest.raises(SandboxError, match="not found"):
        local.run_program(["no-such-program-here"], 5)


def test_ripgrep_runs_a_catastrophic_regex_in_linear_time(local, workspace):
    (workspace / "line.txt").write_text("a" * 50_000 + "!\n")
    result = local.run_program(["rg", "-c", "(a+)+$", "line.txt"], 60)
    assert result.exit_code == 1 and not result.timed_out  # searched to the end: no match

