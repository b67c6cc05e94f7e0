"""What the gateway tests share: a real uvicorn server on a free port, an SSE reader, and
requests shaped as Claude Code 2.1.332 sends them (field set and order, a billing system
block, a ``role: "system"`` message with an extra key, ``cache_control`` on the last block,
``$schema`` in tool schemas, ``?beta=true``), with tool texts of our own."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn

from claude_like.models.llama_server import free_port

BETAS = "claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27"
HEADERS = {"anthropic-version": "2023-06-01", "anthropic-beta": BETAS, "x-app": "cli",
           "user-agent": "claude-cli/2.1.332 (external, sdk-cli)"}
PATH = "/v1/messages?beta=true"


@contextmanager
def served(app: Any) -> Iterator[str]:
    """``app`` on a real uvicorn server in a thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(20)


def sse_events(text: str) -> list[tuple[str, dict[str, Any]]]:
    """(event name, data) of each server-sent event, in order; each data line must be JSON."""
    events = []
    for raw in text.split("\n\n"):
        if not raw.strip():
            continue
        fields = dict(line.split(": ", 1) for line in raw.split("\n") if ": " in line)
        events.append((fields["event"], json.loads(fields["data"])))
    return events


def assemble(events: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """The message a client builds from a stream (text concatenated, tool input parsed from
    the concatenated ``input_json_delta``s), checking indices as it goes."""
    message: dict[str, Any] = {}
    buffers: dict[int, str] = {}
    for name, data in events:
        assert data["type"] == name
        if name == "message_start":
            message = {**data["message"], "content": []}
        elif name == "content_block_start":
            assert data["index"] == len(message["content"])
            message["content"].append(dict(data["content_block"]))
        elif name == "content_block_delta":
            block, delta = message["content"][data["index"]], data["delta"]
            if delta["type"] == "text_delta":
                block["text"] += delta["text"]
            else:
                assert delta["type"] == "input_json_delta"
                buffers[data["index"]] = buffers.get(data["index"], "") + delta["partial_json"]
        elif name == "content_block_stop":
            if data["index"] in buffers:
                message["content"][data["index"]]["input"] = json.loads(buffers[data["index"]])
        elif name == "message_delta":
            message["stop_reason"] = data["delta"]["stop_reason"]
            message["usage"] = data["usage"]
    return message


def tool(name: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"name": name, "description": f"{name} tool for the test",
            "input_schema": {"$schema": "https://json-schema.org/draft/2020-12/schema",
                             "type": "object", "properties": properties,
                             "required": required, "additionalProperties": False}}


TOOLS = [
    tool("Bash", {"command": {"type": "string"}, "description": {"type": "string"}},
         ["command"]),
    tool("Edit", {"file_path": {"type": "string"}, "old_string": {"type": "string"},
                  "new_string": {"type": "string"}}, ["file_path", "old_string", "new_string"]),
    tool("Read", {"file_path": {"type": "string"}, "offset": {"type": "integer"}},
         ["file_path"]),
]


def claude_code_request(task: str, history: list[dict[str, Any]] | None = None, *,
                        stream: bool = True, **extra: Any) -> dict[str, Any]:
    """A body with Claude Code's fields, in its order; ``history`` follows the first turns."""
    first: dict[str, Any] = {"role": "user", "content": [{"type": "text", "text": task}]}
    messages = [first, {"role": "system", "content": [], "output_config": {"effort": "medium"}},
                *(history or [])]
    last = messages[-1]
    if isinstance(last["content"], list) and last["content"]:
        last["content"][-1]["cache_control"] = {"type": "ephemeral"}
    body = {
        "model": "claude-opus-5-5",
        "messages": messages,
        "system": [
            {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.332.28c; "
             "cc_entrypoint=sdk-cli;"},
            {"type": "text", "text": "You are a coding agent.",
             "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "CWD: /tmp/ws\nDate: 2026-12-03",
             "cache_control": {"type": "ephemeral"}},
        ],
        "tools": TOOLS,
        "metadata": {"user_id": json.dumps({"device_id": "d", "session_id": "s"})},
        "max_tokens": 128000,
        "thinking": {"type": "adaptive", "display": "omitted"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "output_config": {"effort": "medium"},
        "stream": stream,
    }
    body.update(extra)
    return body


def post(client: httpx.Client, body: dict[str, Any], **headers: str) -> httpx.Response:
    return client.post(PATH, json=body, headers={**HEADERS, **headers})


def reply_of(response: httpx.Response) -> dict[str, Any]:
    """The message of a whole or streamed response."""
    assert response.status_code == 200, response.text
    if response.headers["content-type"].startswith("text/event-stream"):
        return assemble(sse_events(response.text))
    return response.json()
