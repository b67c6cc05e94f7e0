"""``create_app``: the agent over HTTP (FastAPI), for clients on other machines.

``GET /health`` (open), ``GET /capabilities``, ``POST /query`` (SSE), and the session
endpoints of :mod:`claude_like.serve.routes`. With a token, every endpoint but ``/health``
needs it. Sessions live in a :class:`SessionRegistry` made when the app starts; a reaper
closes idle ones and shutdown closes the rest (their sandboxes and containers with them).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request

from claude_like.permissions.modes import MODES
from claude_like.serve.agents import AgentFactory, ModelSource
from claude_like.serve.errors import install_error_handlers
from claude_like.serve.guard import TokenGuard
from claude_like.serve.requests import DEFAULT_MAX_BODY
from claude_like.serve.routes import router
from claude_like.serve.sessions import SessionRegistry
from claude_like.serve.turns import KEEPALIVE_SECONDS
from claude_like.sessions import SessionStore

DEFAULT_IDLE_SECONDS = 900.0


def create_app(
    *,
    model: ModelSource,
    workspace_root: str | os.PathLike[str],
    sandbox: str = "docker",
    token: str | None = None,
    idle_seconds: float = DEFAULT_IDLE_SECONDS,
    max_body: int = DEFAULT_MAX_BODY,
    agent_options: dict[str, Any] | None = None,
    session_store: SessionStore | str | os.PathLike[str] | None = None,
    keepalive_seconds: float = KEEPALIVE_SECONDS,
) -> FastAPI:
    """The agent server. ``model``: a spec (resolved now: an unknown one raises
    :class:`~claude_like.serve.agents.ModelUnavailable`), a chat model shared by every
    session, or a factory called once per session. ``agent_options``: more
    :class:`ClaudeLikeAgent` arguments for every session (``permission_mode``,
    ``allowed_tools``, ``max_turns``, ...). ``session_store``: where conversations are kept
    (default: the user's session store, shared with the CLI). ``keepalive_seconds``: an SSE
    comment after this long without an event."""
    if idle_seconds <= 0:
        raise ValueError(f"idle_seconds must be positive, not {idle_seconds}")
    if max_body < 1:
        raise ValueError(f"max_body must be positive, not {max_body}")
    root = Path(workspace_root).expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    factory = AgentFactory(model, sandbox=sandbox, options=dict(agent_options or {}),
                           store=None)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = not isinstance(session_store, SessionStore)
        store = session_store if isinstance(session_store, SessionStore) else \
            await asyncio.to_thread(SessionStore, session_store)
        factory.store = store
        registry = SessionRegistry(factory, root, idle_seconds=idle_seconds)
        app.state.registry = registry
        reaper = asyncio.create_task(registry.run_reaper(), name="claude-like session reaper")
        try:
            yield
        finally:
            reaper.cancel()
            await asyncio.wait([reaper])
            await registry.close_all()
            if owned:
                store.close()

    app = FastAPI(title="claude-like agent server", lifespan=lifespan, docs_url=None,
                  redoc_url=None, openapi_url=None)
    app.state.max_body = max_body
    app.state.keepalive = keepalive_seconds
    app.state.factory = factory
    install_error_handlers(app)
    app.add_middleware(TokenGuard, token=token)
    app.include_router(router)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/capabilities")
    async def capabilities(request: Request) -> dict[str, Any]:
        from claude_like import __version__

        return {
            "version": __version__,
            "model": factory.model_name,
            "tools": factory.tool_names(),
            "sandbox": factory.sandbox,
            "permission_modes": list(MODES),
            "default_permission_mode": factory.options.get("permission_mode") or "default",
            "workspace_root": str(root),
            "idle_seconds": idle_seconds,
            "max_body": max_body,
            "sessions": len(request.app.state.registry.list()),
        }

    return app
