"""A tiny MCP server for the tests, on the ``mcp`` package's own FastMCP.

``python echo_server.py`` serves over stdio; ``python echo_server.py http PORT`` serves
streamable HTTP on 127.0.0.1:PORT at ``/mcp``.
"""

from __future__ import annotations

import os
import sys
import time

from mcp.server.fastmcp import FastMCP

server = FastMCP("echo", log_level="WARNING")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def echo(text: str) -> str:
    """Return the text as given."""
    return text


@server.tool()
def fail(message: str = "it broke") -> str:
    """Always raise an error with this message."""
    raise ValueError(message)


@server.tool()
def crash() -> str:
    """Exit the server process at once, mid-call."""
    os._exit(3)


@server.tool()
def pid() -> int:
    """The server process id (a persistent session keeps it between calls)."""
    return os.getpid()


@server.tool()
def env(name: str) -> str:
    """The value of one environment variable of the server process ('' when unset)."""
    return os.environ.get(name, "")


@server.tool()
def cwd() -> str:
    """The folder the server process runs in."""
    return os.getcwd()


@server.tool()
def sleep(seconds: float) -> str:
    """Sleep, then answer (for timeouts)."""
    time.sleep(seconds)
    return "slept"


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "http":
        server.settings.host = "127.0.0.1"
        server.settings.port = int(sys.argv[2])
        server.run("streamable-http")
    else:
        server.run("stdio")
