"""Recover tool calls that a model wrote as text instead of as native tool calls.

Small local models often answer a tool-bound request with ``<tool_call>{...}</tool_call>``
(Hermes/Qwen), a fenced JSON block, a bare ``{"name": ..., "arguments": ...}`` object, or
``<function=name>{...}</function>`` (Llama 3.1 style). ``recover_tool_calls`` turns those
into proper ``AIMessage.tool_calls`` so the rest of the graph sees one shape. It only acts
when the message has no native call and only for names of bound tools, so ordinary JSON
in an answer is left alone.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Collection, Iterator
from typing import Any

from langchain_core.messages import AIMessage
from langchain_core.messages.tool import ToolCall

_TAGGED = re.compile(
    r"<(tool_call|function_call|tool_use|toolcall)>\s*(.*?)\s*(?:</\1>|$)", re.DOTALL | re.I
)
_FUNCTION_TAG = re.compile(r"<function=([\w.\-]+)>\s*(.*?)\s*(?:</function>|$)", re.DOTALL)
_FENCE = re.compile(r"```(?:json|tool_call|tool|javascript|js)?\s*\n?(.*?)```", re.DOTALL | re.I)
_XML_CALL = re.compile(r"<invoke\s+name=\"([\w.\-]+)\">(.*?)</invoke>", re.DOTALL)
_XML_PARAM = re.compile(r"<parameter\s+name=\"([\w.\-]+)\">(.*?)</parameter>", re.DOTALL)

#: Keys under which models put the tool name and its arguments.
_NAME_KEYS = ("name", "tool", "tool_name", "function", "action")
_ARG_KEYS = ("arguments", "args", "parameters", "input", "tool_input", "action_input", "params")


def _json_objects(text: str) -> Iterator[Any]:
    """Every top-level JSON value that starts with ``{`` or ``[`` in ``text``."""
    decoder = json.JSONDecoder()
    i = 0
    while i < len(text):
        starts = [p for p in (text.find("{", i), text.find("[", i)) if p != -1]
        if not starts:
            return
        start = min(starts)
        try:
            value, end = decoder.raw_decode(text, start)
        except ValueError:
            i = start + 1
            continue
        yield value
        i = end


def _loads_lenient(text: str) -> Any:
    """JSON, or failing that the first JSON value inside the text; None if there is none."""
    text = text.strip()
    try:
        return json.loads(text)
    except ValueError:
        pass
    for value in _json_objects(text):
        return value
    return None


def _as_call(obj: Any, names: Collection[str]) -> ToolCall | None:
    """A ToolCall from one decoded object, if it names a bound tool."""
    if not isinstance(obj, dict):
        return None
    if isinstance(obj.get("function"), dict):  # OpenAI wire shape written out as text
        inner = obj["function"]
        return _as_call({"name": inner.get("name"), "arguments": inner.get("arguments")}, names)
    name = next((obj[k] for k in _NAME_KEYS if isinstance(obj.get(k), str)), None)
    if name is None or name not in names:
        return None
    args: Any = next((obj[k] for k in _ARG_KEYS if k in obj), None)
    if args is None:  # {"name": "read", "path": "x"}: the other keys are the arguments
        args = {k: v for k, v in obj.items() if k not in _NAME_KEYS and k != "id"}
    if isinstance(args, str):
        parsed = _loads_lenient(args)
        args = parsed if isinstance(parsed, dict) else {"input": args}
    if not isinstance(args, dict):
        return None
    return ToolCall(name=name, args=args, id=f"call_{uuid.uuid4().hex[:24]}", type="tool_call")


def _calls_in(value: Any, names: Collection[str]) -> list[ToolCall]:
    items = value if isinstance(value, list) else [value]
    if isinstance(value, dict) and isinstance(value.get("tool_calls"), list):
        items = value["tool_calls"]
    calls = [c for c in (_as_call(item, names) for item in items) if c is not None]
    return calls


def find_tool_calls(text: str, tool_names: Collection[str]) -> list[ToolCall]:
    """Tool calls written in ``text``, most explicit syntax first; [] when there are none."""
    names = set(tool_names)
    if not names or not text:
        return []
    calls: list[ToolCall] = []
    for _tag, body in _TAGGED.findall(text):
        value = _loads_lenient(body)
        calls.extend(_calls_in(value, names))
    if calls:
        return calls
    for name, body in _FUNCTION_TAG.findall(text):
        value = _loads_lenient(body) if body.strip() else {}
        if name in names and isinstance(value, dict):
            calls.append(_as_call({"name": name, "arguments": value}, names))  # type: ignore[arg-type]
    if calls:
        return [c for c in calls if c]
    for name, body in _XML_CALL.findall(text):
        if name in names:
            args = {k: _scalar(v.strip()) for k, v in _XML_PARAM.findall(body)}
            calls.append(ToolCall(name=name, args=args, id=f"call_{uuid.uuid4().hex[:24]}",
                                  type="tool_call"))
    if calls:
        return calls
    for body in _FENCE.findall(text):
        calls.extend(_calls_in(_loads_lenient(body), names))
    if calls:
        return calls
    for value in _json_objects(text):
        calls.extend(_calls_in(value, names))
    return calls


def _scalar(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def recover_tool_calls(message: AIMessage, tool_names: Collection[str]) -> AIMessage:
    """``message`` with the tool calls it wrote as text turned into ``tool_calls``.

    Returns the message unchanged when it already has native calls, or its text holds no
    call of a tool in ``tool_names``. The recovered message keeps usage and metadata and
    marks ``additional_kwargs["recovered_tool_calls"] = True``.
    """
    if message.tool_calls:
        return message
    text = message.text
    calls = find_tool_calls(text, tool_names)
    if not calls:
        return message
    return message.model_copy(
        update={
            "content": "",
            "tool_calls": calls,
            "invalid_tool_calls": [],
            "additional_kwargs": {
                **message.additional_kwargs,
                "recovered_tool_calls": True,
                "original_text": text,
            },
        }
    )
