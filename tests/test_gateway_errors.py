"""Bad input and failures on every endpoint of the gateway, over a real server: each gets an
Anthropic-shaped error with the right status, and the service answers the next request."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from gateway_support import claude_code_request, post, served, sse_events
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk
from model_fakes import fake_llama_server
from typer.testing import CliRunner

from claude_like.cli import app as cli_app
from claude_like.gateway import create_app
from claude_like.models import make_chat_model
from claude_like.models.llama_server import free_port
from claude_like.models.openai_compatible import make_compat_chat
from claude_like.testing import ScriptedChatModel

TOKEN = "gw-test-token-123"


def is_error(response: httpx.Response, status: int, kind: str) -> str:
    """The message of an Anthropic-shaped error, after checking its status and type."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["type"] == "error" and body["error"]["type"] == kind
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]["message"]


@pytest.fixture
def model() -> ScriptedChatModel:
    return ScriptedChatModel(script=["ok"], repeat_last=True)


@pytest.fixture
def client(model: ScriptedChatModel) -> Iterator[httpx.Client]:
    with served(create_app(model, token=TOKEN, max_body=64 * 1024)) as url, \
            httpx.Client(base_url=url, timeout=30) as c:
        yield c


def still_up(client: httpx.Client) -> None:
    response = post(client, claude_code_request("hi", stream=False), **{"x-api-key": TOKEN})
    assert response.status_code == 200, response.text


ENDPOINTS = [("POST", "/v1/messages"), ("POST", "/v1/messages/count_tokens"),
             ("GET", "/v1/models"), ("GET", "/v1/models/x"), ("GET", "/health")]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_endpoint_needs_the_token(client: httpx.Client, method: str, path: str) -> None:
    body = claude_code_request("hi", stream=False) if method == "POST" else None
    missing = client.request(method, path, json=body)
    assert "missing" in is_error(missing, 401, "authentication_error")
    wrong = client.request(method, path, json=body, headers={"x-api-key": TOKEN + "x"})
    is_error(wrong, 401, "authentication_error")
    bearer_wrong = client.request(method, path, json=body,
                                  headers={"authorization": "Bearer nope"})
    is_error(bearer_wrong, 401, "authentication_error")
    for headers in ({"x-api-key": TOKEN}, {"authorization": f"Bearer {TOKEN}"}):
        assert client.request(method, path, json=body, headers=headers).status_code == 200


