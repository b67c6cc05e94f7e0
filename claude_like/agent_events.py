"""From the graph's raw output to what ``ClaudeLikeAgent`` hands users: typed stream events
and the :class:`AgentResult` of a run (pending approvals included)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, ToolMessage
from langchain_core.runnables import RunnableConfig

from claude_like.events import (
    AgentEvent,
    AgentResult,
    ApprovalRequested,
    Compacted,
    ContextUsage,
    Notice,
    SubagentEvent,
    TextDelta,
    TodosUpdated,
    ToolFinished,
    ToolStarted,
)
from claude_like.permissions.approval import ApprovalRequest
from claude_like.state import add_usage

STREAM_MODES = ["messages", "custom"]


def to_event(mode: str, chunk: Any) -> AgentEvent | None:
    """The typed event for one item of ``graph.stream(..., stream_mode=STREAM_MODES)``."""
    if mode == "messages":
        message, meta = chunk
        if meta.get("langgraph_node") == "planner" and isinstance(message, AIMessage):
            text = message.text
            return TextDelta(text) if text else None
        return None
    if mode != "custom" or not isinstance(chunk, dict):
        return None
    if isinstance(chunk.get("subagent"), dict):
        tag = chunk["subagent"]
        inner = {k: v for k, v in chunk.items() if k != "subagent"}
        event = TextDelta(inner["text"]) if inner.get("type") == "text" else to_event(
            "custom", inner)
        return None if event is None else SubagentEvent(
            str(tag.get("type", "")), str(tag.get("task_id", "")),
            str(tag.get("description", "")), event)
    kind = chunk.get("type")
    fields = {k: v for k, v in chunk.items() if k != "type"}
    if kind == "tool_start":
        return ToolStarted(chunk["id"] or "", chunk["name"], dict(chunk["args"]))
    if kind == "tool_end":
        return ToolFinished(chunk["id"] or "", chunk["name"], chunk["ok"], chunk["output"])
    if kind == "approval":
        return ApprovalRequested(chunk["request"])
    if kind == "notice":
        return Notice(chunk["source"], chunk["text"])
    if kind == "todos":
        return TodosUpdated(list(chunk["todos"]))
    if kind == "context":
        return ContextUsage(**fields)
    if kind == "compaction":
        return Compacted(**fields)
    return None


def pending_requests(interrupts: Sequence[Any]) -> list[ApprovalRequest]:
    """The approval requests among a snapshot's interrupts (other interrupts, e.g. a
    parent graph's own, are left alone)."""
    out: list[ApprovalRequest] = []
    for item in interrupts:
        value = getattr(item, "value", None)
        if isinstance(value, dict) and value.get("type") == "approval":
            out.extend(value.get("requests") or [])
    return out


def to_result(values: dict[str, Any], mark: tuple[int, int], cfg: RunnableConfig,
              interrupts: Sequence[Any] = ()) -> AgentResult:
    """The run's result from the thread's values; ``mark`` is where the run started (the
    message and turn-stat counts before it)."""
    messages: list[AnyMessage] = list(values.get("messages", []))
    new = messages[mark[0]:]
    usage: dict[str, int] = {}
    for msg in new:
        if isinstance(msg, AIMessage) and msg.usage_metadata:
            usage = add_usage(usage, dict(msg.usage_metadata))  # type: ignore[arg-type]
        elif isinstance(msg, ToolMessage) and isinstance(msg.artifact, dict):
            usage = add_usage(usage, (msg.artifact.get("state") or {}).get("usage"))
    last_ai = next((m for m in reversed(new) if isinstance(m, AIMessage)), None)
    pending = pending_requests(interrupts)
    stop = "interrupted" if pending else values.get("stop_reason") or "done"
    return AgentResult(
        text=last_ai.text if last_ai is not None else "",
        messages=messages,
        turns=int(values.get("turns", 0)),
        usage=usage,
        stop_reason=stop,
        error=values.get("error", ""),
        thread_id=cfg["configurable"]["thread_id"],
        turn_stats=list(values.get("turn_stats", []))[mark[1]:],
        pending=pending,
    )
