"""The ollama factory against a local server speaking Ollama's /api/chat, /api/show, /api/tags.

No Ollama binary can be installed here, so this fake answers as Ollama does: NDJSON
streaming, tool-call arguments as JSON objects, usage in the final ``done`` line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool
from model_fakes import NDJSON, FakeServer

from claude_like.models import ModelUnavailableError, make_chat_model, model_info
from claude_like.models.constrained import ConstrainedToolChatModel
from claude_like.models.ollama import RetryingChatOllama, ollama_host


@tool
def run_shell(command: str, timeout: int = 60) -> str:
    """Run a shell command in the workspace."""
    return ""


def _line(content: str = "", **extra: Any) -> dict[str, Any]:
    return {"model": "qwen3:8b", "created_at": "2026-01-01T00:00:00Z",
            "message": {"role": "assistant", "content": content, **extra}, "done": False}


def _done(reason: str = "stop") -> dict[str, Any]:
    return {"model": "qwen3:8b", "created_at": "2026-01-01T00:00:01Z",
            "message": {"role": "assistant", "content": ""}, "done": True,
            "done_reason": reason, "total_duration": 1000, "load_duration": 10,
            "prompt_eval_count": 42, "prompt_eval_duration": 100, "eval_count": 7,
            "eval_duration": 200}


def text_reply(text: str) -> NDJSON:
    return NDJSON([_line(text[:3]), _line(text[3:]), _done()])


def tool_reply() -> NDJSON:
    call = {"function": {"name": "run_shell", "arguments": {"command": "ls -la", "timeout": 5}}}
    return NDJSON([_line("", tool_calls=[call]), _done()])


class FakeOllama(FakeServer):
    """Ollama's API with one pulled model (``qwen3:8b``) and a scripted chat reply."""

    def __init__(self, *, tools: bool = True, context_length: int = 40960) -> None:
        super().__init__()
        self.chat_replies: list[tuple[int, Any]] = []
        self.routes[("GET", "/api/tags")] = lambda _b: (200, {"models": [
            {"name": "qwen3:8b", "model": "qwen3:8b", "size": 1, "digest": "x"}]})
        self.routes[("POST", "/api/show")] = lambda b: (200, {
            "model_info": {"general.architecture": "qwen3",
                           "qwen3.context_length": context_length},
            "capabilities": ["completion", "tools"] if tools else ["completion"],
            "parameters": "temperature 0.6",
        }) if b.get("model") == "qwen3:8b" else (404, {"error": "model not found"})
        self.routes[("POST", "/api/chat")] = self._chat

    def _chat(self, body: dict[str, Any]) -> tuple[int, Any]:
        if self.chat_replies:
            return self.chat_replies.pop(0)
        return 200, text_reply("hello from ollama")


@pytest.fixture
def ollama() -> Iterator[FakeOllama]:
    server = FakeOllama()
    yield server
    server.close()


def test_factory_checks_and_always_sends_num_ctx_and_num_predict(ollama: FakeOllama) -> None:
    chat = make_chat_model("ollama:qwen3:8b", base_url=ollama.url)
    assert isinstance(chat, RetryingChatOllama)
    info = model_info(chat)
    assert info is not None
    assert (info.context_window, info.supports_native_tools, info.tool_calling) == (
        16384, True, "native")
    assert info.extra["trained_context_length"] == 40960
    reply = chat.invoke("hi")
    assert reply.content == "hello from ollama"
    assert reply.usage_metadata["input_tokens"] == 42
    assert reply.usage_metadata["output_tokens"] == 7
    body = ollama.bodies("/api/chat")[-1]
    assert body["options"]["num_ctx"] == 16384
    assert body["options"]["num_predict"] == 4096


