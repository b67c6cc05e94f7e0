"""Sessions: a real LangGraph graph checkpointed in a real SQLite file, through SessionStore."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
from pathlib import Path
from typing import Annotated

import pytest
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import Command, interrupt
from typing_extensions import TypedDict

from claude_like.sessions import (
    SessionStore,
    SessionStoreError,
    default_store_path,
    list_sessions,
)


class ChatState(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


def _reply(state: ChatState) -> dict:
    """A scripted 'model': answers the last prompt, so each turn's result is predictable."""
    return {"messages": [AIMessage(content=f"re: {state['messages'][-1].content}")]}


def chat_graph(checkpointer):
    builder = StateGraph(ChatState)
    builder.add_node("reply", _reply)
    builder.add_edge(START, "reply")
    builder.add_edge("reply", END)
    return builder.compile(checkpointer=checkpointer)


def _ask(state: ChatState) -> dict:
    answer = interrupt("approve?")
    return {"messages": [AIMessage(content=f"approved: {answer}")]}


def approval_graph(checkpointer):
    """Stops at an interrupt, which LangGraph keeps as a pending write of the checkpoint."""
    builder = StateGraph(ChatState)
    builder.add_node("ask", _ask)
    builder.add_edge(START, "ask")
    builder.add_edge("ask", END)
    return builder.compile(checkpointer=checkpointer)


def cfg(thread_id: str) -> dict:
    return {"configurable": {"thread_id": thread_id}}


def texts(graph, thread_id: str) -> list[str]:
    return [m.content for m in graph.get_state(cfg(thread_id)).values.get("messages", [])]


def history_ids(graph, thread_id: str) -> list[str]:
    history = graph.get_state_history(cfg(thread_id))
    return [snapshot.config["configurable"]["checkpoint_id"] for snapshot in history]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "data" / "sessions.sqlite"


@pytest.fixture
def store(db: Path):
    with SessionStore(db) as opened:
        yield opened


# -- location and file safety --


