"""The agent's typed events as Server-Sent Events: ``event: <type>`` and one line of JSON
``data`` that repeats the type, so a client may read either."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from claude_like.events import (
    AgentEvent,
    AgentResult,
    ApprovalRequested,
    Compacted,
    ContextUsage,
    Final,
    Notice,
    TextDelta,
    ToolFinished,
    ToolStarted,
)

EVENT_TYPES = {
    TextDelta: "text",
    ToolStarted: "tool_started",
    ToolFinished: "tool_finished",
    ApprovalRequested: "approval_requested",
    Notice: "notice",
    ContextUsage: "context",
    Compacted: "compacted",
    Final: "final",
}


def result_summary(result: AgentResult) -> dict[str, Any]:
    """What a client needs of a run's result (the transcript stays on the server)."""
    return {
        "session_id": result.thread_id,
        "text": result.text,
        "stop_reason": result.stop_reason,
        "error": result.error,
        "turns": result.turns,
        "usage": dict(result.usage),
        "pending": [dict(request) for request in result.pending],
    }


def event_data(event: AgentEvent) -> dict[str, Any]:
    """One event as a JSON-able dict with its ``type``."""
    kind = EVENT_TYPES[type(event)]
    if isinstance(event, Final):
        return {"type": kind, **result_summary(event.result)}
    if isinstance(event, ApprovalRequested):
        return {"type": kind, "request": dict(event.request)}
    return {"type": kind, **asdict(event)}


def sse(data: dict[str, Any]) -> str:
    """One SSE frame; JSON without newlines keeps the ``data`` field on one line."""
    return f"event: {data['type']}\ndata: {json.dumps(data, default=str)}\n\n"
