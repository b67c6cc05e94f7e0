"""``claude-like serve --sandbox docker``: one container per session, removed when the
session is deleted, when it has been idle too long, and when the server stops."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from serve_helpers import client, final, query, serving

from claude_like.sandbox.docker_image import LABEL
from claude_like.testing import ScriptedChatModel, say, tool_call

pytest_plugins = ["docker_helpers"]
pytestmark = pytest.mark.docker


CHECK = "cat /tmp/marker 2>/dev/null || echo fresh; echo used > /tmp/marker"
"""Prints ``fresh`` in a container no other session has used."""


def model() -> ScriptedChatModel:
    return ScriptedChatModel(script=[say("", tool_call("Bash", {"command": CHECK})),
                                     say("Done.")])


def containers(docker_client, workspace: Path) -> list[str]:  # type: ignore[no-untyped-def]
    """Ids of the claude-like containers whose workspace is ``workspace``."""
    found = docker_client.containers.list(  # sparse: no inspect of a container just removed
        all=True, sparse=True, filters={"label": [f"{LABEL}.workspace={workspace.resolve()}"]})
    return [c.id for c in found]


def run_session(http) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """A new session that ran ``CHECK`` in its sandbox: its id and what it printed."""
    events = query(http, prompt="which machine?")
    assert final(events)["stop_reason"] == "done", final(events)
    output = next(e for e in events if e["type"] == "tool_finished")["output"]
    return events[0]["session_id"], output.strip()


def test_each_session_has_its_own_container_until_deleted_or_stopped(
        tmp_path: Path, docker_client) -> None:  # type: ignore[no-untyped-def]
    with serving(model=model, workspace_root=tmp_path, sandbox="docker",
                 agent_options={"permission_mode": "bypassPermissions"}) as srv, \
            client(srv) as http:
        assert http.get("/capabilities").json()["sandbox"] == "docker"
        one, seen_one = run_session(http)
        two, seen_two = run_session(http)
        first = containers(docker_client, tmp_path / one)
        second = containers(docker_client, tmp_path / two)
        assert len(first) == 1 and len(second) == 1 and first != second
        assert seen_one == seen_two == "fresh"  # the second did not see the first's /tmp
        assert http.delete(f"/sessions/{one}").status_code == 200
        assert containers(docker_client, tmp_path / one) == []
        assert containers(docker_client, tmp_path / two) == second
    assert containers(docker_client, tmp_path / two) == []  # server stopped


def test_an_idle_session_loses_its_container(tmp_path: Path, docker_client) -> None:  # type: ignore[no-untyped-def]
    with serving(model=model, workspace_root=tmp_path, sandbox="docker", idle_seconds=2,
                 agent_options={"permission_mode": "bypassPermissions"}) as srv, \
            client(srv) as http:
        session_id, _ = run_session(http)
        deadline = time.monotonic() + 60
        assert len(containers(docker_client, tmp_path / session_id)) == 1
        while containers(docker_client, tmp_path / session_id):
            assert time.monotonic() < deadline, "the idle session's container stayed"
            time.sleep(0.1)
        assert srv.registry.live(session_id) is None
        assert http.get(f"/sessions/{session_id}").json()["status"] == "closed"
