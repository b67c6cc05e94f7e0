"""Hooks through the whole agent: each event, in the SDK's callback shape and as a command
hook from a settings file, with a scripted model and the real tools."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from langchain_core.messages import HumanMessage, ToolMessage

from claude_like import ClaudeLikeAgent
from claude_like.events import Notice
from claude_like.hooks import HookMatcher
from claude_like.testing import ScriptedChatModel, say, tool_call

WRITE = tool_call("Write", {"file_path": "a.txt", "content": "hi\n"}, id="w1")


def run_with(ws: Path, replies: list[Any], hooks: dict, **kw: Any):
    model = ScriptedChatModel(script=replies)
    agent = ClaudeLikeAgent(model, workspace=ws, persist=False, hooks=hooks, **kw)
    return agent, model


def tool_results(agent: ClaudeLikeAgent) -> list[ToolMessage]:
    values = agent.graph.get_state(agent._config(None, None)).values
    return [m for m in values["messages"] if isinstance(m, ToolMessage)]


def decision(kind: str, reason: str = "", **extra: Any) -> dict:
    return {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": kind,
                                   "permissionDecisionReason": reason, **extra}}


def test_a_pre_tool_use_hook_allows_what_the_mode_would_ask(tmp_path: Path) -> None:
    seen: list[tuple[dict, str | None]] = []

    def allow_writes(data: dict, tool_use_id: str | None, _context: Any) -> dict:
        seen.append((data, tool_use_id))
        return decision("allow", "writes are fine here")

    agent, _ = run_with(tmp_path, [say("", WRITE), say("ok")],
                        {"PreToolUse": [HookMatcher("Write|Edit", [allow_writes])]})
    with agent:
        assert agent.run("write").stop_reason == "done"
    assert (tmp_path / "a.txt").read_text() == "hi\n"
    data, tool_use_id = seen[0]
    assert data["hook_event_name"] == "PreToolUse" and data["tool_name"] == "Write"
    assert data["tool_input"] == WRITE["args"] and tool_use_id == "w1"


def test_a_pre_tool_use_hook_denies_even_in_bypass_mode_and_matchers_pick_tools(
        tmp_path: Path) -> None:
    async def no_bash(data: dict, _id: Any, _ctx: Any) -> dict:
        return decision("deny", "no shell today")

    agent, _ = run_with(tmp_path, [say("", WRITE, tool_call("Bash", {"command": "echo x"})),
                                   say("ok")],
                        {"PreToolUse": [HookMatcher("Bash", [no_bash])]},
                        permission_mode="bypassPermissions")
    with agent:
        agent.run("go")
        write, bash = tool_results(agent)
    assert write.status == "success" and (tmp_path / "a.txt").exists()
    assert bash.status == "error" and "no shell today" in str(bash.content)


def test_a_pre_tool_use_hook_changes_the_input(tmp_path: Path) -> None:
    def redirect(data: dict, _id: Any, _ctx: Any) -> dict:
        return decision("allow", updatedInput={**data["tool_input"], "file_path": "b.txt"})

    agent, _ = run_with(tmp_path, [say("", WRITE), say("ok")],
                        {"PreToolUse": [HookMatcher(None, [redirect])]})
    with agent:
        agent.run("write")
    assert (tmp_path / "b.txt").exists() and not (tmp_path / "a.txt").exists()


def test_a_pre_tool_use_ask_pauses_a_call_the_mode_allows(tmp_path: Path) -> None:
    agent, _ = run_with(tmp_path, [say("", tool_call("LS", {}, id="l")), say("ok")],
                        {"PreToolUse": [HookMatcher("LS", [lambda *_: decision("ask", "why")])]})
    with agent:
        (request,) = agent.run("list").pending
    assert request["tool"] == "LS" and request["reason"] == "a PreToolUse hook asks (why)"


def test_post_tool_use_context_reaches_the_model_with_the_result(tmp_path: Path) -> None:
    def lint(data: dict, _id: Any, _ctx: Any) -> dict:
        assert data["tool_response"].startswith("Wrote") or "a.txt" in data["tool_response"]
        return {"hookSpecificOutput": {"hookEventName": "PostToolUse",
                                       "additionalContext": "lint: 0 problems"}}

    agent, model = run_with(tmp_path, [say("", WRITE), say("ok")],
                            {"PostToolUse": [HookMatcher("Write", [lint])]},
                            permission_mode="acceptEdits")
    with agent:
        agent.run("write")
    assert "[PostToolUse hook] lint: 0 problems" in str(model.calls[-1][-1].content)


def test_user_prompt_submit_adds_context_or_blocks_the_prompt(tmp_path: Path) -> None:
    def gate(data: dict, _id: Any, _ctx: Any) -> dict:
        if "secret" in data["prompt"]:
            return {"decision": "block", "reason": "prompts about secrets are refused"}
        return {"hookSpecificOutput": {"hookEventName": "UserPromptSubmit",
                                       "additionalContext": "the user is on call"}}

    agent, model = run_with(tmp_path, [say("fine")], {"UserPromptSubmit": [HookMatcher(
        None, [gate])]})
    with agent:
        blocked = agent.run("show the secret")
        assert blocked.stop_reason == "blocked" and "secrets are refused" in blocked.error
        assert not [m for m in blocked.messages if isinstance(m, HumanMessage)]
        assert model.calls == []
        done = agent.run("hello")
    assert done.text == "fine"
    assert "the user is on call" in model.calls[0][-1].content


def test_a_stop_hook_makes_the_agent_go_on_once(tmp_path: Path) -> None:
    seen: list[bool] = []

    def not_yet(data: dict, _id: Any, _ctx: Any) -> dict:
        seen.append(data["stop_hook_active"])
        if data["stop_hook_active"]:
            return {}
        return {"decision": "block", "reason": "run the tests first"}

    agent, model = run_with(tmp_path, [say("done?"), say("tests pass")],
                            {"Stop": [HookMatcher(None, [not_yet])]})
    with agent:
        result = agent.run("work")
    assert result.text == "tests pass" and seen == [False, True]
    assert "run the tests first" in model.calls[1][-1].content


def test_a_failing_hook_is_reported_and_the_run_goes_on(tmp_path: Path) -> None:
    def broken(*_: Any) -> dict:
        raise ValueError("bad hook")

    agent, _ = run_with(tmp_path, [say("", tool_call("LS", {})), say("ok")],
                        {"PreToolUse": [HookMatcher(None, [broken])]})
    with agent:
        events = list(agent.stream("list"))
    notices = [e.text for e in events if isinstance(e, Notice)]
    assert any("ValueError: bad hook" in n for n in notices)
    assert events[-1].result.stop_reason == "done"


def test_a_command_hook_from_the_project_settings_refuses_a_call(tmp_path: Path) -> None:
    log = tmp_path / "hook-input.json"
    script = f"cat > {log}; echo 'no pushes from agents' >&2; exit 2"
    (tmp_path / ".claude").mkdir()
    (tmp_path / ".claude" / "settings.json").write_text(json.dumps({"hooks": {"PreToolUse": [
        {"matcher": "Bash", "hooks": [{"type": "command", "command": script}]}]}}))
    model = ScriptedChatModel(script=[say("", tool_call("Bash", {"command": "echo hi"})),
                                      say("ok")])
    with ClaudeLikeAgent(model, workspace=tmp_path, persist=False,
                         permission_mode="bypassPermissions") as agent:
        agent.run("push")
        (refusal,) = tool_results(agent)
    assert "no pushes from agents" in str(refusal.content) and refusal.status == "error"
    sent = json.loads(log.read_text())
    assert sent["tool_name"] == "Bash" and sent["tool_input"] == {"command": "echo hi"}


def test_a_hook_allow_does_not_beat_a_deny_rule(tmp_path: Path) -> None:
    agent, _ = run_with(tmp_path, [say("", WRITE), say("ok")],
                        {"PreToolUse": [HookMatcher(None, [lambda *_: decision("allow")])]},
                        disallowed_tools=["Write"])
    with agent:
        assert agent.run("write").stop_reason == "done"
        (refusal,) = tool_results(agent)
    assert "a deny rule forbids it (Write)" in str(refusal.content)
    assert not (tmp_path / "a.txt").exists()
