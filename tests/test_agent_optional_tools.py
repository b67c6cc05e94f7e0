"""The agent's options for the tools that are off by default: NotebookEdit and Outline by
name, WebFetch with a policy, MCP servers from the option and (opt-in) the project's
.mcp.json, closed with the agent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from langchain_core.messages import ToolMessage
from mcp_helpers import children, stdio_servers

from claude_like import ClaudeLikeAgent
from claude_like.testing import ScriptedChatModel, say, tool_call
from claude_like.tools.web_policy import FetchPolicy


def names(agent: ClaudeLikeAgent) -> list[str]:
    return [t.name for t in agent.tools]


def test_optional_tools_are_added_by_name_and_only_then(tmp_path: Path) -> None:
    with ClaudeLikeAgent(ScriptedChatModel(), workspace=tmp_path, persist=False) as plain:
        assert names(plain) == ["Read", "Write", "Edit", "Glob", "Grep", "LS", "Bash"]
    with ClaudeLikeAgent(ScriptedChatModel(), workspace=tmp_path, persist=False,
                         optional_tools=["NotebookEdit", "Outline", "TodoWrite"],
                         web_fetch=FetchPolicy(allowed_domains=("example.org",))) as agent:
        assert {"NotebookEdit", "Outline", "TodoWrite", "WebFetch"} <= set(names(agent))
    with pytest.raises(ValueError, match="unknown optional tools"):
        ClaudeLikeAgent(ScriptedChatModel(), workspace=tmp_path, persist=False,
                        optional_tools=["Teleport"])


def test_mcp_servers_give_namespaced_tools_that_run_and_stop_with_the_agent(
        tmp_path: Path) -> None:
    model = ScriptedChatModel(script=[say("", tool_call("mcp__srv__add", {"a": 2, "b": 3},
                                                        id="m")), say("five")])
    before = children()
    with ClaudeLikeAgent(model, workspace=tmp_path, persist=False,
                         mcp_servers=stdio_servers(), allowed_tools=["mcp__srv"]) as agent:
        assert "mcp__srv__add" in names(agent)
        result = agent.run("add 2 and 3")
        (answer,) = [m for m in result.messages if isinstance(m, ToolMessage)]
    assert result.stop_reason == "done" and "5" in str(answer.content)
    assert children() <= before  # the server process is gone with the agent


def test_the_project_mcp_file_is_read_only_when_asked(tmp_path: Path) -> None:
    (tmp_path / ".mcp.json").write_text(json.dumps(stdio_servers("proj")))
    with ClaudeLikeAgent(ScriptedChatModel(), workspace=tmp_path, persist=False) as agent:
        assert not [n for n in names(agent) if n.startswith("mcp__")]
    with ClaudeLikeAgent(ScriptedChatModel(), workspace=tmp_path, persist=False,
                         project_mcp=True) as agent:
        assert "mcp__proj__echo" in names(agent)
