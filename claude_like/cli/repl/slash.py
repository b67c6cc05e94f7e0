"""The session's slash commands: /help, /model, /mode, /compact, /clear, /cost, /resume,
/sessions, /tools, /expand, /exit. Each is ``async (session, argument) -> None``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from rich.table import Table

from claude_like.budget import clip_end
from claude_like.cli.render import safe
from claude_like.cli.sessions import session_line
from claude_like.permissions.modes import MODES
from claude_like.sessions import SessionInfo

if TYPE_CHECKING:
    from claude_like.cli.repl.session import ReplSession

Handler = Callable[["ReplSession", str], Awaitable[None]]
KEYS = (("Enter", "send"), ("\\ then Enter, Esc Enter", "a new line"),
        ("Up / Down", "earlier inputs (kept across sessions)"),
        ("Shift-Tab", "next permission mode"),
        ("Ctrl-C", "cancel the running turn; clear the line; twice at an empty prompt: leave"),
        ("Ctrl-D", "leave"))


async def show_help(session: ReplSession, _arg: str) -> None:
    table = Table(box=None, show_header=False, pad_edge=False)
    for name, (_handler, usage, text) in COMMANDS.items():
        table.add_row(f"[bold]/{name}[/]{(' ' + safe(usage)) if usage else ''}", safe(text))
    for key, text in KEYS:
        table.add_row(f"[cyan]{safe(key)}[/]", text)
    session.console.print(table)


async def model(session: ReplSession, spec: str) -> None:
    if not spec:
        session.console.print(f"model: {safe(session.agent.model_name)} [dim](/model <spec> "
                              "switches, e.g. /model ollama:qwen2.5-coder:7b)[/]")
        return
    if await session.switch_model(spec):
        session.console.print(f"[green]model:[/] {safe(session.agent.model_name)} [dim](the "
                              "conversation goes on)[/]")


async def mode(session: ReplSession, name: str) -> None:
    if not name:
        session.console.print(f"mode: {session.agent.permission_mode} [dim](/mode "
                              f"{' | '.join(MODES)})[/]")
        return
    chosen = next((m for m in MODES if m.lower() == name.lower()), None)
    if chosen is None:
        session.console.print(f"[red]unknown mode {safe(name)}[/]: use one of "
                              f"{', '.join(MODES)}")
        return
    session.agent.set_permission_mode(chosen)
    session.console.print(f"[green]mode:[/] {chosen}")


async def compact(session: ReplSession, _arg: str) -> None:
    with session.console.status("compacting"):
        done = await session.busy(asyncio.to_thread(session.agent.compact))
    if done is None:
        session.console.print("[dim]nothing to compact[/]")
        return
    session.console.print(f"[green]compacted[/] [dim]({', '.join(done.stages)}: "
                          f"{done.tokens_before:,} -> {done.tokens_after:,} tokens)[/]")


async def clear(session: ReplSession, _arg: str) -> None:
    thread_id = session.new_thread()
    session.console.print(f"[green]new conversation[/] [dim]session {thread_id}; the "
                          "earlier one stays in /sessions[/]")


async def cost(session: ReplSession, _arg: str) -> None:
    """Tokens of this terminal session, and the thread's prompt-cache reuse."""
    totals = session.totals
    session.console.print(f"this terminal session: {totals.get('input_tokens', 0):,} tokens "
                          f"in, {totals.get('output_tokens', 0):,} out")
    values = thread_values(session)
    usage, stats = values.get("usage") or {}, values.get("turn_stats") or []
    given, cached = usage.get("input_tokens", 0), usage.get("cached_tokens", 0)
    reuse = f"{cached / given:.0%}" if given else "-"
    session.console.print(f"this conversation: {len(stats)} model calls, {given:,} tokens in "
                          f"({cached:,} from the prompt cache, {reuse}), "
                          f"{usage.get('output_tokens', 0):,} out")
    read = sum(s.get("prompt_n", 0) for s in stats)
    reused = sum(s.get("cache_n", 0) for s in stats)
    if read + reused:
        session.console.print(f"[dim]server prompt cache: {reused:,} tokens reused, {read:,} "
                              f"read ({reused / (read + reused):.0%} reuse)[/]")


def thread_values(session: ReplSession) -> dict[str, Any]:
    """The state of the session's current conversation."""
    agent = session.agent
    return dict(agent.graph.get_state({"configurable": {"thread_id": agent.thread_id}}).values)


def _stored(session: ReplSession, session_id: str) -> SessionInfo | None:
    """Any saved session by its whole id (another workspace's too)."""
    store = session.agent.store
    try:
        return store.get(session_id) if store is not None else None
    except ValueError:  # not a session id at all
        return None


