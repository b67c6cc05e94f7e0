"""How the terminal shows an agent's work: the model's text on stdout, one line per tool
call and every other event on stderr. Shared by the one-shot command and (later) the REPL,
so nothing here knows how a run was started or how it ends."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.markup import escape

from claude_like.budget import clip_end
from claude_like.events import (
    AgentEvent,
    AgentResult,
    Compacted,
    ContextUsage,
    Notice,
    TextDelta,
    ToolFinished,
    ToolStarted,
)
from claude_like.text_safety import visible

err = Console(stderr=True, highlight=False)
out = Console(highlight=False)


def safe(text: str) -> str:
    """Model or tool text as the terminal may print it: control sequences shown as
    escapes (never obeyed: a title change, a reset, hidden text), rich markup escaped."""
    return escape(visible(text))


def short_args(args: dict[str, Any], limit: int = 80) -> str:
    return clip_end(json.dumps(args, ensure_ascii=False, default=str), limit)


def first_line(text: str, limit: int = 100) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return clip_end(line, limit)


class EventRenderer:
    """Prints stream events as they come. ``Final`` and ``ApprovalRequested`` are left to
    the caller: what ends a run, and how approvals are answered, depend on the front end."""

    def __init__(self, out_console: Console | None = None,
                 err_console: Console | None = None) -> None:
        self.out = out_console or out
        self.err = err_console or err
        self._in_text = False

    def end_text(self) -> None:
        """Close the model's streamed line before anything else is printed."""
        if self._in_text:
            self.out.print()
            self._in_text = False

    def show(self, event: AgentEvent) -> None:
        if isinstance(event, TextDelta):
            self.out.print(safe(event.text), end="")
            self._in_text = True
            return
        self.end_text()
        if isinstance(event, ToolStarted):
            self.err.print(f"[cyan]● {safe(event.name)}[/]({safe(short_args(event.args))})")
        elif isinstance(event, ToolFinished):
            mark = "[green]✓[/]" if event.ok else "[red]✗[/]"
            self.err.print(f"  {mark} {safe(first_line(event.output))}")
        elif isinstance(event, Notice):
            self.err.print(f"[yellow]! {safe(event.source)}:[/] {safe(event.text)}",
                           soft_wrap=True)
        elif isinstance(event, ContextUsage) and event.warning:
            self.err.print(f"[yellow]context {event.share:.0%} full[/] [dim]({event.tokens:,} of "
                           f"{event.window:,} tokens)[/]")
        elif isinstance(event, Compacted):
            self.err.print(f"[yellow]context compacted[/] [dim]({', '.join(event.stages)}: "
                           f"{event.tokens_before:,} -> {event.tokens_after:,} tokens)[/]",
                           soft_wrap=True)

    def outcome(self, result: AgentResult, *, max_turns: int) -> None:
        """The closing lines of a run: how it ended, its size, and what went wrong."""
        self.end_text()
        usage = result.usage
        self.err.print(
            f"[dim]{result.stop_reason} after {result.turns} turns, "
            f"{usage.get('input_tokens', 0)} in / {usage.get('output_tokens', 0)} out tokens[/]"
        )
        if result.stop_reason in ("error", "blocked"):
            self.err.print(f"[bold red]error:[/] {safe(result.error)}", soft_wrap=True)
        elif result.stop_reason == "max_turns":
            self.err.print(f"[yellow]stopped at the turn limit ({max_turns})[/]")
        elif result.stop_reason == "denied":
            self.err.print("[yellow]stopped: a refusal ended the run[/]")

    def session(self, session_id: str) -> None:
        """The session id, for ``--resume``."""
        self.err.print(f"[dim]session {safe(session_id)} (claude-like --resume "
                       f"{safe(session_id)} \"...\")[/]", soft_wrap=True)
