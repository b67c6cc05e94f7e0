"""The agent's graph for LangGraph Server (``langgraph dev``, ``langgraph up``, a LangGraph
deployment), referenced by ``langgraph.json`` at the repository root.

``make_graph`` is a graph factory in the form LangGraph Server accepts: an async context
manager taking the run's ``RunnableConfig``. The server calls it for every run (and to read
state or schemas); it builds a :class:`ClaudeLikeAgent` from environment variables, yields
the agent's graph without a checkpointer of its own (the server attaches its own, so any
worker can continue any thread), and closes the agent's sandbox when the run is over.

- ``CLAUDE_LIKE_MODEL``: the model spec (resolved once per process).
- ``CLAUDE_LIKE_WORKSPACE``: the folder the tools may touch (default: the current one).
- ``CLAUDE_LIKE_THREAD_WORKSPACES=1``: a folder per thread inside it instead.
- ``CLAUDE_LIKE_SANDBOX``: ``docker`` (default) or ``local``.
- ``CLAUDE_LIKE_PERMISSION_MODE``: the agent's mode (default: ``default``, whose asks pause
  the run with ``interrupt()``; resume it with ``Command(resume="allow")``).

No ``from __future__ import annotations`` here: the server reads the factory's parameter
annotation to know what to pass it, so it must be the class itself, not a string.
"""

import asyncio
import contextlib
import functools
import os
from collections.abc import AsyncIterator
from pathlib import Path

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph

from claude_like.agent import ClaudeLikeAgent
from claude_like.permissions.modes import check_mode
from claude_like.sessions.paths import check_session_id

MODEL_ENV = "CLAUDE_LIKE_MODEL"
WORKSPACE_ENV = "CLAUDE_LIKE_WORKSPACE"
THREAD_WORKSPACES_ENV = "CLAUDE_LIKE_THREAD_WORKSPACES"
SANDBOX_ENV = "CLAUDE_LIKE_SANDBOX"
MODE_ENV = "CLAUDE_LIKE_PERMISSION_MODE"


@functools.lru_cache(maxsize=8)
def _model(spec: str) -> BaseChatModel:
    """One chat model per spec and process: a model holds a client, not a conversation."""
    from claude_like.serve.agents import load_model

    return load_model(spec)


def _workspace(config: RunnableConfig | None) -> Path:
    root = Path(os.environ.get(WORKSPACE_ENV) or ".").expanduser().resolve()
    thread = ((config or {}).get("configurable") or {}).get("thread_id")
    if os.environ.get(THREAD_WORKSPACES_ENV, "") in ("1", "true", "yes") and thread:
        root = root / check_session_id(str(thread))
    root.mkdir(parents=True, exist_ok=True)
    return root


def build_agent(config: RunnableConfig | None = None) -> ClaudeLikeAgent:
    """The agent for one run, configured by the environment (blocking)."""
    spec = os.environ.get(MODEL_ENV, "").strip()
    if not spec:
        raise RuntimeError(f"set {MODEL_ENV} to the model spec the graph should use")
    mode = os.environ.get(MODE_ENV, "").strip() or None
    return ClaudeLikeAgent(_model(spec), workspace=_workspace(config),
                           sandbox=os.environ.get(SANDBOX_ENV, "").strip() or "docker",
                           persist=False, permission_mode=check_mode(mode) if mode else None)


def server_graph(agent: ClaudeLikeAgent) -> CompiledStateGraph:
    """The agent's graph with no checkpointer: LangGraph Server brings its own."""
    return agent.graph.copy(update={"checkpointer": None})


@contextlib.asynccontextmanager
async def make_graph(config: RunnableConfig) -> AsyncIterator[CompiledStateGraph]:
    """The graph factory ``langgraph.json`` names: the agent's graph for this run; its
    sandbox (container) is closed when the run ends."""
    agent = await asyncio.to_thread(build_agent, config)
    try:
        yield server_graph(agent)
    finally:
        await asyncio.to_thread(agent.close)
