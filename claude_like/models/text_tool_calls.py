"""Recover tool calls that a model wrote as text instead of as native tool calls.

Small local models, or a server whose chat template is not tool-aware, answer with the
tool syntax they were trained on: Hermes/Qwen ``<tool_call>{json}</tool_call>``,
Qwen3-Coder ``<function=Read><parameter=file_path>..</parameter></function>``, Mistral
``[TOOL_CALLS][..]``, Llama 3 ``<|python_tag|>{..}`` or pythonic ``[read(path="a")]``,
DeepSeek/Kimi/gpt-oss special tokens, a fenced or bare JSON object. This module turns
those into ``ToolCall``s (or ``InvalidToolCall``s when the arguments cannot be read
honestly), only for names of bound tools, so ordinary JSON in an answer is left alone.
"""

from __future__ import annotations

import ast
import json
import re
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any

from langchain_core.messages import AIMessage
from langchain_core.messages.tool import InvalidToolCall, ToolCall

from claude_like.models.tool_arguments import (
    jsonable,
    loads_repaired,
    message_key,
    param_value,
    parse_arguments,
    stable_call_id,
)

#: Tool name -> the JSON-schema ``properties`` of its arguments (used to type XML values).
Schemas = Mapping[str, Mapping[str, Any]]
Found = ToolCall | InvalidToolCall

_N = r"([\w.\-]+)"  # a tool name
_FUNCTION = re.compile(
    rf"<function(?:=|\s+name=\"){_N}\"?>(.*?)(?:</function>|(?=<function[=\s])|$)", re.DOTALL
)
_PARAM = re.compile(r"<parameter=([^>\s]+)>(.*?)(</parameter>|(?=<parameter=)|$)", re.DOTALL)
_INVOKE = re.compile(rf"<invoke\s+name=\"{_N}\">(.*?)(?:</invoke>|$)", re.DOTALL)
_INVOKE_PARAM = re.compile(r"<parameter\s+name=\"([^\"]+)\">(.*?)(</parameter>|$)", re.DOTALL)
_GLM = re.compile(rf"<tool_call>\s*{_N}\s*(<arg_key>.*?)(?:</tool_call>|$)", re.DOTALL)
_GLM_ARG = re.compile(r"<arg_key>(.*?)</arg_key>\s*<arg_value>(.*?)(</arg_value>|$)", re.DOTALL)
_BAR, _SEP = "\uff5c", "\u2581"  # DeepSeek's full-width bar and low line, kept out of the source
_DS = f"<{_BAR}tool{_SEP}call{_SEP}begin{_BAR}>"
_DS_SEP = f"<{_BAR}tool{_SEP}sep{_BAR}>"
#: Formats that name the tool with special tokens, then give the JSON arguments.
_NAMED = [
    re.compile(rf"{_DS}(?:function{_DS_SEP}{_N}|{_N}{_DS_SEP})"),  # DeepSeek R1 / V3.1
    re.compile(rf"<\|tool_call_begin\|>\s*(?:functions\.)?{_N}(?::\d+)?\s*"
               r"<\|tool_call_argument_begin\|>"),  # Kimi K2
    re.compile(  # gpt-oss (harmony)
        rf"to=functions\.{_N}(?:(?!<\|message\|>).){{0,80}}<\|message\|>", re.DOTALL
    ),
    re.compile(rf"\[TOOL_CALLS\]\s*{_N}\s*\[ARGS\]"),  # Mistral v11 (Devstral, Magistral)
    re.compile(rf">>>{_N}\n"),  # Functionary v3.2
]
_NAMED_END = re.compile(
    rf"<{_BAR}tool{_SEP}call{_SEP}end{_BAR}>|<\|tool_call_end\|>|<\|call\|>|\[TOOL_CALLS\]|>>>"
)
_TAGGED = re.compile(
    r"<(tool_call|function_call|tool_use|toolcall|tool_calls|tools|tool)>\s*(.*?)\s*(?:</\1>|$)",
    re.DOTALL | re.I,
)
#: Special tokens followed by JSON calls: Mistral, Llama 3, LFM2, Granite, Command R, Apertus.
_MARKED = re.compile(
    r"(?:\[TOOL_CALLS\]|<\|python_tag\|>|<\|tool_call_start\|>|<\|tool_call\|>|<\|START_ACTION\|>"
    r"|<\|tools_prefix\|>|\bfunctools(?=\[))\s*(.*?)\s*(?:<\|tool_call_end\|>|<\|END_ACTION\|>"
    r"|<\|tools_suffix\|>|<\|eom_id\|>|<\|eot_id\|>|$)",
    re.DOTALL,
)
_FENCE = re.compile(
    r"```(?:json|tool_call|tool|javascript|js|python)?\s*\n?(.*?)```", re.DOTALL | re.I
)
_NAME_IN = re.compile(r"[\"']?(?:name|tool_name|tool|function)[\"']?\s*:\s*[\"']([\w.\-]+)")
_NAME_AT = re.compile(r"\{\s*" + _NAME_IN.pattern)
_PYTHONIC = re.compile(r"\[\s*([A-Za-z_][\w.]*)\s*\(")

