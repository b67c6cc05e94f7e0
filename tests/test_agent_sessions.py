"""Sessions through the agent: persisted by default (in the test run's own data folder),
listed with their metadata, continued, resumed by id and forked."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver

from claude_like import ClaudeLikeAgent
from claude_like.sessions import list_sessions
from claude_like.testing import ScriptedChatModel, say


def agent(ws: Path, *replies: str, **kw) -> tuple[ClaudeLikeAgent, ScriptedChatModel]:
    model = ScriptedChatModel(script=[say(r) for r in replies])
    return ClaudeLikeAgent(model, workspace=ws, **kw), model


def prompts(model: ScriptedChatModel) -> list[str]:
    return [m.text for m in model.calls[-1] if isinstance(m, HumanMessage)]


def test_a_session_persists_by_default_and_is_listed(tmp_path: Path) -> None:
    first, _ = agent(tmp_path, "hi")
    with first:
        first.run("Say hello\nto me")
        (info,) = first.sessions()
    assert info.id == first.thread_id and info.title == "Say hello to me"
    assert info.workspace == str(tmp_path.resolve()) and info.model == "ScriptedChatModel"
    assert info.messages == 2 and info.updated_at >= info.created_at
    assert [s.id for s in list_sessions(str(tmp_path))] == [info.id]
    assert list_sessions(str(tmp_path / "elsewhere")) == []


def test_continue_picks_the_workspace_latest_session_and_resume_picks_one(tmp_path: Path) -> None:
    one, _ = agent(tmp_path, "first answer")
    with one:
        one.run("first task")
    two, _ = agent(tmp_path, "second answer")
    with two:
        two.run("second task")
    again, model = agent(tmp_path, "continued", continue_conversation=True)
    with again:
        assert again.thread_id == two.thread_id
        again.run("go on")
    assert prompts(model) == ["second task", "go on"]
    back, model = agent(tmp_path, "resumed", resume=one.thread_id)
    with back:
        back.run("and this")
    assert prompts(model) == ["first task", "and this"]


def test_fork_copies_a_session_that_then_goes_its_own_way(tmp_path: Path) -> None:
    base, _ = agent(tmp_path, "base")
    with base:
        base.run("shared start")
    fork, model = agent(tmp_path, "forked", resume=base.thread_id, fork_session=True)
    with fork:
        assert fork.thread_id != base.thread_id
        fork.run("only in the fork")
        (info,) = [s for s in fork.sessions() if s.id == fork.thread_id]
    assert prompts(model) == ["shared start", "only in the fork"]
    assert info.parent == base.thread_id
    check, model = agent(tmp_path, "base again", resume=base.thread_id)
    with check:
        check.run("next")
    assert prompts(model) == ["shared start", "next"]


def test_resuming_an_unknown_session_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KeyError, match="no session 'nope'"):
        agent(tmp_path, "x", resume="nope")


def test_memory_only_and_given_checkpointers_keep_no_session_record(tmp_path: Path) -> None:
    volatile, _ = agent(tmp_path, "a", persist=False)
    with volatile:
        volatile.run("not kept")
        assert volatile.store is None and volatile.sessions() == []
    mine, _ = agent(tmp_path, "b", checkpointer=InMemorySaver())
    with mine:
        mine.run("kept by the caller")
    assert list_sessions(str(tmp_path)) == []
