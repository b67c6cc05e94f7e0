"""The real Claude Code CLI (2.1.332, bundled in claude-agent-sdk) against our gateway:
a scripted multi-step session (Bash, Read, Edit, Bash) streamed and not streamed, and a
real tool call of the tiny local model on llama-server. Offline; never skipped in CI."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from claude_code_helpers import (
    SCRIPTED_WINDOW,
    claude_cli,
    gateway,
    need,
    run_claude,
    serve,
    stream_json,
    tool_uses,
)
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, ToolMessage
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from claude_like.models import ModelUnavailableError, make_chat_model, model_info
from claude_like.models.base import attach_info
from claude_like.models.constrained import ConstrainedToolChatModel
from claude_like.models.llama_server import ManagedLlamaServer, bundled_gguf, find_llama_server
from claude_like.testing import ScriptedChatModel, say, tool_call

pytestmark = pytest.mark.claude_code

FINAL = "Finished: notes.txt now reads alpha and gamma."


def test_the_cli_runs_on_this_machine() -> None:
    done = subprocess.run([claude_cli(), "--version"], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "(Claude Code)" in done.stdout


def session_script(ws: Path) -> list[Any]:
    """Create a file with Bash, Read it, Edit it, show it with Bash, answer."""
    notes = str(ws / "notes.txt")
    return [
        say("", tool_call("Bash", {"command": "printf 'alpha\\nbeta\\n' > notes.txt",
                                   "description": "Create notes.txt"})),
        say("", tool_call("Read", {"file_path": notes})),
        say("", tool_call("Edit", {"file_path": notes, "old_string": "beta",
                                   "new_string": "gamma"})),
        say("", tool_call("Bash", {"command": "cat notes.txt && echo BASH-OK",
                                   "description": "Show notes.txt"})),
        FINAL,
    ]


def check_session(done: subprocess.CompletedProcess[str], ws: Path,
                  backend: ScriptedChatModel) -> None:
    """The files changed, each tool's real result reached the backend, the CLI answered."""
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert (result["result"], result["is_error"], result["num_turns"]) == (FINAL, False, 5)
    assert (ws / "notes.txt").read_text() == "alpha\ngamma\n"
    assert len(backend.calls) == 5
    results = [str(call[-1].content) for call in backend.calls[1:]]
    assert [call[-1].type for call in backend.calls[1:]] == ["tool"] * 4
    assert "1\talpha" in results[1] and "2\tbeta" in results[1]  # Read's numbered lines
    assert "updated successfully" in results[2]
    assert results[3] == "alpha\ngamma\nBASH-OK"


def test_a_streamed_session_with_read_edit_bash(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    backend = ScriptedChatModel(script=session_script(ws))
    trace = tmp_path / "trace.jsonl"
    with gateway(backend, window=SCRIPTED_WINDOW, trace=trace) as url:
        done = run_claude(["--bare", "-p", "Make notes.txt", "--output-format", "json"],
                          cwd=ws, base_url=url, home=tmp_path / "home")
    check_session(done, ws, backend)
    records = [json.loads(line) for line in trace.read_text().splitlines()]
    assert [r.get("stream") for r in records] == [True] * 5
    assert [r["tool_uses"] for r in records] == [["Bash"], ["Read"], ["Edit"], ["Bash"], []]


@pytest.fixture
def no_streams() -> Iterator[tuple[Any, dict[str, int]]]:
    """A proxy that ends every streamed request before its first event (the CLI then asks
    again with ``"stream": false``) and forwards the rest to ``target[0]``."""
    target: list[str] = []
    counts = {"refused_streams": 0, "forwarded": 0}

    async def messages(request: Request) -> Response:
        body = await request.body()
        if json.loads(body).get("stream"):
            counts["refused_streams"] += 1
            return Response(b"", media_type="text/event-stream")
        counts["forwarded"] += 1
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() not in ("host", "content-length")}
        async with httpx.AsyncClient(timeout=120) as client:
            reply = await client.post(f"{target[0]}{request.url.path}?{request.url.query}",
                                      content=body, headers=headers)
        return Response(reply.content, status_code=reply.status_code,
                        media_type=reply.headers.get("content-type"))

    app = Starlette(routes=[Route("/v1/messages", messages, methods=["POST"])])
    yield (app, target), counts


def test_a_non_streamed_session_through_the_clis_fallback(
        tmp_path: Path, no_streams: tuple[Any, dict[str, int]]) -> None:
    (proxy_app, target), counts = no_streams
    ws = tmp_path / "ws"
    ws.mkdir()
    backend = ScriptedChatModel(script=session_script(ws))
    trace = tmp_path / "trace.jsonl"
    with gateway(backend, window=SCRIPTED_WINDOW, trace=trace) as url, \
            serve(proxy_app) as proxy_url:
        target.append(url)
        done = run_claude(["--bare", "-p", "Make notes.txt", "--output-format", "json"],
                          cwd=ws, base_url=proxy_url, home=tmp_path / "home")
    check_session(done, ws, backend)
    assert counts == {"refused_streams": 5, "forwarded": 5}
    records = [json.loads(line) for line in trace.read_text().splitlines()]
    assert [r.get("stream") for r in records] == [False] * 5  # whole JSON responses


