"""Reading a constrained reply: the JSON object a schema (or the prompt) asked for, as a
call, a final answer, or an invalid call the model is told to fix.

Under a schema the reply is one well-formed object. Where none can be sent (llama-server's
Anthropic route) the model was only asked for the format, so the reply is read leniently:
the first JSON object, a call written some other recognised way, a call cut off by the
generation cap (an invalid call, not a final answer), or else plain text (the answer).
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from langchain_core.messages.tool import InvalidToolCall, ToolCall

from claude_like.models.text_tool_calls import _loads_lenient, find_tool_calls

#: The pseudo-tool a reply names to give its final answer.
FINAL = "final_answer"
#: Start of the reply, sent as a last assistant turn where no schema can be sent (the
#: Anthropic route). llama-server 11434.0.0 does not continue it (the reply starts a new
#: turn, usually imitating it); a server that does continue gets it put back in front.
PREFILL = '{"tool": "'

_TOOL_NAME = re.compile(r'\s*\{\s*"tool"\s*:\s*"([^"]+)"')
_CUT_ANSWER = re.compile(r'"answer"\s*:\s*"(.*)', re.DOTALL)


def _new_id() -> str:
    return f"call_{uuid.uuid4().hex[:24]}"


def first_json_text(raw: str) -> str:
    """The first JSON object of ``raw`` as written (drops what a model rambled after it)."""
    if not raw.lstrip().startswith("{"):
        return raw
    start = raw.find("{")
    try:
        _, end = json.JSONDecoder().raw_decode(raw, start)
    except ValueError:
        return raw
    return raw[start:end]


def _from_object(value: dict[str, Any], raw: str, final_name: str
                 ) -> tuple[str, list[ToolCall]]:
    """(content, calls) of a reply that parsed as an object: an answer or one call."""
    tool = value.get("tool") or value.get("name")
    args = value.get("arguments", value.get("args"))
    if tool == final_name or (tool is None and "answer" in value):
        answer = (args or {}).get("answer") if isinstance(args, dict) else None
        return str(answer if answer is not None else value.get("answer", raw)), []
    if isinstance(tool, str) and tool:
        # An unknown name still goes out as a call: the tool node answers with the
        # available names, which is what the model needs to fix it.
        return "", [ToolCall(name=tool, args=args if isinstance(args, dict) else {},
                             id=_new_id(), type="tool_call")]
    return raw, []


def _from_text(raw: str, names: list[str], final_name: str
               ) -> tuple[str, list[ToolCall], list[InvalidToolCall]]:
    """(content, calls, invalid) of a reply that is no clean object."""
    calls = find_tool_calls(raw, names)
    if calls:
        return "", calls, []
    cut = _TOOL_NAME.match(raw)
    if cut and cut.group(1) == final_name:
        answer = _CUT_ANSWER.search(raw)
        return (answer.group(1).rstrip('"}\n ') if answer else raw), [], []
    if cut:
        # A call cut off (generation cap) or garbled: back to the model as an invalid
        # call, not passed off as a final answer.
        return "", [], [InvalidToolCall(
            name=cut.group(1), args=raw[:500], id=_new_id(),
            error="the reply ended before its JSON was complete (generation cap?)",
            type="invalid_tool_call")]
    return raw, [], []


def parse_reply_text(text: str, *, final_name: str, names: list[str],
                     prefill: str | None = None
                     ) -> tuple[str, str, list[ToolCall], list[InvalidToolCall]]:
    """(raw, content, calls, invalid) of a constrained reply's ``text``; ``raw`` is the
    object as read (``prefill`` put back in front where the server continued it)."""
    raw = text
    if prefill is not None and not raw.lstrip().startswith("{"):
        raw = prefill + raw
    raw = first_json_text(raw)
    value = _loads_lenient(raw) if raw.lstrip().startswith("{") else None
    content, calls = (_from_object(value, raw, final_name) if isinstance(value, dict)
                      else (raw, []))
    if calls or content != raw:
        return raw, content, calls, []
    if value is None:
        return (raw, *_from_text(raw, names, final_name))
    calls = find_tool_calls(raw, names)
    return raw, ("" if calls else content), calls, []
