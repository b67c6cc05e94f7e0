"""The interactive terminal session (``claude-like`` with no task): prompt_toolkit input,
rich rendering of streamed turns, inline approvals, slash commands, Ctrl-C to cancel."""

from claude_like.cli.repl.command import SESSION_COMMAND, opens_session, repl

__all__ = ["SESSION_COMMAND", "opens_session", "repl"]
