"""Task and sub-agents: a fresh context per job, only the report back, concurrent calls,
events tagged with the sub-agent, usage added to the parent's, the turn limit, failures
and permissions inside."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from claude_like import ClaudeLikeAgent
from claude_like.events import SubagentEvent, ToolStarted
from claude_like.subagents import AgentDefinition
from claude_like.testing import ScriptedChatModel, say, tool_call


def task(prompt: str, kind: str = "general-purpose", id: str | None = None) -> dict:
    return tool_call("Task", {"description": "a job", "prompt": prompt, "subagent_type": kind},
                     id=id)


def results(agent: ClaudeLikeAgent) -> dict[str, ToolMessage]:
    values = agent.graph.get_state(agent._config(None, None)).values
    return {m.tool_call_id: m for m in values["messages"] if isinstance(m, ToolMessage)}


def test_a_job_runs_in_a_fresh_context_and_only_its_report_comes_back(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("the answer is 42\n")
    worker = ScriptedChatModel(script=[say("", tool_call("Read", {"file_path": "notes.txt"})),
                                       say("Report: the answer is 42.")])
    parent = ScriptedChatModel(script=[say("", task("Find the answer in notes.txt", "finder",
                                                    id="t1")), say("It is 42.")])
    agents = {"finder": AgentDefinition("Finds things.", prompt="Be brief.", tools=["Read"],
                                        model=worker)}
    with ClaudeLikeAgent(parent, workspace=tmp_path, persist=False, agents=agents,
                         permission_mode="bypassPermissions") as agent:
        result = agent.run("What is the answer?")
        report = results(agent)["t1"]
    assert result.text == "It is 42."
    assert report.content == "Report: the answer is 42." and report.status == "success"
    first = worker.calls[0]
    assert [type(m) for m in first] == [SystemMessage, HumanMessage]
    assert first[1].content == "Find the answer in notes.txt"  # not the parent's history
    assert "Be brief." in first[0].content and "sub-agent" in first[0].content
    assert worker.bound_tool_names == ["Read"]
    parent_calls = [c["name"] for m in result.messages if isinstance(m, AIMessage)
                    for c in m.tool_calls]
    assert parent_calls == ["Task"]  # the sub-agent's Read stays out of the parent's context


def test_task_calls_of_one_turn_run_at_the_same_time(tmp_path: Path) -> None:
    both = threading.Barrier(2, timeout=20)

    def meet(messages: list[BaseMessage]) -> AIMessage:
        both.wait()  # fails unless the other sub-agent is running meanwhile
        return say(f"done: {messages[-1].content}")

    worker = ScriptedChatModel(script=[meet], repeat_last=True)
    parent = ScriptedChatModel(script=[say("", task("one", "w", "a"), task("two", "w", "b")),
                                       say("both done")])
    with ClaudeLikeAgent(parent, workspace=tmp_path, persist=False,
                         agents={"w": AgentDefinition("Works.", model=worker)}) as agent:
        agent.run("two jobs")
        got = results(agent)
    assert got["a"].content == "done: one" and got["b"].content == "done: two"


def test_events_are_tagged_and_usage_adds_to_the_parent(tmp_path: Path) -> None:
    worker = ScriptedChatModel(script=[say("", tool_call("LS", {})), say("listed")])
    parent = ScriptedChatModel(script=[say("", task("list", "w", "t9")), say("ok")])
    with ClaudeLikeAgent(parent, workspace=tmp_path, persist=False,
                         agents={"w": AgentDefinition("Lists.", model=worker)}) as agent:
        events = list(agent.stream("go"))
    tagged = [e for e in events if isinstance(e, SubagentEvent)]
    assert any(isinstance(e.event, ToolStarted) and e.event.name == "LS" for e in tagged)
    assert {(e.agent, e.task_id) for e in tagged} == {("w", "t9")}
    result = events[-1].result
    own = sum(m.usage_metadata["input_tokens"] for m in result.messages
              if isinstance(m, AIMessage) and m.usage_metadata)
    sub = sum(m.usage_metadata["input_tokens"] for call in worker.calls
              for m in [worker_reply_usage(call)])
    assert result.usage["input_tokens"] == own + sub > own


def worker_reply_usage(call: list[BaseMessage]) -> Any:
    """The usage the scripted model reports for one call (its input is a quarter of the
    characters it was sent)."""
    chars = sum(len(str(m.content)) for m in call)
    return type("R", (), {"usage_metadata": {"input_tokens": chars // 4}})()


def test_the_turn_limit_and_a_failure_come_back_as_results(tmp_path: Path) -> None:
    looping = ScriptedChatModel(script=[say("", tool_call("LS", {}))], repeat_last=True)

    def broken(_messages: list[BaseMessage]) -> AIMessage:
        raise RuntimeError("model down")

    failing = ScriptedChatModel(script=[broken])
    parent = ScriptedChatModel(script=[say("", task("loop", "loop", "l"),
                                           task("fail", "fail", "f"), task("x", "nope", "n")),
                                       say("handled")])
    agents = {"loop": AgentDefinition("Loops.", model=looping, max_turns=2),
              "fail": AgentDefinition("Fails.", model=failing)}
    with ClaudeLikeAgent(parent, workspace=tmp_path, persist=False, agents=agents) as agent:
        result = agent.run("go")
        got = results(agent)
    assert result.text == "handled"
    assert "stopped at its turn limit" in got["l"].content and got["l"].status == "success"
    assert got["f"].status == "error" and "model down" in got["f"].content
    assert got["n"].status == "error" and "no sub-agent type 'nope'" in got["n"].content


def test_permissions_apply_inside_a_sub_agent(tmp_path: Path) -> None:
    write = tool_call("Write", {"file_path": "out.txt", "content": "x"}, id="w")
    worker = ScriptedChatModel(script=[say("", write), lambda m: say(str(m[-1].content))])
    parent = ScriptedChatModel(script=[say("", task("write out.txt", "w", "t")), say("ok")])
    with ClaudeLikeAgent(parent, workspace=tmp_path, persist=False,
                         agents={"w": AgentDefinition("Writes.", model=worker)}) as agent:
        result = agent.run("go")
        report = results(agent)["t"]
    assert result.stop_reason == "done" and not (tmp_path / "out.txt").exists()
    assert "a sub-agent cannot ask the user" in report.content
    worker2 = ScriptedChatModel(script=[say("", write), say("written")])
    parent2 = ScriptedChatModel(script=[say("", task("write out.txt", "w", "t")), say("ok")])
    with ClaudeLikeAgent(parent2, workspace=tmp_path, persist=False, allowed_tools=["Write"],
                         agents={"w": AgentDefinition("Writes.", model=worker2)}) as agent:
        agent.run("go")
    assert (tmp_path / "out.txt").read_text() == "x"
