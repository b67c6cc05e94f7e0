"""Which store and which session an agent starts with, from the Claude Agent SDK's
options (``resume``, ``continue_conversation``, ``fork_session``) and ours (``persist``,
``session_store``, a given checkpointer, an explicit ``thread_id``)."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver

from claude_like.sessions.store import SessionStore


@dataclass
class Storage:
    """The checkpointer to compile with, and the store behind it (None: a checkpointer
    without session metadata, or memory only)."""

    checkpointer: BaseCheckpointSaver
    store: SessionStore | None = None
    owned: bool = False
    """Whether the agent opened the store (and so closes it)."""


def open_storage(checkpointer: BaseCheckpointSaver | None, *, persist: bool,
                 store: SessionStore | str | os.PathLike[str] | None) -> Storage:
    """A given checkpointer wins; else the session store (given, at a path, or the
    default file); ``persist=False`` keeps the conversation in memory."""
    if checkpointer is not None:
        return Storage(checkpointer)
    if not persist:
        return Storage(InMemorySaver())
    if isinstance(store, SessionStore):
        return Storage(store.checkpointer, store)
    opened = SessionStore(store)
    return Storage(opened.checkpointer, opened, owned=True)


def choose_session(store: SessionStore | None, workspace: str, *, thread_id: str | None,
                   resume: str | None, latest: bool, fork: bool) -> str:
    """The session id to run on: ``thread_id`` or ``resume`` as given, else this
    workspace's latest session (``latest``), else a new one; ``fork`` copies the chosen
    session to a new id first. A session to resume that does not exist is a KeyError."""
    chosen = thread_id or resume
    if chosen is None and latest:
        if store is None:
            raise ValueError("continue_conversation needs the session store (persist=True)")
        found = store.latest(workspace)
        chosen = found.id if found is not None else None
    if resume is not None and store is not None and store.get(resume) is None:
        raise KeyError(f"no session {resume!r} in {store.path}")
    if fork and chosen is not None:
        if store is None:
            raise ValueError("fork_session needs the session store (persist=True)")
        return store.fork(chosen).id
    return chosen or uuid.uuid4().hex
