"""A SQLite checkpointer that serves sync and async graph calls on one object.

LangGraph's ``SqliteSaver`` refuses the async methods and ``AsyncSqliteSaver`` can only
serve sync calls from a thread other than its event loop's, so neither lets one agent run
``invoke`` and ``astream`` on the same checkpointer. ``SessionSaver`` keeps the sync
saver and runs each async method's sync twin in a worker thread (the saver's lock already
serialises use of the one connection). It also owns the session metadata table, so the
whole file's schema is created in one place, and keeps each session's message count and
``updated_at`` current as checkpoints arrive.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
)
from langgraph.checkpoint.sqlite import SqliteSaver
from tenacity import retry, retry_if_exception, stop_after_delay, wait_random_exponential

from claude_like.sessions.paths import SessionStoreError

SESSIONS_TABLE = "claude_like_sessions"
SCHEMA_TABLE = "claude_like_schema"
SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 30.0
"""How long a connection waits for another process's write before 'database is locked'."""

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {SCHEMA_TABLE} (
    name TEXT PRIMARY KEY,
    version INTEGER NOT NULL
);
INSERT OR IGNORE INTO {SCHEMA_TABLE} (name, version) VALUES ('sessions', {SCHEMA_VERSION});
CREATE TABLE IF NOT EXISTS {SESSIONS_TABLE} (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL DEFAULT '',
    workspace TEXT NOT NULL,
    model TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    parent TEXT,
    messages INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS {SESSIONS_TABLE}_by_workspace
    ON {SESSIONS_TABLE} (workspace, updated_at);
"""

# Strictly after every other session's stamp, so "newest first" never ties, even when two
# touches fall in one clock tick or come from two processes.
NEXT_STAMP_SQL = f"MAX(?, COALESCE((SELECT MAX(updated_at) FROM {SESSIONS_TABLE}), 0) + 1e-6)"

_NOT_A_DATABASE = ("file is not a database", "malformed", "not a database")


def _is_locked(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and (
        "locked" in str(exc) or "busy" in str(exc)
    )


# Switching a new file to WAL, and WAL recovery after a crash, can report 'database is
# locked' at once without consulting the busy timeout; opening is retried instead.
_retry_while_locked = retry(
    retry=retry_if_exception(_is_locked),
    stop=stop_after_delay(BUSY_TIMEOUT_S),
    wait=wait_random_exponential(multiplier=0.01, max=0.25),
    reraise=True,
)


def open_saver(path: Path) -> SessionSaver:
    """Open ``path`` as a SessionSaver: any thread, WAL mode, waiting on other writers.

    A file that is not SQLite (or is damaged) raises SessionStoreError naming it; nothing
    is written to such a file.
    """
    try:
        return _open_saver_once(path)
    except sqlite3.Error as exc:
        if any(mark in str(exc) for mark in _NOT_A_DATABASE):
            raise SessionStoreError(
                f"session store {path} is not a SQLite database or is damaged ({exc});"
                " move it aside or choose another path (it was left untouched)"
            ) from exc
        raise SessionStoreError(f"cannot use session store {path}: {exc}") from exc
    except SessionStoreError as exc:
        raise SessionStoreError(f"cannot use session store {path}: {exc}") from exc


@_retry_while_locked
def _open_saver_once(path: Path) -> SessionSaver:
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, check_same_thread=False)
    try:
        # Reading the schema first fails on a foreign file before any pragma writes to it.
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise SessionStoreError(f"cannot use WAL journaling (journal mode {mode})")
        conn.execute("PRAGMA synchronous=NORMAL")  # safe with WAL; one fsync per checkpoint
        saver = SessionSaver(conn)
        with saver.lock:
            saver.setup()
    except BaseException:
        conn.close()
        raise
    return saver


class SessionSaver(SqliteSaver):
    """``SqliteSaver`` with working async methods, ``copy_thread`` and session upkeep."""

    def setup(self) -> None:
        """Create LangGraph's tables and ours; refuse a schema from a newer claude-like."""
        if self.is_setup:
            return
        super().setup()
        try:
            self.conn.executescript(_SCHEMA)
            (version,) = self.conn.execute(
                f"SELECT version FROM {SCHEMA_TABLE} WHERE name = 'sessions'"
            ).fetchone()
        except BaseException:
            self.is_setup = False
            raise
        if version > SCHEMA_VERSION:
            self.is_setup = False
            raise SessionStoreError(
                f"it was written by a newer claude-like (schema {version},"
                f" this one knows {SCHEMA_VERSION})"
            )

    @contextmanager
    def write_transaction(self) -> Iterator[sqlite3.Cursor]:
        """One atomic write: takes the write lock up front (BEGIN IMMEDIATE).

        A deferred transaction that reads before it writes can fail at once with 'database
        is locked' when another process wrote in between; an immediate one waits its turn.
        """
        with self.lock:
            self.setup()
            cur = self.conn.cursor()
            try:
                cur.execute("BEGIN IMMEDIATE")
                yield cur
                self.conn.commit()
            except BaseException:
                self.conn.rollback()
                raise
            finally:
                cur.close()

    @contextmanager
    def read_cursor(self) -> Iterator[sqlite3.Cursor]:
        """A cursor for reads, holding the connection's lock."""
        with self.cursor(transaction=False) as cur:
            yield cur

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Store the checkpoint, then note the session's message count and activity."""
        saved = super().put(config, checkpoint, metadata, new_versions)
        configurable = config["configurable"]
        if configurable.get("checkpoint_ns", "") == "":  # the root graph, not a subgraph
            messages = checkpoint.get("channel_values", {}).get("messages")
            with self.cursor() as cur:
                update_session_activity(
                    cur,
                    str(configurable["thread_id"]),
                    len(messages) if isinstance(messages, list) else None,
                )
        return saved

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Copy every checkpoint and write of one thread to an unused thread id."""
        with self.write_transaction() as cur:
            copy_thread_rows(cur, str(source_thread_id), str(target_thread_id))

    # -- async twins: the sync method in a worker thread, off the event loop --

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return await asyncio.to_thread(self.get_tuple, config)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        # Drained in the worker: ``list`` holds the lock while it yields.
        fetch = partial(self.list, config, filter=filter, before=before, limit=limit)
        for item in await asyncio.to_thread(lambda: [*fetch()]):
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return await asyncio.to_thread(self.put, config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        await asyncio.to_thread(self.put_writes, config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        await asyncio.to_thread(self.delete_thread, thread_id)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        await asyncio.to_thread(self.copy_thread, source_thread_id, target_thread_id)

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        return await asyncio.to_thread(
            partial(self.get_delta_channel_history, config=config, channels=channels)
        )


def update_session_activity(cur: sqlite3.Cursor, session_id: str, messages: int | None) -> None:
    """Touch a recorded session's ``updated_at`` and, when known, its message count."""
    cur.execute(
        f"UPDATE {SESSIONS_TABLE} SET updated_at = {NEXT_STAMP_SQL},"
        " messages = COALESCE(?, messages) WHERE id = ?",
        (time.time(), messages, session_id),
    )


def thread_has_checkpoints(cur: sqlite3.Cursor, thread_id: str) -> bool:
    cur.execute("SELECT 1 FROM checkpoints WHERE thread_id = ? LIMIT 1", (thread_id,))
    return cur.fetchone() is not None


def copy_thread_rows(cur: sqlite3.Cursor, source: str, target: str) -> None:
    """Copy the checkpoints and pending writes of ``source`` under ``target`` (same cursor's
    transaction). Every column is carried over, so the copy's state is the original's."""
    if thread_has_checkpoints(cur, target):
        raise ValueError(f"thread {target!r} already has checkpoints; copy into a new id")
    for table in ("checkpoints", "writes"):
        columns = [row[1] for row in cur.execute(f"PRAGMA table_info({table})").fetchall()]
        others = [c for c in columns if c != "thread_id"]
        names = ", ".join(others)
        cur.execute(
            f"INSERT INTO {table} (thread_id, {names}) SELECT ?, {names} FROM {table}"
            " WHERE thread_id = ?",
            (target, source),
        )
