"""Two real processes writing to one session store at the same time.

Each worker imports everything, says it is ready, and waits for "go" on stdin, so both
open the (not yet existing) file and write their checkpoints at the same time.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from claude_like.sessions import SessionStore

TURNS = 120
WORKER = r"""
import json, sys, time
from typing import Annotated
from typing_extensions import TypedDict
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from claude_like.sessions import SessionStore

path, session, turns, workspace = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]

class ChatState(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]

def reply(state):
    return {"messages": [AIMessage(content="re: " + state["messages"][-1].content)]}

builder = StateGraph(ChatState)
builder.add_node("reply", reply)
builder.add_edge(START, "reply")
builder.add_edge("reply", END)
print("ready", flush=True)
sys.stdin.readline()
start = time.time()
with SessionStore(path) as store:
    graph = builder.compile(checkpointer=store.checkpointer)
    config = {"configurable": {"thread_id": session}}
    for i in range(turns):
        store.record(session, workspace=workspace, model="scripted", title=f"{session} {i}")
        graph.invoke({"messages": [HumanMessage(f"{session} {i}")]}, config)
        store.list(workspace=workspace)
print(json.dumps({"start": start, "end": time.time()}), flush=True)
"""


def test_two_processes_write_one_store_at_once(tmp_path: Path):
    db = tmp_path / "shared" / "sessions.sqlite"
    sessions = ["alpha", "beta"]
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(db), name, str(TURNS), str(tmp_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in sessions
    ]
    try:
        for worker in workers:
            assert worker.stdout.readline().strip() == "ready", worker.stderr.read()
        for worker in workers:
            worker.stdin.write("go\n")
            worker.stdin.flush()
        outcomes = [worker.communicate(timeout=240) for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()

    for worker, (_, err) in zip(workers, outcomes, strict=True):
        assert "database is locked" not in err, err
        assert worker.returncode == 0, err
    spans = [json.loads(out) for out, _ in outcomes]
    # Otherwise the test proved nothing: the two workers' writing must have overlapped.
    assert max(s["start"] for s in spans) < min(s["end"] for s in spans)

    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        for name in sessions:
            (count,) = conn.execute(
                "SELECT count(*) FROM checkpoints WHERE thread_id = ?", (name,)
            ).fetchone()
            assert count == 3 * TURNS  # input, loop start and reply per turn

    with SessionStore(db) as store:
        listed = {s.id: s for s in store.list(workspace=tmp_path)}
        assert set(listed) == set(sessions)
        for name in sessions:
            assert listed[name].title == f"{name} 0"
            assert listed[name].messages == 2 * TURNS
            state = store.checkpointer.get_tuple({"configurable": {"thread_id": name}})
            texts = [m.content for m in state.checkpoint["channel_values"]["messages"]]
            assert texts == [t for i in range(TURNS) for t in (f"{name} {i}", f"re: {name} {i}")]
