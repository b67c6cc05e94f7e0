"""The terminal front end: ``claude-like "task"`` runs a task (the ``run`` command is the
default), ``claude-like`` with no task opens the interactive session, ``claude-like
sessions`` lists saved conversations.

The default command: when the first word is not a command name (``run``, ``sessions``)
nor ``--help``, the arguments go to ``run``. A task that is itself a command name is
given as ``claude-like run sessions``.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from claude_like.cli.gateway import gateway, trace_app
from claude_like.cli.repl import SESSION_COMMAND, opens_session, repl
from claude_like.cli.run import run
from claude_like.cli.serve import serve
from claude_like.cli.sessions import sessions

DEFAULT_COMMAND = "run"


class DefaultCommandGroup(TyperGroup):
    """A group whose arguments go to ``run`` unless they start with a command's name;
    without a task (nothing, or only the session's options) they open the session."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ctx.help_option_names):
            session = opens_session(self.commands[SESSION_COMMAND], args)
            args = [SESSION_COMMAND if session else DEFAULT_COMMAND, *args]
        return super().parse_args(ctx, args)


app = typer.Typer(cls=DefaultCommandGroup, add_completion=False, no_args_is_help=False,
                  help="A Claude-Code-style coding agent for any model. "
                  "claude-like alone opens an interactive session; "
                  "claude-like \"task\" runs a task (the run command); "
                  "claude-like sessions lists saved sessions.")
app.command("run", short_help='Run one task (the default: claude-like "task").')(run)
app.command(SESSION_COMMAND, hidden=True)(repl)
app.command("sessions", short_help="List saved sessions, to continue one with --resume.")(
    sessions)
app.command("serve", short_help="Serve the agent over HTTP (SSE events, sessions).")(
    serve)
app.command("gateway", short_help="Serve an Anthropic Messages API backed by a model spec.")(
    gateway)
app.add_typer(trace_app, name="trace", short_help="Read a gateway trace: trace analyze FILE.")


def main() -> None:
    app()


__all__ = ["app", "main"]
