"""``claude-like`` with no task: the interactive session, with the options of ``run`` that
make sense for it; and the rule that sends a command line without a task here."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.console import Console

from claude_like.cli.options import (
    ContextWindowOption,
    ModelOption,
    PermissionModeChoice,
    SandboxOption,
    WorkspaceOption,
    split_tool_rules,
)
from claude_like.cli.render import err, safe

SESSION_COMMAND = "repl"
"""The session's (hidden) command name: ``claude-like repl`` opens it too."""
NOT_A_TERMINAL = ("no task given, and the input is not a terminal for an interactive session: "
                  "claude-like \"task\" runs one task (claude-like --help)")


def opens_session(command: click.Command, args: list[str]) -> bool:
    """True when ``args`` are only options of the session ``command`` (no task, no option
    it does not know, such as --print): such a command line opens the session. A line
    that does not parse goes to ``run``, which reports the problem."""
    helps = set(command.get_help_option_names(command.context_class(command)))
    probe = [arg for arg in args if arg not in helps]  # help would print while probing
    try:
        command.make_context("claude-like", probe)
    except Exception:  # any usage error (typer may vendor its own click): not a session
        return False
    return True


def repl(
    model: ModelOption = None,
    workspace: WorkspaceOption = Path("."),
    sandbox: SandboxOption = "local",
    max_turns: Annotated[int, typer.Option(help="Model calls allowed per prompt.")] = 30,
    context_window: ContextWindowOption = None,
    permission_mode: Annotated[
        PermissionModeChoice | None,
        typer.Option("--permission-mode", help="default, acceptEdits, plan or "
                     "bypassPermissions (Shift-Tab or /mode changes it in the session)."),
    ] = None,
    allowed_tools: Annotated[
        list[str] | None,
        typer.Option("--allowedTools", "--allowed-tools",
                     help="Rules that let calls run without asking: Bash(git status:*) Edit."),
    ] = None,
    disallowed_tools: Annotated[
        list[str] | None,
        typer.Option("--disallowedTools", "--disallowed-tools", help="Rules that refuse calls."),
    ] = None,
    continue_: Annotated[
        bool, typer.Option("--continue", "-c",
                           help="Continue the latest session of this workspace."),
    ] = False,
    resume: Annotated[
        str | None, typer.Option("--resume", "-r", help="Continue the session with this id."),
    ] = None,
) -> None:
    """The interactive session (what claude-like with no task opens): type a task, watch
    the agent work, answer its approvals, go on with the same conversation. Enter sends,
    a trailing \\ or Esc Enter adds a line, Ctrl-C cancels a turn, Ctrl-D leaves; /help
    lists the slash commands."""
    # Here, not at the top: every claude-like command imports this module, few open a session.
    from claude_like.cli.repl.session import AgentOptions, ReplSession

    if not sys.stdin.isatty() or not sys.stdout.isatty():
        err.print(f"[bold red]error:[/] {safe(NOT_A_TERMINAL)}", soft_wrap=True)
        raise typer.Exit(1)
    if continue_ and resume:
        err.print("[bold red]error:[/] use --continue or --resume, not both")
        raise typer.Exit(1)
    settings: dict[str, Any] = dict(
        workspace=workspace, sandbox=sandbox, max_turns=max_turns,
        context_window=context_window,
        permission_mode=permission_mode.value if permission_mode else None,
        allowed_tools=split_tool_rules(allowed_tools),
        disallowed_tools=split_tool_rules(disallowed_tools))
    options = AgentOptions(model, settings)
    console = Console(highlight=False)
    try:
        with console.status("starting the model"):
            agent = options.build(resume=resume, continue_conversation=continue_)
    except Exception as exc:  # setup problems deserve a readable message, not a traceback
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        err.print(f"[bold red]error:[/] {safe(str(message))}", soft_wrap=True)
        raise typer.Exit(1) from exc
    for warning in agent.warnings:  # hooks, MCP servers that did not start
        err.print(f"[yellow]warning:[/] {safe(warning)}", soft_wrap=True)
    asyncio.run(ReplSession(options, agent, console).run())
