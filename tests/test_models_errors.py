"""Readiness errors that say what to do, cloud factories, retries and token estimates."""

from __future__ import annotations

import httpx
import pytest
from langchain_anthropic import ChatAnthropic
from langchain_core.messages import HumanMessage
from langchain_openai import ChatOpenAI
from model_fakes import FakeServer

from claude_like.models import ModelUnavailableError, count_tokens, make_chat_model, model_info
from claude_like.models.retry import is_transient, retry_call, retry_stream


def test_openai_needs_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ModelUnavailableError, match="OPENAI_API_KEY"):
        make_chat_model("openai:gpt-4.1-mini")


def test_anthropic_needs_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(ModelUnavailableError, match="ANTHROPIC_API_KEY"):
        make_chat_model("anthropic:claude-sonnet-4-5")


def test_cloud_factories_cap_generation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    oa = make_chat_model("openai:gpt-4.1-mini", max_tokens=1000)
    an = make_chat_model("anthropic:claude-sonnet-4-5")
    assert isinstance(oa, ChatOpenAI) and oa.max_tokens == 1000 and oa.max_retries == 3
    # No cap given: derived from the known window (a quarter, at most 8,192), never all of it.
    assert isinstance(an, ChatAnthropic) and an.max_tokens == 8192 and an.max_retries == 3
    info = model_info(an)
    assert info is not None and info.context_window == 200_000 and info.max_tokens == 8192
    assert model_info(oa).provider == "openai" and model_info(an).api == "anthropic"


def test_openai_compatible_needs_a_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_COMPATIBLE_BASE_URL", raising=False)
    with pytest.raises(ModelUnavailableError, match="OPENAI_COMPATIBLE_BASE_URL"):
        make_chat_model("openai-compatible:qwen")


def test_openai_compatible_unreachable() -> None:
    with pytest.raises(ModelUnavailableError, match="no server answers"):
        make_chat_model("openai-compatible:qwen", base_url="http://127.0.0.1:9/v1")


def test_openai_compatible_checks_the_model_list() -> None:
    server = FakeServer()
    server.routes[("GET", "/v1/models")] = lambda _b: (200, {"data": [{"id": "a"}, {"id": "b"}]})
    try:
        with pytest.raises(ModelUnavailableError, match="does not serve 'c'"):
            make_chat_model("openai-compatible:c", base_url=f"{server.url}/v1")
        chat = make_chat_model("openai-compatible:a", base_url=f"{server.url}/v1")
        assert model_info(chat).base_url == f"{server.url}/v1"
    finally:
        server.close()


def test_openai_compatible_bad_key() -> None:
    server = FakeServer()
    server.routes[("GET", "/v1/models")] = lambda _b: (401, {"error": "bad key"})
    try:
        with pytest.raises(ModelUnavailableError, match="OPENAI_COMPATIBLE_API_KEY"):
            make_chat_model("openai-compatible:a", base_url=f"{server.url}/v1", api_key="x")
    finally:
        server.close()


def test_check_false_skips_the_probe() -> None:
    chat = make_chat_model("llamacpp:x?check=false", base_url="http://127.0.0.1:9",
                           tool_calling="native")
    assert model_info(chat).context_window is None


def test_transient_classification() -> None:
    req = httpx.Request("GET", "http://x")
    assert is_transient(httpx.ConnectError("refused", request=req))
    assert is_transient(ConnectionError("refused"))
    busy = httpx.HTTPStatusError("busy", request=req, response=httpx.Response(503, request=req))
    assert is_transient(busy)
    bad = httpx.HTTPStatusError("bad", request=req, response=httpx.Response(400, request=req))
    assert not is_transient(bad)
    conflict = httpx.HTTPStatusError("conflict", request=req,
                                     response=httpx.Response(409, request=req))
    assert not is_transient(conflict)  # a conflict stays a conflict: not retried
    assert not is_transient(ValueError("x"))


def test_retry_call_and_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("claude_like.models.retry.time.sleep", lambda _s: None)
    attempts = []

    def flaky() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise ConnectionError("refused")
        return "ok"

    assert retry_call(flaky, max_retries=3) == "ok" and len(attempts) == 3
    attempts.clear()
    with pytest.raises(ConnectionError):
        retry_call(flaky, max_retries=1)

    started = []

    def stream_then_fail():  # type: ignore[no-untyped-def]
        started.append(1)
        yield 1
        raise ConnectionError("reset mid-stream")

    with pytest.raises(ConnectionError):
        list(retry_stream(stream_then_fail, max_retries=3))
    assert len(started) == 1  # never replayed once something was yielded


def test_token_estimate_without_a_counting_server() -> None:
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    fake = FakeListChatModel(responses=["x"])
    n = count_tokens(fake, [HumanMessage("word " * 100)])
    assert 50 < n < 400
