"""The endpoints that work on sessions: ``POST /query``, ``POST /sessions/{id}/approve``,
``GET /sessions``, ``GET /sessions/{id}``, ``POST /sessions/{id}/cancel`` and
``DELETE /sessions/{id}``."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from claude_like.serve.errors import ServeError
from claude_like.serve.requests import SESSION_FIELDS, ApproveRequest, QueryRequest, parse_body
from claude_like.serve.sessions import ServedSession, SessionRegistry
from claude_like.serve.turns import TurnQueue, cancel_turn, start_turn, stream_frames

router = APIRouter()


def _registry(request: Request) -> SessionRegistry:
    return request.app.state.registry


def _max_body(request: Request) -> int:
    return request.app.state.max_body


def _streaming(request: Request, session: ServedSession, queue: TurnQueue) -> StreamingResponse:
    frames = stream_frames(queue, request.app.state.keepalive)
    return StreamingResponse(frames, media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Session-Id": session.id})


def _check_free(session: ServedSession) -> None:
    if session.busy:
        raise ServeError(409, f"session {session.id} is already running a turn: wait for its "
                              "final event, or cancel it")


def _check_same_options(session: ServedSession, query: QueryRequest) -> None:
    """Options that shaped the session's agent may be repeated, not changed."""
    if session.options is None:
        return
    given = query.session_options()
    changed = [name for name in SESSION_FIELDS
               if name in given and given[name] != session.options.get(name)]
    if changed:
        raise ServeError(400, f"{', '.join(changed)} can only be set when a session starts; "
                              "start a new session (no session_id) to change them")


async def _open_new(registry: SessionRegistry, query: QueryRequest) -> ServedSession:
    options: dict[str, Any] = query.session_options()
    if query.permission_mode is not None:
        options["permission_mode"] = query.permission_mode
    try:
        return await registry.create(options)
    except ServeError:
        raise
    except ValueError as exc:
        raise ServeError(400, f"cannot start a session with these options: {exc}") from None
    except Exception as exc:
        raise ServeError(503, f"cannot start a session: {type(exc).__name__}: {exc}") from None


@router.post("/query")
async def query(request: Request) -> StreamingResponse:
    """Run a prompt; SSE events ending with ``final``."""
    body = await parse_body(request, QueryRequest, _max_body(request))
    registry = _registry(request)
    if body.session_id is None:
        session = await _open_new(registry, body)
    else:
        session = await registry.get(body.session_id)
        _check_same_options(session, body)
        _check_free(session)
        if session.pending:
            raise ServeError(409, f"session {session.id} waits for approval of "
                                  f"{len(session.pending)} call(s): answer with POST "
                                  f"/sessions/{session.id}/approve first")
        if body.permission_mode is not None:
            session.agent.set_permission_mode(body.permission_mode, thread_id=session.id)
    return _streaming(request, session, start_turn(session, body.prompt))


@router.post("/sessions/{session_id}/approve")
async def approve(session_id: str, request: Request) -> StreamingResponse:
    """Answer the pending approvals and go on; SSE events ending with ``final``."""
    body = await parse_body(request, ApproveRequest, _max_body(request))
    session = await _registry(request).get(session_id)
    _check_free(session)
    if not session.pending:
        raise ServeError(409, f"session {session_id} has no call waiting for approval")
    try:
        command = await asyncio.to_thread(session.agent.answer, body.answers,
                                          thread_id=session_id)
    except ValueError as exc:
        raise ServeError(400, f"cannot use these answers: {exc}") from None
    _check_free(session)  # the answers were checked off the loop: look again
    return _streaming(request, session, start_turn(session, command))


@router.get("/sessions")
async def list_sessions(request: Request) -> dict[str, Any]:
    return {"sessions": [s.describe() for s in _registry(request).list()]}


@router.get("/sessions/{session_id}")
async def get_session(session_id: str, request: Request) -> dict[str, Any]:
    registry = _registry(request)
    session = registry.live(session_id)
    if session is not None:
        return session.describe()
    stored = await asyncio.to_thread(registry.stored, session_id)
    if stored is None:
        raise ServeError(404, f"unknown session {session_id!r}")
    return stored


@router.post("/sessions/{session_id}/cancel")
async def cancel(session_id: str, request: Request) -> dict[str, Any]:
    """Stop the running turn; the conversation stays."""
    registry = _registry(request)
    session = registry.live(session_id)
    if session is None:
        if await asyncio.to_thread(registry.stored, session_id) is None:
            raise ServeError(404, f"unknown session {session_id!r}")
        return {"session_id": session_id, "cancelled": False, "status": "closed"}
    cancelled = await cancel_turn(session)
    return {"session_id": session_id, "cancelled": cancelled, "status": session.status}


@router.delete("/sessions/{session_id}")
async def delete(session_id: str, request: Request) -> dict[str, Any]:
    """Close the session (its sandbox and container) and forget its conversation."""
    if not await _registry(request).close(session_id, forget=True):
        raise ServeError(404, f"unknown session {session_id!r}")
    return {"session_id": session_id, "deleted": True}
