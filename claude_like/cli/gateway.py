"""``claude-like gateway``: an Anthropic Messages API in front of a factory model (see
:mod:`claude_like.gateway`), and ``claude-like trace analyze FILE`` for its trace."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from claude_like.cli.render import err, out, safe
from claude_like.cli.service import HostOption, fail, model_spec, open_to

TOKEN_ENV = "CLAUDE_LIKE_GATEWAY_TOKEN"
ToolCallingChoice = Enum("ToolCallingChoice",  # type: ignore[misc]
                         {m: m for m in ("native", "constrained", "auto")}, type=str)


def gateway(
    model: Annotated[
        str | None,
        typer.Option(help="Model spec of the backend, e.g. llamacpp:qwen or "
                     "ollama:qwen2.5-coder:7b (options may ride in it: "
                     "llamacpp:x?tool_calling=constrained); "
                     "default $CLAUDE_LIKE_MODEL."),
    ] = None,
    host: HostOption = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8082,
    token: Annotated[
        str | None,
        typer.Option(envvar=TOKEN_ENV, help="Token every request must carry (x-api-key or "
                     "Authorization: Bearer); required off loopback."),
    ] = None,
    trace: Annotated[
        Path | None, typer.Option(help="Append one JSON line per request to this file (0600).")
    ] = None,
    trace_content: Annotated[
        bool, typer.Option("--trace-content", help="Keep message content in the trace "
                           "(key-like strings are still masked).")
    ] = False,
    compact: Annotated[
        bool, typer.Option("--compact", help="Compact a request that does not fit the "
                           "backend's window (old tool results cleared, then the oldest turns "
                           "dropped) instead of answering 'prompt is too long'.")
    ] = False,
    context_window: Annotated[
        int | None,
        typer.Option(help="Tokens the backend holds per request (default: what its server "
                     "says)."),
    ] = None,
    tool_calling: Annotated[
        ToolCallingChoice | None,
        typer.Option(help="native, constrained (JSON-schema decoding: valid calls from any "
                     "model) or auto; default: the spec's, else auto."),
    ] = None,
    max_body: Annotated[
        int, typer.Option(help="Largest request body, in bytes.")
    ] = 32 * 1024 * 1024,
) -> None:
    """Serve an Anthropic Messages API (POST /v1/messages, streamed or not, count_tokens,
    /v1/models, /health) backed by any model spec, so Anthropic clients run on it:
    ANTHROPIC_BASE_URL=http://127.0.0.1:8082 ANTHROPIC_API_KEY=any claude --bare -p "..." """
    import uvicorn

    from claude_like.gateway import create_app
    from claude_like.models import make_chat_model

    auth = open_to(host, token)
    spec = model_spec(model)
    overrides = {"tool_calling": tool_calling.value} if tool_calling else {}
    try:
        chat = make_chat_model(spec, **overrides)
        app = create_app(chat, token=token, trace=trace, trace_content=trace_content,
                         window=context_window, compact=compact, model_name=spec,
                         max_body=max_body)
    except (RuntimeError, ValueError, OSError) as exc:
        raise fail(str(exc)) from exc
    backend = app.state.backend
    err.print(f"claude-like gateway: http://{safe(host)}:{port}  backend {safe(backend.name)} "
              f"(window {backend.budget.window:,}, cap {backend.budget.max_tokens:,}, "
              f"tool calling {backend.tool_calling}), {auth}"
              + (f", trace {safe(str(trace))}" if trace else ""), soft_wrap=True)
    err.print(f"  ANTHROPIC_BASE_URL=http://{safe(host)}:{port} ANTHROPIC_API_KEY="
              f"{'<token>' if token else 'any'} claude --bare -p \"...\"", soft_wrap=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")


trace_app = typer.Typer(add_completion=False, no_args_is_help=True,
                        help="Read a gateway trace (claude-like gateway --trace FILE).")


@trace_app.command("analyze")
def analyze(
    file: Annotated[Path, typer.Argument(help="A trace written by claude-like gateway --trace.")],
) -> None:
    """Per request and in total: prompt tokens split into system prompt, tool schemas and
    history, cached tokens and cache reuse, output, status and time."""
    from claude_like.gateway.analyze import render, summarize

    try:
        summary = summarize(file)
    except OSError as exc:
        raise fail(f"cannot read {file}: {exc.strerror or exc}") from exc
    # A pipe gets the whole table, not one squeezed to 80 columns.
    render(summary, out if out.is_terminal else Console(width=140, highlight=False))
