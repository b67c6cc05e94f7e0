"""The gateway's FastAPI app: an Anthropic Messages API in front of any LangChain chat model.

Routes: ``POST /v1/messages`` (whole or streamed), ``POST /v1/messages/count_tokens``,
``GET /v1/models`` (and ``/v1/models/{id}``), ``GET /health``. With a token every request
needs it (``x-api-key`` or ``Authorization: Bearer``, compared in constant time). Every
error, including unknown routes, oversized bodies and crashes, is answered in Anthropic's
shape, and none of them stops the service.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from langchain_core.language_models import BaseChatModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from claude_like.gateway.backend import Backend
from claude_like.gateway.errors import GatewayError, error_body
from claude_like.gateway.messages import MessagesEndpoint
from claude_like.gateway.trace import TraceLog, Tracer, stderr_warn
from claude_like.web.auth import presented_token, token_ok

#: Largest request body accepted (Anthropic's own limit for the Messages API).
MAX_BODY = 32 * 1024 * 1024
#: The date shown as every model's creation time (the API requires one).
CREATED_AT = "2025-01-01T00:00:00Z"


class BodyLimit:
    """Refuses bodies over ``limit`` bytes with a 413: at once when ``Content-Length`` says
    so, else while the body is read (a chunked upload)."""

    def __init__(self, app: ASGIApp, limit: int, tracer: Tracer | None = None) -> None:
        self.app = app
        self.limit = limit
        self.tracer = tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.limit:
            await self._refuse(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise GatewayError(413, self._message())
            return message

        await self.app(scope, counted, send)

    def _message(self) -> str:
        return f"request body larger than {self.limit:,} bytes"

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.tracer is not None:
            self.tracer.record(endpoint=scope.get("path"), status=413,
                               error={"type": "request_too_large", "message": self._message()})
        response = JSONResponse(error_body("request_too_large", self._message()), 413)
        await response(scope, receive, send)


def _model_entry(model_id: str, backend: Backend) -> dict[str, Any]:
    return {"type": "model", "id": model_id, "created_at": CREATED_AT,
            "display_name": f"{model_id} (claude-like gateway to {backend.name})"}


def create_app(
    model: BaseChatModel,
    *,
    token: str | None = None,
    trace: str | os.PathLike[str] | TraceLog | None = None,
    window: int | None = None,
    compact: bool = False,
    model_name: str | None = None,
    trace_content: bool = False,
    max_body: int = MAX_BODY,
    warn: Callable[[str], None] = stderr_warn,
) -> FastAPI:
    """The gateway app for ``model`` (any LangChain chat model; the factories' models bring
    their window, generation cap and constrained tool calling).

    ``token``: required of every request when set. ``trace``: a JSONL file (or a TraceLog)
    getting one record per request; ``trace_content`` keeps message content in it.
    ``window``: the backend's context window, when its server does not say. ``compact``:
    compact a request that does not fit instead of refusing it. ``model_name``: the name
    ``/v1/models`` lists (every model name is served by the one backend). ``warn``: where the
    75% / 90% window warnings go (stderr)."""
    backend = Backend(model, window=window, compact=compact)
    log = trace if isinstance(trace, TraceLog) or trace is None else TraceLog(
        trace, content=trace_content, secrets=(token,) if token else ())
    tracer = Tracer(log, backend=backend.name, warn=warn)
    endpoint = MessagesEndpoint(backend, tracer)
    name = model_name or backend.name

    async def authenticate(request: Request) -> None:
        if not token_ok(token, presented_token(request.headers)):
            raise GatewayError(401, "invalid x-api-key" if presented_token(request.headers)
                               else "missing API key: send x-api-key or Authorization: Bearer")

    app = FastAPI(title="claude-like gateway", docs_url=None, redoc_url=None, openapi_url=None,
                  dependencies=[Depends(authenticate)])
    app.state.backend = backend
    app.state.tracer = tracer
    app.add_middleware(BodyLimit, limit=max_body, tracer=tracer)

    def refused(request: Request, err: GatewayError) -> Response:
        """An error raised before an endpoint ran (auth, routing): traced, then answered."""
        tracer.record(endpoint=request.url.path, status=err.status,
                      error={"type": err.kind, "message": err.message})
        return JSONResponse(err.body(), status_code=err.status)

    @app.exception_handler(GatewayError)
    async def gateway_error(request: Request, exc: GatewayError) -> Response:
        return refused(request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return refused(request, GatewayError(exc.status_code, str(exc.detail)))

    @app.exception_handler(Exception)
    async def crash(_request: Request, exc: Exception) -> Response:
        message = f"internal error: {type(exc).__name__}: {exc}"[:500]
        return JSONResponse(error_body("api_error", message), status_code=500)

    @app.post("/v1/messages")
    async def messages(request: Request) -> Response:
        return await endpoint.create(request)

    @app.post("/v1/messages/count_tokens")
    async def count_tokens(request: Request) -> Response:
        return await endpoint.count_tokens(request)

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"data": [_model_entry(name, backend)], "has_more": False,
                "first_id": name, "last_id": name}

    @app.get("/v1/models/{model_id:path}")
    async def one_model(model_id: str) -> dict[str, Any]:
        return _model_entry(model_id, backend)  # every name is served by the backend

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "backend": backend.name, "model": name,
                "context_window": backend.budget.window, "max_tokens": backend.budget.max_tokens,
                "tool_calling": backend.tool_calling, "compact": compact}

    return app
