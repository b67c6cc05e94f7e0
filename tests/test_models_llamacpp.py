"""llamacpp factory against a llama-server look-alike: what goes on the wire, what comes back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool
from model_fakes import FakeServer, chat_completion, chat_stream, fake_llama_server

from claude_like.models import ModelUnavailableError, count_tokens, make_chat_model, model_info
from claude_like.models.constrained import ConstrainedToolChatModel
from claude_like.models.openai_compatible import CompatChatOpenAI


@tool
def read_file(path: str, limit: int = 100) -> str:
    """Read a text file."""
    return ""


@pytest.fixture
def native_server() -> Iterator[FakeServer]:
    server = fake_llama_server(tools=True)
    yield server
    server.close()


def test_factory_reads_props(native_server: FakeServer) -> None:
    chat = make_chat_model(f"llamacpp:fake?base_url={native_server.url}/v1")
    assert isinstance(chat, CompatChatOpenAI)
    info = model_info(chat)
    assert info is not None
    assert (info.provider, info.context_window, info.tool_calling) == ("llamacpp", 8192, "native")
    assert info.supports_native_tools is True and info.base_url == native_server.url


def test_env_base_url(native_server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLAMACPP_BASE_URL", native_server.url)
    assert model_info(make_chat_model("llamacpp:fake")).base_url == native_server.url


def test_cap_is_derived_from_the_slot_window(native_server: FakeServer) -> None:
    # The fake's /props says n_ctx 8192: a quarter is sent, never the whole window.
    chat = make_chat_model("llamacpp:fake", base_url=native_server.url)
    chat.invoke("hi")
    assert native_server.bodies("/v1/chat/completions")[-1]["max_tokens"] == 2048
    info = model_info(chat)
    assert info.context_window == 8192 and info.max_tokens == 2048


def test_generation_is_capped_and_timings_surface(native_server: FakeServer) -> None:
    chat = make_chat_model("llamacpp:fake", base_url=native_server.url, max_tokens=321)
    reply = chat.invoke("hi")
    body = native_server.bodies("/v1/chat/completions")[-1]
    assert body["max_tokens"] == 321 and "max_completion_tokens" not in body
    assert reply.content == "hello there"
    assert reply.response_metadata["timings"]["cache_n"] == 90
    assert reply.response_metadata["timings"]["prompt_n"] == 10
    assert reply.usage_metadata["input_tokens"] == 100
    assert reply.usage_metadata["input_token_details"]["cache_read"] == 90


def test_streamed_usage_and_timings(native_server: FakeServer) -> None:
    chat = make_chat_model("llamacpp:fake", base_url=native_server.url)
    chunks = list(chat.stream("hi"))
    total = chunks[0]
    for c in chunks[1:]:
        total = total + c
    body = native_server.bodies("/v1/chat/completions")[-1]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert total.content == "hello there"
    assert total.response_metadata["timings"] == {"cache_n": 90, "prompt_n": 10,
                                                  "predicted_n": 5, "predicted_per_second": 50.0}
    assert total.usage_metadata["input_tokens"] == 100


def test_tool_call_messages_go_out_with_empty_string_content(native_server: FakeServer) -> None:
    chat = make_chat_model("llamacpp:fake", base_url=native_server.url)
    history = [
        HumanMessage("read a"),
        AIMessage(content="", tool_calls=[{"name": "read_file", "args": {"path": "a"},
                                           "id": "c1"}]),
        ToolMessage("contents", tool_call_id="c1"),
    ]
    chat.bind_tools([read_file]).invoke(history)
    sent = native_server.bodies("/v1/chat/completions")[-1]["messages"]
    assistant = next(m for m in sent if m["role"] == "assistant")
    assert assistant["content"] == ""  # langchain-openai alone sends null
    assert assistant["tool_calls"][0]["function"]["name"] == "read_file"


def test_native_tool_calls_come_back(native_server: FakeServer) -> None:
    native_server.routes[("POST", "/v1/chat/completions")] = lambda b: (200, chat_completion(
        None, tool_calls=[{"id": "c9", "type": "function",
                           "function": {"name": "read_file", "arguments": '{"path": "x"}'}}]))
    chat = make_chat_model("llamacpp:fake", base_url=native_server.url)
    reply = chat.bind_tools([read_file]).invoke("read x")
    assert reply.tool_calls == [{"name": "read_file", "args": {"path": "x"}, "id": "c9",
                                 "type": "tool_call"}]
    assert native_server.bodies("/v1/chat/completions")[-1]["tools"][0]["function"]["name"] \
        == "read_file"


def test_exact_token_count_from_the_server(native_server: FakeServer) -> None:
    chat = make_chat_model("llamacpp:fake", base_url=native_server.url)
    n = count_tokens(chat, [SystemMessage("s"), HumanMessage("h")], [read_file])
    assert n == 7 * 2 + 3  # the fake's formula: proves the server was asked
    assert native_server.bodies("/v1/chat/completions/input_tokens")[-1]["tools"]


def test_unreachable_server_says_what_to_start() -> None:
    with pytest.raises(ModelUnavailableError) as err:
        make_chat_model("llamacpp:x", base_url="http://127.0.0.1:9")
    text = str(err.value)
    assert "llama-server -m" in text and "--jinja" in text and "--port 9" in text


def test_loading_server_is_waited_for_then_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    server = FakeServer()
    server.routes[("GET", "/health")] = lambda _b: (503, {"error": {"message": "Loading model"}})
    monkeypatch.setattr("claude_like.models.llamacpp.LOAD_WAIT", 0.6)
    try:
        with pytest.raises(ModelUnavailableError, match="not ready"):
            from claude_like.models.llamacpp import probe_server

            probe_server(server.url, wait=0.6)
        assert len(server.bodies("/health")) >= 2
    finally:
        server.close()


# -- constrained tool calling over the OpenAI route ----------------------------------------


def _constrained_server(reply_text: str, *, stream: bool = False) -> FakeServer:
    def answer(body: dict[str, Any]) -> tuple[int, Any]:
        if body.get("stream"):
            return 200, chat_stream(reply_text)
        return 200, chat_completion(reply_text)

    return fake_llama_server(tools=False, reply=answer)


@pytest.mark.parametrize("stream", [False, True])
def test_auto_picks_constrained_and_sends_a_schema(stream: bool) -> None:
    server = _constrained_server('{"tool": "read_file", "arguments": {"path": "notes.txt"}}')
    try:
        chat = make_chat_model("llamacpp:fake", base_url=server.url)
        assert isinstance(chat, ConstrainedToolChatModel)
        assert model_info(chat).tool_calling == "constrained"
        bound = chat.bind_tools([read_file])
        msgs = [SystemMessage("You are an agent."), HumanMessage("read notes.txt")]
        if stream:
            chunks = list(bound.stream(msgs))
            assert len(chunks) == 1
            reply = chunks[0]
        else:
            reply = bound.invoke(msgs)
        assert [(c["name"], c["args"]) for c in reply.tool_calls] == [
            ("read_file", {"path": "notes.txt"})
        ]
        assert reply.response_metadata["timings"]["cache_n"] == 90
        body = server.bodies("/v1/chat/completions")[-1]
        assert "tools" not in body
        schema = body["response_format"]["json_schema"]["schema"]
        consts = [b["properties"]["tool"]["const"] for b in schema["anyOf"]]
        assert consts == ["read_file", "final_answer"]
        system = body["messages"][0]["content"]
        assert system.startswith("You are an agent.") and "- read_file: Read a text file." in system
    finally:
        server.close()


def test_constrained_final_answer_and_history_rendering() -> None:
    server = _constrained_server('{"tool": "final_answer", "arguments": {"answer": "done"}}')
    try:
        chat = make_chat_model("llamacpp:fake", base_url=server.url).bind_tools([read_file])
        history = [
            SystemMessage("sys"),
            HumanMessage("read a"),
            AIMessage(content="", tool_calls=[{"name": "read_file", "args": {"path": "a"},
                                               "id": "c1"}]),
            ToolMessage("AAA", tool_call_id="c1"),
        ]
        reply = chat.invoke(history)
        assert reply.content == "done" and reply.tool_calls == []
        sent = server.bodies("/v1/chat/completions")[-1]["messages"]
        assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
        assert json.loads(sent[2]["content"]) == {"tool": "read_file", "arguments": {"path": "a"}}
        assert sent[3]["content"] == "Result of read_file:\nAAA"
        # the same history renders to the same bytes: the KV-cache prefix stays valid
        chat.invoke(history)
        again = server.bodies("/v1/chat/completions")[-1]["messages"]
        assert again == sent
    finally:
        server.close()


def test_constrained_tool_choice_required_drops_the_final_answer() -> None:
    server = _constrained_server('{"tool": "read_file", "arguments": {"path": "a"}}')
    try:
        chat = make_chat_model("llamacpp:fake", base_url=server.url)
        chat.bind_tools([read_file], tool_choice="required").invoke("go")
        schema = server.bodies("/v1/chat/completions")[-1]["response_format"]["json_schema"]
        assert schema["schema"]["properties"]["tool"]["const"] == "read_file"
    finally:
        server.close()


def test_native_forced_over_auto() -> None:
    server = _constrained_server("x")
    try:
        chat = make_chat_model("llamacpp:fake", base_url=server.url, tool_calling="native")
        assert isinstance(chat, CompatChatOpenAI)
    finally:
        server.close()


def test_anthropic_route_derives_timings_from_usage() -> None:
    from claude_like.models.llamacpp import _add_timings

    msg = AIMessage(content="x", usage_metadata={
        "input_tokens": 120, "output_tokens": 5, "total_tokens": 125,
        "input_token_details": {"cache_read": 100}})
    _add_timings(msg)
    assert msg.response_metadata["timings"] == {"cache_n": 100, "prompt_n": 20}
    bare = AIMessage(content="x", usage_metadata={"input_tokens": 0, "output_tokens": 5,
                                                  "total_tokens": 5})
    _add_timings(bare)
    assert "timings" not in bare.response_metadata


def test_anthropic_mode_is_chat_anthropic(native_server: FakeServer) -> None:
    from claude_like.models.llamacpp import LlamaCppChatAnthropic

    chat = make_chat_model("llamacpp-anthropic:fake", base_url=native_server.url,
                           max_tokens=77)
    assert isinstance(chat, LlamaCppChatAnthropic)
    assert chat.max_tokens == 77 and chat.anthropic_api_url == native_server.url
    assert model_info(chat).api == "anthropic"


def test_router_mode_server_must_serve_the_alias(native_server: FakeServer) -> None:
    native_server.routes[("GET", "/v1/models")] = lambda _b: (200, {"data": [
        {"id": "qwen", "aliases": ["qwen-coder"]}, {"id": "llama"}]})
    with pytest.raises(ModelUnavailableError, match="not 'mistral'"):
        make_chat_model("llamacpp:mistral", base_url=native_server.url)
    assert make_chat_model("llamacpp:qwen-coder", base_url=native_server.url)
