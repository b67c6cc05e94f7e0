"""Shared by the MCP tests: the echo server (stdio or streamable HTTP) and process checks."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psutil

ECHO_SERVER = str(Path(__file__).parent / "mcp_servers" / "echo_server.py")


def stdio_servers(name: str = "srv", **extra: Any) -> dict[str, Any]:
    """A config with the echo server over stdio, in Claude Code's format."""
    return {"mcpServers": {name: {"command": sys.executable, "args": [ECHO_SERVER], **extra}}}


def children() -> set[int]:
    """The pids of this process's live descendants."""
    return {p.pid for p in psutil.Process().children(recursive=True)
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def http_echo_server() -> Iterator[str]:
    """The echo server on streamable HTTP in a subprocess; yields its ``/mcp`` URL."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, ECHO_SERVER, "http", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        for _ in range(300):
            if proc.poll() is not None:
                raise RuntimeError(f"the HTTP echo server exited ({proc.returncode})")
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise RuntimeError("the HTTP echo server did not start")
        yield url
    finally:
        proc.kill()
        proc.wait()
