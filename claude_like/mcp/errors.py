"""The MCP errors (a module of their own, so that they import without the MCP client)."""

from __future__ import annotations


class McpServerError(RuntimeError):
    """A server that could not start or be reached; the message says which and why."""


class McpCallError(RuntimeError):
    """A tool call that failed outside the tool (timeout, lost connection); the message is
    written for the model."""
