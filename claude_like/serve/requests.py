"""What clients send: the JSON bodies of ``POST /query`` and ``POST /sessions/{id}/approve``,
read with a size limit and checked by pydantic (unknown fields are refused, so a typo in an
option is an error rather than silently ignored)."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from claude_like.permissions.modes import PermissionMode
from claude_like.serve.errors import ServeError, describe_validation

DEFAULT_MAX_BODY = 1024 * 1024
"""1 MB: far more than a prompt needs, far less than what would hurt the server."""

SESSION_FIELDS = ("workspace", "allowed_tools", "disallowed_tools", "ask_tools", "max_turns")
"""Options fixed when a session starts (its agent is built with them)."""


class QueryRequest(BaseModel):
    """A prompt for a new session (no ``session_id``) or for an existing one."""

    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(min_length=1)
    session_id: str | None = None
    permission_mode: PermissionMode | None = None
    """For a new session, its mode; for an existing one, its mode from this turn on."""
    workspace: str | None = None
    """A folder inside the server's workspace root (default: one named after the session)."""
    allowed_tools: list[str] | None = None
    disallowed_tools: list[str] | None = None
    ask_tools: list[str] | None = None
    max_turns: int | None = Field(default=None, ge=1, le=1000)

    def session_options(self) -> dict[str, Any]:
        """The options that shape a session's agent, as given."""
        return {name: getattr(self, name) for name in SESSION_FIELDS
                if getattr(self, name) is not None}


class ApproveRequest(BaseModel):
    """Answers to the pending approvals: ``"allow"``, ``"deny"``, ``"always"``, a dict with
    ``behavior`` (and ``message``, ``updated_input``, ``mode``), or such answers by
    tool-call id."""

    model_config = ConfigDict(extra="forbid")

    answers: str | dict[str, Any]


Model = TypeVar("Model", bound=BaseModel)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is known to exceed ``limit`` (from
    ``Content-Length``, or while a chunked body streams in)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise ServeError(400, "invalid Content-Length header") from None
        if size > limit:
            raise ServeError(413, f"request body of {size} bytes exceeds the limit of "
                                  f"{limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ServeError(413, f"request body exceeds the limit of {limit} bytes")
    return bytes(body)


async def parse_body(request: Request, model: type[Model], limit: int) -> Model:
    """``model`` from the JSON body: 413 when too large, 400 when not JSON or not valid."""
    raw = await read_body(request, limit)
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ServeError(400, f"malformed JSON body: {exc}") from None
    if not isinstance(data, dict):
        raise ServeError(400, "the JSON body must be an object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ServeError(400, describe_validation(exc.errors())) from None
