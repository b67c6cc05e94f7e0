"""A real uvicorn server on a free port in a background thread, and SSE parsing, for the
tests of ``claude-like serve``."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from claude_like.serve import create_app

TOKEN = "s3cret-token"


class Server:
    """``app`` served by uvicorn on 127.0.0.1 and a port the OS picked."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0,
                                                    log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert self.thread.is_alive(), "the server thread died while starting"
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.01)
        return self

    @property
    def url(self) -> str:
        sock = self.server.servers[0].sockets[0]
        host, port = sock.getsockname()[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=60)
        assert not self.thread.is_alive(), "the server did not stop"

    @property
    def registry(self) -> Any:
        return self.app.state.registry


@contextmanager
def serving(**options: Any) -> Iterator[Server]:
    """A started server for ``create_app(**options)`` (sandbox "local" unless given)."""
    options.setdefault("sandbox", "local")
    server = Server(create_app(**options)).start()
    try:
        yield server
    finally:
        server.stop()


def client(server: Server, token: str | None = None, **kwargs: Any) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=server.url, headers=headers, timeout=60, **kwargs)


def read_events(response: httpx.Response) -> Iterator[dict[str, Any]]:
    """The SSE events of a streaming response, as their JSON data; the event name must
    match the data's type."""
    name: str | None = None
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line[len("event: "):]
        elif line.startswith("data: "):
            data = json.loads(line[len("data: "):])
            assert data["type"] == name, (name, data)
            yield data
            name = None


def query(http: httpx.Client, path: str = "/query", **body: Any) -> list[dict[str, Any]]:
    """POST ``body`` and read the whole event stream."""
    with http.stream("POST", path, json=body) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        return list(read_events(response))


def final(events: list[dict[str, Any]]) -> dict[str, Any]:
    assert events[-1]["type"] == "final", events
    return events[-1]
