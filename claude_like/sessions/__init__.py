"""Sessions: conversations kept in SQLite, listable, resumable and forkable.

``SessionStore().checkpointer`` is the LangGraph saver to compile the agent's graph with;
the session id is the graph's ``thread_id``.
"""

from claude_like.sessions.paths import SessionStoreError, default_store_path
from claude_like.sessions.saver import SessionSaver
from claude_like.sessions.store import SessionInfo, SessionStore, list_sessions

__all__ = [
    "SessionInfo",
    "SessionSaver",
    "SessionStore",
    "SessionStoreError",
    "default_store_path",
    "list_sessions",
]
