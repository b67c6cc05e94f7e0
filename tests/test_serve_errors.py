"""Bad input on every endpoint of ``claude-like serve``: missing or wrong token, malformed
JSON, a huge body, an unknown session or model, a refused bind. Each gets a clear JSON
error, and the service is still up afterwards."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from serve_helpers import TOKEN, client, final, query, serving
from typer.testing import CliRunner

from claude_like.cli import app as cli_app
from claude_like.serve import ModelUnavailable, create_app
from claude_like.testing import ScriptedChatModel, say

ENDPOINTS = [
    ("GET", "/capabilities"),
    ("POST", "/query"),
    ("GET", "/sessions"),
    ("GET", "/sessions/abc"),
    ("POST", "/sessions/abc/approve"),
    ("POST", "/sessions/abc/cancel"),
    ("DELETE", "/sessions/abc"),
    ("GET", "/no/such/path"),
]


def model() -> ScriptedChatModel:
    return ScriptedChatModel(script=[say("Fine.")], repeat_last=True)


def refused(response: httpx.Response, status: int, words: str) -> None:
    """A JSON error with ``status`` whose message contains ``words``."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert words in error["message"], error
    assert error["type"]


def still_up(http: httpx.Client) -> None:
    assert http.get("/health").json() == {"status": "ok"}
    assert final(query(http, prompt="still there?"))["stop_reason"] == "done"


def test_token_is_required_on_every_endpoint_but_health(tmp_path: Path) -> None:
    with serving(model=model, workspace_root=tmp_path, token=TOKEN) as srv, \
            client(srv) as anonymous:
        assert anonymous.get("/health").status_code == 200
        wrong_headers = [{}, {"Authorization": "Bearer nope"}, {"x-api-key": "nope"},
                         {"Authorization": f"Basic {TOKEN}"}, {"Authorization": "Bearer"}]
        for method, path in ENDPOINTS:
            for headers in wrong_headers:
                response = anonymous.request(method, path, headers=headers, json={})
                refused(response, 401, "token")
                assert response.headers["www-authenticate"] == "Bearer"
        for headers in ({"Authorization": f"Bearer {TOKEN}"}, {"x-api-key": TOKEN}):
            assert anonymous.get("/capabilities", headers=headers).status_code == 200
            assert anonymous.get("/sessions/abc", headers=headers).status_code == 404
        assert srv.registry.list() == []  # nothing ran for the refused requests
        with client(srv, TOKEN) as http:
            still_up(http)


def test_malformed_and_invalid_bodies_get_400(tmp_path: Path) -> None:
    with serving(model=model, workspace_root=tmp_path) as srv, client(srv) as http:
        session_id = final(query(http, prompt="start"))["session_id"]
        for path in ("/query", f"/sessions/{session_id}/approve"):
            refused(http.post(path, content=b"{not json"), 400, "malformed JSON")
            refused(http.post(path, content=b"\xff\xfe"), 400, "malformed JSON")
            refused(http.post(path, content=b""), 400, "malformed JSON")
            refused(http.post(path, json=["a", "list"]), 400, "must be an object")
            still_up(http)
        refused(http.post("/query", json={}), 400, "prompt")
        refused(http.post("/query", json={"prompt": ""}), 400, "prompt")
        refused(http.post("/query", json={"prompt": "x", "colour": "red"}), 400, "colour")
        refused(http.post("/query", json={"prompt": "x", "permission_mode": "yolo"}), 400,
                "permission_mode")
        refused(http.post("/query", json={"prompt": "x", "max_turns": 0}), 400, "max_turns")
        refused(http.post("/query", json={"prompt": "x", "workspace": "../outside"}), 400,
                "inside the server's workspace root")
        refused(http.post("/query", json={"prompt": "x", "workspace": "."}), 400,
                "inside the server's workspace root")
        refused(http.post("/query", json={"prompt": "x", "session_id": session_id,
                                          "allowed_tools": ["Bash"]}), 400,
                "only be set when a session starts")
        refused(http.post(f"/sessions/{session_id}/approve", json={}), 400, "answers")
        refused(http.get("/query"), 405, "Method Not Allowed")
        assert not (tmp_path.parent / "outside").exists()
        still_up(http)