# -- the real tiny model -----------------------------------------------------------------
class FirstCallForced(ConstrainedToolChatModel):
    """Constrained decoding that leaves a session's first request (no tool result yet) no
    way but a call of one of the request's tools, as the live agent tests force calls:
    the test measures the pipeline, not the tiny model's wits. Later requests are free,
    so the model's own final answer (or the turn limit) ends the loop."""

    def _forced(self, messages: list[BaseMessage]) -> FirstCallForced | None:
        fresh = not any(isinstance(m, ToolMessage) for m in messages)
        if fresh and self.tool_choice in (None, "auto"):
            return self.model_copy(update={"tool_choice": "required"})
        return None

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Any:
        forced = self._forced(messages)
        if forced is not None:
            return forced._generate(messages, *args, **kwargs)
        return super()._generate(messages, *args, **kwargs)

    async def _agenerate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Any:
        forced = self._forced(messages)
        if forced is not None:
            return await forced._agenerate(messages, *args, **kwargs)
        return await super()._agenerate(messages, *args, **kwargs)

    def _stream(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Any:
        forced = self._forced(messages)
        source = forced._stream(messages, *args, **kwargs) if forced is not None else \
            super()._stream(messages, *args, **kwargs)
        yield from source

    async def _astream(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Any:
        forced = self._forced(messages)
        source = forced._astream(messages, *args, **kwargs) if forced is not None else \
            super()._astream(messages, *args, **kwargs)
        async for chunk in source:
            yield chunk


def first_call_forced(model: BaseChatModel) -> FirstCallForced:
    assert isinstance(model, ConstrainedToolChatModel)
    forced = FirstCallForced(**{name: getattr(model, name) for name in model.model_fields_set})
    info = model_info(model)
    assert info is not None and info.tool_calling == "constrained"
    attach_info(forced, info)
    return forced


@pytest.fixture(scope="module")
def llama_url() -> Iterator[str]:
    """SmolLM2 on llama-server, as tests/live/conftest.py starts it (its own template: no
    native tool support, so the gateway decodes tool calls under a grammar)."""
    binary = find_llama_server()
    need(binary, "no llama-server binary (run `bash .ci/llama.sh`)")
    try:
        gguf = bundled_gguf()
    except ModelUnavailableError as exc:
        need(False, str(exc))
        raise
    server = ManagedLlamaServer(gguf, binary=binary, ctx_size=8192, alias="smollm2")
    try:
        server.start()
    except ModelUnavailableError as exc:
        need(False, f"llama-server did not start: {exc}")
    try:
        yield server.base_url
    finally:
        server.stop()


@pytest.mark.live
def test_the_tiny_model_makes_claude_code_call_a_tool(tmp_path: Path, llama_url: str) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    model = first_call_forced(make_chat_model(
        "llamacpp:smollm2", base_url=llama_url, tool_calling="constrained", temperature=0,
        max_tokens=256))
    trace = tmp_path / "trace.jsonl"
    with gateway(model, trace=trace, trace_content=True) as url:
        done = run_claude(["--bare", "-p", "Create the file hello.txt containing hi",
                           "--output-format", "stream-json", "--verbose", "--max-turns", "2"],
                          cwd=ws, base_url=url, home=tmp_path / "home")
    records = stream_json(done.stdout)
    results = [r for r in records if r.get("type") == "result"]
    assert len(results) == 1, done.stdout[-2000:] + done.stderr[-2000:]  # the loop ended
    calls = tool_uses(records)
    assert calls, f"no tool call: {results[0]}"
    first = calls[0]
    required = {"Bash": {"command"}, "Read": {"file_path"},
                "Edit": {"file_path", "old_string", "new_string"}}
    assert first["name"] in required
    assert required[first["name"]] <= set(first["input"])
    assert all(isinstance(first["input"][k], str) for k in required[first["name"]])
    ran = [b for r in records if r.get("type") == "user" for b in r["message"]["content"]
           if isinstance(b, dict) and b.get("type") == "tool_result"
           and b["tool_use_id"] == first["id"]]
    assert len(ran) == 1  # Claude Code ran the call and sent its result back
    assert results[0]["subtype"] in ("success", "error_max_turns")
    assert results[0]["num_turns"] >= 2
    served = [r for r in (json.loads(line) for line in trace.read_text().splitlines())
              if r.get("tool_uses")]
    assert served and served[0]["tool_uses"][0] == first["name"]
    assert [b["input"] for b in served[0]["response"] if b["type"] == "tool_use"] == [
        first["input"]]  # the CLI got the gateway's call as it was made
    hello = ws / "hello.txt"
    if hello.exists():  # then a call made it: it holds what that call said
        text = hello.read_text()
        made = [c for c in calls if
                (c["name"] == "Edit" and c["input"]["file_path"].endswith("hello.txt")
                 and c["input"]["new_string"] == text)
                or (c["name"] == "Bash" and "hello.txt" in c["input"]["command"]
                    and text.strip() in c["input"]["command"])]
        assert made, (text, calls)
