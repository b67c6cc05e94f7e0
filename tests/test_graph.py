"""The graph with a scripted model: routing, limits, concurrency, error recovery."""

from __future__ import annotations

import threading

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool, ToolException, tool
from pydantic import BaseModel

from claude_like.graph import build_graph
from claude_like.testing import ScriptedChatModel, say, tool_call


class PathArg(BaseModel):
    path: str


def make_read_tool(name: str, barrier: threading.Barrier | None, log: list[str]) -> BaseTool:
    class ReadLike(BaseTool):
        read_only: bool = True

        def _run(self, path: str) -> str:
            log.append(f"start {self.name} {path}")
            if barrier is not None:
                barrier.wait()  # only passes if the other call runs at the same time
            log.append(f"end {self.name} {path}")
            return f"contents of {path}"

    return ReadLike(name=name, description="read", args_schema=PathArg)


def make_write_tool(log: list[str]) -> BaseTool:
    class WriteLike(BaseTool):
        read_only: bool = False

        def _run(self, path: str) -> str:
            log.append(f"write {path}")
            return f"wrote {path}"

    return WriteLike(name="write", description="write", args_schema=PathArg)


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
def explode(reason: str) -> str:
    """Always fails."""
    raise ValueError(f"boom: {reason}")


@tool
def refuse(reason: str) -> str:
    """Fails the polite way."""
    raise ToolException(f"cannot do that: {reason}")