def test_huge_bodies_get_413(tmp_path: Path) -> None:
    with serving(model=model, workspace_root=tmp_path, max_body=2000) as srv, \
            client(srv) as http:
        big = {"prompt": "x" * 5000}
        refused(http.post("/query", json=big), 413, "exceeds the limit of 2000 bytes")

        def chunks():  # no Content-Length: the limit holds while the body streams in
            yield b'{"prompt": "'
            for _ in range(50):
                yield b"y" * 100
            yield b'"}'

        refused(http.post("/query", content=chunks()), 413, "exceeds the limit")
        refused(http.post("/sessions/abc/approve", json={"answers": "a" * 5000}), 413,
                "exceeds the limit")
        assert srv.registry.list() == []
        still_up(http)
        assert final(query(http, prompt="y" * 1900))["stop_reason"] == "done"  # under it


def test_unknown_sessions_get_404(tmp_path: Path) -> None:
    with serving(model=model, workspace_root=tmp_path) as srv, client(srv) as http:
        for session_id in ("0123456789abcdef0123456789abcdef", "not/an/id", "..", "x" * 300):
            refused(http.get(f"/sessions/{session_id}"), 404, "")
            refused(http.post(f"/sessions/{session_id}/cancel"), 404, "")
            refused(http.delete(f"/sessions/{session_id}"), 404, "")
            refused(http.post(f"/sessions/{session_id}/approve", json={"answers": "allow"}),
                    404, "")
        refused(http.post("/query", json={"prompt": "x", "session_id": "nope"}), 404,
                "unknown session 'nope'")
        still_up(http)


def test_a_session_of_another_workspace_is_not_reachable(tmp_path: Path) -> None:
    """A session the store holds for a folder outside the root (the CLI's, say) is 404."""
    from claude_like import ClaudeLikeAgent

    elsewhere = tmp_path / "project"
    elsewhere.mkdir()
    with ClaudeLikeAgent(model(), workspace=elsewhere) as agent:
        agent.run("private work")
        private = agent.thread_id
    with serving(model=model, workspace_root=tmp_path / "root") as srv, client(srv) as http:
        refused(http.post("/query", json={"prompt": "x", "session_id": private}), 404,
                "unknown session")
        refused(http.get(f"/sessions/{private}"), 404, "unknown session")
        refused(http.delete(f"/sessions/{private}"), 404, "unknown session")
        still_up(http)


def test_unknown_model_is_a_clear_error_at_startup(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match=r"cannot use model 'nosuch:thing'.*provider"):
        create_app(model="nosuch:thing", workspace_root=tmp_path)
    result = CliRunner().invoke(cli_app, ["serve", "--model", "nosuch:thing",
                                          "--workspace-root", str(tmp_path)])
    assert result.exit_code == 1
    assert "cannot use model 'nosuch:thing'" in result.output
    assert "unknown model provider 'nosuch'" in result.output
    result = CliRunner().invoke(
        cli_app, ["serve", "--model", "llamacpp:m?base_url=http://127.0.0.1:9",
                  "--workspace-root", str(tmp_path)])
    assert result.exit_code == 1 and "no llama-server answers" in result.output


def test_non_loopback_bind_without_token_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli_app, ["serve", "--host", "0.0.0.0", "--model",
                                          "nosuch:thing", "--workspace-root", str(tmp_path)])
    assert result.exit_code == 1
    assert "refusing to listen on 0.0.0.0 without a token" in result.output
    with_token = CliRunner().invoke(cli_app, ["serve", "--host", "0.0.0.0", "--token", TOKEN,
                                              "--model", "nosuch:thing",
                                              "--workspace-root", str(tmp_path)])
    assert with_token.exit_code == 1  # past the bind check, stopped by the model
    assert "refusing" not in with_token.output and "nosuch" in with_token.output
