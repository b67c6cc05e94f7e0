"""The tool node: the repeat guard, its thread pool's life, safe text in every result."""

from __future__ import annotations

import asyncio
import gc
import json
import threading
import time

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool, tool
from pydantic import BaseModel

from claude_like.graph import build_graph
from claude_like.testing import ScriptedChatModel, say, tool_call
from claude_like.tool_node import ToolNode


def results(state) -> list[ToolMessage]:
    return [m for m in state["messages"] if isinstance(m, ToolMessage)]


def run(model, tools):
    graph = build_graph(model, list(tools.values()) if isinstance(tools, dict) else tools, "t")
    return graph.invoke({"messages": [HumanMessage("go")]})


# -- the repeat guard ---------------------------------------------------------------------
def test_a_rerun_after_an_edit_is_not_a_repeat(sandbox, tools):
    sandbox.write_bytes("f.txt", b"v0\n")
    turns = [say("", tool_call("Read", {"file_path": "f.txt"}))]
    for n in range(4):
        change = {"file_path": "f.txt", "old_string": f"v{n}", "new_string": f"v{n + 1}"}
        edit = tool_call("Edit", change)
        turns.append(say("", edit, tool_call("Bash", {"command": "cat f.txt"})))
    model = ScriptedChatModel(script=[*turns, say("done")])
    state = run(model, tools)
    assert [m.status for m in results(state)] == ["success"] * 9
    assert [m.content for m in results(state) if m.name == "Bash"] == ["v1", "v2", "v3", "v4"]


def test_three_identical_reads_with_nothing_between_are_refused_saying_what(sandbox, tools):
    sandbox.write_bytes("f.txt", b"x\n")
    same = say("", tool_call("Read", {"file_path": "f.txt"}))
    model = ScriptedChatModel(script=[same, same, same, say("ok")])
    state = run(model, tools)
    last = results(state)[-1]
    assert [m.status for m in results(state)] == ["success", "success", "error"]
    assert 'Read with {"file_path": "f.txt"}, 3 times in a row' in last.content
    assert "nothing was changed in between" in last.content


def test_a_failed_edit_between_is_no_change(sandbox, tools):
    sandbox.write_bytes("f.txt", b"x\n")
    bad_edit = tool_call("Edit", {"file_path": "f.txt", "old_string": "nope", "new_string": "y"})
    turn = say("", tool_call("Read", {"file_path": "f.txt"}), bad_edit)
    model = ScriptedChatModel(script=[turn, turn, turn, say("ok")])
    state = run(model, tools)
    reads = [m for m in results(state) if m.name == "Read"]
    assert [m.status for m in reads] == ["success", "success", "error"]


def test_a_command_between_makes_a_read_a_new_one(sandbox, tools):
    sandbox.write_bytes("f.txt", b"x\n")
    read = say("", tool_call("Read", {"file_path": "f.txt"}))
    bash = say("", tool_call("Bash", {"command": "echo more >> f.txt"}))
    model = ScriptedChatModel(script=[read, read, bash, read, read, say("ok")])
    state = run(model, tools)
    assert [m.status for m in results(state)] == ["success"] * 5


# -- the pool -------------------------------------------------------------------------------
class PathArg(BaseModel):
    path: str


def reader(name: str, barrier: threading.Barrier | None, seen: list[str]) -> BaseTool:
    class ReadLike(BaseTool):
        read_only: bool = True

        def _run(self, path: str) -> str:
            seen.append(threading.current_thread().name)
            if barrier is not None:
                barrier.wait()  # both calls of the batch on pool threads at once
            return f"read {path}"

    return ReadLike(name=name, description="read", args_schema=PathArg)


def two_reads() -> dict:
    calls = [
        {"name": "a", "args": {"path": "1"}, "id": "c1"},
        {"name": "b", "args": {"path": "2"}, "id": "c2"},
    ]
    return {"messages": [HumanMessage("go"), AIMessage(content="", tool_calls=calls)]}


def new_threads(before: set[threading.Thread]) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t not in before]


def all_ended(threads: list[threading.Thread]) -> bool:
    """Whether the threads end (they are given up to 30 s in all, not a speed check)."""
    deadline = time.monotonic() + 30
    for t in threads:
        t.join(timeout=max(deadline - time.monotonic(), 0))
    return not any(t.is_alive() for t in threads)


def test_close_stops_the_pool_of_every_node():
    started: list[threading.Thread] = []
    for _ in range(20):
        before = set(threading.enumerate())
        barrier = threading.Barrier(2, timeout=30)
        seen: list[str] = []
        node = ToolNode([reader("a", barrier, seen), reader("b", barrier, seen)])
        out = node(two_reads(), {})["messages"]
        assert [m.content for m in out] == ["read 1", "read 2"]
        assert all(name.startswith("cl-tool") for name in seen)
        started += new_threads(before)
        node.close()
        node.close()  # idempotent
        assert node.closed
    assert len(started) == 40 and all_ended(started)


def test_a_collected_node_stops_its_pool():
    before = set(threading.enumerate())
    barrier = threading.Barrier(2, timeout=30)
    node = ToolNode([reader("a", barrier, []), reader("b", barrier, [])])
    node(two_reads(), {})
    started = new_threads(before)
    assert len(started) == 2
    del node
    gc.collect()
    assert all_ended(started)


