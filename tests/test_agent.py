"""ClaudeLikeAgent end to end with a scripted model and the real tools on a LocalSandbox."""

from __future__ import annotations

import uuid

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.graph import END, START, MessagesState, StateGraph

from claude_like import ClaudeLikeAgent, Final, TextDelta, ToolFinished, ToolStarted
from claude_like.testing import ScriptedChatModel, say, tool_call


def make_agent(workspace, script, **kw) -> tuple[ClaudeLikeAgent, ScriptedChatModel]:
    model = ScriptedChatModel(script=script)
    return ClaudeLikeAgent(model=model, workspace=workspace, sandbox="local",
                           **{"permission_mode": "bypassPermissions", **kw}), model


def test_run_edits_a_file_with_the_real_tools(tmp_path):
    (tmp_path / "app.py").write_text("def add(a, b):\n    return a - b\n")
    script = [
        say("Let me look.", tool_call("Read", {"file_path": "app.py"})),
        say(
            "Found it.",
            tool_call(
                "Edit",
                {"file_path": "app.py", "old_string": "a - b", "new_string": "a + b"},
            ),
        ),
        say("", tool_call("Bash", {"command": "python3 -c 'import app; print(app.add(2, 3))'"})),
        say("Fixed: add now returns a + b."),
    ]
    agent, _ = make_agent(tmp_path, script)
    with agent:
        result = agent.run("Fix add in app.py")
    assert (tmp_path / "app.py").read_text() == "def add(a, b):\n    return a + b\n"
    assert result.stop_reason == "done"
    assert result.text == "Fixed: add now returns a + b."
    assert result.turns == 4
    outputs = [m for m in result.messages if isinstance(m, ToolMessage)]
    assert all(m.status == "success" for m in outputs), [m.content for m in outputs]
    assert "5" in outputs[-1].content
    assert result.usage["input_tokens"] > 0 and result.usage["output_tokens"] > 0
    assert len(result.turn_stats) == 4


def test_max_turns_is_a_stop_reason_not_an_exception(tmp_path):
    agent, _ = make_agent(tmp_path, [say("", tool_call("LS", {"path": "."}))], max_turns=3)
    agent.model.repeat_last = True  # type: ignore[attr-defined]
    with agent:
        result = agent.run("loop forever")
    assert result.stop_reason == "max_turns"
    assert result.turns == 3


def test_conversation_continues_on_the_same_thread(tmp_path):
    agent, model = make_agent(tmp_path, [say("first answer"), say("second answer")])
    with agent:
        agent.run("remember the word kiwi")
        result = agent.run("what was the word?")
    sent = model.calls[-1]
    assert [m.content for m in sent if isinstance(m, HumanMessage)] == [
        "remember the word kiwi",
        "what was the word?",
    ]
    assert result.turns == 1  # turns count per run
    assert len(result.messages) == 4


def test_separate_threads_do_not_share_history(tmp_path):
    agent, model = make_agent(tmp_path, [say("a"), say("b")])
    with agent:
        agent.run("one", thread_id="t1")
        agent.run("two", thread_id="t2")
    assert [m.content for m in model.calls[-1] if isinstance(m, HumanMessage)] == ["two"]


def test_stream_yields_text_tool_events_and_final(tmp_path):
    (tmp_path / "notes.txt").write_text("hello\n")
    script = [
        say("Reading the notes now.", tool_call("Read", {"file_path": "notes.txt"})),
        say("", tool_call("Read", {"file_path": "missing.txt"})),
        say("The notes say hello."),
    ]
    agent, _ = make_agent(tmp_path, script)
    with agent:
        events = list(agent.stream("what do the notes say?"))
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text == "Reading the notes now.The notes say hello."
    assert sum(isinstance(e, TextDelta) for e in events) > 2  # really streamed in pieces
    started = [e for e in events if isinstance(e, ToolStarted)]
    finished = [e for e in events if isinstance(e, ToolFinished)]
    assert [e.args["file_path"] for e in started] == ["notes.txt", "missing.txt"]
    assert [e.ok for e in finished] == [True, False]
    assert "hello" in finished[0].output
    assert isinstance(events[-1], Final)
    assert events[-1].result.text == "The notes say hello."


async def test_async_twins(tmp_path):
    (tmp_path / "a.txt").write_text("alpha\n")
    script = [say("", tool_call("Read", {"file_path": "a.txt"})), say("alpha it is")]
    agent, _ = make_agent(tmp_path, [*script, say("streamed")])
    with agent:
        result = await agent.arun("read a.txt")
        events = [e async for e in agent.astream("again")]
    assert result.text == "alpha it is" and result.stop_reason == "done"
    assert isinstance(events[-1], Final) and events[-1].result.text == "streamed"


def test_model_error_is_reported_in_the_result(tmp_path):
    def down(_msgs):
        raise ConnectionError("connection refused")

    agent, _ = make_agent(tmp_path, [down])
    with agent:
        result = agent.run("anything")
    assert result.stop_reason == "error"
    assert "connection refused" in result.error


