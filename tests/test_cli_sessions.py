"""Sessions from the command line: ``--continue``, ``--resume`` and ``claude-like sessions``,
on the real program in a pseudo-terminal with a scripted model and a private store."""

from __future__ import annotations

import re

import pytest
from cli_harness import CliEnv, reply
from typer.testing import CliRunner

from claude_like.cli import app


@pytest.fixture
def cli(tmp_path) -> CliEnv:
    return CliEnv.create(tmp_path)


def _seen(cli: CliEnv, spec: str) -> list[str]:
    """The conversation the model was shown in its first request (system prompt left out)."""
    return [m["text"] for m in cli.requests(spec)[0] if m["type"] != "system"]


def _talk(cli: CliEnv, task: str, answer: str, *flags: str, cwd=None) -> str:
    """Run one task whose model answers ``answer``; the session id it printed."""
    spec = cli.script(reply(answer))
    done = cli.run_tty(task, "--model", spec, *flags, cwd=cwd)
    assert done.status == 0, done.output
    return done.session


def test_continue_carries_on_the_latest_conversation_of_the_workspace(cli):
    first = _talk(cli, "remember the word banana", "Noted: banana.")
    spec = cli.script(reply("It was banana."))
    done = cli.run_tty("which word?", "--continue", "--model", spec)
    assert done.status == 0, done.output
    assert done.session == first
    assert _seen(cli, spec) == ["remember the word banana", "Noted: banana.", "which word?"]


def test_continue_without_an_earlier_session_starts_a_new_one(cli):
    spec = cli.script(reply("Hello."))
    done = cli.run_tty("hi", "-c", "--model", spec)
    assert done.status == 0, done.output
    assert "no earlier session in this workspace: starting a new one" in done.output
    assert _seen(cli, spec) == ["hi"]


def test_resume_carries_on_the_named_conversation_not_the_latest(cli):
    first = _talk(cli, "remember the word banana", "Noted: banana.")
    second = _talk(cli, "remember the word cherry", "Noted: cherry.")
    assert first != second
    spec = cli.script(reply("It was banana."))
    done = cli.run_tty("which word?", "--resume", first, "--model", spec)
    assert done.status == 0, done.output
    assert done.session == first
    assert _seen(cli, spec) == ["remember the word banana", "Noted: banana.", "which word?"]


def test_resume_of_an_unknown_session_is_an_error(cli):
    done = cli.run_tty("x", "-r", "nosuchsession", "--model", cli.script(reply("never")))
    assert done.status == 1
    assert "error: no session 'nosuchsession'" in done.output


def test_sessions_lists_this_workspace_and_all_of_them_with_all(cli):
    other = cli.root / "other"
    other.mkdir()
    first = _talk(cli, "remember the word banana", "Noted.")
    _talk(cli, "and cherry too", "Noted again.", "--continue")
    elsewhere = _talk(cli, "a task elsewhere", "Done.", cwd=other)
    listed = cli.run_tty("sessions")
    assert listed.status == 0, listed.output
    line = re.compile(rf"^{first}  \d{{4}}-\d\d-\d\d \d\d:\d\d +4  remember the word banana$",
                      re.MULTILINE)
    assert line.search(listed.output), listed.output
    assert elsewhere not in listed.output
    everywhere = cli.run_tty("sessions", "--all")
    assert first in everywhere.output and elsewhere in everywhere.output
    assert str(other.resolve()) in everywhere.output


def test_sessions_says_when_there_are_none(cli):
    listed = cli.run_tty("sessions")
    assert listed.status == 0
    assert "no sessions for" in listed.output


def test_continue_and_resume_together_is_an_error(tmp_path):
    result = CliRunner().invoke(app, ["x", "--workspace", str(tmp_path), "-c", "-r", "abc"])
    assert result.exit_code == 1
    assert "use --continue or --resume, not both" in result.output
