"""Errors as Anthropic's API gives them, so clients react as they do to the real service:
``{"type": "error", "error": {"type": ..., "message": ...}}`` with the matching status.

A backend failure is translated: a context overflow the server reports becomes the
``prompt is too long`` 400, a busy or unreachable server ``overloaded_error`` (529, which
clients retry), anything else ``api_error`` (502).
"""

from __future__ import annotations

from typing import Any

import httpx

from claude_like.context.accounting import is_context_overflow, overflow_tokens
from claude_like.models.base import ModelUnavailableError

#: Anthropic's error types by HTTP status.
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    529: "overloaded_error",
}


class GatewayError(Exception):
    """An error the client is to receive as it is."""

    def __init__(self, status: int, message: str, kind: str | None = None) -> None:
        self.status = status
        self.kind = kind or ERROR_TYPES.get(status, "api_error")
        self.message = message
        super().__init__(message)

    def body(self) -> dict[str, Any]:
        return error_body(self.kind, self.message)


def error_body(kind: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}}


def _status_of(exc: BaseException) -> int | None:
    for attr in ("status_code", "status"):
        value = getattr(exc, attr, None)
        if isinstance(value, int):
            return value
    response = getattr(exc, "response", None)
    value = getattr(response, "status_code", None)
    return value if isinstance(value, int) else None


def _unreachable(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ModelUnavailableError | httpx.ConnectError | ConnectionError):
            return True
        if type(seen).__name__ in ("APIConnectionError", "APITimeoutError"):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def backend_error(exc: BaseException, *, estimate: int, window: int) -> GatewayError:
    """What the client is told when the backend call failed."""
    if is_context_overflow(exc):
        tokens = overflow_tokens(exc) or estimate
        return GatewayError(400, f"prompt is too long: {tokens} tokens > {window} maximum")
    status = _status_of(exc)
    text = " ".join(f"{type(exc).__name__}: {exc}".split())[:500]
    if status == 429:
        return GatewayError(429, f"the backend is rate limited: {text}")
    if status in (503, 529) or _unreachable(exc):
        return GatewayError(529, f"the backend is unavailable or busy: {text}")
    return GatewayError(502, f"the backend failed: {text}")
