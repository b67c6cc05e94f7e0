"""The interactive session shows a turn: the model's text as Markdown, one numbered line per
tool call that /expand opens, Edit and Write as coloured diffs, Bash output in a panel,
errors in red, the reply's speed, and the status line (model, mode, context use).

The real ``claude-like`` program with no task, in a pseudo-terminal, on a scripted model."""

from __future__ import annotations

import re

import pytest
from cli_harness import CliEnv, call, plain, reply
from repl_harness import Repl

RED, GREEN = "\x1b[31m", "\x1b[32m"


@pytest.fixture
def cli(tmp_path) -> CliEnv:
    return CliEnv.create(tmp_path)


def start(cli: CliEnv, *args: str) -> Repl:
    repl = Repl(cli, *args)
    repl.ready()
    return repl


def test_text_renders_as_markdown_and_a_tool_call_is_one_numbered_line(cli):
    (cli.workspace / "notes.txt").write_text("alpha\nbeta\ngamma\n")
    spec = cli.script(reply("Let me **look** first.", call("Read", file_path="notes.txt")),
                      reply("The notes hold three words."))
    repl = start(cli, "--model", spec)
    repl.send("what is in notes.txt?")
    turn = repl.expect_text("The notes hold three words.")
    assert "\x1b[1mlook" in turn  # bold, the Markdown asterisks gone
    assert "**look**" not in plain(turn)
    assert re.search(r"● Read\(notes\.txt\)\s+#1", plain(turn))
    assert "⎿ ✓" in plain(turn) and "(+2 lines, /expand 1)" in plain(turn)
    assert "gamma" not in plain(turn)  # the result itself stays folded
    repl.ready()
    repl.send("/expand 1")
    expanded = repl.expect_text("gamma")
    assert "#1 Read(notes.txt)" in plain(expanded)
    repl.send("/exit")
    assert repl.finish().status == 0


def test_an_edit_shows_a_coloured_diff(cli):
    (cli.workspace / "app.py").write_text("x = 1\nprint(x)\n")
    spec = cli.script(reply("", call("Read", file_path="app.py")),
                      reply("", call("Edit", file_path="app.py", old_string="x = 1",
                                     new_string="x = 2")),
                      reply("", call("Write", file_path="new.txt", content="fresh line\n")),
                      reply("Changed."))
    repl = start(cli, "--model", spec, "--permission-mode", "acceptEdits")
    repl.send("change x")
    turn = repl.expect_text("Changed.")
    assert f"{RED}-x = 1" in turn and f"{GREEN}+x = 2" in turn
    assert f"{GREEN}+fresh line" in turn
    assert (cli.workspace / "app.py").read_text() == "x = 2\nprint(x)\n"


def test_bash_output_is_in_a_panel_and_an_error_in_red(cli):
    spec = cli.script(reply("", call("Bash", command="printf 'first\\nsecond\\n'")),
                      reply("", call("Bash", command="echo broken >&2; false")),
                      reply("", call("Read", file_path="missing.txt")),
                      reply("Both ran."))
    repl = start(cli, "--model", spec, "--permission-mode", "bypassPermissions")
    repl.send("run things")
    turn = repl.expect_text("Both ran.")
    shown = plain(turn)
    assert re.search(r"╭─ \$ printf 'first\\nsecond\\n' ─+╮", shown), shown
    assert re.search(r"│ first\s+│", shown) and re.search(r"│ second\s+│", shown)
    assert "⎿ ✗" in shown and "Bash failed" in shown
    in_red = re.escape(RED) + r"[^\x1b\n]*"  # the text itself red, not only its frame
    assert re.search(in_red + "Exit code 1", turn)
    assert re.search(in_red + "broken", turn)
    assert re.search(in_red + r"missing\.txt", turn)


def test_after_a_reply_its_speed_and_the_status_line_with_context_use(cli):
    spec = cli.script(reply("Hello there."))
    repl = start(cli, "--model", spec)
    before = plain(repl.child.logfile_read.getvalue())
    assert f"{spec} · default mode" in before and "context -" in before
    repl.send("hi")
    repl.expect_text("Hello there.")
    after = plain(repl.expect(r"context \d+% of 8,192"))
    assert re.search(r"✻ [1-9]\d* tokens out · [\d.]+ s · [\d.]+ tok/s · context \d+% of 8,192",
                     after), after
    status = plain(repl.ready() + repl.expect(r"· /help"))
    assert re.search(r"default mode \(shift-tab\) · context \d+% \([1-9][\d,]* of 8,192\)",
                     status), status
