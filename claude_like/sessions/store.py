"""The session store: conversations kept in one SQLite file, with a row of metadata each.

A session is a LangGraph thread (its id is the ``thread_id``) plus what a person needs to
find it again: a title, the workspace, the model, when it started and last moved, and the
session it was forked from. The checkpoints and the metadata share one file and one
connection, so a fork or a listing always sees both in step.
"""

from __future__ import annotations

import builtins
import os
import sqlite3
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from langgraph.checkpoint.base import BaseCheckpointSaver

from claude_like.sessions.paths import (
    SessionStoreError,
    check_session_id,
    default_store_path,
    prepare_store_file,
)
from claude_like.sessions.saver import (
    NEXT_STAMP_SQL,
    SESSIONS_TABLE,
    copy_thread_rows,
    open_saver,
    thread_has_checkpoints,
)

TITLE_MAX_CHARS = 80
_COLUMNS = "id, title, workspace, model, created_at, updated_at, parent, messages"


@dataclass(frozen=True)
class SessionInfo:
    """One session's metadata. Times are Unix epoch seconds (UTC)."""

    id: str
    title: str
    workspace: str
    model: str
    created_at: float
    updated_at: float
    parent: str | None
    messages: int


def clip_title(text: str) -> str:
    """The first prompt as a one-line title of at most ``TITLE_MAX_CHARS`` characters."""
    line = " ".join(text.split())
    if len(line) <= TITLE_MAX_CHARS:
        return line
    return line[: TITLE_MAX_CHARS - 1].rstrip() + "…"


def _workspace_key(workspace: str | os.PathLike[str]) -> str:
    """Absolute, symlink-free form, so one folder is one workspace however it is named."""
    return str(Path(workspace).expanduser().resolve())


def _fetch(cur: sqlite3.Cursor, session_id: str) -> SessionInfo | None:
    row = cur.execute(
        f"SELECT {_COLUMNS} FROM {SESSIONS_TABLE} WHERE id = ?", (session_id,)
    ).fetchone()
    return SessionInfo(*row) if row else None


