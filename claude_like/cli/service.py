"""What the commands that start an HTTP service share (``gateway``, ``serve``): the
listening options, the bind rule, the model spec, and how a set-up failure is said."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from claude_like.cli.render import err, safe

HostOption = Annotated[str, typer.Option(help="Address to listen on.")]


def fail(message: str) -> typer.Exit:
    """Print a set-up error in red and give the exit to raise (code 1)."""
    err.print(f"[bold red]error:[/] {safe(message)}", soft_wrap=True)
    return typer.Exit(1)


def open_to(host: str, token: str | None) -> str:
    """Refuse a non-loopback ``host`` without a token (as an exit); else how the service
    is protected, for its first line."""
    from claude_like.web.auth import BindRefused, check_bind

    try:
        check_bind(host, token)
    except BindRefused as exc:
        raise fail(str(exc)) from exc
    return "token required" if token else "no token (loopback only)"


def model_spec(model: str | None) -> str:
    """``--model``, else ``$CLAUDE_LIKE_MODEL``; none is an exit that says so."""
    spec = model or os.environ.get("CLAUDE_LIKE_MODEL", "").strip()
    if not spec:
        raise fail("no model: pass --model SPEC or set CLAUDE_LIKE_MODEL")
    return spec
