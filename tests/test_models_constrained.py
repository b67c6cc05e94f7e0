"""ConstrainedToolChatModel without a server: schema, prompt section, reply parsing."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGenerationChunk
from langchain_core.tools import tool
from pydantic import BaseModel

from claude_like.models.constrained import MAX_ITEMS, ConstrainedToolChatModel


class Edit(BaseModel):
    start: int
    text: str


@tool
def patch(path: str, edits: list[Edit]) -> str:
    """Apply edits to a file."""
    return ""


@tool
def grep(pattern: str, paths: list[str] | None = None) -> str:
    """Search files for a regex."""
    return ""


def _model(responses: list[str] | None = None, wire: str = "openai", **bind: Any
           ) -> ConstrainedToolChatModel:
    base = ConstrainedToolChatModel(inner=FakeListChatModel(responses=responses or ["x"]),
                                    wire=wire)
    bound = base.bind_tools([patch, grep], **bind)
    assert isinstance(bound, ConstrainedToolChatModel)
    return bound


def test_schema_branches_defs_and_bounds() -> None:
    schema = _model().reply_schema()
    names = [b["properties"]["tool"]["const"] for b in schema["anyOf"]]
    assert names == ["patch", "grep", "final_answer"]
    edits = schema["anyOf"][0]["properties"]["arguments"]["properties"]["edits"]
    assert edits["maxItems"] == MAX_ITEMS
    grep_args = schema["anyOf"][1]["properties"]["arguments"]
    arrays = [grep_args["properties"]["paths"]]
    assert any(a.get("maxItems") == MAX_ITEMS for a in arrays[0].get("anyOf", arrays))
    for branch in schema["anyOf"]:
        assert branch["required"] == ["tool", "arguments"]


def test_defs_are_hoisted_to_the_root() -> None:
    raw_tool = {"type": "function", "function": {"name": "t", "description": "d", "parameters": {
        "type": "object", "properties": {"e": {"$ref": "#/$defs/E"}},
        "$defs": {"E": {"type": "object", "properties": {"x": {"type": "integer"}}}}}}}
    m = ConstrainedToolChatModel(inner=FakeListChatModel(responses=["x"])).bind_tools([raw_tool])
    schema = m.reply_schema()  # type: ignore[attr-defined]
    assert "E" in schema["$defs"]  # so "#/$defs/E" resolves from the root
    assert "$defs" not in schema["anyOf"][0]["properties"]["arguments"]


@pytest.mark.parametrize(
    ("choice", "names"),
    [
        ("auto", ["patch", "grep", "final_answer"]),
        ("required", ["patch", "grep"]),
        ("any", ["patch", "grep"]),
        ("none", ["final_answer"]),
        ("grep", ["grep"]),
        ({"type": "function", "function": {"name": "patch"}}, ["patch"]),
    ],
)
def test_tool_choice(choice: Any, names: list[str]) -> None:
    schema = _model(tool_choice=choice).reply_schema()
    branches = schema.get("anyOf", [schema])
    assert [b["properties"]["tool"]["const"] for b in branches] == names


def test_prompt_section_lists_tools_and_arguments() -> None:
    text = _model().tools_prompt()
    assert "- patch: Apply edits to a file." in text
    assert "    path (string, required)" in text
    assert "    paths (any, optional)" in text or "    paths (array, optional)" in text
    assert '"tool": "final_answer"' in text


def test_render_is_deterministic_and_appends_to_the_system_prompt() -> None:
    m = _model()
    msgs = [SystemMessage("base"), HumanMessage("hi")]
    first, second = m.render(msgs), m.render(msgs)
    assert [x.content for x in first] == [x.content for x in second]
    assert str(first[0].content).startswith("base\n\n# Tools")
    assert isinstance(m.render([HumanMessage("x")])[0], SystemMessage)


@pytest.mark.parametrize(
    ("raw", "calls", "content", "invalid"),
    [
        ('{"tool": "grep", "arguments": {"pattern": "TODO"}}', [("grep", {"pattern": "TODO"})],
         "", 0),
        ('{"tool": "final_answer", "arguments": {"answer": "All done."}}', [], "All done.", 0),
        ('{"answer": "short form"}', [], "short form", 0),
        ('{"tool": "nope", "arguments": {}}', [("nope", {})], "", 0),  # tool node explains
        ('{"tool": "grep", "arguments": {"pattern": "a", "paths": ["x", "y', [], "", 1),
        ('{"tool": "final_answer", "arguments": {"answer": "cut sho', [], "cut sho", 0),
        ("plain prose answer", [], "plain prose answer", 0),
        ('<tool_call>{"name": "grep", "arguments": {"pattern": "b"}}</tool_call>',
         [("grep", {"pattern": "b"})], "", 0),
    ],
)
def test_parse_reply(raw: str, calls: list[tuple[str, dict]], content: str,
                     invalid: int) -> None:
    msg = _model().parse_reply(AIMessage(content=raw, usage_metadata={
        "input_tokens": 3, "output_tokens": 4, "total_tokens": 7}))
    assert [(c["name"], c["args"]) for c in msg.tool_calls] == calls
    assert msg.content == content
    assert len(msg.invalid_tool_calls) == invalid
    assert msg.usage_metadata["total_tokens"] == 7
    assert msg.additional_kwargs["constrained_raw"]


def test_stream_chunk_keeps_invalid_calls_invalid() -> None:
    m = _model()
    chunk = m._one_chunk(ChatGenerationChunk(message=AIMessageChunk(
        content='{"tool": "grep", "arguments": {"pattern": "a", "pa')), None)
    assert chunk.message.tool_calls == []
    assert chunk.message.invalid_tool_calls[0]["name"] == "grep"


def test_prompt_wire_prefills_and_parses() -> None:
    m = _model(responses=['grep", "arguments": {"pattern": "x"}} and then chatter'],
               wire="prompt")
    reply = m.invoke([HumanMessage("find x")])
    assert [(c["name"], c["args"]) for c in reply.tool_calls] == [("grep", {"pattern": "x"})]


def test_history_replays_the_raw_reply() -> None:
    m = _model()
    first = m.parse_reply(AIMessage(content='{"tool":"grep","arguments":{"pattern":"q"}}'))
    rendered = m.render([HumanMessage("x"), first])
    assert rendered[-1].content == '{"tool":"grep","arguments":{"pattern":"q"}}'


def test_without_tools_it_is_the_inner_model() -> None:
    base = ConstrainedToolChatModel(inner=FakeListChatModel(responses=["plain"]))
    assert base.invoke("hi").content == "plain"
