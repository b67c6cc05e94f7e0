"""Permission modes, rules, approvals (interrupt and resume) and ``can_use_tool`` through the
whole agent, with a scripted model and the real tools on a local sandbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import ToolMessage

from claude_like import ClaudeLikeAgent
from claude_like.events import ApprovalRequested, Final, Notice
from claude_like.permissions.approval import AnswerError
from claude_like.permissions.decisions import PermissionResultAllow, PermissionResultDeny
from claude_like.testing import ScriptedChatModel, say, tool_call


def agent_for(ws: Path, *replies: Any, **kw: Any) -> tuple[ClaudeLikeAgent, ScriptedChatModel]:
    model = ScriptedChatModel(script=list(replies))
    kw.setdefault("persist", False)
    return ClaudeLikeAgent(model, workspace=ws, **kw), model


def results_of(agent: ClaudeLikeAgent) -> list[ToolMessage]:
    values = agent.graph.get_state(agent._config(None, None)).values
    return [m for m in values["messages"] if isinstance(m, ToolMessage)]


WRITE = tool_call("Write", {"file_path": "a.txt", "content": "new\n"}, id="w1")


def test_default_mode_pauses_a_write_and_resume_allow_runs_it(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("old\n")
    agent, _ = agent_for(tmp_path, say("", tool_call("Read", {"file_path": "a.txt"})),
                         say("writing", WRITE), say("Done."))
    with agent:
        result = agent.run("replace a.txt")
        assert result.stop_reason == "interrupted"
        (request,) = result.pending
        assert request["tool"] == "Write" and request["tool_call_id"] == "w1"
        assert request["reason"] == "default mode asks before Write"
        assert "-old\n+new\n" in (request["diff"] or "")
        assert request["always_rule"] == "Edit(./**)"
        assert (tmp_path / "a.txt").read_text() == "old\n"  # nothing ran while waiting
        assert agent.pending() == [request]
        done = agent.resume("allow")
    assert done.stop_reason == "done" and done.text == "Done."
    assert (tmp_path / "a.txt").read_text() == "new\n"


def test_a_refusal_reaches_the_model_as_a_result_that_says_not_to_retry(tmp_path: Path) -> None:
    agent, model = agent_for(tmp_path, say("", WRITE), say("OK, I will not."))
    with agent:
        agent.run("write a.txt")
        result = agent.resume({"w1": {"behavior": "deny", "message": "not now"}})
        refusal = results_of(agent)[-1]
    assert result.stop_reason == "done"
    assert not (tmp_path / "a.txt").exists()
    assert refusal.status == "error" and "not now" in str(refusal.content)
    assert "Do not send it again" in str(refusal.content)
    assert model.calls[-1][-1].content == refusal.content  # the model read the refusal


def test_always_adds_a_session_rule_so_the_next_call_of_its_kind_runs(tmp_path: Path) -> None:
    agent, _ = agent_for(
        tmp_path, say("", tool_call("Bash", {"command": "echo one"}, id="b1")),
        say("", tool_call("Bash", {"command": "echo two --flag"}, id="b2")),
        say("", tool_call("Bash", {"command": "ls"}, id="b3")), say("done"))
    with agent:
        first = agent.run("echo twice")
        assert first.pending[0]["always_rule"] == "Bash(echo:*)"
        second = agent.resume("always")
        assert second.stop_reason == "interrupted"  # ls is not covered by Bash(echo:*)
        assert [r["tool_call_id"] for r in second.pending] == ["b3"]
        outputs = [str(m.content) for m in results_of(agent)]
        assert outputs[0].startswith("one") and outputs[1].startswith("two --flag")
        values = agent.graph.get_state(agent._config(None, None)).values
        assert values["session_rules"] == ["Bash(echo:*)"]


def test_an_answer_may_change_the_input(tmp_path: Path) -> None:
    agent, _ = agent_for(tmp_path, say("", WRITE), say("ok"))
    with agent:
        agent.run("write")
        agent.resume({"behavior": "allow",
                      "updated_input": {"file_path": "b.txt", "content": "edited\n"}})
    assert (tmp_path / "b.txt").read_text() == "edited\n" and not (tmp_path / "a.txt").exists()


def test_an_answer_that_cannot_be_understood_is_an_error_and_keeps_the_request(
        tmp_path: Path) -> None:
    agent, _ = agent_for(tmp_path, say("", WRITE), say("ok"))
    with agent:
        agent.run("write")
        with pytest.raises(AnswerError, match="'allow', 'deny' or 'always'"):
            agent.resume("perhaps")
        assert [r["tool_call_id"] for r in agent.pending()] == ["w1"]
        assert agent.resume("y").stop_reason == "done"
    assert (tmp_path / "a.txt").exists()


def test_the_stream_shows_the_request_then_ends_interrupted(tmp_path: Path) -> None:
    agent, _ = agent_for(tmp_path, say("", WRITE), say("ok"))
    with agent:
        events = list(agent.stream("write"))
        resumed = list(agent.stream(agent.answer("allow")))
    asked = [e for e in events if isinstance(e, ApprovalRequested)]
    assert [e.request["tool_call_id"] for e in asked] == ["w1"]
    assert isinstance(events[-1], Final) and events[-1].result.stop_reason == "interrupted"
    assert isinstance(resumed[-1], Final) and resumed[-1].result.stop_reason == "done"


def test_read_only_tools_run_unasked_in_default_mode(tmp_path: Path) -> None:
    (tmp_path / "x.py").write_text("x = 1\n")
    agent, _ = agent_for(tmp_path, say("", tool_call("Read", {"file_path": "x.py"}),
                                       tool_call("Grep", {"pattern": "x"})), say("read"))
    with agent:
        assert agent.run("look").stop_reason == "done"


def test_accept_edits_writes_inside_the_workspace_but_asks_for_bash(tmp_path: Path) -> None:
    agent, _ = agent_for(tmp_path, say("", WRITE, tool_call("Bash", {"command": "true"}, id="b")),
                         say("ok"), permission_mode="acceptEdits")
    with agent:
        result = agent.run("go")
    assert [r["tool"] for r in result.pending] == ["Bash"]
    assert agent.permission_mode == "acceptEdits"


def test_plan_mode_refuses_changes_until_the_plan_is_approved(tmp_path: Path) -> None:
    plan = tool_call("ExitPlanMode", {"plan": "1. write a.txt"}, id="p1")
    agent, model = agent_for(tmp_path, say("", WRITE), say("plan:", plan), say("", WRITE),
                             say("done"), permission_mode="plan")
    with agent:
        assert "ExitPlanMode" in model.bound_tool_names
        first = agent.run("write a.txt")
        assert first.stop_reason == "interrupted"
        (request,) = first.pending
        assert request["tool"] == "ExitPlanMode" and request["diff"] == "1. write a.txt"
        assert request["always_rule"] is None
        refusal = results_of(agent)[0]
        assert "plan mode allows only read-only tools" in str(refusal.content)
        assert not (tmp_path / "a.txt").exists()
        done = agent.resume({"behavior": "allow", "mode": "acceptEdits"})
        assert agent.permission_mode == "acceptEdits"
    assert done.stop_reason == "done" and (tmp_path / "a.txt").read_text() == "new\n"


def test_bypass_runs_everything_but_a_deny_rule_still_holds(tmp_path: Path) -> None:
    agent, _ = agent_for(
        tmp_path, say("", WRITE, tool_call("Bash", {"command": "echo hi > b.txt"}, id="b")),
        say("ok"), permission_mode="bypassPermissions", disallowed_tools=["Bash(echo:*)"])
    with agent:
        assert agent.run("go").stop_reason == "done"
        refusal = results_of(agent)[1]
    assert (tmp_path / "a.txt").exists() and not (tmp_path / "b.txt").exists()
    assert "a deny rule forbids it (Bash(echo:*))" in str(refusal.content)


def test_an_allow_rule_covers_every_part_of_a_compound_line_or_it_asks(tmp_path: Path) -> None:
    agent, _ = agent_for(
        tmp_path, say("", tool_call("Bash", {"command": "git status"}, id="ok")),
        say("", tool_call("Bash", {"command": "git status && touch gone"}, id="c")),
        say("done"), allowed_tools=["Bash(git status:*)"])
    with agent:
        result = agent.run("status")
    assert [r["tool_call_id"] for r in result.pending] == ["c"]
    assert not (tmp_path / "gone").exists()


def test_a_dangerous_command_asks_whatever_the_allow_rules_say(tmp_path: Path) -> None:
    agent, _ = agent_for(tmp_path, say("", tool_call("Bash", {"command": "rm -rf /tmp/x"})),
                         say("ok"), allowed_tools=["Bash"])
    with agent:
        (request,) = agent.run("clean").pending
    assert request["reason"].startswith("a dangerous command")


def test_the_mode_can_change_during_a_session(tmp_path: Path) -> None:
    agent, _ = agent_for(tmp_path, say("", WRITE), say("ok"),
                         say("", tool_call("Write", {"file_path": "c.txt", "content": "c"})),
                         say("ok"))
    with agent:
        assert agent.run("one").stop_reason == "interrupted"
        agent.set_permission_mode("acceptEdits")
        assert agent.resume("deny").stop_reason == "done"
        assert agent.run("two").stop_reason == "done"
    assert (tmp_path / "c.txt").exists() and not (tmp_path / "a.txt").exists()


def test_can_use_tool_allows_with_changed_input(tmp_path: Path) -> None:
    seen: list[tuple[str, dict, Any]] = []

    def decide(name: str, args: dict, context: Any) -> PermissionResultAllow:
        seen.append((name, args, context))
        return PermissionResultAllow(updated_input={**args, "content": "from callback\n"})

    agent, _ = agent_for(tmp_path, say("", WRITE), say("ok"), can_use_tool=decide)
    with agent:
        assert agent.run("write").stop_reason == "done"
    assert (tmp_path / "a.txt").read_text() == "from callback\n"
    name, args, context = seen[0]
    assert name == "Write" and args["content"] == "new\n"
    assert context.tool_use_id == "w1" and "+new" in context.diff
    assert context.suggestions == ["Edit(./**)"]


async def test_an_async_callback_denies_with_a_message_and_the_run_goes_on(
        tmp_path: Path) -> None:
    async def decide(name: str, args: dict, context: Any) -> PermissionResultDeny:
        return PermissionResultDeny(message="writes are frozen today")

    agent, _ = agent_for(tmp_path, say("", WRITE), say("understood"), can_use_tool=decide)
    with agent:
        result = await agent.arun("write")
        refusal = results_of(agent)[0]
    assert result.stop_reason == "done" and result.text == "understood"
    assert "writes are frozen today" in str(refusal.content)
    assert not (tmp_path / "a.txt").exists()


def test_a_denial_with_interrupt_ends_the_run(tmp_path: Path) -> None:
    agent, model = agent_for(tmp_path, say("", WRITE), say("never reached"),
                             can_use_tool=lambda *_: {"behavior": "deny", "message": "stop",
                                                      "interrupt": True})
    with agent:
        result = agent.run("write")
    assert result.stop_reason == "denied" and len(model.calls) == 1


def test_a_failing_callback_refuses_the_call_and_says_why(tmp_path: Path) -> None:
    def broken(*_: Any) -> Any:
        raise RuntimeError("lookup failed")

    agent, _ = agent_for(tmp_path, say("", WRITE), say("ok"), can_use_tool=broken)
    with agent:
        events = list(agent.stream("write"))
    notices = [e for e in events if isinstance(e, Notice)]
    assert notices and "RuntimeError: lookup failed" in notices[0].text
    assert events[-1].result.stop_reason == "done" and not (tmp_path / "a.txt").exists()


def test_callback_updates_add_session_rules(tmp_path: Path) -> None:
    calls: list[str] = []

    def decide(name: str, args: dict, context: Any) -> PermissionResultAllow:
        calls.append(args["command"])
        return PermissionResultAllow(updated_permissions=[
            {"type": "addRules", "behavior": "allow",
             "rules": [{"toolName": "Bash", "ruleContent": "echo:*"}]}])

    agent, _ = agent_for(tmp_path, say("", tool_call("Bash", {"command": "echo a"})),
                         say("", tool_call("Bash", {"command": "echo b"})), say("ok"),
                         can_use_tool=decide)
    with agent:
        assert agent.run("go").stop_reason == "done"
    assert calls == ["echo a"]


def test_an_async_callback_also_answers_a_sync_run(tmp_path: Path) -> None:
    async def decide(name: str, args: dict, context: Any) -> PermissionResultAllow:
        return PermissionResultAllow()

    agent, _ = agent_for(tmp_path, say("", WRITE), say("ok"), can_use_tool=decide)
    with agent:
        assert agent.run("write").stop_reason == "done"
    assert (tmp_path / "a.txt").read_text() == "new\n"


def test_a_run_with_the_permission_step_reaches_its_turn_limit_not_a_recursion_error(
        tmp_path: Path) -> None:
    turns = 12
    calls = [say("", tool_call("Bash", {"command": f"echo {n}"})) for n in range(turns)]
    agent, _ = agent_for(tmp_path, *calls, say("done"), max_turns=turns,
                         allowed_tools=["Bash(echo:*)"])
    with agent:
        result = agent.run("count")
    assert result.stop_reason == "max_turns" and result.turns == turns


async def test_the_async_path_pauses_and_resumes_too(tmp_path: Path) -> None:
    agent, _ = agent_for(tmp_path, say("", WRITE), say("ok"))
    with agent:
        asked = await agent.arun("write")
        assert [r["tool_call_id"] for r in asked.pending] == ["w1"]
        events = [e async for e in agent.astream(agent.answer("allow"))]
    assert isinstance(events[-1], Final) and events[-1].result.stop_reason == "done"
    assert (tmp_path / "a.txt").read_text() == "new\n"
