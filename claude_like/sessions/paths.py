"""Where the session store lives, and creating it private to its user.

Conversations hold code, paths and sometimes secrets pasted into prompts, so the folder is
created 0700 and the file 0600 before SQLite ever opens it (SQLite gives its -wal and -shm
files the same mode as the database file).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

STORE_FILE_NAME = "sessions.sqlite"

_SESSION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


class SessionStoreError(RuntimeError):
    """The session store's file cannot be used (not SQLite, damaged, unreadable, too new)."""


def default_store_path() -> Path:
    """``$CLAUDE_LIKE_DATA_DIR/sessions.sqlite``, else the XDG data folder's ``claude-like/``."""
    explicit = os.environ.get("CLAUDE_LIKE_DATA_DIR")
    if explicit:
        return Path(explicit).expanduser() / STORE_FILE_NAME
    xdg = os.environ.get("XDG_DATA_HOME", "")
    # The XDG spec says a relative value is invalid and must be ignored.
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".local" / "share"
    return base / "claude-like" / STORE_FILE_NAME


def check_session_id(session_id: object) -> str:
    """Return ``session_id`` if it is a plain token (letters, digits, ``_.-``), else ValueError.

    Ids end up in file names, CLI arguments and log lines; a plain token is safe in all.
    """
    if not isinstance(session_id, str) or not _SESSION_ID.fullmatch(session_id):
        raise ValueError(
            f"invalid session id {session_id!r}: use 1-128 letters, digits, '_', '.' or '-',"
            " starting with a letter or digit"
        )
    return session_id


def prepare_store_file(path: Path) -> None:
    """Create the folder (0700) and an empty file (0600) if missing; leave existing ones be."""
    if path.is_dir():
        raise SessionStoreError(f"session store {path} is a directory, not a file")
    folder = path.parent
    if not folder.exists():
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(folder, 0o700)  # mkdir's mode is filtered by the umask
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # existing store, or another process created it just now
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