class SessionStore:
    """Sessions in one SQLite file, safe to share between threads and processes.

    ``checkpointer`` is the LangGraph saver to compile graphs with; ``record`` notes a
    session's metadata (call it when a run starts). Close it, or use it as a context manager.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        chosen = Path(path) if path is not None else default_store_path()
        self.path = Path(os.path.abspath(chosen.expanduser()))
        prepare_store_file(self.path)
        self._saver = open_saver(self.path)
        self._closed = False

    @property
    def checkpointer(self) -> BaseCheckpointSaver:
        """The saver on this file; it serves both ``invoke`` and ``ainvoke``/``astream``."""
        self._check_open()
        return self._saver

    def record(
        self, session_id: str, *, workspace: str | os.PathLike[str], model: str, title: str = ""
    ) -> SessionInfo:
        """Create the session, or touch it: ``updated_at`` and ``model`` move to now's.

        The title is set once, by the first call that gives a non-empty one; the workspace
        stays the one the session was created in.
        """
        check_session_id(session_id)
        self._check_open()
        now = time.time()
        clipped = clip_title(title)
        with self._saver.write_transaction() as cur:
            if _fetch(cur, session_id) is None:
                messages = self._count_messages(cur, session_id)
                cur.execute(
                    f"INSERT INTO {SESSIONS_TABLE} ({_COLUMNS})"
                    f" VALUES (?, ?, ?, ?, ?, {NEXT_STAMP_SQL}, NULL, ?)",
                    (
                        session_id,
                        clipped,
                        _workspace_key(workspace),
                        model,
                        now,
                        now,
                        messages,
                    ),
                )
            else:
                cur.execute(
                    f"UPDATE {SESSIONS_TABLE} SET updated_at = {NEXT_STAMP_SQL}, model = ?,"
                    " title = CASE WHEN title = '' THEN ? ELSE title END WHERE id = ?",
                    (now, model, clipped, session_id),
                )
            info = _fetch(cur, session_id)
        assert info is not None
        return info

    def get(self, session_id: str) -> SessionInfo | None:
        """The session's metadata, or None if it was never recorded."""
        check_session_id(session_id)
        self._check_open()
        with self._saver.read_cursor() as cur:
            return _fetch(cur, session_id)

    def list(
        self, *, workspace: str | os.PathLike[str] | None = None, limit: int = 50
    ) -> builtins.list[SessionInfo]:
        """Sessions, most recently updated first; only ``workspace``'s when given."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        self._check_open()
        query = f"SELECT {_COLUMNS} FROM {SESSIONS_TABLE}"
        params: tuple = ()
        if workspace is not None:
            query += " WHERE workspace = ?"
            params = (_workspace_key(workspace),)
        query += " ORDER BY updated_at DESC, id LIMIT ?"
        with self._saver.read_cursor() as cur:
            rows = cur.execute(query, (*params, limit)).fetchall()
        return [SessionInfo(*row) for row in rows]

    def latest(self, workspace: str | os.PathLike[str]) -> SessionInfo | None:
        """The workspace's most recently updated session (what ``--continue`` resumes)."""
        found = self.list(workspace=workspace, limit=1)
        return found[0] if found else None

    def fork(self, session_id: str, new_id: str | None = None) -> SessionInfo:
        """Copy a session's whole checkpoint history to a new id whose parent it is.

        The fork's graph state is the original's; from then on the two go their own ways.
        """
        check_session_id(session_id)
        target = check_session_id(new_id) if new_id is not None else uuid.uuid4().hex
        self._check_open()
        now = time.time()
        with self._saver.write_transaction() as cur:
            original = _fetch(cur, session_id)
            if original is None:
                raise KeyError(f"no session {session_id!r} in {self.path}")
            if _fetch(cur, target) is not None or thread_has_checkpoints(cur, target):
                raise ValueError(f"session {target!r} already exists in {self.path}")
            copy_thread_rows(cur, session_id, target)
            cur.execute(
                f"INSERT INTO {SESSIONS_TABLE} ({_COLUMNS})"
                f" VALUES (?, ?, ?, ?, ?, {NEXT_STAMP_SQL}, ?, ?)",
                (
                    target,
                    original.title,
                    original.workspace,
                    original.model,
                    now,
                    now,
                    session_id,
                    original.messages,
                ),
            )
            forked = _fetch(cur, target)
        assert forked is not None
        return forked

    def delete(self, session_id: str) -> None:
        """Remove the session's checkpoints and metadata; KeyError if neither exists."""
        check_session_id(session_id)
        self._check_open()
        with self._saver.read_cursor() as cur:
            known = _fetch(cur, session_id) is not None or thread_has_checkpoints(cur, session_id)
        if not known:
            raise KeyError(f"no session {session_id!r} in {self.path}")
        # Checkpoints first: an interruption then leaves a listed, empty session to delete
        # again, never checkpoints that no listing shows.
        self._saver.delete_thread(session_id)
        with self._saver.write_transaction() as cur:
            cur.execute(f"DELETE FROM {SESSIONS_TABLE} WHERE id = ?", (session_id,))

    def close(self) -> None:
        """Close the connection; later calls do nothing."""
        if self._closed:
            return
        with self._saver.lock:
            self._closed = True
            self._saver.conn.close()

    def __enter__(self) -> SessionStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SessionStore({str(self.path)!r})"

    def _check_open(self) -> None:
        if self._closed:
            raise SessionStoreError(f"session store {self.path} is closed")

    def _count_messages(self, cur: sqlite3.Cursor, session_id: str) -> int:
        """Messages in the thread's latest checkpoint (0 for a thread not yet run)."""
        cur.execute(
            "SELECT type, checkpoint FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ''"
            " ORDER BY checkpoint_id DESC LIMIT 1",
            (session_id,),
        )
        row = cur.fetchone()
        if row is None:
            return 0
        messages = self._saver.serde.loads_typed(row).get("channel_values", {}).get("messages")
        return len(messages) if isinstance(messages, builtins.list) else 0


def list_sessions(
    workspace: str | os.PathLike[str] | None = None,
    *,
    path: str | os.PathLike[str] | None = None,
) -> builtins.list[SessionInfo]:
    """The sessions in the store at ``path`` (default store if None), newest first.

    A store that does not exist yet has no sessions; it is not created by looking.
    """
    chosen = Path(path) if path is not None else default_store_path()
    if not chosen.expanduser().exists():
        return []
    with SessionStore(chosen) as store:
        return store.list(workspace=workspace)
