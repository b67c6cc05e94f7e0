"""Turns of ``claude-like serve`` sessions: cancelling one (a long Bash command, a stalled
model), a second query on a busy session, and the idle reaper closing sessions (and
reopening them from the store with their history)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from serve_helpers import client, final, query, read_events, serving

from claude_like.sandbox import SandboxError
from claude_like.testing import ScriptedChatModel, say, tool_call

SLEEP = "sleep 37.25"
"""A command no other test runs, to find its process."""


def sleeping() -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if proc.info["cmdline"] == SLEEP.split():
            found.append(proc)
    return found


def wait_for(condition, what: str, seconds: float = 30) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_cancel_stops_a_long_bash_command_and_the_session_goes_on(tmp_path: Path) -> None:
    models: list[ScriptedChatModel] = []

    def model() -> ScriptedChatModel:
        models.append(ScriptedChatModel(script=[
            say("Sleeping.", tool_call("Bash", {"command": SLEEP})), say("Awake again.")]))
        return models[-1]

    with serving(model=model, workspace_root=tmp_path,
                 agent_options={"permission_mode": "bypassPermissions"}) as srv, \
            client(srv) as http:
        events = []
        with http.stream("POST", "/query", json={"prompt": "sleep a while"}) as response:
            for event in read_events(response):
                events.append(event)
                if event["type"] == "tool_started":
                    wait_for(lambda: sleeping(), "the sleep command to start")
                    cancelled = http.post(f"/sessions/{events[0]['session_id']}/cancel")
                    assert cancelled.status_code == 200
                    assert cancelled.json()["cancelled"] is True
        session_id = events[0]["session_id"]
        assert final(events)["stop_reason"] == "cancelled"
        assert "tool_finished" not in [e["type"] for e in events]
        assert sleeping() == []  # the command and its shell were killed
        info = http.get(f"/sessions/{session_id}").json()
        assert info["status"] == "idle"
        assert info["last_result"]["stop_reason"] == "cancelled"
        nothing = http.post(f"/sessions/{session_id}/cancel").json()
        assert nothing["cancelled"] is False

        events = query(http, prompt="are you there?", session_id=session_id)
    assert final(events)["text"] == "Awake again."
    seen = models[0].calls[-1]
    assert [m.content for m in seen if isinstance(m, HumanMessage)] == [
        "sleep a while", "are you there?"]
    bash = next(m for m in seen if isinstance(m, AIMessage) and m.tool_calls)
    answered = [m for m in seen if isinstance(m, ToolMessage)]
    assert [m.tool_call_id for m in answered] == [bash.tool_calls[0]["id"]]


class StalledModel:
    """Scripted models whose first reply waits until ``release`` is set."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.made: list[ScriptedChatModel] = []

    def _stall(self, _messages: list[BaseMessage]) -> AIMessage:
        self.entered.set()
        self.release.wait(60)
        return AIMessage(content="late reply nobody should see")

    def __call__(self) -> ScriptedChatModel:
        self.made.append(ScriptedChatModel(script=[self._stall, say("Second answer.")]))
        return self.made[-1]


@pytest.fixture
def stalled() -> Iterator[StalledModel]:
    model = StalledModel()
    yield model
    model.release.set()


def test_busy_session_refuses_a_second_query_and_cancel_frees_it(
        tmp_path: Path, stalled: StalledModel) -> None:
    with serving(model=stalled, workspace_root=tmp_path) as srv, client(srv) as http:
        events: list[dict] = []

        def first() -> None:
            with client(srv) as other:
                events.extend(query(other, prompt="think hard"))

        runner = threading.Thread(target=first)
        runner.start()
        assert stalled.entered.wait(30)
        session_id = srv.registry.list()[0].id
        assert http.get(f"/sessions/{session_id}").json()["status"] == "running"
        busy = http.post("/query", json={"prompt": "hurry up", "session_id": session_id})
        assert busy.status_code == 409
        assert "already running" in busy.json()["error"]["message"]
        also = http.post(f"/sessions/{session_id}/approve", json={"answers": "allow"})
        assert also.status_code == 409
        assert http.post(f"/sessions/{session_id}/cancel").json()["cancelled"] is True
        runner.join(30)
        assert final(events)["stop_reason"] == "cancelled"
        assert "late reply" not in "".join(e.get("text", "") for e in events)
        after = query(http, prompt="hello?", session_id=session_id)
        stalled.release.set()  # the abandoned model call's thread ends before the server
    assert final(after)["text"] == "Second answer."
    assert [m.content for m in stalled.made[0].calls[-1] if isinstance(m, HumanMessage)] == \
        ["think hard", "hello?"]


