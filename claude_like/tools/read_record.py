"""What each conversation has read: so Write and Edit never overwrite a file blind.

A file may be changed only by a conversation that has Read it, and only while it is still
what was read: the record keeps each file's modification time, size and content hash, per
conversation thread (LangGraph's ``thread_id``; calls without one, such as direct tool
use, share :data:`DEFAULT_THREAD`). The user editing the file, a Bash command, or another
conversation makes the record stale, and Write/Edit then ask for a fresh Read.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from claude_like.sandbox.base import DEFAULT_SESSION, FileInfo

DEFAULT_THREAD = DEFAULT_SESSION
"""The key of calls that name no thread (and the shell session they share)."""


def thread_key(config: Mapping[str, Any] | None) -> str:
    """The conversation a tool call belongs to: the ``thread_id`` of its RunnableConfig."""
    configurable = (config or {}).get("configurable") or {}
    thread = configurable.get("thread_id")
    return str(thread) if thread not in (None, "") else DEFAULT_THREAD


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class ReadStamp:
    """A file as it was when read (or last written by the tools)."""

    mtime: float
    size: int
    sha256: str | None
    """None when the file was too big to hash; then mtime and size decide."""

    def matches(self, info: FileInfo, data: bytes | None) -> bool:
        """True if the file is still what was read."""
        if (info.mtime, info.size) != (self.mtime, self.size):
            return False
        return data is None or self.sha256 is None or digest(data) == self.sha256


class ReadRecord:
    """Thread id -> resolved path -> :class:`ReadStamp`. Safe to use from many threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._threads: dict[str, dict[str, ReadStamp]] = {}

    def remember(self, thread: str, path: str, info: FileInfo, data: bytes | None) -> None:
        stamp = ReadStamp(info.mtime, info.size, None if data is None else digest(data))
        with self._lock:
            self._threads.setdefault(thread, {})[path] = stamp

    def get(self, thread: str, path: str) -> ReadStamp | None:
        with self._lock:
            return self._threads.get(thread, {}).get(path)