def _sessions(session: ReplSession) -> list[SessionInfo]:
    found = session.agent.sessions()
    if not found:
        session.console.print("[dim]no saved sessions in this workspace[/]")
    for number, info in enumerate(found, 1):
        mark = "[green]*[/]" if info.id == session.agent.thread_id else " "
        line = safe(session_line(info, with_workspace=False))
        session.console.print(f"{mark}{number:>3}  {line}", soft_wrap=True)
    return found


async def sessions(session: ReplSession, _arg: str) -> None:
    _sessions(session)


def _pick(found: list[SessionInfo], choice: str) -> SessionInfo | None:
    """By number in the listing, by id, or by the start of an id."""
    if choice.isdigit() and 1 <= int(choice) <= len(found):
        return found[int(choice) - 1]
    matches = [info for info in found if info.id.startswith(choice)]
    return matches[0] if len(matches) == 1 else None


async def resume(session: ReplSession, choice: str) -> None:
    agent = session.agent
    found = agent.sessions() if choice else _sessions(session)
    if not found:
        return
    if not choice:
        try:
            choice = (await asyncio.to_thread(
                session.read_line, "[bold]Resume which?[/] number or id, Enter to stay: ")
            ).strip()
        except (KeyboardInterrupt, EOFError):
            choice = ""
        if not choice:
            return
    info = _pick(found, choice) or _stored(session, choice)
    if info is None:
        session.console.print(f"[red]no session {safe(choice)}[/] [dim](/sessions lists "
                              "them)[/]")
        return
    session.switch_thread(info.id)
    session.console.print(f"[green]resumed[/] {info.id} [dim]{safe(info.title)} "
                          f"({info.messages} messages)[/]", soft_wrap=True)
    _recap(session)
    await session.answer_pending()


def _recap(session: ReplSession, count: int = 4) -> None:
    """The last few prompts and answers of the conversation."""
    messages = thread_values(session).get("messages", [])
    shown = [m for m in messages if m.type in ("human", "ai") and m.text.strip()][-count:]
    for message in shown:
        who = "[bold]>[/]" if message.type == "human" else "[cyan]⏺[/]"
        session.console.print(f"{who} {safe(clip_end(' '.join(message.text.split()), 200))}",
                              soft_wrap=True)


async def tools(session: ReplSession, _arg: str) -> None:
    table = Table(box=None, show_header=False, pad_edge=False)
    for tool in session.agent.tools:
        kind = "[dim]read-only[/]" if getattr(tool, "read_only", False) else ""
        summary = (tool.description or "").strip().splitlines()
        table.add_row(f"[bold]{safe(tool.name)}[/]", kind,
                      safe(clip_end(summary[0], 90) if summary else ""))
    session.console.print(table)


async def expand(session: ReplSession, number: str) -> None:
    if not number.lstrip("#").isdigit():
        session.console.print("[dim]/expand N shows the whole result of tool call #N[/]")
        return
    session.console.print(session.tools.expand(int(number.lstrip("#"))))


async def leave(session: ReplSession, _arg: str) -> None:
    session.running = False


COMMANDS: dict[str, tuple[Handler, str, str]] = {
    "help": (show_help, "", "this list"),
    "model": (model, "<spec>", "switch the model (the conversation goes on); alone: show it"),
    "mode": (mode, "<mode>", f"permission mode: {', '.join(MODES)}"),
    "compact": (compact, "", "compact the conversation now (the transcript is kept)"),
    "clear": (clear, "", "start a new conversation (the old one stays in /sessions)"),
    "cost": (cost, "", "tokens used and prompt-cache reuse"),
    "resume": (resume, "[n | id]", "continue a saved conversation; alone: pick one"),
    "sessions": (sessions, "", "this workspace's saved conversations"),
    "tools": (tools, "", "the tools the model can call"),
    "expand": (expand, "N", "the whole result of tool call #N"),
    "exit": (leave, "", "leave (also /quit, Ctrl-D)"),
}
ALIASES = {"quit": "exit", "q": "exit", "?": "help"}


async def dispatch(session: ReplSession, line: str) -> None:
    """Run the slash command on ``line`` (``/name argument``)."""
    name, _, arg = line[1:].strip().partition(" ")
    name = ALIASES.get(name.lower(), name.lower())
    if name not in COMMANDS:
        session.console.print(f"[red]unknown command /{safe(name)}[/] [dim](/help lists "
                              "them)[/]")
        return
    await COMMANDS[name][0](session, arg.strip())
