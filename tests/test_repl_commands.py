"""The interactive session's slash commands, on the real program in a pseudo-terminal with
a scripted model: /help, /tools, /mode, /compact, /cost, /clear, /sessions, /resume,
/model, /exit."""

from __future__ import annotations

import re

import pytest
from cli_harness import SESSION_LINE, CliEnv, call, plain, reply
from repl_harness import Repl

COMMANDS = ("/help", "/model", "/mode", "/compact", "/clear", "/cost", "/resume", "/sessions",
            "/tools", "/exit")


@pytest.fixture
def cli(tmp_path) -> CliEnv:
    return CliEnv.create(tmp_path)


def start(cli: CliEnv, *args: str) -> Repl:
    repl = Repl(cli, *args)
    repl.ready()
    return repl


def ask(repl: Repl, line: str, until: str) -> str:
    """Send ``line``; the output (colours removed) until ``until`` and the next prompt."""
    repl.send(line)
    return plain(repl.expect_text(until) + repl.ready())


def humans(cli: CliEnv, spec: str) -> list[str]:
    """The user's messages in the model's last request."""
    return [m["text"] for m in cli.requests(spec)[-1] if m["type"] == "human"]


def test_help_lists_every_command_and_tools_every_tool(cli):
    repl = start(cli, "--model", cli.script(reply("unused")))
    shown = ask(repl, "/help", "Ctrl-D")
    for name in COMMANDS:
        assert re.search(rf"^{name}\b", shown, re.M), f"{name} missing from /help"
    shown = ask(repl, "/tools", "Bash")
    for tool in ("Read", "Write", "Edit", "Glob", "Grep", "LS", "Bash"):
        assert re.search(rf"^{tool}\s", shown, re.M), f"{tool} missing from /tools"
    assert re.search(r"^Read\s+read-only", shown, re.M)
    assert "unknown command /nope" in ask(repl, "/nope", "lists them")
    repl.send("/exit")
    assert repl.finish().status == 0


def test_mode_switches_the_permission_mode_for_the_next_turn(cli):
    spec = cli.script(reply("", call("Write", file_path="notes.txt", content="hi\n")),
                      reply("Written."))
    repl = start(cli, "--model", spec)
    assert "mode: default" in ask(repl, "/mode", "bypassPermissions")
    assert "unknown mode sideways" in ask(repl, "/mode sideways", "bypassPermissions")
    ask(repl, "/mode acceptEdits", "mode: acceptEdits")
    status = plain(repl.child.logfile_read.getvalue()).rsplit("mode: acceptEdits", 1)[1]
    assert "acceptEdits mode (shift-tab)" in status
    repl.send("write the notes")
    shown = plain(repl.expect_text("Written."))
    assert "Allow?" not in shown
    assert (cli.workspace / "notes.txt").read_text() == "hi\n"


def test_compact_and_cost(cli):
    (cli.workspace / "a.txt").write_text("x\n" * 200)
    spec = cli.script(reply("", call("Read", file_path="a.txt")), reply("Read it."),
                      reply("Second answer."), reply("SUMMARY: a.txt holds x lines."))
    repl = start(cli, "--model", spec)
    ask(repl, "read a.txt", "Read it.")
    ask(repl, "and now?", "Second answer.")
    cost = ask(repl, "/cost", "from the prompt cache")
    assert len(cli.requests(spec)) == 3
    assert re.search(r"this terminal session: [1-9][\d,]* tokens in, [1-9][\d,]* out", cost)
    assert re.search(r"this conversation: 3 model calls, [1-9][\d,]* tokens in \(0 from the",
                     cost), cost
    shown = ask(repl, "/compact", "tokens)")
    assert re.search(r"compacted \(clear, summary: [\d,]+ -> [\d,]+ tokens\)", shown), shown
    assert "You compress a coding agent's conversation" in cli.requests(spec)[-1][0]["text"]


def test_clear_starts_a_new_conversation_and_resume_returns_to_the_old_one(cli):
    spec = cli.script(reply("Noted the first topic."), reply("Noted the second topic."),
                      reply("Back on the first topic."))
    repl = start(cli, "--model", spec)
    first = SESSION_LINE.findall(plain(repl.child.logfile_read.getvalue()))[0]
    ask(repl, "first topic: apples", "Noted the first topic.")
    cleared = ask(repl, "/clear", "/sessions")
    assert "new conversation" in cleared and first not in cleared
    ask(repl, "second topic: pears", "Noted the second topic.")
    assert humans(cli, spec) == ["second topic: pears"]  # nothing of the first
    listed = ask(repl, "/sessions", "first topic")
    rows = [line for line in listed.splitlines() if re.match(r"^[ *]\s+\d+\s+[0-9a-f]{32}", line)]
    assert len(rows) == 2 and "second topic" in rows[0] and rows[0].startswith("*")
    assert first in rows[1] and "first topic: apples" in rows[1]
    repl.send("/resume")
    repl.expect_text("Resume which?")
    repl.type("2\r")
    resumed = plain(repl.expect_text("Noted the first topic."))
    assert f"resumed {first}" in resumed and "first topic: apples" in resumed  # the recap
    repl.ready()
    ask(repl, "back to it", "Back on the first topic.")
    assert humans(cli, spec) == ["first topic: apples", "back to it"]
    repl.send("/exit")
    assert repl.finish().status == 0


def test_resume_by_id_and_continue_from_the_command_line(cli):
    spec = cli.script(reply("One."), reply("Two."), reply("Three."))
    repl = start(cli, "--model", spec)
    session = SESSION_LINE.findall(plain(repl.child.logfile_read.getvalue()))[0]
    ask(repl, "remember plums", "One.")
    ask(repl, "/clear", "/sessions")
    ask(repl, "unrelated", "Two.")
    assert f"resumed {session}" in ask(repl, f"/resume {session[:8]}", "plums")
    ask(repl, "plums again", "Three.")
    assert humans(cli, spec) == ["remember plums", "plums again"]
    repl.send("/exit")
    repl.finish()
    spec2 = cli.script(reply("Still plums."))
    again = start(cli, "--model", spec2, "--resume", session)
    assert f"session {session}" in plain(again.child.logfile_read.getvalue())
    ask(again, "still?", "Still plums.")
    assert humans(cli, spec2) == ["remember plums", "plums again", "still?"]
    again.send("/exit")
    again.finish()
    spec3 = cli.script(reply("Continued."))
    latest = start(cli, "--model", spec3, "--continue")  # the session used last
    assert f"session {session}" in plain(latest.child.logfile_read.getvalue())
    ask(latest, "go on", "Continued.")
    assert humans(cli, spec3) == ["remember plums", "plums again", "still?", "go on"]


def test_model_switches_the_model_and_the_conversation_goes_on(cli):
    first = cli.script(reply("From the first model."))
    second = cli.script(reply("From the second model."))
    repl = start(cli, "--model", first)
    ask(repl, "hello", "From the first model.")
    assert f"model: {first}" in ask(repl, "/model", "switches")
    assert f"model: {second}" in ask(repl, f"/model {second}", "goes on")
    assert f"{second} · default mode" in plain(repl.child.logfile_read.getvalue())
    ask(repl, "and you?", "From the second model.")
    assert humans(cli, second) == ["hello", "and you?"]
    failed = ask(repl, "/model nosuchprovider:x", "error")
    assert "error" in failed
    assert f"model: {second}" in ask(repl, "/model", "switches")  # the failure changed nothing
