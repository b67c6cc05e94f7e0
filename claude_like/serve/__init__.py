"""``claude-like serve``: the agent as an HTTP service (SSE events, sessions by id, one
sandbox per session, token auth), and a graph factory for LangGraph Server."""

from claude_like.serve.agents import ModelUnavailable
from claude_like.serve.app import create_app
from claude_like.serve.sessions import ServedSession, SessionRegistry

__all__ = ["ModelUnavailable", "ServedSession", "SessionRegistry", "create_app"]
