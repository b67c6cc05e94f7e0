"""The gateway uses the factories' strengths: the window (prompt too long, compaction,
generation cap), constrained tool calling and the backend's cache figures; checked on the
wire of a llama-server look-alike where the factories' real models are involved."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from gateway_support import claude_code_request, post, reply_of, served
from langchain_core.messages import ToolMessage
from model_fakes import FakeServer, chat_completion, chat_stream, fake_llama_server

from claude_like.context.budget import ContextBudget
from claude_like.gateway import create_app
from claude_like.gateway.convert import to_conversation
from claude_like.gateway.fit import PromptTooLong, WindowFitter
from claude_like.gateway.schema import MessagesRequest
from claude_like.models import make_chat_model
from claude_like.testing import ScriptedChatModel, WindowedChatModel, say, tool_call

TOO_LONG = re.compile(r"^prompt is too long: (\d+) tokens > (\d+) maximum$")


def read_history(results: int, size: int) -> list[dict[str, Any]]:
    """Claude Code's history after ``results`` Read calls of ``size`` characters each."""
    history: list[dict[str, Any]] = []
    for i in range(results):
        history += [
            {"role": "assistant", "content": [{"type": "tool_use", "id": f"toolu_{i}",
                                               "name": "Read",
                                               "input": {"file_path": f"/tmp/ws/f{i}.py"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"toolu_{i}",
                                          "content": f"# file {i}\n" + "x = 1\n" * (size // 6)}]},
        ]
    return history


def test_a_prompt_over_the_window_is_refused_in_claude_codes_words() -> None:
    model = ScriptedChatModel(script=["never"])
    with served(create_app(model, window=4096)) as url, httpx.Client(base_url=url) as client:
        for stream in (False, True):
            body = claude_code_request("go", read_history(6, 3000), stream=stream)
            response = post(client, body)
            assert response.status_code == 400
            error = response.json()["error"]
            assert error["type"] == "invalid_request_error"
            tokens, maximum = map(int, TOO_LONG.match(error["message"]).groups())
            assert tokens > maximum == 4096 - 256
    assert model.calls == []


def test_a_backend_overflow_becomes_prompt_is_too_long() -> None:
    """The estimate fits, the server's own count does not: its figure is passed on."""
    model = WindowedChatModel(script=["never"], window=4096, max_tokens=1024,
                              chars_per_token=1.0)
    with served(create_app(model)) as url, httpx.Client(base_url=url) as client:
        body = claude_code_request("go", read_history(1, 3300), stream=False)
        error = post(client, body).json()["error"]
        tokens, maximum = map(int, TOO_LONG.match(error["message"]).groups())
        assert tokens == model.refused[0] and maximum == 4096


def test_compact_clears_old_tool_results_instead_of_refusing() -> None:
    model = ScriptedChatModel(script=["done"], repeat_last=True)
    history = read_history(6, 3000)
    with served(create_app(model, window=4096, compact=True)) as url, \
            httpx.Client(base_url=url) as client:
        response = post(client, claude_code_request("go", history, stream=False))
        assert reply_of(response)["content"] == [{"type": "text", "text": "done"}]
    results = [m for m in model.calls[-1] if isinstance(m, ToolMessage)]
    cleared = [m for m in results if "cleared to save context" in m.text]
    assert cleared and results[0] in cleared
    assert results[-1].text.startswith("# file 5\n")  # the latest result is kept whole
    assert "[result of Read /tmp/ws/f0.py cleared" in results[0].text
    assert model.calls[-1][1].text == "go" and len(results) == 6  # nothing dropped


def _fitter(window: int = 8192) -> WindowFitter:
    model = ScriptedChatModel()
    return WindowFitter(model, ContextBudget.for_model(model, context_window=window))


def _conv(text_chars: int) -> Any:
    return to_conversation(MessagesRequest.model_validate(
        {"model": "m", "messages": [{"role": "user", "content": "y" * text_chars}]}))


def test_the_cap_is_the_requests_but_never_beyond_the_window() -> None:
    fitter = _fitter()
    assert fitter.budget.max_tokens == 2048  # the factories' cap: a quarter of the window
    assert fitter.fit(_conv(100), 128000).cap == 2048
    assert fitter.fit(_conv(100), 300).cap == 300
    assert fitter.fit(_conv(100), None).cap == 2048
    near = fitter.fit(_conv(int(7000 * 3.5)), 128000)  # ~7,000 tokens: less room than the cap
    assert near.cap == 8192 - near.tokens < 2048
    with pytest.raises(PromptTooLong):
        fitter.fit(_conv(8000 * 4), 128000)


@pytest.fixture
def llama() -> Iterator[FakeServer]:
    server = fake_llama_server(tools=True)
    yield server
    server.close()


def test_the_cap_reaches_the_server_and_cached_tokens_are_reported(llama: FakeServer) -> None:
    chat = make_chat_model("llamacpp:fake", base_url=llama.url)
    with served(create_app(chat)) as url, httpx.Client(base_url=url, timeout=30) as client:
        whole = reply_of(post(client, claude_code_request("hi", stream=False)))
        small = reply_of(post(client, claude_code_request("hi", stream=True, max_tokens=77)))
    sent = llama.bodies("/v1/chat/completions")
    assert [b["max_tokens"] for b in sent] == [2048, 77]  # 8,192-token slot: cap 2,048
    assert whole["usage"] == {"input_tokens": 10, "output_tokens": 5,
                              "cache_read_input_tokens": 90, "cache_creation_input_tokens": 0}
    assert small["usage"]["cache_read_input_tokens"] == 90
    assert small["content"] == [{"type": "text", "text": "hello there"}]


def test_the_servers_exact_count_decides_near_the_limit(llama: FakeServer) -> None:
    """An estimate over the limit is checked with llama-server's own counter (here it
    counts little), so a request is not refused on an estimate alone."""
    chat = make_chat_model("llamacpp:fake", base_url=llama.url)
    body = claude_code_request("y" * 30000, stream=False)
    with served(create_app(chat)) as url, httpx.Client(base_url=url, timeout=30) as client:
        assert post(client, body).status_code == 200
    assert llama.bodies("/v1/chat/completions/input_tokens")
    assert llama.bodies("/v1/chat/completions")[0]["max_tokens"] == 2048


@pytest.mark.parametrize(("choice", "wire"), [
    ({"type": "auto"}, None),
    ({"type": "any"}, "required"),
    ({"type": "tool", "name": "Read"}, {"type": "function", "function": {"name": "Read"}}),
])
def test_tool_choice_reaches_a_native_server(llama: FakeServer, choice: dict[str, Any],
                                             wire: Any) -> None:
    chat = make_chat_model("llamacpp:fake", base_url=llama.url, tool_calling="native")
    with served(create_app(chat)) as url, httpx.Client(base_url=url, timeout=30) as client:
        assert post(client, claude_code_request("hi", stream=False,
                                                tool_choice=choice)).status_code == 200
    body = llama.bodies("/v1/chat/completions")[0]
    assert [t["function"]["name"] for t in body["tools"]] == ["Bash", "Edit", "Read"]
    assert "$schema" not in json.dumps(body["tools"])
    assert body.get("tool_choice") == wire


def constrained_server(reply_json: dict[str, Any]) -> FakeServer:
    """A llama-server whose template has no tools: it only ever writes the JSON asked for."""
    text = json.dumps(reply_json)
    return fake_llama_server(tools=False, reply=lambda b: (
        200, chat_stream(text) if b.get("stream") else chat_completion(text)))


@pytest.mark.parametrize("stream", [False, True])
def test_constrained_mode_gives_valid_tool_use_blocks(stream: bool) -> None:
    server = constrained_server({"tool": "Read", "arguments": {"file_path": "/tmp/ws/a.py"}})
    try:
        chat = make_chat_model(f"llamacpp:fake?tool_calling=constrained&base_url={server.url}")
        with served(create_app(chat)) as url, httpx.Client(base_url=url, timeout=30) as client:
            reply = reply_of(post(client, claude_code_request("read a.py", stream=stream,
                                                              tool_choice={"type": "tool",
                                                                           "name": "Read"})))
        (use,) = reply["content"]
        assert use["type"] == "tool_use" and use["id"].startswith("toolu_")
        assert use["name"] == "Read" and use["input"] == {"file_path": "/tmp/ws/a.py"}
        assert reply["stop_reason"] == "tool_use"
        body = server.bodies("/v1/chat/completions")[0]
        assert "tools" not in body  # the server is never asked for native calls
        schema = body["response_format"]["json_schema"]["schema"]
        assert schema["properties"]["tool"] == {"const": "Read"}  # tool_choice: Read only
        assert "Read" in body["messages"][0]["content"]  # tools described in the prompt
    finally:
        server.close()


def test_constrained_final_answer_is_text() -> None:
    server = constrained_server({"tool": "final_answer", "arguments": {"answer": "All done."}})
    try:
        chat = make_chat_model("llamacpp:fake", base_url=server.url, tool_calling="constrained")
        with served(create_app(chat)) as url, httpx.Client(base_url=url, timeout=30) as client:
            for stream in (True, False):
                reply = reply_of(post(client, claude_code_request("hi", stream=stream)))
                assert reply["content"] == [{"type": "text", "text": "All done."}]
                assert reply["stop_reason"] == "end_turn"
    finally:
        server.close()


def test_window_warnings_at_75_and_90_percent(capsys: pytest.CaptureFixture[str]) -> None:
    warnings: list[str] = []
    model = ScriptedChatModel(script=["ok"], repeat_last=True)
    with served(create_app(model, window=8192, warn=warnings.append)) as url, \
            httpx.Client(base_url=url) as client:
        for chars in (1000, 6300 * 3.5, 7400 * 3.5):
            post(client, {"model": "m", "max_tokens": 100,
                          "messages": [{"role": "user", "content": "z" * int(chars)}]})
    assert len(warnings) == 2
    assert "filling up" in warnings[0] and "of 8,192 tokens" in warnings[0]
    assert "nearly full" in warnings[1]
    shares = [int(re.search(r"uses (\d+)%", w).group(1)) for w in warnings]
    assert 75 <= shares[0] < 90 <= shares[1]
    # Without a warn= of its own, the app prints them to stderr.
    with served(create_app(model, window=8192)) as url, httpx.Client(base_url=url) as client:
        post(client, {"model": "m", "max_tokens": 100,
                      "messages": [{"role": "user", "content": "z" * int(7400 * 3.5)}]})
    assert "gateway: context nearly full" in capsys.readouterr().err


def test_scripted_tool_call_ids_are_anthropic_ids() -> None:
    model = ScriptedChatModel(script=[say("", tool_call("Read", {"file_path": "a"}, id="c_1"))])
    with served(create_app(model)) as url, httpx.Client(base_url=url) as client:
        (use,) = reply_of(post(client, claude_code_request("x", stream=False)))["content"]
    assert re.fullmatch(r"toolu_[0-9a-f]{24}", use["id"])
