"""Every option of every ``claude-like`` command is listed, with an explanation, by that
command's ``--help`` (the command tree is read from the program, so a new command or flag
is checked without editing this file)."""

from __future__ import annotations

from typing import Any

import pytest
import typer
from cli_harness import plain
from typer.testing import CliRunner

from claude_like.cli import app


def commands(command: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """(path of names, command) for the program and every command below it."""
    found = [(path, command)]
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        found += commands(sub, (*path, name))
    return found


COMMANDS = commands(typer.main.get_command(app))


def flags(command: Any) -> list[tuple[str, Any]]:
    """Every spelling of every option (``--print``, ``-p``, ``--no-x``), with its option."""
    return [(flag, param) for param in command.params if param.param_type_name == "option"
            for flag in (*param.opts, *param.secondary_opts)]


def test_the_tree_holds_the_commands_people_use():
    paths = {" ".join(path) for path, _ in COMMANDS}
    assert {"", "run", "sessions", "serve", "gateway", "trace", "trace analyze"} <= paths
    run = dict(COMMANDS)[("run",)]
    assert {"--output-format", "--include-partial-messages", "--print", "-p"} <= {
        flag for flag, _ in flags(run)}


WIDTH = 200
"""Columns of the help screen. Rich's table cuts option names that do not fit (``--disa…``)
in narrow terminals, so the check uses a wide one."""


@pytest.mark.parametrize(("path", "command"), COMMANDS,
                         ids=[" ".join(path) or "claude-like" for path, _ in COMMANDS])
def test_help_lists_every_flag(path, command):
    shown = CliRunner().invoke(app, [*path, "--help"], terminal_width=WIDTH,
                               env={"COLUMNS": str(WIDTH)})
    assert shown.exit_code == 0, shown.output
    text = plain(shown.output)
    missing = [flag for flag, param in flags(command) if not param.hidden and flag not in text]
    assert missing == [], f"claude-like {' '.join(path)} --help does not list {missing}:\n{text}"


@pytest.mark.parametrize(("path", "command"), COMMANDS,
                         ids=[" ".join(path) or "claude-like" for path, _ in COMMANDS])
def test_every_flag_says_what_it_does(path, command):
    silent = [flag for flag, param in flags(command)
              if not param.hidden and flag != "--help" and not (param.help or "").strip()]
    assert silent == [], f"claude-like {' '.join(path)}: no help text for {silent}"
