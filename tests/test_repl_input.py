"""The interactive session's input: how it opens (``claude-like`` with no task), history
across sessions (Up), multi-line input, Ctrl-C and Ctrl-D at the prompt. The real program
in a pseudo-terminal, on a scripted model."""

from __future__ import annotations

import stat

import pytest
import typer
from cli_harness import CliEnv, plain, reply
from repl_harness import Repl

from claude_like.cli import app
from claude_like.cli.repl import SESSION_COMMAND, opens_session
from claude_like.cli.repl.input import HISTORY_FILE_NAME

UP = "\x1b[A"
ESC_ENTER = "\x1b\r"


@pytest.fixture
def cli(tmp_path) -> CliEnv:
    return CliEnv.create(tmp_path)


def start(cli: CliEnv, *args: str) -> Repl:
    repl = Repl(cli, *args)
    repl.ready()
    return repl


def humans(cli: CliEnv, spec: str) -> list[str]:
    return [m["text"] for m in cli.requests(spec)[-1] if m["type"] == "human"]


@pytest.mark.parametrize(("args", "session"), [
    ([], True),
    (["--model", "ollama:x", "--permission-mode", "plan", "-c"], True),
    (["fix the bug"], False),
    (["--model", "ollama:x", "fix the bug"], False),
    (["-p"], False),  # --print without a task belongs to run
    (["--no-such-flag"], False),
    (["--max-turns", "many"], False),  # run reports the bad value
    (["--model", "ollama:x", "--help"], True),  # the session's own help
])
def test_only_options_open_the_session_and_a_task_runs(args, session):
    group = typer.main.get_command(app)
    assert opens_session(group.commands[SESSION_COMMAND], args) is session


def test_without_a_terminal_it_says_so_instead_of_waiting(cli):
    done = cli.run_piped("--model", cli.script(reply("unused")))
    assert done.returncode == 1
    assert "no task given, and the input is not a terminal" in done.stderr


def test_help_still_shows_the_commands(cli):
    done = cli.run_piped("--help")
    assert done.returncode == 0
    shown = " ".join(done.stdout.split())
    assert "claude-like alone opens an interactive session" in shown and "sessions" in shown


def test_up_recalls_a_prompt_of_an_earlier_session(cli):
    first = cli.script(reply("First answer."))
    repl = start(cli, "--model", first)
    repl.send("the prompt worth remembering")
    repl.expect_text("First answer.")
    repl.ready()
    repl.type("\x04")  # Ctrl-D leaves
    assert repl.finish().status == 0
    history = cli.root / "data" / HISTORY_FILE_NAME
    assert stat.S_IMODE(history.stat().st_mode) == 0o600
    second = cli.script(reply("Second answer."))
    again = start(cli, "--model", second)
    again.type(UP)
    again.expect_text("the prompt worth remembering")
    again.type("\r")
    again.expect_text("Second answer.")
    assert humans(cli, second) == ["the prompt worth remembering"]


def test_backslash_or_esc_enter_continue_the_input_on_a_new_line(cli):
    spec = cli.script(reply("Three lines."))
    repl = start(cli, "--model", spec)
    repl.type("line one\\\r")
    repl.type("line two" + ESC_ENTER)
    repl.type("line three\r")
    repl.expect_text("Three lines.")
    assert humans(cli, spec) == ["line one\nline two\nline three"]


def test_ctrl_c_clears_the_line_and_at_an_empty_prompt_warns_then_leaves(cli):
    spec = cli.script(reply("Only the real one."))
    repl = start(cli, "--model", spec)
    repl.type("half-typed mistake")
    repl.expect_text("half-typed mistake")
    repl.type("\x03")
    repl.type("the real prompt\r")
    repl.expect_text("Only the real one.")
    assert humans(cli, spec) == ["the real prompt"]
    repl.ready()
    repl.type("\x03")
    repl.expect_text("Ctrl-C again, Ctrl-D or /exit to leave")
    repl.ready()
    repl.type("\x03")
    done = repl.finish()
    assert done.status == 0
    assert "Traceback" not in plain(done.raw)