def test_idle_sessions_are_closed_and_reopen_with_their_history(tmp_path: Path) -> None:
    made: list[ScriptedChatModel] = []

    def model() -> ScriptedChatModel:
        made.append(ScriptedChatModel(script=[say("Noted."), say("You said kumquat.")]))
        return made[-1]

    with serving(model=model, workspace_root=tmp_path, idle_seconds=0.3) as srv, \
            client(srv) as http:
        session_id = final(query(http, prompt="the word is kumquat"))["session_id"]
        sandbox = srv.registry.live(session_id).agent.sandbox
        wait_for(lambda: http.get("/sessions").json()["sessions"] == [], "the reaper")
        with pytest.raises(SandboxError):
            sandbox.execute("true")  # closed with the session
        closed = http.get(f"/sessions/{session_id}").json()
        assert closed["status"] == "closed" and closed["title"] == "the word is kumquat"

        events = query(http, prompt="what was the word?", session_id=session_id)
        assert final(events)["text"] == "Noted."  # a new agent: a new model, same thread
        assert len(made) == 2
        seen = made[1].calls[0]
        assert [m.content for m in seen if isinstance(m, HumanMessage)] == [
            "the word is kumquat", "what was the word?"]


def test_a_running_session_is_not_reaped(tmp_path: Path, stalled: StalledModel) -> None:
    with serving(model=stalled, workspace_root=tmp_path, idle_seconds=0.1) as srv:
        events: list[dict] = []

        def first() -> None:
            with client(srv) as other:
                events.extend(query(other, prompt="think hard"))

        runner = threading.Thread(target=first)
        runner.start()
        assert stalled.entered.wait(30)
        time.sleep(1.0)  # many reaper rounds
        assert [s.status for s in srv.registry.list()] == ["running"]
        stalled.release.set()
        runner.join(30)
        assert final(events)["stop_reason"] == "done"


def test_a_waiting_approval_and_the_mode_survive_idle_closing(tmp_path: Path) -> None:
    model = ScriptedChatModel(script=[  # one instance, shared by every agent of the server
        say("Running.", tool_call("Bash", {"command": "echo ran > ran.txt"})),
        say("Ran it.")])
    with serving(model=model, workspace_root=tmp_path, idle_seconds=0.3) as srv, \
            client(srv) as http:
        events = query(http, prompt="run it", permission_mode="acceptEdits")
        session_id = events[0]["session_id"]
        assert final(events)["stop_reason"] == "interrupted"  # acceptEdits asks for Bash
        wait_for(lambda: srv.registry.live(session_id) is None, "the reaper")
        assert http.get(f"/sessions/{session_id}").json()["status"] == "closed"

        events = query(http, f"/sessions/{session_id}/approve", answers="allow")
        assert final(events)["text"] == "Ran it."
        assert (tmp_path / session_id / "ran.txt").read_text() == "ran\n"
        assert http.get(f"/sessions/{session_id}").json()["permission_mode"] == "acceptEdits"


def test_a_quiet_stream_sends_keepalive_comments(tmp_path: Path,
                                                 stalled: StalledModel) -> None:
    with serving(model=stalled, workspace_root=tmp_path, keepalive_seconds=0.05) as srv, \
            client(srv) as http, http.stream("POST", "/query", json={"prompt": "x"}) as response:
        lines = response.iter_lines()
        assert next(lines).startswith("event: session")
        while next(lines) != ": keep-alive":
            pass
        stalled.release.set()
        rest = list(lines)
    assert "event: final" in rest
