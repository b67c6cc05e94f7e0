"""The session registry: one agent (hence one sandbox, one container on Docker) per session
id, each in its own workspace folder under the server's root.

A session that has been idle for ``idle_seconds`` is closed by the reaper: its sandbox
(and container) goes away, its conversation stays in the session store, and a later query
with its id opens it again. ``DELETE`` closes it and forgets the conversation; shutdown
closes them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from claude_like.agent import ClaudeLikeAgent
from claude_like.permissions.approval import ApprovalRequest
from claude_like.serve.agents import AgentFactory
from claude_like.serve.errors import ServeError
from claude_like.sessions.paths import check_session_id

log = logging.getLogger("claude_like.serve")


@dataclass(eq=False)
class ServedSession:
    """A live session: its agent, its running turn (an asyncio task) and what it waits for."""

    id: str
    agent: ClaudeLikeAgent
    workspace: Path
    options: dict[str, Any] | None
    """The options it was started with (None: reopened after a restart, not known)."""
    created_at: float = field(default_factory=time.time)
    last_active: float = field(default_factory=time.monotonic)
    turn: asyncio.Task[None] | None = None
    pending: list[ApprovalRequest] = field(default_factory=list)
    last_result: dict[str, Any] | None = None
    closed: bool = False

    @property
    def busy(self) -> bool:
        return self.turn is not None and not self.turn.done()

    @property
    def status(self) -> str:
        """``running``, ``waiting`` (approvals pending), ``idle`` or ``closed``."""
        if self.closed:
            return "closed"
        if self.busy:
            return "running"
        return "waiting" if self.pending else "idle"

    def touch(self) -> None:
        self.last_active = time.monotonic()

    def idle_for(self) -> float:
        return 0.0 if self.busy else time.monotonic() - self.last_active

    def describe(self) -> dict[str, Any]:
        return {
            "session_id": self.id,
            "status": self.status,
            "workspace": str(self.workspace),
            "permission_mode": self.agent.gate.mode if self.closed else self.agent.permission_mode,
            "created_at": self.created_at,
            "idle_seconds": round(self.idle_for(), 3),
            "pending": [dict(r) for r in self.pending],
            "last_result": self.last_result,
        }


class SessionRegistry:
    """Live sessions by id; opening, reopening, closing and reaping them."""

    def __init__(self, factory: AgentFactory, root: Path, *, idle_seconds: float) -> None:
        self.factory = factory
        self.root = root.resolve()
        self.idle_seconds = idle_seconds
        self._live: dict[str, ServedSession] = {}
        self._options: dict[str, dict[str, Any]] = {}
        """Start options of sessions closed while idle, to reopen them the same way."""
        self._opening = asyncio.Lock()
        self._closing: dict[str, asyncio.Event] = {}
        """Sessions being closed: reopening one waits until its old agent is gone."""

    # -- opening -----------------------------------------------------------------------------
    def workspace_for(self, session_id: str, requested: str | None) -> Path:
        """The session's folder: ``root/<id>``, or ``requested`` if it lies inside the root
        (the root itself is refused: a sandbox there would see every other session)."""
        folder = (self.root / (requested or session_id)).resolve()
        if folder == self.root or not folder.is_relative_to(self.root):
            raise ServeError(400, f"workspace {requested!r} must be a folder inside the "
                                  "server's workspace root")
        return folder

    async def create(self, options: dict[str, Any]) -> ServedSession:
        """A new session with a fresh id, its folder and its agent."""
        session_id = uuid.uuid4().hex
        workspace = self.workspace_for(session_id, options.get("workspace"))
        return await self._open(session_id, workspace, options)

    async def get(self, session_id: str) -> ServedSession:
        """The live session, or one the store knows in this root, reopened; 404 otherwise."""
        found = self._live.get(session_id)
        if found is not None:
            return found
        async with self._opening:
            closing = self._closing.get(session_id)
            if closing is not None:
                await closing.wait()
            found = self._live.get(session_id)
            if found is not None:
                return found
            workspace = self._stored_workspace(session_id)
            session = await self._open(session_id, workspace, self._options.get(session_id))
            session.pending = await asyncio.to_thread(session.agent.pending,
                                                      thread_id=session_id)
            return session

    def _stored_workspace(self, session_id: str) -> Path:
        store = self.factory.store
        try:
            check_session_id(session_id)
        except ValueError:
            raise ServeError(404, f"unknown session {session_id!r}") from None
        info = store.get(session_id) if store is not None else None
        if info is None:
            raise ServeError(404, f"unknown session {session_id!r}")
        workspace = Path(info.workspace)
        if not workspace.resolve().is_relative_to(self.root) or workspace.resolve() == self.root:
            raise ServeError(404, f"unknown session {session_id!r}")
        return workspace

    async def _open(self, session_id: str, workspace: Path,
                    options: dict[str, Any] | None) -> ServedSession:
        def build() -> ClaudeLikeAgent:
            made = not workspace.exists()
            workspace.mkdir(parents=True, exist_ok=True)
            try:
                return self.factory.build(session_id, workspace, options or {})
            except BaseException:
                if made:
                    with contextlib.suppress(OSError):
                        workspace.rmdir()
                raise

        agent = await asyncio.to_thread(build)
        session = ServedSession(session_id, agent, workspace, options)
        self._live[session_id] = session
        self._options.pop(session_id, None)
        log.info("session %s opened in %s", session_id, workspace)
        return session

    # -- looking -------------------------------------------------------------------------------
    def live(self, session_id: str) -> ServedSession | None:
        return self._live.get(session_id)

    def list(self) -> list[ServedSession]:
        return sorted(self._live.values(), key=lambda s: s.created_at)

    def stored(self, session_id: str) -> dict[str, Any] | None:
        """A closed session of this root as the store keeps it, or None."""
        try:
            workspace = self._stored_workspace(session_id)
        except ServeError:
            return None
        assert self.factory.store is not None
        info = self.factory.store.get(session_id)
        assert info is not None
        return {"session_id": session_id, "status": "closed", "workspace": str(workspace),
                "title": info.title, "updated_at": info.updated_at, "messages": info.messages}

    # -- closing -------------------------------------------------------------------------------
    async def close(self, session_id: str, *, forget: bool = False) -> bool:
        """Stop its turn, close its agent (sandbox, container); ``forget`` also deletes the
        conversation from the store. False when no such session was live or stored."""
        session = self._live.pop(session_id, None)
        if session is not None:
            closing = self._closing[session_id] = asyncio.Event()
            try:
                await self._shut(session)
                if not forget and session.options is not None:
                    self._options[session_id] = session.options
            finally:
                del self._closing[session_id]
                closing.set()
        if not forget:
            return session is not None
        self._options.pop(session_id, None)
        return await asyncio.to_thread(self._forget, session_id) or session is not None

    def _forget(self, session_id: str) -> bool:
        """Delete a stored conversation of this root; False if there is none."""
        try:
            self._stored_workspace(session_id)
        except ServeError:
            return False
        assert self.factory.store is not None
        with contextlib.suppress(KeyError):
            self.factory.store.delete(session_id)
        return True

    async def _shut(self, session: ServedSession) -> None:
        turn = session.turn
        if turn is not None and not turn.done():
            turn.cancel()
            await asyncio.wait([turn])
        session.closed = True
        await asyncio.to_thread(session.agent.close)
        log.info("session %s closed", session.id)

    async def reap(self) -> list[str]:
        """Close the sessions idle for longer than ``idle_seconds``; their ids."""
        idle = [s.id for s in list(self._live.values()) if s.idle_for() > self.idle_seconds]
        for session_id in idle:
            await self.close(session_id)
        return idle

    async def run_reaper(self) -> None:
        """Reap every few seconds (a quarter of the idle time, 0.1 s to 30 s) until cancelled."""
        interval = min(max(self.idle_seconds / 4, 0.1), 30.0)
        while True:
            await asyncio.sleep(interval)
            try:
                await self.reap()
            except Exception:
                log.exception("reaping idle sessions failed")

    async def close_all(self) -> None:
        for session_id in list(self._live):
            try:
                await self.close(session_id)
            except Exception:
                log.exception("closing session %s failed", session_id)