def test_num_ctx_is_capped_by_the_model_and_overridable() -> None:
    small = FakeOllama(context_length=8192)
    try:
        assert model_info(make_chat_model("ollama:qwen3:8b", base_url=small.url)
                          ).context_window == 8192
        chat = make_chat_model("ollama:qwen3:8b", base_url=small.url, num_ctx=6000,
                               max_tokens=99)
        chat.invoke("hi")
        opts = small.bodies("/api/chat")[-1]["options"]
        assert (opts["num_ctx"], opts["num_predict"]) == (6000, 99)
    finally:
        small.close()


def test_tool_calls_with_object_arguments(ollama: FakeOllama) -> None:
    ollama.chat_replies.append((200, tool_reply()))
    chat = make_chat_model("ollama:qwen3:8b", base_url=ollama.url).bind_tools([run_shell])
    reply = chat.invoke("list files")
    assert [(c["name"], c["args"]) for c in reply.tool_calls] == [
        ("run_shell", {"command": "ls -la", "timeout": 5})]
    body = ollama.bodies("/api/chat")[-1]
    assert body["tools"][0]["function"]["name"] == "run_shell"


def test_streaming_ndjson(ollama: FakeOllama) -> None:
    chat = make_chat_model("ollama:qwen3:8b", base_url=ollama.url)
    chunks = list(chat.stream("hi"))
    assert "".join(str(c.content) for c in chunks) == "hello from ollama"
    assert len(chunks) >= 2
    total = chunks[0]
    for c in chunks[1:]:
        total = total + c
    assert total.usage_metadata["input_tokens"] == 42


def test_streamed_tool_call(ollama: FakeOllama) -> None:
    ollama.chat_replies.append((200, tool_reply()))
    chat = make_chat_model("ollama:qwen3:8b", base_url=ollama.url).bind_tools([run_shell])
    chunks = list(chat.stream("list files"))
    total = chunks[0]
    for c in chunks[1:]:
        total = total + c
    assert total.tool_calls[0]["args"] == {"command": "ls -la", "timeout": 5}


