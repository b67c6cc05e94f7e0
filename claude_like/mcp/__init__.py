"""MCP servers' tools for the agent, through ``langchain-mcp-adapters``.

Servers come from a ``.mcp.json`` in Claude Code's format (in the workspace) and from a
Python dict of the same shape; their tools are named ``mcp__<server>__<tool>`` (so
permission rules such as ``mcp__github`` or ``mcp__github__get_issue`` apply to them) and
their failures come back to the model as error results. See :class:`McpTools`.
"""

from claude_like.mcp.config import (
    MCP_CONFIG_FILE,
    HttpServer,
    McpConfigError,
    McpServer,
    StdioServer,
    load_mcp_servers,
)
from claude_like.mcp.errors import McpCallError, McpServerError
from claude_like.mcp.remote_tool import McpTool, tool_name
from claude_like.mcp.tools import McpTools, load_mcp_tools_sync

__all__ = [
    "MCP_CONFIG_FILE",
    "HttpServer",
    "McpCallError",
    "McpConfigError",
    "McpServer",
    "McpServerError",
    "McpTool",
    "McpTools",
    "StdioServer",
    "load_mcp_servers",
    "load_mcp_tools_sync",
    "tool_name",
]