@tool
def flood(n: int) -> str:
    """Returns n characters."""
    return "x" * (n // 2) + "y" * (n - n // 2)


def run(model, tools, **kw):
    graph = build_graph(model, tools, "You are a test.", **kw)
    return graph.invoke({"messages": [HumanMessage("go")]})


def tool_messages(state) -> list[ToolMessage]:
    return [m for m in state["messages"] if isinstance(m, ToolMessage)]


def test_final_answer_without_tools_ends_the_run():
    state = run(ScriptedChatModel(script=[say("all done")]), [add])
    assert state["stop_reason"] == "done"
    assert state["turns"] == 1
    assert state["messages"][-1].content == "all done"


def test_tool_call_result_goes_back_to_the_model():
    model = ScriptedChatModel(script=[say("", tool_call("add", {"a": 2, "b": 3})), say("5")])
    state = run(model, [add])
    assert [m.content for m in tool_messages(state)] == ["5"]
    assert state["turns"] == 2
    second_call = model.calls[1]
    assert isinstance(second_call[0].content, str) and second_call[0].content == "You are a test."
    assert isinstance(second_call[-1], ToolMessage) and second_call[-1].content == "5"


def test_usage_is_summed_over_turns():
    model = ScriptedChatModel(script=[say("", tool_call("add", {"a": 1, "b": 1})), say("2")])
    state = run(model, [add])
    per_turn = [s["input_tokens"] for s in state["turn_stats"]]
    assert len(per_turn) == 2
    assert state["usage"]["input_tokens"] == sum(per_turn)
    assert state["usage"]["total_tokens"] > 0


def test_turn_limit_ends_with_a_stop_reason_and_answers_pending_calls():
    model = ScriptedChatModel(
        script=[lambda msgs: say("again", tool_call("add", {"a": len(msgs), "b": 1}))],
        repeat_last=True,
    )
    state = run(model, [add], max_turns=4)
    assert state["stop_reason"] == "max_turns"
    assert state["turns"] == 4
    last = state["messages"][-1]
    assert isinstance(last, ToolMessage) and "turn limit (4)" in last.content
    # every tool call in the thread has an answer, so the thread can continue
    ais = [m for m in state["messages"] if isinstance(m, AIMessage)]
    call_ids = {c["id"] for m in ais for c in m.tool_calls}
    assert call_ids == {m.tool_call_id for m in tool_messages(state)}


def test_read_only_calls_of_one_turn_run_concurrently():
    log: list[str] = []
    barrier = threading.Barrier(2, timeout=10)
    tools = [make_read_tool("read_a", barrier, log), make_read_tool("read_b", barrier, log)]
    model = ScriptedChatModel(
        script=[
            say("", tool_call("read_a", {"path": "1"}), tool_call("read_b", {"path": "2"})),
            say("ok"),
        ]
    )
    state = run(model, tools)
    assert [m.status for m in tool_messages(state)] == ["success", "success"]
    assert [m.content for m in tool_messages(state)] == ["contents of 1", "contents of 2"]
    assert log.index("end read_a 1") > log.index("start read_b 2")


async def test_read_only_calls_run_concurrently_async_too():
    log: list[str] = []
    barrier = threading.Barrier(2, timeout=10)
    tools = [make_read_tool("read_a", barrier, log), make_read_tool("read_b", barrier, log)]
    model = ScriptedChatModel(
        script=[
            say("", tool_call("read_a", {"path": "1"}), tool_call("read_b", {"path": "2"})),
            say("ok"),
        ]
    )
    graph = build_graph(model, tools, "sys")
    state = await graph.ainvoke({"messages": [HumanMessage("go")]})
    assert [m.status for m in tool_messages(state)] == ["success", "success"]


def test_writes_keep_the_models_order():
    log: list[str] = []
    tools = [make_read_tool("read", None, log), make_write_tool(log)]
    calls = [
        tool_call("write", {"path": "a"}),
        tool_call("read", {"path": "a"}),
        tool_call("write", {"path": "b"}),
        tool_call("read", {"path": "b"}),
    ]
    state = run(ScriptedChatModel(script=[say("", *calls), say("ok")]), tools)
    assert log == ["write a", "start read a", "end read a", "write b", "start read b", "end read b"]
    assert [m.tool_call_id for m in tool_messages(state)] == [c["id"] for c in calls]


def test_unknown_tool_is_an_error_result_naming_the_tools():
    model = ScriptedChatModel(script=[say("", tool_call("delete_everything")), say("sorry")])
    state = run(model, [add, explode])
    (msg,) = tool_messages(state)
    assert msg.status == "error"
    assert "no tool named 'delete_everything'" in msg.content
    assert "add, explode" in msg.content
    assert state["stop_reason"] == "done"


def test_invalid_arguments_say_what_to_fix():
    model = ScriptedChatModel(script=[say("", tool_call("add", {"a": "two"})), say("fixed")])
    state = run(model, [add])
    (msg,) = tool_messages(state)
    assert msg.status == "error"
    assert "a:" in msg.content and "b:" in msg.content  # wrong type and missing field
    assert "add(a: integer, b: integer)" in msg.content


def test_malformed_json_arguments_come_back_as_an_error():
    bad = AIMessage(
        content="",
        invalid_tool_calls=[
            {"name": "add", "args": '{"a": 1, "b":', "id": "bad1", "error": "JSON", "type": "x"}
        ],
    )
    state = run(ScriptedChatModel(script=[bad, say("ok")]), [add])
    (msg,) = tool_messages(state)
    assert msg.status == "error" and msg.tool_call_id == "bad1"
    assert "not valid JSON" in msg.content
    assert state["stop_reason"] == "done"


def test_a_tool_that_raises_does_not_crash_the_loop():
    model = ScriptedChatModel(
        script=[
            say("", tool_call("explode", {"reason": "x"}), tool_call("refuse", {"reason": "y"})),
            say("handled"),
        ]
    )
    state = run(model, [explode, refuse])
    first, second = tool_messages(state)
    assert first.status == "error" and "ValueError: boom: x" in first.content
    assert second.status == "error" and "cannot do that: y" in second.content
    assert state["messages"][-1].content == "handled"


def test_the_same_call_three_times_in_a_row_is_stopped():
    same = say("", tool_call("add", {"a": 1, "b": 2}))
    model = ScriptedChatModel(script=[same, same, same, say("giving up")])
    state = run(model, [add])
    results = tool_messages(state)
    assert [m.status for m in results] == ["success", "success", "error"]
    assert "3 times in a row" in results[-1].content


def test_tool_output_is_cut_in_the_middle_to_the_budget():
    model = ScriptedChatModel(script=[say("", tool_call("flood", {"n": 100_000})), say("ok")])
    state = run(model, [flood], output_limit=1_000)
    (msg,) = tool_messages(state)
    assert len(msg.content) < 1_400
    assert msg.content.startswith("x" * 100) and msg.content.endswith("y" * 100)
    assert "99000 characters" in msg.content


def test_a_failing_model_ends_the_run_with_an_error_reason():
    def fail(_msgs):
        raise ConnectionError("server went away")

    state = run(ScriptedChatModel(script=[fail]), [add])
    assert state["stop_reason"] == "error"
    assert "ConnectionError: server went away" in state["error"]


@pytest.mark.parametrize("position", ["middle", "end"])
def test_dangling_tool_calls_are_answered_before_the_model_sees_them(position):
    from claude_like.models.tool_call_repair import answer_unanswered

    dangling = AIMessage(content="", tool_calls=[tool_call("add", {"a": 1, "b": 1}, id="d1")])
    history = [HumanMessage("one"), dangling]
    if position == "middle":
        history.append(HumanMessage("two"))
    fixed = answer_unanswered(history)
    assert isinstance(fixed[2], ToolMessage) and fixed[2].tool_call_id == "d1"


def test_a_tool_call_written_as_text_is_recovered_and_run():
    text_call = '<tool_call>\n{"name": "add", "arguments": {"a": 20, "b": 22}}\n</tool_call>'
    model = ScriptedChatModel(script=[say(text_call), say("42")])
    state = run(model, [add])
    (msg,) = tool_messages(state)
    assert msg.status == "success" and msg.content == "42"
    assert state["messages"][-1].content == "42"


def test_plain_text_that_only_mentions_a_tool_stays_an_answer():
    model = ScriptedChatModel(script=[say("You could use the add tool for that.")])
    state = run(model, [add])
    assert tool_messages(state) == []
    assert state["stop_reason"] == "done"