async def test_the_async_path_runs_tools_on_the_nodes_own_pool():
    seen: list[str] = []
    barrier = threading.Barrier(2, timeout=30)
    node = ToolNode([reader("a", barrier, seen), reader("b", barrier, seen)], max_workers=2)
    try:
        out = (await node.acall(two_reads(), {}))["messages"]
    finally:
        node.close()
    assert [m.content for m in out] == ["read 1", "read 2"]
    assert len(seen) == 2 and all(name.startswith("cl-tool") for name in seen), seen


async def test_a_native_coroutine_tool_is_awaited_as_it_is():
    @tool
    async def ping(text: str) -> str:
        """Echo, asynchronously."""
        await asyncio.sleep(0)
        return f"pong {text}"

    node = ToolNode([ping])
    ai = AIMessage(content="", tool_calls=[{"name": "ping", "args": {"text": "x"}, "id": "1"}])
    try:
        (msg,) = (await node.acall({"messages": [ai]}, {}))["messages"]
    finally:
        node.close()
    assert msg.content == "pong x"


# -- text safe to send and to print -------------------------------------------------------
@tool
def noisy(kind: str) -> str:
    """Returns terminal control sequences."""
    if kind == "bad":
        raise ValueError("\x1b[2Jboom")
    return "\x1b]0;title\x07\x1bc\x1b[8mhidden\ttab\nnext"


def test_results_and_errors_show_control_characters_as_escapes():
    node = ToolNode([noisy])
    calls = [
        {"name": "noisy", "args": {"kind": "ok"}, "id": "1"},
        {"name": "noisy", "args": {"kind": "bad"}, "id": "2"},
    ]
    good, bad = node({"messages": [AIMessage(content="", tool_calls=calls)]}, {})["messages"]
    node.close()
    assert good.content == r"\x1b]0;title\x07\x1bc\x1b[8mhidden" + "\ttab\nnext"
    assert bad.status == "error" and r"\x1b[2Jboom" in bad.content and "\x1b" not in bad.content


def test_invalid_arguments_are_explained_with_the_shared_format():
    node = ToolNode([noisy])
    ai = AIMessage(content="", tool_calls=[{"name": "noisy", "args": {}, "id": "1"}])
    (msg,) = node({"messages": [ai]}, {})["messages"]
    node.close()
    assert msg.content.splitlines() == [
        "Error: invalid arguments for noisy:",
        "- kind: Field required",
        "Call it again with arguments that match noisy(kind: string).",
    ]


def test_a_name_that_is_not_utf8_does_not_stop_the_agent(sandbox, tools):
    res = sandbox.execute("echo needle > $'\\xff'; echo needle > ok.txt")
    assert res.ok, res.output
    model = ScriptedChatModel(
        script=[
            say("", tool_call("Glob", {"pattern": "*"})),
            say("", tool_call("LS", {})),
            say("", tool_call("Grep", {"pattern": "needle"})),
            say("done"),
        ]
    )
    state = run(model, tools)
    assert state["stop_reason"] == "done"
    glob, ls, grep = results(state)
    assert sorted(glob.content.splitlines()) == ["\\xff", "ok.txt"]
    assert "\\xff" in ls.content.splitlines()
    assert grep.content.splitlines()[0] == "Found 2 files"
    for msg in model.calls[-1]:  # what the next request sends: encodable
        json.dumps(msg.content, ensure_ascii=False).encode("utf-8")


def test_each_thread_of_a_graph_has_its_own_shell_and_record(sandbox, tools):
    sandbox.write_bytes("sub/f.txt", b"x\n")
    graph = build_graph(
        ScriptedChatModel(
            script=[
                say("", tool_call("Bash", {"command": "cd sub"})),
                say("", tool_call("Read", {"file_path": "sub/f.txt"})),
                say("A done"),
                say("", tool_call("Bash", {"command": "pwd"})),
                say("", tool_call("Write", {"file_path": "sub/f.txt", "content": "B\n"})),
                say("B done"),
            ]
        ),
        list(tools.values()),
        "t",
    )
    graph.invoke({"messages": [HumanMessage("a")]}, {"configurable": {"thread_id": "A"}})
    state = graph.invoke({"messages": [HumanMessage("b")]}, {"configurable": {"thread_id": "B"}})
    pwd, write = results(state)
    assert pwd.content == sandbox.root  # A's cd stayed in A's shell
    assert write.status == "error" and "not Read it" in write.content  # A's Read is A's
    assert sandbox.read_bytes("sub/f.txt") == b"x\n"


def test_clip_middle_counts_what_it_leaves_out_and_takes_any_note():
    from claude_like.budget import clip_middle

    text = "a" * 10 + "\n" * 3 + "b" * 10
    assert clip_middle(text, 100) == text
    out = clip_middle(text, 10, note="<{omitted} cut, {lines} lines>")
    assert out == "aaaaa<13 cut, 3 lines>bbbbb"
    assert clip_middle("x" * 30, 20, note=" [...] ") == "x" * 10 + " [...] " + "x" * 10
