"""One turn of a session: the agent's ``astream`` runs as an asyncio task that feeds a
queue, and the HTTP response streams the queue as SSE.

The task is not the response: a client that disconnects does not stop the turn (its
result is kept for ``GET /sessions/{id}``), and ``POST /sessions/{id}/cancel`` stops the
task, not the connection. A cancelled turn also stops the session's shell (the running
command and everything it started); the conversation keeps what was checkpointed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

from claude_like.agent import RunInput
from claude_like.events import Final
from claude_like.serve.events import event_data, sse
from claude_like.serve.sessions import ServedSession

log = logging.getLogger("claude_like.serve")
KEEPALIVE_SECONDS = 15.0


class TurnQueue(asyncio.Queue[dict[str, Any] | None]):
    """The events of one turn, then None; knows whether its ``final`` event was sent."""

    def __init__(self) -> None:
        super().__init__()
        self.finished = False

    def emit(self, data: dict[str, Any]) -> None:
        self.finished = self.finished or data["type"] == "final"
        self.put_nowait(data)


def start_turn(session: ServedSession, task: RunInput) -> TurnQueue:
    """Run ``task`` on the session as a task of its own; the queue gets each event's data
    and then None. The caller has checked that the session is not busy."""
    queue = TurnQueue()
    queue.emit({"type": "session", "session_id": session.id,
                "workspace": str(session.workspace)})
    session.pending = []

    def ended(_task: asyncio.Task[None]) -> None:
        session.touch()
        if not queue.finished:  # cancelled before it ran, or its clean-up was cancelled
            queue.emit(_final(session, "cancelled", ""))
        queue.put_nowait(None)

    session.turn = asyncio.create_task(_run(session, task, queue),
                                       name=f"claude-like turn {session.id}")
    session.turn.add_done_callback(ended)
    return queue


async def _run(session: ServedSession, task: RunInput, queue: TurnQueue) -> None:
    try:
        async for event in session.agent.astream(task, thread_id=session.id):
            data = event_data(event)
            if isinstance(event, Final):
                session.pending = list(event.result.pending)
                session.last_result = {k: v for k, v in data.items() if k != "type"}
            queue.emit(data)
    except asyncio.CancelledError:
        await _after_cancel(session, queue)
        raise
    except Exception as exc:
        log.exception("turn of session %s failed", session.id)
        message = f"{type(exc).__name__}: {exc}"
        queue.emit({"type": "error", "message": message})
        queue.emit(_final(session, "error", message))


async def _after_cancel(session: ServedSession, queue: TurnQueue) -> None:
    """Kill what the turn left running in the shell, and see what still waits."""
    try:
        await asyncio.to_thread(session.agent.sandbox.close_session, session.id)
        session.pending = await asyncio.to_thread(session.agent.pending, thread_id=session.id)
    except Exception:
        log.exception("cleaning up after cancelling session %s", session.id)
    queue.emit(_final(session, "cancelled", ""))


def _final(session: ServedSession, stop_reason: str, error: str) -> dict[str, Any]:
    data = {"type": "final", "session_id": session.id, "text": "", "stop_reason": stop_reason,
            "error": error, "turns": 0, "usage": {},
            "pending": [dict(r) for r in session.pending]}
    session.last_result = {k: v for k, v in data.items() if k != "type"}
    return data


async def stream_frames(queue: TurnQueue,
                        keepalive: float = KEEPALIVE_SECONDS) -> AsyncIterator[str]:
    """The queue as SSE frames, until its end; a comment line every ``keepalive`` seconds
    without an event keeps proxies from closing a connection while a long command runs."""
    getter: asyncio.Future[dict[str, Any] | None] | None = None
    try:
        while True:
            getter = getter or asyncio.ensure_future(queue.get())
            done, _ = await asyncio.wait([getter], timeout=keepalive)
            if not done:
                yield ": keep-alive\n\n"
                continue
            data, getter = getter.result(), None
            if data is None:
                return
            yield sse(data)
    finally:
        if getter is not None:
            getter.cancel()


async def cancel_turn(session: ServedSession) -> bool:
    """Cancel the running turn and wait until it has wound down; False if none was running."""
    turn = session.turn
    if turn is None or turn.done():
        return False
    turn.cancel()
    await asyncio.wait([turn])
    return True
