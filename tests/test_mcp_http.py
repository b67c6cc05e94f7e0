"""MCP tools over streamable HTTP against the real echo server (FastMCP on uvicorn, in a
subprocess): tools and results, errors, a server that dies mid-call, an unreachable URL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.messages import ToolMessage
from mcp_helpers import free_port, http_echo_server

from claude_like.mcp import McpServerError, McpTools
from claude_like.mcp import session as mcp_session


@pytest.fixture
def url() -> Iterator[str]:
    with http_echo_server() as address:
        yield address


def call(mcp: McpTools, tool_name: str, /, **args: Any) -> ToolMessage:
    tool = next(t for t in mcp.tools if t.name == tool_name)
    return tool.invoke({"name": tool_name, "args": args, "id": "c1", "type": "tool_call"})


def test_tools_of_an_http_server_are_named_and_called(url: str):
    config = {"mcpServers": {"web": {"type": "http", "url": url,
                                     "headers": {"X-Trace": "${CL_NO_SUCH_VAR:-on}"}}}}
    with McpTools.open(servers=config) as mcp:
        assert "mcp__web__add" in [t.name for t in mcp.tools]
        assert call(mcp, "mcp__web__add", a=20, b=22).content == "42"
        assert call(mcp, "mcp__web__pid").content == call(mcp, "mcp__web__pid").content
        failed = call(mcp, "mcp__web__fail", message="no such user")
        assert failed.status == "error" and "no such user" in failed.content


def test_an_http_server_that_dies_mid_call_is_an_error_result_and_later_calls_too(
        url: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(mcp_session, "HTTP_PING_INTERVAL", 0.3)
    with McpTools.open(servers={"web": {"type": "http", "url": url}}, tool_timeout=20) as mcp:
        crashed = call(mcp, "mcp__web__crash")
        assert crashed.status == "error"
        assert "MCP server 'web' closed the connection during the call" in crashed.content
        later = call(mcp, "mcp__web__add", a=1, b=2)
        assert later.status == "error"
        assert f"MCP server 'web' could not start (url: {url})" in later.content


def test_an_unreachable_http_server_is_a_clear_error():
    url = f"http://127.0.0.1:{free_port()}/mcp"
    with pytest.raises(McpServerError, match=rf"MCP server 'gone' could not start \(url: "
                       rf"{url}\): ConnectError"):
        McpTools.open(servers={"gone": {"type": "http", "url": url}}, strict=True)
    with McpTools.open(servers={"gone": {"type": "http", "url": url}}) as mcp:
        assert mcp.tools == [] and "ConnectError" in mcp.failures["gone"]