#: Keys under which models put the tool name and its arguments.
_NAME_KEYS = ("name", "tool", "tool_name", "function", "action")
_ARG_KEYS = ("arguments", "args", "parameters", "input", "tool_input", "action_input", "params")


# -- building calls ------------------------------------------------------------------------


def _call(name: str, args: dict[str, Any]) -> ToolCall:
    return ToolCall(name=name, args=args, id=None, type="tool_call")


def _invalid(name: str, raw: str, error: str) -> InvalidToolCall:
    return InvalidToolCall(name=name, args=raw[:2000], id=None, error=error,
                           type="invalid_tool_call")


def _from_raw(name: str, raw: str, cut_off: bool) -> Found:
    args = parse_arguments(raw, cut_off=cut_off)
    if args is None:
        return _invalid(name, raw, "the arguments are not one complete JSON object")
    return _call(name, args)


def _as_call(obj: Any, names: Collection[str]) -> Found | None:
    """A call from one decoded object, if it names a bound tool."""
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
    if isinstance(args, str) and args.strip()[:1] not in ("{", '"'):
        return _call(name, {"input": args})  # a bare string: the one argument
    if isinstance(args, str):
        return _from_raw(name, args, False)
    return _call(name, args) if isinstance(args, dict) else None


def _calls_in(value: Any, names: Collection[str]) -> list[Found]:
    if isinstance(value, dict) and isinstance(value.get("tool_calls"), list):
        value = value["tool_calls"]
    elif isinstance(value, dict) and isinstance(value.get("tool_call"), dict):
        value = value["tool_call"]
    items = value if isinstance(value, list) else [value]
    return [c for c in (_as_call(item, names) for item in items) if c is not None]


# -- formats, most explicit first ----------------------------------------------------------


def _xml_functions(text: str, names: Collection[str], schemas: Schemas, cut: bool) -> list[Found]:
    """Qwen3-Coder/Seed-OSS ``<function=N><parameter=k>v</parameter>`` (wrapper optional), and
    Functionary/Llama 3.1 ``<function=N>{json}</function>``."""
    out: list[Found] = []
    for match in _FUNCTION.finditer(text):
        name, body = match.group(1), match.group(2)
        if name not in names:
            continue
        if "<parameter=" not in body:
            out.append(_from_raw(name, body.split("</tool_call>")[0], cut) if body.strip()
                       else _call(name, {}))
            continue
        props = schemas.get(name, {})
        params = _PARAM.findall(body)
        if cut and params and not params[-1][2] and not match.group(0).endswith("</function>"):
            out.append(_invalid(name, body, "the reply was cut off inside a parameter"))
            continue
        out.append(_call(name, {k: param_value(v, props.get(k)) for k, v, _ in params}))
    return out


def _xml_invokes(text: str, names: Collection[str], schemas: Schemas, cut: bool) -> list[Found]:
    """``<invoke name="N"><parameter name="k">v</parameter></invoke>`` (Claude, MiniMax)."""
    out: list[Found] = []
    for name, body in _INVOKE.findall(text):
        if name in names:
            props = schemas.get(name, {})
            pairs = _INVOKE_PARAM.findall(body)
            out.append(_call(name, {k: param_value(v.strip(), props.get(k)) for k, v, _ in pairs}))
    return out


def _glm(text: str, names: Collection[str], schemas: Schemas, cut: bool) -> list[Found]:
    """GLM 4.5: ``<tool_call>N<arg_key>k</arg_key><arg_value>v</arg_value></tool_call>``."""
    out: list[Found] = []
    for name, body in _GLM.findall(text):
        if name in names:
            props = schemas.get(name, {})
            pairs = [(k.strip(), v) for k, v, _ in _GLM_ARG.findall(body)]
            out.append(_call(name, {k: param_value(v, props.get(k)) for k, v in pairs}))
    return out


def _named_json(text: str, names: Collection[str], schemas: Schemas, cut: bool) -> list[Found]:
    """Special-token formats: DeepSeek, Kimi K2, gpt-oss, Mistral v11, Functionary v3.2."""
    out: list[Found] = []
    for pattern in _NAMED:
        for match in pattern.finditer(text):
            name = next((g for g in match.groups() if g), "")
            if name not in names:
                continue
            rest = text[match.end():]
            end = _NAMED_END.search(rest)
            raw = rest[: end.start()] if end else rest
            fenced = _FENCE.search(raw)
            raw = fenced.group(1) if fenced else raw.replace("```json", "")
            out.append(_from_raw(name, raw, cut and end is None))
    return out


def _in_bodies(bodies: list[str], names: Collection[str], cut: bool) -> list[Found]:
    out: list[Found] = []
    for body in bodies:
        calls = _calls_in(_loads_lenient(body), names)
        if not calls:
            calls = _calls_in(loads_repaired(body, cut_off=cut), names)
        named = _NAME_IN.search(body)
        if not calls and named and named.group(1) in names:
            calls = [_invalid(named.group(1), body, "the call is not one complete JSON object")]
        out.extend(calls)
    return out


