"""The repeat guard: refuse a call the model keeps making while nothing changes.

A model stuck in a loop makes the same call turn after turn. Re-running a call is fine
when something changed since its last run (the model edited the file it then ``cat``s
again, or ran a command), so the streak counts only turns in a row that made this exact
call (same tool, same arguments) with no other changing call in between: a call of a
tool that is not read-only which succeeded (in the current turn, any such call, as it
has not run yet).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolCall, ToolMessage

from claude_like.budget import clip_end

DEFAULT_REPEAT_LIMIT = 3
"""The same call this many turns in a row, with nothing changed in between, is refused."""


def call_key(call: ToolCall) -> tuple[str, str]:
    return call["name"], json.dumps(call["args"], sort_keys=True, default=str)


def repeat_streak(
    messages: Sequence[AnyMessage], call: ToolCall, changes: Callable[[str], bool]
) -> int:
    """Latest assistant turns in a row (the current one included) that made ``call``
    with no other changing call between them. ``changes(tool_name)`` says whether a
    successful call of that tool may have changed something."""
    key = call_key(call)
    failed = {
        m.tool_call_id for m in messages if isinstance(m, ToolMessage) and m.status == "error"
    }
    streak = 0
    for msg in reversed(messages):
        if isinstance(msg, HumanMessage):
            break
        if not isinstance(msg, AIMessage):
            continue
        if key not in {call_key(c) for c in msg.tool_calls}:
            break
        streak += 1
        others = [c for c in msg.tool_calls if call_key(c) != key and changes(c["name"])]
        # A call with no result yet is in the current turn and will run: a change too.
        if any((c["id"] or "") not in failed for c in others):
            break
    return streak


def repeat_refusal(
    messages: Sequence[AnyMessage], call: ToolCall, limit: int, changes: Callable[[str], bool]
) -> str | None:
    """The error to return instead of running ``call``, or None to run it."""
    if repeat_streak(messages, call, changes) < limit:
        return None
    name, args = call_key(call)
    return (
        f"you have made this exact call, {name} with {clip_end(args, 300)}, {limit} times in "
        "a row, and nothing was changed in between (no Write, Edit, Bash or other changing "
        "call succeeded), so it would give the same result again. Use what you already "
        "have, try a different approach, or give your final answer."
    )
