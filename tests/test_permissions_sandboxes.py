"""The same permission checks on every sandbox (local, and Docker in CI): path rules and
acceptEdits judge the paths the tools see (``/workspace/...`` in the container), and the
diff an approval shows is read through the sandbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langchain_core.messages import ToolMessage

from claude_like import ClaudeLikeAgent
from claude_like.sandbox import Sandbox
from claude_like.testing import ScriptedChatModel, say, tool_call


def agent_on(sandbox: Sandbox, workspace: Path, *replies: Any, **kw: Any) -> ClaudeLikeAgent:
    return ClaudeLikeAgent(ScriptedChatModel(script=list(replies)), workspace=workspace,
                           sandbox=sandbox, persist=False, **kw)


def results(agent: ClaudeLikeAgent) -> list[ToolMessage]:
    values = agent.graph.get_state(agent._config(None, None)).values
    return [m for m in values["messages"] if isinstance(m, ToolMessage)]


def test_an_edit_waits_with_its_diff_then_runs(sandbox: Sandbox, workspace: Path) -> None:
    (workspace / "app.py").write_text("def add(a, b):\n    return a - b\n")
    edit = tool_call("Edit", {"file_path": f"{sandbox.root}/app.py", "old_string": "a - b",
                              "new_string": "a + b"}, id="e")
    agent = agent_on(sandbox, workspace, say("", tool_call("Read", {"file_path": "app.py"})),
                     say("", edit), say("fixed"))
    with agent:
        (request,) = agent.run("fix add").pending
        assert request["diff"] is not None
        assert "-    return a - b\n+    return a + b\n" in request["diff"]
        assert "a/app.py" in request["diff"]  # shown relative to the workspace
        assert agent.resume("allow").stop_reason == "done"
    assert (workspace / "app.py").read_text().endswith("return a + b\n")


def test_accept_edits_and_path_rules_judge_the_sandbox_paths(sandbox: Sandbox,
                                                             workspace: Path) -> None:
    inside = tool_call("Write", {"file_path": f"{sandbox.root}/src/ok.txt", "content": "x"},
                       id="in")
    outside = tool_call("Write", {"file_path": "/etc/claude-like-test", "content": "x"}, id="out")
    secret = tool_call("Write", {"file_path": "secrets/key.txt", "content": "x"}, id="deny")
    agent = agent_on(sandbox, workspace, say("", inside, outside, secret), say("ok"),
                     permission_mode="acceptEdits", disallowed_tools=["Edit(secrets/**)"])
    with agent:
        result = agent.run("write three files")
        assert [r["tool_call_id"] for r in result.pending] == ["out"]
        agent.resume("deny")
        by_id = {m.tool_call_id: m for m in results(agent)}
    assert (workspace / "src" / "ok.txt").read_text() == "x"
    assert not (workspace / "secrets").exists()
    assert "a deny rule forbids it (Edit(secrets/**))" in str(by_id["deny"].content)
    assert "the user refused it" in str(by_id["out"].content)


def test_shell_rules_and_the_dangerous_check_on_the_sandbox(sandbox: Sandbox,
                                                            workspace: Path) -> None:
    agent = agent_on(
        sandbox, workspace,
        say("", tool_call("Bash", {"command": "echo ok > made.txt"}, id="allowed"),
            tool_call("Bash", {"command": "git push --force origin main"}, id="danger"),
            tool_call("Bash", {"command": "touch denied.txt"}, id="deny")),
        say("ok"), allowed_tools=["Bash"], disallowed_tools=["Bash(touch:*)"])
    with agent:
        result = agent.run("go")
        (request,) = result.pending
        assert request["tool_call_id"] == "danger" and "dangerous" in request["reason"]
        agent.resume("deny")
    assert (workspace / "made.txt").read_text().strip() == "ok"
    assert not (workspace / "denied.txt").exists()