def test_history_with_tool_results_goes_out(ollama: FakeOllama) -> None:
    chat = make_chat_model("ollama:qwen3:8b", base_url=ollama.url).bind_tools([run_shell])
    chat.invoke([
        SystemMessage("sys"),
        HumanMessage("list"),
        AIMessage(content="", tool_calls=[{"name": "run_shell", "args": {"command": "ls"},
                                           "id": "c1"}]),
        ToolMessage("a.txt", tool_call_id="c1"),
    ])
    sent = ollama.bodies("/api/chat")[-1]["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "tool"]
    assert sent[2]["tool_calls"][0]["function"]["arguments"] == {"command": "ls"}


def test_transient_errors_are_retried(ollama: FakeOllama) -> None:
    ollama.chat_replies += [(503, {"error": "server busy"}), (500, {"error": "oops"})]
    chat = make_chat_model("ollama:qwen3:8b", base_url=ollama.url)
    assert chat.invoke("hi").content == "hello from ollama"
    assert len(ollama.bodies("/api/chat")) == 3


def test_a_bad_request_is_not_retried(ollama: FakeOllama) -> None:
    ollama.chat_replies.append((400, {"error": "invalid options"}))
    chat = make_chat_model("ollama:qwen3:8b", base_url=ollama.url)
    with pytest.raises(Exception, match="invalid options"):
        chat.invoke("hi")
    assert len(ollama.bodies("/api/chat")) == 1


def test_missing_model_says_ollama_pull(ollama: FakeOllama) -> None:
    with pytest.raises(ModelUnavailableError, match=r"ollama pull llama3\.2"):
        make_chat_model("ollama:llama3.2", base_url=ollama.url)


def test_unreachable_server_says_ollama_serve() -> None:
    with pytest.raises(ModelUnavailableError, match="ollama serve"):
        make_chat_model("ollama:qwen3:8b", base_url="http://127.0.0.1:9")


def test_host_from_environment(monkeypatch: pytest.MonkeyPatch, ollama: FakeOllama) -> None:
    monkeypatch.setenv("OLLAMA_HOST", ollama.url.removeprefix("http://"))
    assert ollama_host() == ollama.url
    assert model_info(make_chat_model("ollama:qwen3:8b")).base_url == ollama.url
    monkeypatch.setenv("OLLAMA_HOST", "0.0.0.0:11434")
    assert ollama_host() == "http://127.0.0.1:11434"


@pytest.mark.parametrize("stream", [False, True])
def test_constrained_mode_via_format_schema(stream: bool) -> None:
    server = FakeOllama(tools=False)  # no "tools" capability: auto picks constrained
    try:
        server.chat_replies.append((200, text_reply(json.dumps(
            {"tool": "run_shell", "arguments": {"command": "pytest -q"}}))))
        chat = make_chat_model("ollama:qwen3:8b", base_url=server.url)
        assert isinstance(chat, ConstrainedToolChatModel)
        bound = chat.bind_tools([run_shell])
        if stream:
            chunks = list(bound.stream([HumanMessage("run the tests")]))
            assert len(chunks) == 1
            reply = chunks[0]
        else:
            reply = bound.invoke([HumanMessage("run the tests")])
        assert [(c["name"], c["args"]) for c in reply.tool_calls] == [
            ("run_shell", {"command": "pytest -q"})]
        assert reply.usage_metadata["input_tokens"] == 42
        body = server.bodies("/api/chat")[-1]
        assert "tools" not in body or not body["tools"]
        consts = [b["properties"]["tool"]["const"] for b in body["format"]["anyOf"]]
        assert consts == ["run_shell", "final_answer"]
        assert body["options"]["num_ctx"] == 16384
        assert "run_shell" in body["messages"][0]["content"]
    finally:
        server.close()


class WindowedOllama(FakeOllama):
    """Ollama with a 4,096-token model that, like the real one, silently drops the front
    of a prompt over ``num_ctx``; it records each prompt's size (about 3 characters a
    token, counted as its ``prompt_eval_count``) so the test can see none was cut."""

    def __init__(self, reads: int) -> None:
        super().__init__(context_length=4096)
        self.sizes: list[tuple[int, int]] = []
        self.reads = reads
        self.turns = 0

    def _chat(self, body: dict[str, Any]) -> tuple[int, Any]:
        size = len(json.dumps(body["messages"]) + json.dumps(body.get("tools", []))) // 3
        self.sizes.append((size, body["options"]["num_ctx"] - body["options"]["num_predict"]))
        done = {**_done(), "prompt_eval_count": size}
        if "compress a coding agent" in json.dumps(body["messages"][:1]):
            return 200, NDJSON([_line("Task: read the modules. Remaining: the rest."), done])
        self.turns += 1
        if self.turns > self.reads:
            return 200, NDJSON([_line("All read."), done])
        path = f"m{self.turns % 9}.py"
        call = {"function": {"name": "Read", "arguments": {"file_path": path}}}
        return 200, NDJSON([_line("", tool_calls=[call]), done])


def test_a_long_session_on_ollama_stays_inside_num_ctx(tmp_path: Any) -> None:
    from claude_like import ClaudeLikeAgent
    from claude_like.events import Compacted, ContextUsage

    for n in range(9):
        (tmp_path / f"m{n}.py").write_text("".join(f"x_{i} = f(a, b)  # {i}\n" for i in range(300)))
    server = WindowedOllama(reads=25)
    try:
        model = make_chat_model("ollama:qwen3:8b", base_url=server.url)
        with ClaudeLikeAgent(model, workspace=tmp_path, max_turns=40,
                             permission_mode="bypassPermissions") as agent:
            events = list(agent.stream("Read the modules."))
    finally:
        server.close()
    result = events[-1].result
    assert result.stop_reason == "done", result.error
    assert agent.budget.window == 4096 and agent.budget.max_tokens == 1024
    assert any(isinstance(e, Compacted) for e in events)
    usage = [e for e in events if isinstance(e, ContextUsage)]
    assert len(usage) == 26 and all(e.window == 4096 for e in usage)
    # Not one prompt over what fits beside the generation cap: nothing silently cut.
    assert all(size <= room for size, room in server.sizes), server.sizes
