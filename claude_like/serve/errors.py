"""Every error the agent server sends is JSON with a message, and none of them stops it.

``ServeError`` is what the routes raise; the handlers turn it (and Starlette's own HTTP
errors, validation errors and anything unexpected) into ``{"error": {"type", "message"}}``.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("claude_like.serve")

ERROR_TYPES = {
    400: "invalid_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "request_too_large",
    422: "invalid_request",
    500: "server_error",
}


class ServeError(Exception):
    """An error a client caused or can act on, with the HTTP status it gets."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error_body(status: int, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"type": ERROR_TYPES.get(status, "error"), "message": message}}


def error_response(status: int, message: str,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(status, message), status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """JSON bodies for every error path of ``app``."""

    async def serve_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ServeError)
        return error_response(exc.status, exc.message)

    async def http_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return error_response(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    async def invalid(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return error_response(400, describe_validation(exc.errors()))

    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        return error_response(500, f"internal error: {type(exc).__name__}: {exc}")

    app.add_exception_handler(ServeError, serve_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(Exception, unexpected)


def describe_validation(errors: object) -> str:
    """Pydantic's error list as one readable line: ``prompt: Field required; ...``."""
    parts = []
    for err in errors if isinstance(errors, list) else []:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "invalid request: " + ("; ".join(parts) or "malformed body")
