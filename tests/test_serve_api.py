"""``claude-like serve`` over real HTTP (uvicorn in a thread, httpx streaming) on a scripted
model: the event stream, approvals, sessions and their history, deleting."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage
from serve_helpers import client, final, query, serving

from claude_like.sandbox import SandboxError
from claude_like.testing import ScriptedChatModel, say, tool_call


class Models:
    """A factory of scripted models, one per session, all replying with ``script``."""

    def __init__(self, *script: object) -> None:
        self.script = list(script)
        self.made: list[ScriptedChatModel] = []

    def __call__(self) -> ScriptedChatModel:
        model = ScriptedChatModel(script=list(self.script))
        self.made.append(model)
        return model


def types(events: list[dict]) -> list[str]:
    """Event types with runs of text deltas collapsed to one."""
    out: list[str] = []
    for event in events:
        if not (event["type"] == "text" and out and out[-1] == "text"):
            out.append(event["type"])
    return out


def test_query_streams_text_tool_events_and_final_in_order(tmp_path: Path) -> None:
    models = Models(say("Reading.", tool_call("Read", {"file_path": "notes.txt"})),
                    say("It says hello."))
    with serving(model=models, workspace_root=tmp_path, idle_seconds=600) as srv, \
            client(srv) as http:
        health = http.get("/health")
        assert health.status_code == 200 and health.json() == {"status": "ok"}
        caps = http.get("/capabilities").json()
        assert caps["sandbox"] == "local"
        assert {"Read", "Write", "Edit", "Bash"} <= set(caps["tools"])
        assert caps["permission_modes"] == ["default", "acceptEdits", "plan",
                                            "bypassPermissions"]
        (tmp_path / "ws").mkdir()
        (tmp_path / "ws" / "notes.txt").write_text("hello from the notes\n")
        events = query(http, prompt="What do the notes say?", workspace="ws")

    assert types(events) == ["session", "text", "context", "tool_started", "tool_finished",
                             "text", "context", "final"]
    session_id = events[0]["session_id"]
    assert events[0]["workspace"] == str(tmp_path / "ws")
    assert "".join(e["text"] for e in events if e["type"] == "text") == \
        "Reading.It says hello."
    started = next(e for e in events if e["type"] == "tool_started")
    finished = next(e for e in events if e["type"] == "tool_finished")
    assert started["name"] == "Read" and started["args"] == {"file_path": "notes.txt"}
    assert finished["id"] == started["id"] and finished["ok"] is True
    assert "hello from the notes" in finished["output"]
    context = next(e for e in events if e["type"] == "context")
    assert context["tokens"] > 0 and context["window"] > 0
    end = final(events)
    assert end["session_id"] == session_id
    assert end["text"] == "It says hello." and end["stop_reason"] == "done"
    assert end["turns"] == 2 and end["pending"] == []
    assert end["usage"]["input_tokens"] > 0


def test_write_in_default_mode_asks_then_approve_writes_the_file(tmp_path: Path) -> None:
    models = Models(say("Writing.", tool_call("Write", {"file_path": "out.txt",
                                                         "content": "written\n"})),
                    say("Wrote it."))
    with serving(model=models, workspace_root=tmp_path) as srv, client(srv) as http:
        events = query(http, prompt="write out.txt")
        session_id = events[0]["session_id"]
        workspace = tmp_path / session_id
        asked = [e for e in events if e["type"] == "approval_requested"]
        assert len(asked) == 1
        request = asked[0]["request"]
        assert request["tool"] == "Write" and request["input"]["file_path"] == "out.txt"
        assert "+written" in request["diff"]
        end = final(events)
        assert end["stop_reason"] == "interrupted"
        assert [p["tool_call_id"] for p in end["pending"]] == [request["tool_call_id"]]
        assert not (workspace / "out.txt").exists()

        info = http.get(f"/sessions/{session_id}").json()
        assert info["status"] == "waiting" and info["pending"][0]["tool"] == "Write"
        # a new prompt must not skip the question; a nonsense answer is refused
        busy = http.post("/query", json={"prompt": "something else", "session_id": session_id})
        assert busy.status_code == 409 and "approve" in busy.json()["error"]["message"]
        wrong = http.post(f"/sessions/{session_id}/approve", json={"answers": "maybe"})
        assert wrong.status_code == 400, wrong.text
        assert http.get(f"/sessions/{session_id}").json()["status"] == "waiting"

        events = query(http, f"/sessions/{session_id}/approve", answers="allow")
        assert types(events)[:3] == ["session", "tool_started", "tool_finished"]
        assert final(events)["stop_reason"] == "done"
        assert final(events)["text"] == "Wrote it."
        assert (workspace / "out.txt").read_text() == "written\n"
        assert http.get(f"/sessions/{session_id}").json()["status"] == "idle"
        again = http.post(f"/sessions/{session_id}/approve", json={"answers": "allow"})
        assert again.status_code == 409


def test_a_session_keeps_its_history_and_its_permission_mode(tmp_path: Path) -> None:
    models = Models(say("First answer."),
                    say("Edit.", tool_call("Write", {"file_path": "x.txt", "content": "x"})),
                    say("Done."))
    with serving(model=models, workspace_root=tmp_path) as srv, client(srv) as http:
        first = query(http, prompt="remember the word kumquat")
        session_id = first[0]["session_id"]
        second = query(http, prompt="write x.txt", session_id=session_id,
                       permission_mode="acceptEdits")
    assert final(second)["stop_reason"] == "done"  # acceptEdits: no question
    assert (tmp_path / session_id / "x.txt").read_text() == "x"
    assert len(models.made) == 1  # one agent (one model) for the session
    seen = models.made[0].calls[1]
    assert [m.content for m in seen if isinstance(m, HumanMessage)] == [
        "remember the word kumquat", "write x.txt"]


def test_sessions_list_get_and_delete(tmp_path: Path) -> None:
    models = Models(say("Hi."), say("Hi again."))
    with serving(model=models, workspace_root=tmp_path) as srv, client(srv) as http:
        one = final(query(http, prompt="one"))["session_id"]
        two = final(query(http, prompt="two", permission_mode="plan"))["session_id"]
        assert one != two
        listed = http.get("/sessions").json()["sessions"]
        assert [s["session_id"] for s in listed] == [one, two]
        assert all(s["status"] == "idle" for s in listed)
        assert [s["permission_mode"] for s in listed] == ["default", "plan"]
        info = http.get(f"/sessions/{one}").json()
        assert info["workspace"] == str(tmp_path / one)
        assert info["last_result"]["text"] == "Hi."

        sandbox = srv.registry.live(one).agent.sandbox
        sandbox.execute("true")
        deleted = http.delete(f"/sessions/{one}")
        assert deleted.status_code == 200 and deleted.json()["deleted"] is True
        with pytest.raises(SandboxError):
            sandbox.execute("true")  # its sandbox was closed
        assert http.get(f"/sessions/{one}").status_code == 404
        assert http.delete(f"/sessions/{one}").status_code == 404
        gone = http.post("/query", json={"prompt": "again", "session_id": one})
        assert gone.status_code == 404  # the conversation was forgotten too
        assert [s["session_id"] for s in http.get("/sessions").json()["sessions"]] == [two]
        assert (tmp_path / one).is_dir()  # the files a session made stay


def test_shutdown_closes_every_session(tmp_path: Path) -> None:
    models = Models(say("Hi."))
    with serving(model=models, workspace_root=tmp_path) as srv, client(srv) as http:
        final(query(http, prompt="one"))
        final(query(http, prompt="two"))
        sandboxes = [s.agent.sandbox for s in srv.registry.list()]
        for sandbox in sandboxes:
            sandbox.execute("true")
    for sandbox in sandboxes:  # the server stopped; this process goes on
        with pytest.raises(SandboxError):
            sandbox.execute("true")
