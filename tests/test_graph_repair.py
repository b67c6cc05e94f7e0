"""The graph repairs what small models send, end to end: every reply is normalised before
the tool node sees it, and every call (valid or not) has a result before the next request,
at the turn limit and on a resumed thread too."""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.messages.tool import invalid_tool_call
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver

from claude_like.graph import build_graph
from claude_like.testing import ScriptedChatModel, say, tool_call


@tool
def Read(file_path: str) -> str:  # the tool's name as the model writes it
    """Read a file."""
    return f"contents of {file_path}"


def _run(model: ScriptedChatModel, **kw):
    graph = build_graph(model, [Read], "You are a test.", **kw)
    return graph.invoke({"messages": [HumanMessage("go")]})


def _answered_everywhere(calls: list) -> bool:
    """Every request the model got answers each call of its AIMessages."""
    for messages in calls:
        pending: set[str] = set()
        for m in messages:
            if isinstance(m, AIMessage):
                if pending:
                    return False
                pending = {c["id"] for c in [*m.tool_calls, *m.invalid_tool_calls]}
            elif isinstance(m, ToolMessage):
                pending.discard(m.tool_call_id)
            elif pending:
                return False
        if pending:
            return False
    return True


def test_qwen3_coder_xml_in_the_text_is_run() -> None:
    xml = ("<tool_call><function=Read><parameter=file_path>notes.txt</parameter>"
           "</function></tool_call>")
    state = _run(ScriptedChatModel(script=[say(xml), say("Done.")]))
    (result,) = [m for m in state["messages"] if isinstance(m, ToolMessage)]
    assert result.content == "contents of notes.txt" and result.status == "success"


def test_single_quoted_arguments_in_the_text_are_run() -> None:
    text = "<tool_call>{'name': 'Read', 'arguments': {'file_path': 'notes.txt'}}</tool_call>"
    state = _run(ScriptedChatModel(script=[say(text), say("Done.")]))
    (result,) = [m for m in state["messages"] if isinstance(m, ToolMessage)]
    assert result.content == "contents of notes.txt"


def test_two_calls_with_one_id_each_run_with_their_own_result() -> None:
    same = say("", tool_call("Read", {"file_path": "a.py"}, id="dup"),
               tool_call("Read", {"file_path": "b.py"}, id="dup"))
    model = ScriptedChatModel(script=[same, say("Done.")])
    state = _run(model)
    ai = state["messages"][1]
    ids = [c["id"] for c in ai.tool_calls]
    assert len(set(ids)) == 2
    results = {m.tool_call_id: m.content for m in state["messages"]
               if isinstance(m, ToolMessage)}
    assert results == {ids[0]: "contents of a.py", ids[1]: "contents of b.py"}
    assert _answered_everywhere(model.calls)


def test_an_invalid_call_at_the_turn_limit_is_answered_with_what_to_fix() -> None:
    torn = AIMessage(content="", invalid_tool_calls=[
        invalid_tool_call(name="Read", args='{"file_path": "a.py', id="t1", error="bad JSON")])
    saver = InMemorySaver()
    graph = build_graph(ScriptedChatModel(script=[torn]), [Read], "You are a test.",
                        max_turns=1, checkpointer=saver)
    cfg = {"configurable": {"thread_id": "t"}}
    state = graph.invoke({"messages": [HumanMessage("go")]}, cfg)
    assert state["stop_reason"] == "max_turns"
    (note,) = [m for m in state["messages"] if isinstance(m, ToolMessage)]
    assert note.tool_call_id == "t1" and note.status == "error"
    assert "JSON object" in note.content and "turn limit (1)" in note.content
    # The thread continues: the next request carries that answer.
    model = ScriptedChatModel(script=[say("Done.")])
    graph = build_graph(model, [Read], "You are a test.", checkpointer=saver)
    graph.invoke({"messages": [HumanMessage("again")], "turns": 0, "stop_reason": ""}, cfg)
    assert _answered_everywhere(model.calls)


def test_a_resumed_thread_with_a_dangling_invalid_call_gets_an_answer() -> None:
    saver = InMemorySaver()
    cfg = {"configurable": {"thread_id": "t"}}
    graph = build_graph(ScriptedChatModel(script=[say("hi")]), [Read], "x",
                        checkpointer=saver)
    dangling = AIMessage(content="", id="ai-1", invalid_tool_calls=[
        invalid_tool_call(name="Read", args="{'file_path': ", id="d1", error="cut off")])
    graph.update_state(cfg, {"messages": [HumanMessage("go"), dangling]})  # a run killed here
    model = ScriptedChatModel(script=[say("Done.")])
    graph = build_graph(model, [Read], "x", checkpointer=saver)
    state = graph.invoke({"messages": [HumanMessage("go on")], "turns": 0}, cfg)
    assert state["stop_reason"] == "done"
    (request,) = model.calls
    answers = [m for m in request if isinstance(m, ToolMessage)]
    assert [a.tool_call_id for a in answers] == ["d1"] and "JSON object" in answers[0].content
    assert _answered_everywhere(model.calls)
