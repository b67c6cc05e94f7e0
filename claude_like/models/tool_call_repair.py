"""Make every tool call of a reply usable, and see that every call gets a result.

Why: small models write calls as text, send near-JSON arguments (single quotes, trailing
commas, ``True``), repeat or omit call ids; and OpenAI and Anthropic reject the next request
when any call, valid or invalid, has no tool result after it. ``normalize_tool_calls`` is
the one entry point for a fresh reply; ``answer_unanswered`` and ``answer_calls`` give the
missing results (interrupted run, resumed thread, turn limit).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.messages.tool import InvalidToolCall, ToolCall
from langchain_core.utils.function_calling import convert_to_openai_tool

from claude_like.models.text_tool_calls import scan_tool_calls
from claude_like.models.tool_arguments import (
    message_key,
    parse_arguments,
    stable_call_id,
    was_cut_off,
)

INTERRUPTED = "Not run: the previous run stopped before this call."
"""The result given to a call left without one (an interrupted or resumed run)."""


# -- one reply -----------------------------------------------------------------------------


def _tool_index(tools: Iterable[Any]) -> tuple[list[str], dict[str, Mapping[str, Any]]]:
    """Names, and argument schemas where a tool (not just its name) was given."""
    names: list[str] = []
    schemas: dict[str, Mapping[str, Any]] = {}
    for tool in tools:
        if isinstance(tool, str):
            names.append(tool)
            continue
        spec = convert_to_openai_tool(tool)["function"]
        names.append(spec["name"])
        schemas[spec["name"]] = (spec.get("parameters") or {}).get("properties") or {}
    return names, schemas


def _unwrap(name: str, args: dict[str, Any]) -> dict[str, Any]:
    """``{"name": N, "arguments": {..}}`` sent as the arguments of N: the inner arguments."""
    inner = next((args[k] for k in ("arguments", "args", "parameters") if k in args), None)
    named = args.get("name", args.get("tool"))
    return inner if named == name and isinstance(inner, dict) and len(args) <= 3 else args


def repair_invalid_calls(message: AIMessage) -> AIMessage:
    """Invalid calls whose argument string repairs to a JSON object become real calls (same
    id, in ``additional_kwargs["repaired_tool_calls"]``); the others stay invalid."""
    if not message.invalid_tool_calls:
        return message
    cut = was_cut_off(message)
    calls, still, repaired = list(message.tool_calls), [], []
    for bad in message.invalid_tool_calls:
        raw, name = bad.get("args"), bad.get("name")
        args = parse_arguments(raw, cut_off=cut) if name and isinstance(raw, str) else None
        if args is None:
            still.append(bad)
            continue
        calls.append(ToolCall(name=name, args=_unwrap(name, args), id=bad.get("id"),
                              type="tool_call"))
        repaired.append(bad.get("id"))
    if not repaired:
        return message
    kwargs = {**message.additional_kwargs, "repaired_tool_calls": repaired}
    return message.model_copy(
        update={"tool_calls": calls, "invalid_tool_calls": still, "additional_kwargs": kwargs}
    )


def unique_call_ids(message: AIMessage) -> AIMessage:
    """Every call and invalid call with its own non-empty id; the first holder of an id keeps
    it, the others get ids derived from the message and position (stable on a re-run)."""
    entries = [*message.tool_calls, *message.invalid_tool_calls]
    ids = [e.get("id") for e in entries]
    if all(ids) and len(set(ids)) == len(ids):
        return message
    key, taken, seen = message_key(message), set(filter(None, ids)), set()
    fixed = []
    for index, entry in enumerate(entries):
        cid, salt = entry.get("id"), 0
        if not cid or cid in seen:
            cid = stable_call_id(key, index)
            while cid in taken or cid in seen:
                salt += 1
                cid = stable_call_id(key, index + 1000 * salt)
        seen.add(cid)
        fixed.append({**entry, "id": cid})
    n = len(message.tool_calls)
    return message.model_copy(update={"tool_calls": fixed[:n], "invalid_tool_calls": fixed[n:]})


def normalize_tool_calls(message: AIMessage, tool_names: Iterable[Any]) -> AIMessage:
    """A fresh model reply made safe for the tool node and the next request.

    1. No native call (valid or invalid): calls written as text become ``tool_calls``, or
       ``invalid_tool_calls`` when torn (see ``text_tool_calls.scan_tool_calls``); only
       names in ``tool_names`` count. Give tools (``BaseTool`` or dict specs) instead of
       names to type XML parameter values by their schema.
    2. Invalid calls whose arguments repair to a JSON object become real calls.
    3. Every call and invalid call gets a unique id.
    Returns ``message`` itself when nothing needed doing.
    """
    names, schemas = _tool_index(tool_names)
    if not message.tool_calls and not message.invalid_tool_calls and names:
        text = message.text
        found = scan_tool_calls(text, names, schemas=schemas, cut_off=was_cut_off(message))
        if found:
            message = message.model_copy(update={
                "content": "",
                "tool_calls": [c for c in found if c["type"] == "tool_call"],
                "invalid_tool_calls": [c for c in found if c["type"] == "invalid_tool_call"],
                "additional_kwargs": {**message.additional_kwargs,
                                      "recovered_tool_calls": True, "original_text": text},
            })
    return unique_call_ids(repair_invalid_calls(message))


# -- results for calls that have none ------------------------------------------------------


def invalid_call_feedback(bad: InvalidToolCall, hint: str = "") -> str:
    """What an invalid call's result says: what was wrong and what to send instead."""
    error = bad.get("error") or "unreadable arguments"
    received = re.search(r"Received (\w+Error[^\n]*)", error)
    error = received.group(1) if received else " ".join(error.split())[:200]
    sent = str(bad.get("args") or "")[:300]
    if not bad.get("name"):
        return f"Error: your tool call had no tool name ({error}). Name one of the tools."
    return (
        f"Error: your call to {bad['name']} was not run: {error}. You sent: {sent!r}. "
        f"Call it again with the arguments as one complete JSON object.{hint and ' ' + hint}"
    )


