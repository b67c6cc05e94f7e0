"""What the model sees of a thread: the full transcript, less what compaction took out.

The checkpointed ``messages`` are never rewritten: they stay the whole transcript for the
user. Compaction only records, in ``state["context"]``, where the model's view starts, the
summary that stands in for what came before, and which tool results show as one-line
stubs. The view is derived from those, so it stays byte-identical from one turn to the
next until the next compaction (and the server's KV cache keeps working).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, HumanMessage, ToolMessage
from typing_extensions import TypedDict

from claude_like.budget import clip_middle
from claude_like.context.accounting import message_tokens

#: Stands first in a view that starts with an assistant turn (APIs want a user turn first).
CONTINUE_NOTE = ("(The earlier part of this conversation is summarised in the system prompt. "
                 "Continue the task from where it stands.)")


class ContextState(TypedDict, total=False):
    """Compaction's record in the graph state (a plain dict, so every checkpointer keeps it)."""

    start_id: str
    """Id of the first message the model sees; empty for the whole thread."""
    summary: str
    """What stands in for the messages before ``start_id`` (shown in the system prompt)."""
    dropped: int
    """Messages that left the view without a summary (said in one line of the prompt)."""
    cleared: list[str]
    """Tool-call ids whose results the model sees as stubs."""
    epoch: int
    """Compactions so far; usage figures of an older epoch describe another view."""
    ratio: float
    """Real prompt tokens / approximate tokens, learnt from the server's usage."""
    last: dict[str, Any]
    """The last reply's figures: ``id``, ``input``, ``output``, ``epoch``."""
    clip: dict[str, int]
    """Message id -> characters the model sees of it (head and tail), for a turn that
    alone is bigger than the window."""


def _brief(args: dict[str, Any]) -> str:
    for key in ("file_path", "path", "pattern", "command", "url", "notebook_path"):
        value = args.get(key)
        if isinstance(value, str) and value:
            return value if len(value) <= 60 else value[:57] + "..."
    return ""


def stub(tool: str, args: dict[str, Any], tokens: int) -> str:
    """The one line a cleared tool result becomes."""
    what = f"{tool} {_brief(args)}".strip()
    return (f"[result of {what} cleared to save context; {tokens:,} tokens; "
            "run the call again if you need it]")


def calls_by_id(messages: Sequence[AnyMessage]) -> dict[str, tuple[str, dict[str, Any]]]:
    """tool_call_id -> (tool name, arguments), for the stubs."""
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    for msg in messages:
        if isinstance(msg, AIMessage):
            for call in msg.tool_calls:
                if call.get("id"):
                    out[call["id"]] = (call["name"], call["args"])  # type: ignore[index]
    return out


def start_index(messages: Sequence[AnyMessage], ctx: ContextState) -> int:
    """Index of the first message in the view (0 when nothing was cut, or the id is gone)."""
    start_id = ctx.get("start_id")
    if not start_id:
        return 0
    for i, msg in enumerate(messages):
        if msg.id == start_id:
            return i
    return 0


def is_cut_point(messages: Sequence[AnyMessage], i: int) -> bool:
    """A view may start at message ``i``: it is not a tool result (which must stay with
    the assistant message that called it)."""
    return 0 <= i < len(messages) and not isinstance(messages[i], ToolMessage)


def plain_text(msg: BaseMessage) -> str:
    """A message's text, whether its content is a string or a list of blocks."""
    return msg.content if isinstance(msg.content, str) else msg.text


def model_view(messages: Sequence[AnyMessage], ctx: ContextState) -> list[BaseMessage]:
    """The messages the model is sent (without the system prompt)."""
    start = start_index(messages, ctx)
    cleared = set(ctx.get("cleared") or ())
    calls = calls_by_id(messages) if cleared else {}
    view: list[BaseMessage] = []
    if start > 0 and not isinstance(messages[start], HumanMessage):
        view.append(HumanMessage(content=CONTINUE_NOTE, id=f"continue-{messages[start].id}"))
    clip = ctx.get("clip") or {}
    for msg in messages[start:]:
        if isinstance(msg, ToolMessage) and msg.tool_call_id in cleared:
            name, args = calls.get(msg.tool_call_id, (msg.name or "tool", {}))
            msg = msg.model_copy(update={"content": stub(name, args, message_tokens(msg))})
        elif msg.id in clip:
            # Blocks (an Anthropic reply) become their text: the calls ride in tool_calls.
            msg = msg.model_copy(update={"content": clip_middle(plain_text(msg), clip[msg.id])})
        view.append(msg)
    return view


def system_text(base: str, ctx: ContextState) -> str:
    """The system prompt, with the summary of the cut-off part when there is one."""
    summary, dropped = ctx.get("summary"), ctx.get("dropped")
    if not summary and not dropped:
        return base
    parts = [base, "# Summary of the earlier conversation"]
    if summary:
        parts.append(summary)
    if dropped:
        parts.append(f"[{dropped} earlier messages were removed from your view to fit the "
                     "context window; the user still has the full transcript.]")
    return "\n\n".join(parts)
