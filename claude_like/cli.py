"""The terminal front end: a thin layer over ClaudeLikeAgent.stream."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from claude_like.budget import clip_end
from claude_like.events import (
    Compacted,
    ContextUsage,
    Final,
    TextDelta,
    ToolFinished,
    ToolStarted,
)
from claude_like.text_safety import visible

app = typer.Typer(add_completion=False, help="A Claude-Code-style coding agent for any model.")
err = Console(stderr=True, highlight=False)
out = Console(highlight=False)

EXIT_CODES = {"done": 0, "error": 1, "max_turns": 2}


def _safe(text: str) -> str:
    """Model or tool text as the terminal may print it: control sequences shown as
    escapes (never obeyed: a title change, a reset, hidden text), rich markup escaped."""
    return escape(visible(text))


def _short(args: dict, limit: int = 80) -> str:
    return clip_end(json.dumps(args, ensure_ascii=False, default=str), limit)


def _first_line(text: str, limit: int = 100) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return clip_end(line, limit)


@app.command()
def run(
    task: Annotated[str, typer.Argument(help="What the agent should do.")],
    model: Annotated[
        str | None,
        typer.Option(help="Model spec, e.g. ollama:qwen2.5-coder:7b; default $CLAUDE_LIKE_MODEL."),
    ] = None,
    workspace: Annotated[
        Path, typer.Option(help="The only folder the tools may touch.")
    ] = Path("."),
    sandbox: Annotated[str, typer.Option(help="local or docker.")] = "local",
    max_turns: Annotated[int, typer.Option(help="Model calls allowed for this task.")] = 30,
    context_window: Annotated[
        int | None,
        typer.Option(help="Tokens the model holds per request (default: what the server says)."),
    ] = None,
) -> None:
    """Run one task and print the agent's work as it happens."""
    from claude_like.agent import ClaudeLikeAgent

    try:
        agent = ClaudeLikeAgent(
            model=model, workspace=workspace, sandbox=sandbox, max_turns=max_turns,
            context_window=context_window,
        )
    except Exception as exc:  # setup problems deserve a readable message, not a traceback
        err.print(f"[bold red]error:[/] {_safe(str(exc))}")
        raise typer.Exit(1) from exc
    code = 0
    in_text = False
    with agent:
        for event in agent.stream(task):
            if isinstance(event, TextDelta):
                out.print(_safe(event.text), end="")
                in_text = True
                continue
            if in_text:
                out.print()
                in_text = False
            if isinstance(event, ToolStarted):
                err.print(f"[cyan]● {_safe(event.name)}[/]({_safe(_short(event.args))})")
            elif isinstance(event, ToolFinished):
                mark = "[green]✓[/]" if event.ok else "[red]✗[/]"
                err.print(f"  {mark} {_safe(_first_line(event.output))}")
            elif isinstance(event, ContextUsage) and event.warning:
                err.print(f"[yellow]context {event.share:.0%} full[/] [dim]({event.tokens:,} of "
                          f"{event.window:,} tokens)[/]")
            elif isinstance(event, Compacted):
                err.print(f"[yellow]context compacted[/] [dim]({', '.join(event.stages)}: "
                          f"{event.tokens_before:,} -> {event.tokens_after:,} tokens)[/]",
                          soft_wrap=True)
            elif isinstance(event, Final):
                result = event.result
                usage = result.usage
                err.print(
                    f"[dim]{result.stop_reason} after {result.turns} turns, "
                    f"{usage.get('input_tokens', 0)} in / {usage.get('output_tokens', 0)} out "
                    "tokens[/]"
                )
                if result.stop_reason == "error":
                    err.print(f"[bold red]error:[/] {_safe(result.error)}")
                elif result.stop_reason == "max_turns":
                    err.print(f"[yellow]stopped at the turn limit ({max_turns})[/]")
                code = EXIT_CODES.get(result.stop_reason, 1)
    raise typer.Exit(code)


def main() -> None:
    app()
