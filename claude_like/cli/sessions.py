"""``claude-like sessions``: the saved conversations, to pick one for ``--resume``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from claude_like.cli.render import err, out, safe
from claude_like.sessions import SessionInfo, default_store_path, list_sessions


def _when(stamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp))


def session_line(info: SessionInfo, *, with_workspace: bool) -> str:
    """One session: id, last update (local time), message count, title."""
    where = f"  {info.workspace}" if with_workspace else ""
    return f"{info.id}  {_when(info.updated_at)}  {info.messages:>5}{where}  {info.title}"


def sessions(
    all_workspaces: Annotated[
        bool, typer.Option("--all", help="Every workspace's sessions, not only this one's."),
    ] = False,
    workspace: Annotated[
        Path, typer.Option(help="The workspace whose sessions to list.")
    ] = Path("."),
) -> None:
    """List saved sessions, newest first: id, last update, messages, title. Continue one
    with claude-like --resume ID "..." (or the latest with --continue)."""
    try:
        found = list_sessions(None if all_workspaces else workspace.resolve())
    except Exception as exc:  # a damaged store is a message, not a traceback
        err.print(f"[bold red]error:[/] {safe(str(exc))}", soft_wrap=True)
        raise typer.Exit(1) from exc
    if not found:
        scope = "" if all_workspaces else f" for {workspace.resolve()}"
        err.print(f"no sessions{safe(scope)} in {safe(str(default_store_path()))}",
                  soft_wrap=True)
        return
    where = "  workspace" if all_workspaces else ""
    out.print(f"[dim]{'id':<32}  {'updated':<16}  {'msgs':>5}{where}  title[/]", soft_wrap=True)
    for info in found:
        out.print(safe(session_line(info, with_workspace=all_workspaces)), soft_wrap=True)
