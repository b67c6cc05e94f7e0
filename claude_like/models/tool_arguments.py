"""Tool-call arguments and ids as small models send them: parsed honestly, repaired when
near-JSON, never completed by guessing; stable unique ids.

Why a module of its own: both the text-call scanner (``text_tool_calls``) and the reply
repair (``tool_call_repair``) read arguments the same way.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

import json_repair
from langchain_core.messages import AIMessage

_NOT_JSON = object()


# -- arguments -----------------------------------------------------------------------------


def looks_cut_off(raw: str) -> bool:
    """True when ``raw`` stops inside a string or with a bracket open after something other
    than a closed object/array: repairing it would invent the missing value, so don't."""
    depth, quote, escaped, last = 0, "", False, ""
    for ch in raw:
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
        if not ch.isspace():
            last = ch
    return bool(quote) or (depth > 0 and last not in "}]")


def jsonable(value: Any) -> Any:
    """``value`` as JSON would hold it (tuples become lists); a sentinel if it can't be."""
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError):
        return _NOT_JSON


def _no_constant(name: str) -> Any:
    raise ValueError(name)  # NaN and Infinity are not arguments anyone meant


def loads_repaired(text: str, *, cut_off: bool = False) -> Any:
    """JSON, else a Python literal (single quotes, True/None), else json-repair's reading of
    near-JSON (trailing commas, unquoted keys, comments); None when nothing honest parses.
    Text that was cut off (or ``cut_off``) is never completed by guessing."""
    text = text.strip()
    if not text:
        return None
    try:
        value, end = json.JSONDecoder(parse_constant=_no_constant).raw_decode(text)
        if not text[end:].strip(" \t\r\n}]),;."):  # at most stray closers after it
            return value
    except ValueError:
        pass
    try:
        value = jsonable(ast.literal_eval(text))
        if value is not _NOT_JSON:
            return value
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        pass
    if cut_off or looks_cut_off(text) or text[0] not in "{[":
        return None
    try:  # strict: an empty value is an error, not a ""
        value = json_repair.loads(text, strict=True)
    except Exception:  # a third-party parser on arbitrary text: any failure means "no"
        return None
    if not isinstance(value, dict | list) or not value or not _keeps_strings(text, value):
        return None
    return value


_QUOTED = re.compile(r'"((?:[^"\\\n]|\\.)*)"|\'((?:[^\'\\\n]|\\.)*)\'')


def _strings_of(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings_of(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings_of(item)
    elif isinstance(value, str):
        yield value


def _keeps_strings(raw: str, value: Any) -> bool:
    """Every quoted word of ``raw`` is still in the repaired ``value``: the repair dropped
    nothing (json-repair drops a key that has no value)."""
    blob = "\x00".join(_strings_of(value))
    for match in _QUOTED.finditer(raw):
        word = match.group(1) if match.group(1) is not None else match.group(2)
        with contextlib.suppress(ValueError):
            word = json.loads(f'"{word}"')
        if word not in blob:
            return False
    return True


def parse_arguments(raw: Any, *, cut_off: bool = False) -> dict[str, Any] | None:
    """Tool arguments as a dict, from a dict or from the string a model wrote (also doubly
    JSON-encoded); None when they cannot be read without guessing."""
    if isinstance(raw, dict):
        return raw
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {}
    if not isinstance(raw, str):
        return None
    value = loads_repaired(raw, cut_off=cut_off)
    if isinstance(value, str) and value.strip()[:1] == "{":
        value = loads_repaired(value, cut_off=cut_off)
    return value if isinstance(value, dict) else None


def _is_string_param(prop: Mapping[str, Any] | None) -> bool:
    if not prop:
        return False
    kinds = prop.get("type")
    types = set(kinds) if isinstance(kinds, list) else {kinds} if kinds else set()
    for alt in prop.get("anyOf", []) or []:
        types.add(alt.get("type"))
    return bool(types) and types <= {"string", "null"} and "string" in types


def param_value(raw: str, prop: Mapping[str, Any] | None = None) -> Any:
    """One XML parameter value: its text for a string parameter (one framing newline on each
    side dropped), else the JSON/Python value it spells (``20`` -> 20) when it spells one."""
    text = raw[1:] if raw.startswith("\n") else raw
    text = text[:-1] if text.endswith("\n") else text
    if _is_string_param(prop):
        return text
    value = loads_repaired(text) if text.strip()[:1] in ("[", "{") else None
    if value is not None:
        return value
    stripped = text.strip()
    try:
        return json.loads(stripped, parse_constant=_no_constant)
    except ValueError:
        return {"True": True, "False": False, "None": None}.get(stripped, text)


# -- ids and stops -------------------------------------------------------------------------


def stable_call_id(base: str, index: int) -> str:
    """A call id derived from its message and position: a re-run gives the same id."""
    return "call_" + hashlib.sha256(f"{base}#{index}".encode()).hexdigest()[:24]


def message_key(message: AIMessage) -> str:
    """What call ids of ``message`` derive from: its id, else a digest of its content."""
    return message.id or hashlib.sha256(
        json.dumps([message.content, message.tool_calls, message.invalid_tool_calls],
                   sort_keys=True, default=str).encode()
    ).hexdigest()


def was_cut_off(message: AIMessage) -> bool:
    """Whether the reply stopped at the generation cap (OpenAI, Anthropic, Ollama spelling)."""
    meta = message.response_metadata or {}
    reason = meta.get("finish_reason") or meta.get("stop_reason") or meta.get("done_reason")
    return reason in ("length", "max_tokens")