def test_default_path_prefers_data_dir_then_xdg_then_home(monkeypatch, tmp_path):
    monkeypatch.setenv("CLAUDE_LIKE_DATA_DIR", str(tmp_path / "mine"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_store_path() == tmp_path / "mine" / "sessions.sqlite"
    monkeypatch.delenv("CLAUDE_LIKE_DATA_DIR")
    assert default_store_path() == tmp_path / "xdg" / "claude-like" / "sessions.sqlite"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/is/invalid")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    expected = tmp_path / "home" / ".local" / "share" / "claude-like" / "sessions.sqlite"
    assert default_store_path() == expected
    monkeypatch.delenv("XDG_DATA_HOME")
    assert default_store_path() == expected


def test_store_without_path_uses_the_default_file(monkeypatch, tmp_path):
    monkeypatch.setenv("CLAUDE_LIKE_DATA_DIR", str(tmp_path / "d"))
    with SessionStore() as store:
        store.record("s1", workspace=tmp_path, model="m")
    assert (tmp_path / "d" / "sessions.sqlite").is_file()
    assert [s.id for s in list_sessions()] == ["s1"]


def test_folder_is_0700_and_files_0600(db: Path, tmp_path: Path):
    old_umask = os.umask(0o022)
    try:
        with SessionStore(db) as store:
            chat_graph(store.checkpointer).invoke({"messages": [("user", "hi")]}, cfg("s"))
            wal = Path(f"{db}-wal")
            assert wal.exists()
            assert stat.S_IMODE(wal.stat().st_mode) == 0o600
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


def test_file_uses_wal_and_waits_for_other_writers(store: SessionStore, db: Path):
    with sqlite3.connect(db) as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn = store.checkpointer.conn
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 10_000


def test_a_file_that_is_not_sqlite_is_refused_and_left_alone(tmp_path: Path):
    path = tmp_path / "sessions.sqlite"
    junk = b"these are my notes, not a database\n" * 200
    path.write_bytes(junk)
    with pytest.raises(SessionStoreError) as err:
        SessionStore(path)
    assert str(path) in str(err.value)
    assert "not a SQLite database" in str(err.value)
    with pytest.raises(SessionStoreError, match="not a SQLite database"):
        list_sessions(path=path)
    assert path.read_bytes() == junk
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sessions.sqlite"]


def test_a_store_from_a_newer_version_is_refused(db: Path):
    SessionStore(db).close()
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE claude_like_schema SET version = 99 WHERE name = 'sessions'")
    with pytest.raises(SessionStoreError, match="newer") as err:
        SessionStore(db)
    assert str(db) in str(err.value)


def test_listing_a_missing_store_creates_nothing(tmp_path: Path):
    path = tmp_path / "nowhere" / "sessions.sqlite"
    assert list_sessions(path=path) == []
    assert not path.parent.exists()


@pytest.mark.parametrize("bad", ["", "../up", "a/b", "a b", "-flag", ".hidden", "x" * 129, 7])
def test_session_ids_must_be_plain_tokens(store: SessionStore, bad):
    with pytest.raises(ValueError, match="session id"):
        store.record(bad, workspace="/tmp", model="m")
    with pytest.raises(ValueError, match="session id"):
        store.get(bad)
    with pytest.raises(ValueError, match="session id"):
        store.delete(bad)
    store.record("ok-1.a_B", workspace="/tmp", model="m")
    with pytest.raises(ValueError, match="session id"):
        store.fork("ok-1.a_B", bad)
    with pytest.raises(ValueError, match="session id"):
        store.fork(bad)


def test_close_is_idempotent_and_closes(db: Path):
    store = SessionStore(db)
    conn = store.checkpointer.conn
    store.close()
    store.close()
    with pytest.raises(sqlite3.ProgrammingError):
        conn.execute("SELECT 1")
    with pytest.raises(SessionStoreError, match="closed"):
        store.list()
    with SessionStore(db) as again:
        conn = again.checkpointer.conn
    with pytest.raises(sqlite3.ProgrammingError):
        conn.execute("SELECT 1")


# -- the checkpointer --


def test_conversation_survives_a_restart(db: Path, tmp_path: Path):
    with SessionStore(db) as first:
        first.record("chat", workspace=tmp_path, model="m", title="hello")
        chat_graph(first.checkpointer).invoke({"messages": [("user", "hello")]}, cfg("chat"))
    with SessionStore(db) as second:
        graph = chat_graph(second.checkpointer)
        assert texts(graph, "chat") == ["hello", "re: hello"]
        graph.invoke({"messages": [("user", "more")]}, cfg("chat"))
        assert texts(graph, "chat") == ["hello", "re: hello", "more", "re: more"]
        assert second.get("chat").title == "hello"


async def test_sync_and_async_calls_share_one_checkpointer(store: SessionStore):
    graph = chat_graph(store.checkpointer)
    graph.invoke({"messages": [("user", "one")]}, cfg("t"))
    await graph.ainvoke({"messages": [("user", "two")]}, cfg("t"))
    async for _ in graph.astream({"messages": [("user", "three")]}, cfg("t")):
        pass
    graph.invoke({"messages": [("user", "four")]}, cfg("t"))
    expected = [x for w in ("one", "two", "three", "four") for x in (w, f"re: {w}")]
    assert texts(graph, "t") == expected
    snapshot = await graph.aget_state(cfg("t"))
    assert [m.content for m in snapshot.values["messages"]] == expected
    sync_history = [s.config for s in graph.get_state_history(cfg("t"))]
    async_history = [s.config async for s in graph.aget_state_history(cfg("t"))]
    assert async_history == sync_history
    assert len(sync_history) == 4 * 3  # input, loop start and reply per run


async def test_concurrent_async_runs_on_one_store(store: SessionStore):
    graph = chat_graph(store.checkpointer)

    async def chat(thread: str) -> None:
        for i in range(5):
            await graph.ainvoke({"messages": [HumanMessage(f"{thread}-{i}")]}, cfg(thread))

    await asyncio.gather(*(chat(f"t{n}") for n in range(4)))
    for n in range(4):
        expected = [x for i in range(5) for x in (f"t{n}-{i}", f"re: t{n}-{i}")]
        assert texts(graph, f"t{n}") == expected


def test_copy_and_delete_thread_on_the_checkpointer(store: SessionStore):
    graph = chat_graph(store.checkpointer)
    graph.invoke({"messages": [("user", "x")]}, cfg("a"))
    store.checkpointer.copy_thread("a", "b")
    assert texts(graph, "b") == ["x", "re: x"]
    asyncio.run(store.checkpointer.adelete_thread("a"))
    assert texts(graph, "a") == []
    assert texts(graph, "b") == ["x", "re: x"]


# -- metadata --


def test_record_list_latest_newest_first_per_workspace(store: SessionStore, tmp_path: Path):
    ws1, ws2 = tmp_path / "ws1", tmp_path / "ws2"
    ws1.mkdir()
    ws2.mkdir()
    a = store.record("a", workspace=ws1, model="ollama:qwen")
    store.record("b", workspace=ws2, model="m")
    store.record("c", workspace=ws1, model="m")
    assert [s.id for s in store.list()] == ["c", "b", "a"]
    touched = store.record("a", workspace=ws1, model="llamacpp:smol")
    assert touched.updated_at > a.updated_at
    assert touched.created_at == a.created_at
    assert touched.model == "llamacpp:smol"
    assert [s.id for s in store.list()] == ["a", "c", "b"]
    assert [s.id for s in store.list(limit=2)] == ["a", "c"]
    assert [s.id for s in store.list(workspace=ws1)] == ["a", "c"]
    assert store.latest(ws1).id == "a"
    assert store.latest(ws2).id == "b"
    assert store.latest(tmp_path / "elsewhere") is None
    # the same folder by another name is the same workspace
    (tmp_path / "link").symlink_to(ws2)
    assert store.latest(tmp_path / "link").id == "b"
    assert store.get("a").workspace == str(ws1.resolve())
    assert store.get("zzz") is None
    with pytest.raises(ValueError):
        store.list(limit=0)


def test_title_is_the_first_prompt_on_one_line_set_once(store: SessionStore):
    assert store.record("s", workspace="/tmp", model="m").title == ""
    info = store.record("s", workspace="/tmp", model="m", title="Fix the\n  failing test\n")
    assert info.title == "Fix the failing test"
    assert store.record("s", workspace="/tmp", model="m", title="later").title == info.title
    assert store.get("s").title == "Fix the failing test"
    long = store.record("l", workspace="/tmp", model="m", title="word " * 60).title
    assert 70 <= len(long) <= 80
    assert long.endswith("…")
    assert "\n" not in long


def test_graph_writes_keep_message_count_and_activity(store: SessionStore, tmp_path: Path):
    graph = chat_graph(store.checkpointer)
    first = store.record("s", workspace=tmp_path, model="m", title="hi")
    other = store.record("other", workspace=tmp_path, model="m")
    assert first.messages == 0
    graph.invoke({"messages": [("user", "hi")]}, cfg("s"))
    after = store.get("s")
    assert after.messages == 2
    assert after.updated_at > other.updated_at
    assert store.latest(tmp_path).id == "s"
    # a thread run before it was recorded is counted when it is recorded
    graph.invoke({"messages": [("user", "hi")]}, cfg("late"))
    assert store.record("late", workspace=tmp_path, model="m").messages == 2


# -- fork and delete --


def test_fork_copies_state_then_diverges(store: SessionStore, tmp_path: Path):
    graph = chat_graph(store.checkpointer)
    store.record("orig", workspace=tmp_path, model="m", title="start")
    graph.invoke({"messages": [("user", "start")]}, cfg("orig"))
    before = graph.get_state(cfg("orig"))

    fork = store.fork("orig", "copy")
    assert (fork.id, fork.parent, fork.title, fork.messages) == ("copy", "orig", "start", 2)
    assert fork.workspace == store.get("orig").workspace
    copied = graph.get_state(cfg("copy"))
    assert copied.values == before.values
    assert copied.next == before.next
    assert history_ids(graph, "copy") == history_ids(graph, "orig")

    graph.invoke({"messages": [("user", "branch")]}, cfg("copy"))
    assert texts(graph, "copy") == ["start", "re: start", "branch", "re: branch"]
    assert texts(graph, "orig") == ["start", "re: start"]
    assert graph.get_state(cfg("orig")).values == before.values
    assert store.get("copy").messages == 4
    assert store.get("orig").messages == 2

    generated = store.fork("orig")
    assert generated.id not in {"orig", "copy"}
    assert texts(graph, generated.id) == ["start", "re: start"]


def test_fork_carries_pending_writes_of_an_interrupted_run(store: SessionStore, tmp_path):
    graph = approval_graph(store.checkpointer)
    store.record("ask", workspace=tmp_path, model="m")
    graph.invoke({"messages": [("user", "delete it?")]}, cfg("ask"))
    waiting = graph.get_state(cfg("ask"))
    assert [i.value for i in waiting.interrupts] == ["approve?"]

    store.fork("ask", "ask2")
    forked = graph.get_state(cfg("ask2"))
    assert [i.value for i in forked.interrupts] == ["approve?"]
    assert forked.next == ("ask",)

    graph.invoke(Command(resume="yes"), cfg("ask2"))
    graph.invoke(Command(resume="no"), cfg("ask"))
    assert texts(graph, "ask2") == ["delete it?", "approved: yes"]
    assert texts(graph, "ask") == ["delete it?", "approved: no"]


def test_fork_refuses_unknown_and_taken_ids(store: SessionStore, db: Path):
    with pytest.raises(KeyError) as err:
        store.fork("ghost")
    assert "ghost" in str(err.value)
    assert str(db) in str(err.value)
    store.record("a", workspace="/tmp", model="m")
    store.record("b", workspace="/tmp", model="m")
    with pytest.raises(ValueError, match="already exists"):
        store.fork("a", "b")
    chat_graph(store.checkpointer).invoke({"messages": [("user", "x")]}, cfg("unrecorded"))
    with pytest.raises(ValueError, match="already exists"):
        store.fork("a", "unrecorded")


def test_delete_removes_checkpoints_and_metadata_only_of_that_session(
    store: SessionStore, db: Path
):
    graph = chat_graph(store.checkpointer)
    for sid in ("gone", "kept"):
        store.record(sid, workspace="/tmp", model="m")
        graph.invoke({"messages": [("user", sid)]}, cfg(sid))
    store.delete("gone")
    assert store.get("gone") is None
    assert [s.id for s in store.list()] == ["kept"]
    assert texts(graph, "gone") == []
    assert texts(graph, "kept") == ["kept", "re: kept"]
    with sqlite3.connect(db) as conn:
        for table in ("checkpoints", "writes"):
            n = conn.execute(f"SELECT count(*) FROM {table} WHERE thread_id='gone'").fetchone()
            assert n == (0,)
    with pytest.raises(KeyError, match="gone"):
        store.delete("gone")