def answer_calls(
    message: AIMessage, note: str, *, answered: Counter[str] | None = None
) -> list[ToolMessage]:
    """Error results for the calls and invalid calls of ``message`` (none run), skipping ids
    counted in ``answered``. For the turn-limit node and for dangling calls."""
    left = Counter(answered or {})
    entries: list[tuple[str | None, str | None, str]] = [
        (c.get("id"), c.get("name"), note) for c in message.tool_calls
    ] + [
        (b.get("id"), b.get("name"), f"{invalid_call_feedback(b)} {note}")
        for b in message.invalid_tool_calls
    ]
    out: list[ToolMessage] = []
    for cid, name, text in entries:
        if not cid:
            continue  # no id to answer to; normalize_tool_calls prevents this for new replies
        if left[cid] > 0:
            left[cid] -= 1
            continue
        out.append(ToolMessage(content=text, tool_call_id=cid, name=name or "unknown",
                               status="error"))
    return out


def answer_unanswered(
    messages: Sequence[BaseMessage], note: str = INTERRUPTED
) -> list[BaseMessage]:
    """``messages`` with a result for every call (valid or invalid, with an id) that has none
    among the tool results right after its AIMessage; each goes after those results, before
    any later message. A replacement for ``planner.close_dangling_calls``."""
    out: list[BaseMessage] = []
    pending: AIMessage | None = None
    answered: Counter[str] = Counter()
    for msg in [*messages, None]:
        if isinstance(msg, ToolMessage) and pending is not None:
            answered[msg.tool_call_id] += 1
            out.append(msg)
            continue
        if pending is not None:
            out.extend(answer_calls(pending, note, answered=answered))
            pending, answered = None, Counter()
        if msg is None:
            break
        out.append(msg)
        if isinstance(msg, AIMessage) and (msg.tool_calls or msg.invalid_tool_calls):
            pending = msg
    return out
