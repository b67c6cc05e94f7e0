"""How a run looks to a person: an :class:`AgentResult` or single events as HTML (Jupyter)
or plain text (a terminal, a log).

Everything the model or a tool produced is untrusted text: it is made visible
(``text_safety.visible``: control characters as ``\\x1b`` escapes) and then HTML-escaped,
so a tool output that holds ``<script>`` shows as those characters and never runs. Only
inline styles are used (no ``<style>``, no script), which JupyterLab's sanitizer keeps in
untrusted notebooks; colours are translucent so that light and dark themes both read.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage

from claude_like.budget import clip_middle
from claude_like.events import (
    AgentResult,
    ApprovalRequested,
    Compacted,
    ContextUsage,
    Final,
    Notice,
    SubagentEvent,
    TextDelta,
    TodosUpdated,
    ToolFinished,
    ToolStarted,
)
from claude_like.permissions.approval import ApprovalRequest
from claude_like.permissions.preview import preview
from claude_like.text_safety import visible
from claude_like.todos import render_todos

__all__ = ["BODY_LIMIT", "TEXT_RESULT_LINES", "approval_html", "approval_text", "call_diff",
           "diff_html", "esc", "event_html", "event_text", "result_html", "result_text",
           "summary_html", "summary_line", "tool_call_html", "tool_call_text"]

BODY_LIMIT = 20_000
"""Characters of one tool result or diff shown in HTML (cut in the middle beyond)."""
TEXT_RESULT_LINES = 6
"""Lines of a tool result shown in plain text."""

_FONT = "font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px"
_PRE = f"margin:2px 0;padding:4px 6px;white-space:pre-wrap;overflow-x:auto;{_FONT}"
_ROLE_COLOURS = {"user": "#3b82f6", "assistant": "#8b5cf6", "tool": "#6b7280",
                 "error": "#dc2626", "notice": "#d97706"}
_DIFF_STYLES = {
    "+": "background:rgba(34,197,94,.18);color:inherit",
    "-": "background:rgba(239,68,68,.18);color:inherit",
    "@": "color:#0891b2",
    "h": "font-weight:bold",
}
_KEY_ARGS = ("file_path", "command", "pattern", "path", "description", "task")


def esc(text: Any) -> str:
    """Untrusted text as HTML: control characters made visible, then every ``<``, ``>``,
    ``&`` and quote escaped."""
    return html.escape(visible(str(text)), quote=True)


def _pre(text: str, style: str = "") -> str:
    return f'<pre style="{_PRE};{style}">{esc(clip_middle(text, BODY_LIMIT))}</pre>'


def _block(role: str, body: str, label: str | None = None) -> str:
    colour = _ROLE_COLOURS.get(role, "#6b7280")
    head = (f'<div style="font-size:11px;color:{colour};font-weight:bold">{esc(label)}</div>'
            if label else "")
    return (f'<div style="border-left:3px solid {colour};padding:2px 8px;margin:4px 0">'
            f"{head}{body}</div>")


# -- diffs -------------------------------------------------------------------------------------
def call_diff(name: str, args: Mapping[str, Any]) -> str | None:
    """The change a Write or Edit call makes, as a unified diff of its own arguments
    (``old_string`` against ``new_string``; a Write against nothing). None for other
    tools."""
    return preview(name, args, lambda _path: None)


def diff_html(diff: str) -> str:
    """A unified diff with added lines green, removed lines red, hunk headers blue."""
    rows = []
    for line in clip_middle(diff, BODY_LIMIT).splitlines():
        if line.startswith(("+++", "---")):
            kind = "h"
        elif line[:1] in ("+", "-", "@"):
            kind = line[:1]
        else:
            kind = ""
        style = _DIFF_STYLES.get(kind, "")
        rows.append(f'<span style="display:block;{style}">{esc(line) or " "}</span>')
    return f'<pre style="{_PRE}">{"".join(rows)}</pre>'


# -- tool calls ----------------------------------------------------------------------------------
def _arg_summary(args: Mapping[str, Any], limit: int = 80) -> str:
    for key in _KEY_ARGS:
        if isinstance(args.get(key), str) and args[key]:
            first = args[key].splitlines()[0] if args[key].strip() else args[key]
            return first if len(first) <= limit else first[: limit - 1] + "…"
    text = json.dumps(dict(args), ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _status(ok: bool | None) -> tuple[str, str]:
    if ok is None:
        return "…", "#6b7280"
    return ("✓", "#16a34a") if ok else ("✗", "#dc2626")


def tool_call_html(name: str, args: Mapping[str, Any], output: str | None = None,
                   ok: bool | None = None, *, expanded: bool = False) -> str:
    """One call as a collapsible ``<details>``: a one-line summary (status, tool, main
    argument), and inside the change (Edit/Write, coloured) or the arguments, then the
    result. ``output=None``: the call has no result yet."""
    mark, colour = _status(ok if output is not None else None)
    summary = (f'<summary style="cursor:pointer;{_FONT}"><span style="color:{colour}">'
               f"{mark}</span> <b>{esc(name)}</b> {esc(_arg_summary(args))}</summary>")
    diff = call_diff(name, args)
    if diff is not None:
        body = diff_html(diff)
    else:
        body = _pre(json.dumps(dict(args), indent=1, ensure_ascii=False, default=str),
                    "opacity:.8")
    if output is not None:  # the result, set off from the arguments by a rule on its left
        style = "border-left:2px solid rgba(127,127,127,.35)" + ("" if ok else ";color:#dc2626")
        body += _pre(output or "(no output)", style)
    attr = " open" if expanded else ""
    return (f'<details{attr} style="margin:2px 0 2px 4px">{summary}'
            f'<div style="margin-left:14px">{body}</div></details>')


def tool_call_text(name: str, args: Mapping[str, Any], output: str | None = None,
                   ok: bool | None = None) -> str:
    """One call in plain text: ``-> Edit app.py`` then the change or the first lines of
    the result, indented."""
    mark = "" if output is None else ("  ok" if ok else "  error")
    lines = [f"-> {visible(name)} {visible(_arg_summary(args))}{mark}"]
    diff = call_diff(name, args)
    if diff is not None:
        lines += ["     " + line for line in visible(diff).splitlines()]
    elif output is not None:
        out = visible(output).splitlines() or ["(no output)"]
        lines += ["     " + line for line in out[:TEXT_RESULT_LINES]]
        if len(out) > TEXT_RESULT_LINES:
            lines.append(f"     ... ({len(out) - TEXT_RESULT_LINES} more lines)")
    return "\n".join(lines)


# -- approvals and summaries -------------------------------------------------------------------
def approval_html(request: ApprovalRequest) -> str:
    """A call waiting for the user: the tool, why it asks, and the change or the input."""
    head = (f"<div style=\"{_FONT}\"><b>{esc(request['tool'])}</b> waits for approval: "
            f"{esc(request['reason'])}</div>")
    if request.get("diff"):
        body = diff_html(str(request["diff"]))
    else:
        body = _pre(json.dumps(request["input"], indent=1, ensure_ascii=False, default=str))
    return _block("notice", head + body, "approval")


def approval_text(request: ApprovalRequest) -> str:
    head = f"? {visible(request['tool'])} waits for approval: {visible(request['reason'])}"
    shown = request.get("diff") or json.dumps(request["input"], ensure_ascii=False,
                                              default=str)
    return head + "\n" + "\n".join("     " + line for line in visible(shown).splitlines())


def summary_line(result: AgentResult) -> str:
    """``done · 3 turns · 1,234 in / 56 out tokens`` (and the error, if any)."""
    usage = result.usage or {}
    parts = [result.stop_reason, f"{result.turns} turn{'s' if result.turns != 1 else ''}",
             f"{usage.get('input_tokens', 0):,} in / {usage.get('output_tokens', 0):,} out "
             "tokens"]
    line = " · ".join(parts)
    return f"{line} · {result.error}" if result.error else line


# -- messages and results ----------------------------------------------------------------------
def _results_by_id(messages: Sequence[AnyMessage]) -> dict[str, ToolMessage]:
    return {m.tool_call_id: m for m in messages if isinstance(m, ToolMessage)}


def _message_parts(messages: Sequence[AnyMessage]) -> list[tuple[str, Any]]:
    """The transcript as (kind, payload) items: user and assistant text, tool calls with
    their results (a ToolMessage is shown with its call, not on its own)."""
    results = _results_by_id(messages)
    calls = {c["id"] for m in messages if isinstance(m, AIMessage) for c in m.tool_calls}
    parts: list[tuple[str, Any]] = []
    for msg in messages:
        if isinstance(msg, HumanMessage):
            parts.append(("user", msg.text))
        elif isinstance(msg, AIMessage):
            if msg.text.strip():
                parts.append(("assistant", msg.text))
            for call in msg.tool_calls:
                res = results.get(call["id"] or "")
                output = None if res is None else str(res.text)
                ok = None if res is None else res.status != "error"
                parts.append(("call", (call["name"], call["args"], output, ok)))
        elif isinstance(msg, ToolMessage):
            if msg.tool_call_id not in calls:
                parts.append(("tool", msg.text))
        else:
            parts.append((msg.type, msg.text))
    return parts


def summary_html(result: AgentResult) -> str:
    """The summary line: green for a run that ended or waits for approval, red for an
    error, amber for a limit or a refusal that ended it."""
    colour = {"done": "#16a34a", "interrupted": "#16a34a", "error": "#dc2626"}.get(
        result.stop_reason, "#d97706")
    return (f'<div style="{_FONT};color:{colour};margin:4px 0">'
            f"{esc(summary_line(result))}</div>")


def result_html(result: AgentResult) -> str:
    """The run as HTML: a summary line, the conversation (tool calls collapsible, Edit and
    Write as coloured diffs), then any calls waiting for approval."""
    out = [summary_html(result)]
    for kind, payload in _message_parts(result.messages):
        if kind == "call":
            out.append(tool_call_html(*payload))
        elif kind in ("user", "assistant"):
            label = "you" if kind == "user" else "assistant"
            out.append(_block(kind, f'<div style="white-space:pre-wrap">{esc(payload)}</div>',
                              label))
        else:
            out.append(_block("tool", _pre(payload), kind))
    out += [approval_html(r) for r in result.pending]
    return f'<div class="claude-like-result">{"".join(out)}</div>'


def result_text(result: AgentResult) -> str:
    """The run as plain text, for a terminal or ``print``."""
    lines = [f"[{summary_line(result)}]"]
    for kind, payload in _message_parts(result.messages):
        if kind == "call":
            lines.append(tool_call_text(*payload))
        else:
            label = "you" if kind == "user" else kind
            lines.append(f"{label}: {visible(payload)}")
    lines += [approval_text(r) for r in result.pending]
    return "\n".join(lines)


# -- single events -----------------------------------------------------------------------------
def context_line(event: ContextUsage) -> str:
    return (f"context {event.share:.0%} full ({event.tokens:,} of {event.window:,} tokens, "
            f"turn {event.turn})")


def compacted_line(event: Compacted) -> str:
    return (f"context compacted ({', '.join(event.stages)}: {event.tokens_before:,} -> "
            f"{event.tokens_after:,} tokens)")


def event_text(event: Any) -> str:
    """One event as a line of plain text (TextDelta: its text as it is)."""
    if isinstance(event, TextDelta):
        return visible(event.text)
    if isinstance(event, ToolStarted):
        return tool_call_text(event.name, event.args)
    if isinstance(event, ToolFinished):
        mark = "ok" if event.ok else "error"
        lines = visible(event.output).splitlines() or ["(no output)"]
        shown = "\n".join("     " + line for line in lines[:TEXT_RESULT_LINES])
        more = len(lines) - TEXT_RESULT_LINES
        return f"   {mark}:\n{shown}" + (f"\n     ... ({more} more lines)" if more > 0 else "")
    if isinstance(event, ApprovalRequested):
        return approval_text(event.request)
    if isinstance(event, Notice):
        return f"! {visible(event.source)}: {visible(event.text)}"
    if isinstance(event, TodosUpdated):
        return visible(render_todos(event.todos))
    if isinstance(event, ContextUsage):
        return context_line(event)
    if isinstance(event, Compacted):
        return compacted_line(event)
    if isinstance(event, SubagentEvent):
        inner = event_text(event.event)
        return "\n".join(f"  [{visible(event.agent)}] {line}" for line in inner.splitlines())
    if isinstance(event, Final):
        return f"[{summary_line(event.result)}]"
    return visible(repr(event))


def event_html(event: Any) -> str:
    """One event as HTML (a tool call shows without its result: see ``StreamView``;
    ``Final`` as the summary line, the events having shown the rest)."""
    if isinstance(event, TextDelta):
        return esc(event.text)
    if isinstance(event, ToolStarted):
        return tool_call_html(event.name, event.args)
    if isinstance(event, ToolFinished):
        return tool_call_html(event.name, {}, event.output, event.ok)
    if isinstance(event, ApprovalRequested):
        return approval_html(event.request)
    if isinstance(event, Notice):
        return _block("notice", _pre(event.text), event.source)
    if isinstance(event, TodosUpdated):
        return _block("tool", _pre(render_todos(event.todos)), "todos")
    if isinstance(event, SubagentEvent):
        return _block("tool", event_html(event.event), f"{event.agent}: {event.description}")
    if isinstance(event, ContextUsage):
        return f'<div style="{_FONT};opacity:.7">{esc(context_line(event))}</div>'
    if isinstance(event, Compacted):
        return f'<div style="{_FONT};opacity:.7">{esc(compacted_line(event))}</div>'
    if isinstance(event, Final):
        return summary_html(event.result)
    return _pre(repr(event))
