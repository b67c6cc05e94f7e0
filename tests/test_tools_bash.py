"""Bash: output, exit codes, the persistent session, timeouts."""

from __future__ import annotations

import re

import pytest


def test_output_and_success(ok):
    assert ok("Bash", command="echo hello") == "hello"


def test_stderr_is_included(ok):
    out = ok("Bash", command="echo out; echo err >&2")
    assert "out" in out and "err" in out


def test_no_output_is_said(ok):
    assert ok("Bash", command="true") == "(no output)"


def test_nonzero_exit_is_an_error_with_output(err):
    out = err("Bash", command="echo failing; false")
    assert out.startswith("Exit code 1")
    assert "failing" in out


def test_exit_code_is_reported(err):
    assert err("Bash", command="sh -c 'exit 7'").startswith("Exit code 7")


def test_cd_persists_and_is_shown(sandbox, ok):
    sandbox.write_bytes("sub/dir/f.txt", b"x")
    out = ok("Bash", command="cd sub/dir")
    assert f"Working directory: {sandbox.root}/sub/dir" in out
    assert ok("Bash", command="ls").startswith("f.txt")
    assert ok("Bash", command="pwd").startswith(f"{sandbox.root}/sub/dir")


def test_export_persists(ok):
    ok("Bash", command="export GREETING=bonjour")
    assert ok("Bash", command="echo $GREETING") == "bonjour"


def test_timeout_kills_and_says_so(err, ok):
    out = err("Bash", command="sleep 30", timeout=1)
    assert out.startswith("Timed out")
    assert "timed out after 1 s" in out
    assert ok("Bash", command="echo still alive") == "still alive"


def test_shell_exit_is_survived(err, ok):
    ok("Bash", command="export KEEP=1")
    out = err("Bash", command="exit 3")
    assert "restarted" in out
    assert ok("Bash", command="echo $KEEP") == "1"


def test_files_written_by_bash_are_seen_by_read(ok):
    ok("Bash", command="printf 'a\\nb\\n' > made.txt")
    assert ok("Read", file_path="made.txt") == "     1\ta\n     2\tb"


def test_stdin_is_empty(ok):
    assert ok("Bash", command="cat; echo done") == "done"


def test_empty_command_refused(err):
    assert "empty" in err("Bash", command="   ")


@pytest.mark.parametrize("value", [0, -5, 600.5, 120_000])
def test_timeout_is_seconds_and_out_of_range_is_a_clear_error(err, value):
    out = err("Bash", command="echo never", timeout=value)
    assert "timeout is in seconds" in out and "at most 600" in out
    if value == 120_000:
        assert "If you meant 120000 milliseconds, give 120" in out


def test_timeout_at_the_max_is_accepted_as_seconds(ok):
    assert ok("Bash", command="echo x", timeout=600) == "x"


def test_timeout_unit_is_in_the_schema(tools):
    description = tools["Bash"].args_schema.model_json_schema()["properties"]["timeout"]
    assert "Seconds (not milliseconds)" in description["description"]


def test_cmd_alias_and_description(ok):
    assert ok("Bash", cmd="echo x", description="print x") == "x"


def test_long_output_is_returned_whole(ctx, ok):
    # Nothing is cut here: the tool node saves an oversized result whole to a file.
    out = ok("Bash", command="seq 1 100000")
    assert len(out) > ctx.output_limit
    assert out == "\n".join(str(i) for i in range(1, 100_001))


def test_output_past_the_shell_cap_has_one_true_note(ok):
    out = ok("Bash", command="head -c 3000000 /dev/zero | tr '\\0' a; echo; echo end")
    assert out.startswith("a" * 1000) and out.endswith("a\nend")
    assert out.count("omitted") == 1 and out.count("[") == 1
    head, note, tail = re.split(r"(\n\n\[\.\.\. [\d,]+ bytes of output omitted .*?\]\n\n)", out)
    omitted = int(re.search(r"([\d,]+) bytes", note).group(1).replace(",", ""))
    # 3,000,000 a's, then "\nend": what is shown plus what the note counts is all of it.
    assert len(head) + omitted + len(tail) == 3_000_000 + len("\nend")
    assert "redirect it to a file" in note


def test_a_timeout_abandons_the_rest_of_the_command_line(err, ok):
    out = err("Bash", command="sleep 30; echo deployed > deployed.txt; echo REST-RAN", timeout=1)
    assert "REST-RAN" not in out
    assert "does not exist" in err("Read", file_path="deployed.txt")
    assert ok("Bash", command="echo still alive") == "still alive"


def test_a_builtin_loop_is_interrupted_without_losing_the_shell(err, ok):
    ok("Bash", command="LOCAL_ONLY=kept")
    err("Bash", command="while true; do :; done", timeout=1)
    assert ok("Bash", command="echo $LOCAL_ONLY") == "kept"  # not even exported: same shell


def in_thread(tools, thread: str, command: str) -> str:
    call = {"type": "tool_call", "id": "c1", "name": "Bash", "args": {"command": command}}
    return tools["Bash"].invoke(call, {"configurable": {"thread_id": thread}}).content


def test_each_conversation_thread_has_its_own_shell(sandbox, tools):
    sandbox.write_bytes("sub/f.txt", b"x")
    in_thread(tools, "A", "cd sub && export WHO=alice")
    assert in_thread(tools, "A", "pwd; echo $WHO").splitlines()[:2] == [
        f"{sandbox.root}/sub",
        "alice",
    ]
    assert in_thread(tools, "B", "pwd; echo \"[$WHO]\"") == f"{sandbox.root}\n[]"


def test_terminal_control_sequences_in_output_are_escaped(ok):
    out = ok("Bash", command=r"printf '\033]0;pwned\007\033c\033[8mhidden\ttab\n'")
    assert out == r"\x1b]0;pwned\x07\x1bc\x1b[8mhidden" + "\ttab"