def _tagged(text: str, names: Collection[str], schemas: Schemas, cut: bool) -> list[Found]:
    """Hermes/Qwen2.5/SmolLM2 tags and the JSON-after-a-special-token formats."""
    calls = _in_bodies([body for _tag, body in _TAGGED.findall(text)], names, cut)
    return calls or _in_bodies(_MARKED.findall(text), names, cut)


def _pythonic_call(node: ast.AST, names: Collection[str]) -> Found | None:
    if not isinstance(node, ast.Call):
        return None
    name = ast.unparse(node.func)
    if name not in names:
        return None
    if node.args:
        return _invalid(name, ast.unparse(node), "positional arguments; name every argument")
    try:
        args = {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords if kw.arg}
    except ValueError:
        return _invalid(name, ast.unparse(node), "argument values must be literals")
    args = jsonable(args)
    return _call(name, args) if isinstance(args, dict) else None


def _pythonic(text: str, names: Collection[str], schemas: Schemas, cut: bool) -> list[Found]:
    """Llama 3.2 / LFM2 pythonic calls: ``[read_file(path="a"), list_dir(path=".")]``."""
    for match in _PYTHONIC.finditer(text):
        if match.group(1) not in names:
            continue
        for close in re.finditer(r"\)\s*\]", text[match.start():]):
            snippet = text[match.start(): match.start() + close.end()]
            try:
                tree = ast.parse(snippet, mode="eval").body
            except SyntaxError:
                continue
            if isinstance(tree, ast.List):
                calls = [_pythonic_call(node, names) for node in tree.elts]
                return [c for c in calls if c is not None]
    return []


def _fenced(text: str, names: Collection[str], schemas: Schemas, cut: bool) -> list[Found]:
    return [c for body in _FENCE.findall(text) for c in _calls_in(_loads_lenient(body), names)]


def _bare(text: str, names: Collection[str], schemas: Schemas, cut: bool) -> list[Found]:
    """JSON objects in the prose; failing that, a Python-dict-like one that names a tool."""
    calls = [c for value in _json_objects(text) for c in _calls_in(value, names)]
    if calls:
        return calls
    for start in (m.start() for m in re.finditer(r"\{", text)):
        named = _NAME_AT.match(text, start)
        if not named or named.group(1) not in names:
            continue
        for close in [m.end() for m in re.finditer(r"\}", text[start:])][:50]:
            found = _calls_in(loads_repaired(text[start: start + close]), names)
            if found:
                return found
    return []


_FORMATS: list[Callable[[str, Collection[str], Schemas, bool], list[Found]]] = [
    _xml_functions, _xml_invokes, _glm, _named_json, _tagged, _pythonic, _fenced, _bare,
]


def scan_tool_calls(
    text: str, tool_names: Collection[str], *, schemas: Schemas | None = None,
    cut_off: bool = False,
) -> list[Found]:
    """Calls (valid and invalid, without ids) written in ``text``, by the first format that
    yields any. ``cut_off``: the reply hit the generation cap, so its last call may be torn."""
    names = set(tool_names)
    if not names or not text:
        return []
    for extract in _FORMATS:
        found = extract(text, names, schemas or {}, cut_off)
        if found:
            return found
    return []


def find_tool_calls(text: str, tool_names: Collection[str]) -> list[ToolCall]:
    """Valid tool calls written in ``text``, each with a fresh id; [] when there are none."""
    return [
        ToolCall(name=c["name"], args=c["args"], id=f"call_{uuid.uuid4().hex[:24]}",
                 type="tool_call")
        for c in scan_tool_calls(text, tool_names) if c["type"] == "tool_call"
    ]


# -- JSON helpers (also used by models.constrained) ----------------------------------------


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


def recover_tool_calls(message: AIMessage, tool_names: Collection[str]) -> AIMessage:
    """``message`` with the valid tool calls it wrote as text turned into ``tool_calls``.

    Returns the message unchanged when it already has native calls, or its text holds no
    call of a tool in ``tool_names``. The recovered message keeps usage and metadata and
    marks ``additional_kwargs["recovered_tool_calls"] = True``. Ids derive from the message
    (see ``stable_call_id``). Native invalid calls are kept. ``normalize_tool_calls`` in
    ``tool_call_repair`` does more (torn calls, argument repair, unique ids).
    """
    if message.tool_calls:
        return message
    text = message.text
    calls = [c for c in scan_tool_calls(text, tool_names) if c["type"] == "tool_call"]
    if not calls:
        return message
    key = message_key(message)
    for i, call in enumerate(calls):
        call["id"] = stable_call_id(key, i)
    return message.model_copy(
        update={
            "content": "",
            "tool_calls": calls,
            "additional_kwargs": {
                **message.additional_kwargs,
                "recovered_tool_calls": True,
                "original_text": text,
            },
        }
    )