def test_the_token_is_compared_in_constant_time(client: httpx.Client,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        seen.append((a, b))
        return real(a, b)

    monkeypatch.setattr("claude_like.web.auth.hmac.compare_digest", spy)
    client.get("/health", headers={"x-api-key": "guess"})
    assert seen == [(TOKEN.encode(), b"guess")]


@pytest.mark.parametrize(("raw", "words"), [
    (b"{not json", "not valid JSON"),
    (b"[1, 2]", "JSON object"),
    (b'{"model": "m"}', "messages"),
    (b'{"model": "", "messages": [{"role": "user", "content": "x"}]}', "model"),
    (b'{"model": "m", "messages": []}', "messages"),
    (b'{"model": "m", "messages": [{"role": "robot", "content": "x"}]}', "role"),
    (b'{"model": "m", "max_tokens": 0, "messages": [{"role": "user", "content": "x"}]}',
     "max_tokens"),
    (b'{"model": "m", "messages": [{"role": "user", "content": [{"type": "tool_result"}]}]}',
     "tool_use_id"),
    (b'{"model": "m", "messages": [{"role": "user", "content": "x"}],'
     b' "tool_choice": {"type": "tool"}}', "name"),
    (b'{"model": "m", "messages": [{"role": "user", "content": "x"}],'
     b' "tool_choice": {"type": "tool", "name": "Nope"}}', "Nope"),
])
def test_malformed_requests_get_400(client: httpx.Client, raw: bytes, words: str) -> None:
    for path in ("/v1/messages", "/v1/messages/count_tokens"):
        response = client.post(path, content=raw, headers={"x-api-key": TOKEN,
                                                          "content-type": "application/json"})
        if path.endswith("count_tokens") and words in ("model", "max_tokens"):
            continue  # count_tokens takes neither
        assert words in is_error(response, 400, "invalid_request_error")
    still_up(client)


def test_huge_bodies_get_413(client: httpx.Client) -> None:
    huge = claude_code_request("x" * 100_000, stream=False)
    said = post(client, huge, **{"x-api-key": TOKEN})
    assert "65,536 bytes" in is_error(said, 413, "request_too_large")

    def chunks() -> Iterator[bytes]:  # no Content-Length: the size shows while reading
        yield b'{"model": "m", "messages": [{"role": "user", "content": "'
        for _ in range(40):
            yield b"y" * 4096
        yield b'"}]}'

    chunked = client.post("/v1/messages", content=chunks(), headers={"x-api-key": TOKEN})
    is_error(chunked, 413, "request_too_large")
    still_up(client)


def test_unknown_routes_and_methods(client: httpx.Client) -> None:
    is_error(client.get("/v1/nothing", headers={"x-api-key": TOKEN}), 404, "not_found_error")
    is_error(client.get("/v1/messages", headers={"x-api-key": TOKEN}), 405,
             "invalid_request_error")
    still_up(client)


def _raise(_messages: list[BaseMessage]) -> Any:
    raise RuntimeError("the backend fell over")


@pytest.mark.parametrize("stream", [False, True])
def test_a_failing_backend_gives_api_error_and_the_service_stays_up(
        model: ScriptedChatModel, client: httpx.Client, stream: bool) -> None:
    model.script = [_raise, "recovered"]
    model.repeat_last = False
    failed = post(client, claude_code_request("hi", stream=stream), **{"x-api-key": TOKEN})
    assert "the backend fell over" in is_error(failed, 502, "api_error")
    again = post(client, claude_code_request("hi", stream=False), **{"x-api-key": TOKEN})
    assert again.json()["content"] == [{"type": "text", "text": "recovered"}]


class BreaksMidStream(ScriptedChatModel):
    def _stream(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None,
                **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        yield ChatGenerationChunk(message=AIMessageChunk(content="partial "))
        raise RuntimeError("connection to the model lost")


def test_a_failure_mid_stream_is_an_error_event() -> None:
    with served(create_app(BreaksMidStream())) as url, httpx.Client(base_url=url) as client:
        events = sse_events(post(client, claude_code_request("hi")).text)
        names = [n for n, _ in events]
        assert names[:2] == ["message_start", "ping"] and names[-1] == "error"
        assert events[-1][1]["type"] == "error"
        assert events[-1][1]["error"]["type"] == "api_error"
        assert "connection to the model lost" in events[-1][1]["error"]["message"]
        assert "message_stop" not in names


def test_an_unreachable_backend_is_overloaded() -> None:
    dead = make_compat_chat("x", base_url=f"http://127.0.0.1:{free_port()}/v1", max_retries=0,
                            timeout=5)
    with served(create_app(dead)) as url, httpx.Client(base_url=url, timeout=30) as client:
        for stream in (False, True):
            said = post(client, claude_code_request("hi", stream=stream))
            assert "unavailable" in is_error(said, 529, "overloaded_error")


def test_a_busy_backend_is_overloaded_and_a_limited_one_rate_limited() -> None:
    answers = iter([(503, {"error": {"message": "Loading model", "code": 503}}),
                    (429, {"error": {"message": "slow down", "code": 429}})])
    server = fake_llama_server(tools=True, reply=lambda _body: next(answers))
    try:
        chat = make_chat_model("llamacpp:fake", base_url=server.url, max_retries=0)
        with served(create_app(chat)) as url, httpx.Client(base_url=url, timeout=30) as client:
            is_error(post(client, claude_code_request("a", stream=False)), 529,
                     "overloaded_error")
            is_error(post(client, claude_code_request("b", stream=False)), 429,
                     "rate_limit_error")
    finally:
        server.close()


def test_bind_refusal_and_an_unusable_model_stop_the_command() -> None:
    runner = CliRunner()
    refused = runner.invoke(cli_app, ["gateway", "--model", "scripted:x", "--host", "0.0.0.0"])
    assert refused.exit_code == 1
    assert "refusing to listen on 0.0.0.0 without a token" in refused.output
    # With a token the bind is allowed; this spec then fails before anything listens.
    bad = runner.invoke(cli_app, ["gateway", "--model", "nosuchprovider:x", "--host",
                                  "0.0.0.0", "--token", "t"])
    assert bad.exit_code == 1 and "unknown model provider" in bad.output