def test_agent_graph_works_as_a_subgraph(tmp_path):
    agent, _ = make_agent(tmp_path, [say("sub-agent answer")])

    def after(state: MessagesState) -> dict:
        return {"messages": [AIMessage(content=f"parent saw: {state['messages'][-1].content}")]}

    parent = StateGraph(MessagesState)
    parent.add_node("coder", agent.graph)
    parent.add_node("after", after)
    parent.add_edge(START, "coder")
    parent.add_edge("coder", "after")
    parent.add_edge("after", END)
    graph = parent.compile()
    with agent:
        out = graph.invoke(
            {"messages": [HumanMessage("hi")]},
            {"configurable": {"thread_id": uuid.uuid4().hex}},
        )
    assert out["messages"][-1].content == "parent saw: sub-agent answer"


def test_as_tool_runs_a_fresh_conversation_per_call(tmp_path):
    agent, model = make_agent(tmp_path, [say("did task one"), say("did task two")])
    coding_tool = agent.as_tool()
    with agent:
        assert coding_tool.invoke({"task": "one"}) == "did task one"
        assert coding_tool.invoke({"task": "two"}) == "did task two"
    assert [m.content for m in model.calls[-1] if isinstance(m, HumanMessage)] == ["two"]
    assert coding_tool.args_schema.model_json_schema()["required"] == ["task"]


def test_system_prompt_is_stable_and_includes_memory(tmp_path):
    (tmp_path / "AGENTS.md").write_text("Always run the tests with `make check`.\n")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/feature-x\n")
    script = [say("", tool_call("LS", {"path": "."})), say("done")]
    agent, model = make_agent(tmp_path, script, append_system_prompt="Answer in French.")
    with agent:
        agent.run("look around")
    first, second = (call[0] for call in model.calls)
    assert isinstance(first, SystemMessage) and first.content == second.content
    prompt = first.content
    assert "make check" in prompt and "feature-x" in prompt and str(tmp_path) in prompt
    assert prompt.rstrip().endswith("Answer in French.")
    assert model.bound_tool_names[:7] == ["Read", "Write", "Edit", "Glob", "Grep", "LS", "Bash"]


def test_system_prompt_can_be_replaced(tmp_path):
    agent, model = make_agent(tmp_path, [say("ok")], system_prompt="You are terse.")
    with agent:
        agent.run("hi")
    assert model.calls[0][0].content.startswith("You are terse.\n")


def test_refused_calls_are_streamed_as_started_and_failed(tmp_path):
    agent, _ = make_agent(tmp_path, [say("", tool_call("Delete", {"path": "x"})), say("ok")])
    with agent:
        events = list(agent.stream("try"))
    started = [e for e in events if isinstance(e, ToolStarted)]
    finished = [e for e in events if isinstance(e, ToolFinished)]
    assert [(e.name, e.args) for e in started] == [("Delete", {"path": "x"})]
    assert [e.ok for e in finished] == [False]
    assert "no tool named 'Delete'" in finished[0].output


def test_closed_agents_leave_no_threads_behind(tmp_path):
    """20 agents that ran parallel reads (the tool node's pool) and Bash (the shell) leave
    no thread alive after close(): once 48-59 stayed."""
    import threading

    (tmp_path / "a.txt").write_text("a\n")
    (tmp_path / "b.txt").write_text("b\n")
    before = {t.ident for t in threading.enumerate()}
    for _ in range(20):
        script = [
            say("", tool_call("Read", {"file_path": "a.txt"}),
                tool_call("Read", {"file_path": "b.txt"}), tool_call("Glob", {"pattern": "*"})),
            say("", tool_call("Bash", {"command": "echo hi"})),
            say("done"),
        ]
        agent, _ = make_agent(tmp_path, script)
        with agent:
            assert agent.run("read both").stop_reason == "done"
    left = [t for t in threading.enumerate() if t.ident not in before and t.is_alive()]
    assert left == [], [t.name for t in left]


def test_async_runs_use_the_agents_pool_not_asyncios(tmp_path):
    """Long tools on the async path must not starve asyncio's default executor (DNS, HTTP
    clients of the same process): they run on the tool node's own threads."""
    import asyncio
    import threading

    seen: list[str] = []

    async def main() -> None:
        script = [say("", tool_call("Bash", {"command": "echo hi"})), say("done")]
        agent, _ = make_agent(tmp_path, script)
        original = agent.sandbox.execute

        def spy(*args, **kwargs):
            seen.append(threading.current_thread().name)
            return original(*args, **kwargs)

        agent.sandbox.execute = spy  # type: ignore[method-assign]
        with agent:
            assert (await agent.arun("say hi")).stop_reason == "done"

    asyncio.run(main())
    assert seen and all(name.startswith("cl-tool") for name in seen), seen


def test_as_tool_calls_leave_no_shell_session_behind(tmp_path):
    """Each call is a fresh thread with its own shell: closed when the call returns."""
    script = [say("", tool_call("Bash", {"command": "cd /tmp && echo in"})), say("one"),
              say("", tool_call("Bash", {"command": "pwd"})), say("two")]
    agent, _ = make_agent(tmp_path, script)
    coding_tool = agent.as_tool()
    with agent:
        assert coding_tool.invoke({"task": "one"}) == "one"
        assert coding_tool.invoke({"task": "two"}) == "two"
        assert agent.sandbox.shells.names == []
