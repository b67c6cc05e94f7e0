"""Approvals that outlive the call that asked: the agent as a subgraph of a user's graph,
and a pending approval answered by a new process from the SQLite session store."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Annotated, Any

from langchain_core.messages import AnyMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import Command
from typing_extensions import TypedDict

from claude_like import ClaudeLikeAgent
from claude_like.testing import ScriptedChatModel, say, tool_call

WRITE = tool_call("Write", {"file_path": "a.txt", "content": "hello\n"}, id="w1")


class Parent(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    after: str


def test_an_approval_inside_a_parent_graph_pauses_the_parent_and_resumes(tmp_path: Path) -> None:
    model = ScriptedChatModel(script=[say("", WRITE), say("written")])
    with ClaudeLikeAgent(model, workspace=tmp_path, persist=False) as agent:
        builder = StateGraph(Parent)
        builder.add_node("coder", agent.graph)
        builder.add_node("after", lambda s: {"after": s["messages"][-1].text})
        builder.add_edge(START, "coder")
        builder.add_edge("coder", "after")
        builder.add_edge("after", END)
        parent = builder.compile(checkpointer=InMemorySaver())
        cfg = {"configurable": {"thread_id": "outer"}}
        first = parent.invoke({"messages": [HumanMessage("write a.txt")]}, cfg)
        (pause,) = first["__interrupt__"]
        assert pause.value["type"] == "approval"
        assert pause.value["requests"][0]["tool"] == "Write"
        assert not (tmp_path / "a.txt").exists()
        done = parent.invoke(Command(resume="allow"), cfg)
    assert done["after"] == "written"
    assert (tmp_path / "a.txt").read_text() == "hello\n"


PROCESS = textwrap.dedent("""
    import json, sys
    from claude_like import ClaudeLikeAgent
    from claude_like.testing import ScriptedChatModel, say, tool_call
    step, ws, store, session = sys.argv[1:5]
    write = tool_call("Write", {"file_path": "a.txt", "content": "hello\\n"}, id="w1")
    script = [say("", write), say("written")] if step == "ask" else [say("written")]
    agent = ClaudeLikeAgent(ScriptedChatModel(script=script), workspace=ws, session_store=store,
                            resume=session or None)
    with agent:
        result = agent.run("write a.txt") if step == "ask" else agent.resume("allow")
        print(json.dumps({"stop": result.stop_reason, "id": result.thread_id,
                          "pending": [r["tool"] for r in result.pending], "text": result.text}))
""")


def _process(*args: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", PROCESS, *args], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_pending_approval_survives_a_process_restart(tmp_path: Path) -> None:
    ws, store = tmp_path / "ws", str(tmp_path / "sessions.sqlite")
    ws.mkdir()
    asked = _process("ask", str(ws), store, "")
    assert asked["stop"] == "interrupted" and asked["pending"] == ["Write"]
    assert not (ws / "a.txt").exists()
    answered = _process("answer", str(ws), store, asked["id"])
    assert answered == {"stop": "done", "id": asked["id"], "pending": [], "text": "written"}
    assert (ws / "a.txt").read_text() == "hello\n"
