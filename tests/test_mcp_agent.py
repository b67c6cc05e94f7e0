"""MCP tools inside a whole ClaudeLikeAgent run (scripted model, real echo server over
stdio): a real result in ``run`` (sync) and ``arun``, allow and deny rules on a tool and on
the server, and errors and a crash that the run survives."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import ToolMessage
from mcp_helpers import stdio_servers

from claude_like import ClaudeLikeAgent
from claude_like.mcp import McpTools
from claude_like.testing import ScriptedChatModel, say, tool_call


@pytest.fixture(scope="module")
def mcp() -> Iterator[McpTools]:
    with McpTools.open(servers=stdio_servers()) as tools:
        yield tools


def agent_for(ws: Path, mcp: McpTools, *replies: Any, **kw: Any
              ) -> tuple[ClaudeLikeAgent, ScriptedChatModel]:
    model = ScriptedChatModel(script=list(replies))
    kw.setdefault("permission_mode", "bypassPermissions")
    agent = ClaudeLikeAgent(model, workspace=ws, extra_tools=mcp.tools, persist=False,
                            settings=False, **kw)
    return agent, model


def results_of(agent: ClaudeLikeAgent) -> list[ToolMessage]:
    values = agent.graph.get_state(agent._config(None, None)).values
    return [m for m in values["messages"] if isinstance(m, ToolMessage)]


ADD = tool_call("mcp__srv__add", {"a": 19, "b": 23}, id="add1")


def test_the_agent_calls_an_mcp_tool_and_gets_its_real_result(tmp_path: Path, mcp: McpTools):
    agent, model = agent_for(tmp_path, mcp, say("adding", ADD), say("It is 42."))
    with agent:
        result = agent.run("add 19 and 23")
        assert (result.stop_reason, result.text) == ("done", "It is 42.")
        (answer,) = results_of(agent)
    assert (answer.name, answer.content, answer.status) == ("mcp__srv__add", "42", "success")
    assert "mcp__srv__add" in model.bound_tool_names
    assert model.calls[1][-1].content == "42"  # what the model read next


async def test_the_async_run_awaits_the_mcp_tool(tmp_path: Path, mcp: McpTools):
    agent, _ = agent_for(tmp_path, mcp, say("", ADD), say("42."))
    with agent:
        result = await agent.arun("add 19 and 23")
        assert result.stop_reason == "done"
        assert [m.content for m in results_of(agent)] == ["42"]


def test_an_allow_rule_on_the_tool_lets_it_run_and_others_still_ask(
        tmp_path: Path, mcp: McpTools):
    echo = tool_call("mcp__srv__echo", {"text": "hi"}, id="echo1")
    agent, _ = agent_for(tmp_path, mcp, say("", ADD), say("", echo), say("done"),
                         permission_mode="default", allowed_tools=["mcp__srv__add"])
    with agent:
        result = agent.run("go")
        assert result.stop_reason == "interrupted"
        assert [r["tool"] for r in result.pending] == ["mcp__srv__echo"]
        assert [m.content for m in results_of(agent)] == ["42"]


@pytest.mark.parametrize("rule", ["mcp__srv", "mcp__srv__*"])
def test_a_server_wide_allow_rule_lets_every_tool_of_it_run(
        tmp_path: Path, mcp: McpTools, rule: str):
    echo = tool_call("mcp__srv__echo", {"text": "hi"}, id="echo1")
    agent, _ = agent_for(tmp_path, mcp, say("", ADD, echo), say("done"),
                         permission_mode="default", allowed_tools=[rule])
    with agent:
        assert agent.run("go").stop_reason == "done"
        assert [m.content for m in results_of(agent)] == ["42", "hi"]


@pytest.mark.parametrize("rule", ["mcp__srv__add", "mcp__srv"])
def test_a_deny_rule_refuses_the_call_even_when_bypassing_permissions(
        tmp_path: Path, mcp: McpTools, rule: str):
    agent, _ = agent_for(tmp_path, mcp, say("", ADD), say("I may not."),
                         disallowed_tools=[rule])
    with agent:
        assert agent.run("add").stop_reason == "done"
        (refused,) = results_of(agent)
    assert refused.status == "error"
    assert rule in refused.content


def test_tool_errors_and_a_crash_come_back_as_results_and_the_run_goes_on(
        tmp_path: Path, mcp: McpTools):
    fail = tool_call("mcp__srv__fail", {"message": "quota exceeded"}, id="f1")
    crash = tool_call("mcp__srv__crash", {}, id="c1")
    agent, _ = agent_for(tmp_path, mcp, say("", fail), say("", crash), say("", ADD),
                         say("Recovered: 42."))
    with agent:
        result = agent.run("try things")
        assert (result.stop_reason, result.text) == ("done", "Recovered: 42.")
        failed, crashed, added = results_of(agent)
    assert failed.status == "error" and "quota exceeded" in failed.content
    assert crashed.status == "error" and "closed the connection" in crashed.content
    assert (added.status, added.content) == ("success", "42")
