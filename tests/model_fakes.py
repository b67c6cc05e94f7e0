"""Tiny local HTTP servers that speak just enough of Ollama's and llama-server's APIs.

They record every request (method, path, JSON body) so tests can check what went on the
wire, and answer from per-test handlers. Loopback only, stopped by the fixture.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = tuple[int, Any]  # (status, JSON value | list of NDJSON values | raw str for SSE)
Handler = Callable[[dict[str, Any]], Reply]


@dataclass
class Recorded:
    method: str
    path: str
    body: Any


@dataclass
class FakeServer:
    """A threaded HTTP server answering ``routes[(method, path)](body)``."""

    routes: dict[tuple[str, str], Handler] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)

    def __post_init__(self) -> None:
        fake = self

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _do(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode(errors="replace")
                path = self.path.split("?")[0]
                fake.requests.append(Recorded(method, path, body))
                handler = fake.routes.get((method, path))
                if handler is None:
                    self._send(404, {"error": f"no route {method} {path}"})
                    return
                status, value = handler(body if isinstance(body, dict) else {})
                self._send(status, value)

            def _send(self, status: int, value: Any) -> None:
                if isinstance(value, NDJSON):
                    data = b"".join(json.dumps(v).encode() + b"\n" for v in value.items)
                    ctype = "application/x-ndjson"
                elif isinstance(value, SSE):
                    data = value.encode()
                    ctype = "text/event-stream"
                else:
                    data = json.dumps(value).encode()
                    ctype = "application/json"
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._do("GET")

            def do_POST(self) -> None:
                self._do("POST")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _H)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def route(self, method: str, path: str) -> Callable[[Handler], Handler]:
        def deco(fn: Handler) -> Handler:
            self.routes[(method, path)] = fn
            return fn

        return deco

    def bodies(self, path: str) -> list[Any]:
        return [r.body for r in self.requests if r.path == path]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class NDJSON:
    """A streamed answer: one JSON value per line (Ollama's streaming format)."""

    def __init__(self, items: Iterable[Any]) -> None:
        self.items = list(items)


class SSE:
    """A Server-Sent-Events answer (OpenAI streaming): ``data: {...}`` lines, ``[DONE]``."""

    def __init__(self, events: Iterable[Any]) -> None:
        self.events = list(events)

    def encode(self) -> bytes:
        out = [f"data: {json.dumps(e)}\n\n" for e in self.events]
        out.append("data: [DONE]\n\n")
        return "".join(out).encode()


# -- a llama-server look-alike (OpenAI route) ---------------------------------------------

TIMINGS = {"cache_n": 90, "prompt_n": 10, "predicted_n": 5, "predicted_per_second": 50.0}


def llama_props(*, tools: bool, n_ctx: int = 8192) -> dict[str, Any]:
    caps = {"supports_tools": tools, "supports_tool_calls": tools, "supports_system_role": True}
    return {
        "default_generation_settings": {"n_ctx": n_ctx},
        "chat_template_caps": caps,
        "model_path": "/models/fake.gguf",
        "total_slots": 1,
        "build_info": "b0-fake",
    }


def chat_completion(content: str | None = None, tool_calls: list[dict] | None = None,
                    timings: dict | None = None) -> dict[str, Any]:
    """A non-streamed ``/v1/chat/completions`` answer as llama-server sends it."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "fake",
        "choices": [{"index": 0, "finish_reason": "tool_calls" if tool_calls else "stop",
                     "message": message}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 5, "total_tokens": 105,
                  "prompt_tokens_details": {"cached_tokens": 90}},
        "timings": timings or TIMINGS,
    }


def chat_stream(content: str, timings: dict | None = None) -> SSE:
    """A streamed answer: content in two deltas, finish, usage chunk carrying timings."""
    base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 0,
            "model": "fake"}
    half = len(content) // 2
    events = [
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": content[:half]},
                              "finish_reason": None}]},
        {**base, "choices": [{"index": 0, "delta": {"content": content[half:]},
                              "finish_reason": None}]},
        {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        {**base, "choices": [], "usage": {"prompt_tokens": 100, "completion_tokens": 5,
                                          "total_tokens": 105},
         "timings": timings or TIMINGS},
    ]
    return SSE(events)


def fake_llama_server(*, tools: bool, reply: Callable[[dict[str, Any]], Reply] | None = None
                      ) -> FakeServer:
    """A llama-server stand-in: /health, /props, /v1/models, chat, token counting."""
    server = FakeServer()
    server.routes[("GET", "/health")] = lambda _b: (200, {"status": "ok"})
    server.routes[("GET", "/props")] = lambda _b: (200, llama_props(tools=tools))
    server.routes[("GET", "/v1/models")] = lambda _b: (200, {"data": [{"id": "fake"}]})
    server.routes[("POST", "/v1/chat/completions/input_tokens")] = lambda b: (
        200, {"input_tokens": 7 * len(b.get("messages", [])) + 3 * len(b.get("tools") or [])})
    server.routes[("POST", "/v1/chat/completions")] = reply or (
        lambda b: (200, chat_stream("hello there") if b.get("stream")
                   else chat_completion("hello there")))
    return server
