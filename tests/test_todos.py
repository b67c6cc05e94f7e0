"""TodoWrite: the list in the graph state, shown to the model every turn while items are
open, streamed as an event, and refused when it breaks the one-in-progress rule."""

from __future__ import annotations

from pathlib import Path

from langchain_core.messages import ToolMessage

from claude_like import ClaudeLikeAgent
from claude_like.events import TodosUpdated
from claude_like.sandbox import LocalSandbox
from claude_like.testing import ScriptedChatModel, say, tool_call
from claude_like.todos import REMINDER_HEAD
from claude_like.tools import ToolContext
from claude_like.tools.todo_write import TodoWrite


def todo(content: str, status: str) -> dict:
    return {"content": content, "status": status}


def agent_with(ws: Path, *replies) -> tuple[ClaudeLikeAgent, ScriptedChatModel]:
    """An agent whose tools are the built-in set plus TodoWrite (on one context)."""
    model = ScriptedChatModel(script=list(replies))
    agent = ClaudeLikeAgent(model, workspace=ws, persist=False,
                            permission_mode="bypassPermissions",
                            extra_tools=[TodoWrite(ctx=ToolContext(LocalSandbox(ws)))])
    return agent, model


def test_the_list_is_kept_streamed_and_shown_every_turn_until_done(tmp_path: Path) -> None:
    first = [todo("Read app.py", "in_progress"), todo("Fix add", "pending")]
    last = [todo("Read app.py", "completed"), todo("Fix add", "completed")]
    agent, model = agent_with(tmp_path, say("", tool_call("TodoWrite", {"todos": first})),
                              say("", tool_call("LS", {})),
                              say("", tool_call("TodoWrite", {"todos": last})), say("done"))
    with agent:
        events = list(agent.stream("fix add"))
        values = agent.graph.get_state(agent._config(None, None)).values
    lists = [e.todos for e in events if isinstance(e, TodosUpdated)]
    assert [[t["status"] for t in items] for items in lists] == [
        ["in_progress", "pending"], ["completed", "completed"]]
    assert values["todos"][1] == {"content": "Fix add", "status": "completed", "activeForm": ""}
    shown = [str(call[-1].content) for call in model.calls]
    assert REMINDER_HEAD not in shown[0]
    assert shown[1].startswith(REMINDER_HEAD) and "[>] Read app.py\n[ ] Fix add" in shown[1]
    assert shown[2].startswith(REMINDER_HEAD)
    assert REMINDER_HEAD not in shown[3]  # all completed: no reminder
    kept = [m for m in values["messages"] if REMINDER_HEAD in str(m.content)]
    assert kept == []  # the reminder is never stored in the conversation


def test_two_items_in_progress_are_refused_and_the_list_stays(tmp_path: Path) -> None:
    bad = [todo("a", "in_progress"), todo("b", "in_progress")]
    agent, _ = agent_with(tmp_path, say("", tool_call("TodoWrite", {"todos": bad})), say("ok"))
    with agent:
        agent.run("plan")
        values = agent.graph.get_state(agent._config(None, None)).values
    (result,) = [m for m in values["messages"] if isinstance(m, ToolMessage)]
    assert result.status == "error" and "only one item may be in_progress" in result.content
    assert not values.get("todos")
