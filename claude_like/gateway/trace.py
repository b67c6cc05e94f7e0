"""The gateway's trace log: one JSON line per request, and context warnings on stderr.

Each record has the time, duration, endpoint, requested model and backend, stream flag,
HTTP status, error, and the token counts: system prompt, tool schemas and messages (the
gateway's approximation, split), the prompt as counted for the window, the backend's own
input / output / cached figures, the window and the generation cap. Message content is
left out unless asked for (``content=True``), and secrets never go in: no headers but the
harmless ones, and with content kept, anything that looks like a key or token is masked.
The file is created with mode 0600 (and narrowed to it if it existed).
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: Shares of the backend's window at which a request is reported on stderr.
WARN_SHARES = (0.75, 0.90)
#: Request headers worth keeping (never auth).
KEPT_HEADERS = ("user-agent", "anthropic-version", "anthropic-beta", "x-app")

_SECRET = re.compile(
    r"(sk-[A-Za-z0-9_\-]{12,}|(?:Bearer|Basic)\s+[A-Za-z0-9._~+/=\-]{8,}"
    r"|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{20,}|xox[abpr]-[A-Za-z0-9\-]{10,}"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----)"
)
REDACTED = "[redacted]"


def scrub(value: Any, extra: tuple[str, ...] = ()) -> Any:
    """``value`` with key-like strings (and the ``extra`` strings, e.g. the gateway's own
    token) masked, recursively."""
    if isinstance(value, str):
        text = _SECRET.sub(REDACTED, value)
        for secret in extra:
            if secret:
                text = text.replace(secret, REDACTED)
        return text
    if isinstance(value, list):
        return [scrub(v, extra) for v in value]
    if isinstance(value, dict):
        return {k: scrub(v, extra) for k, v in value.items()}
    return value


def context_warning(tokens: int, window: int) -> str | None:
    """The stderr line for a request that takes 75% or 90% of the backend's window."""
    share = tokens / window if window else 0.0
    if share < WARN_SHARES[0]:
        return None
    level = "nearly full" if share >= WARN_SHARES[1] else "filling up"
    return (f"gateway: context {level}: request uses {share:.0%} of the backend's window "
            f"({tokens:,} of {window:,} tokens)")


class TraceLog:
    """Appends one JSON record per request to ``path`` (mode 0600)."""

    def __init__(self, path: str | os.PathLike[str], *, content: bool = False,
                 secrets: tuple[str, ...] = ()) -> None:
        self.path = Path(path)
        self.content = content
        self.secrets = secrets
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.fchmod(fd, 0o600)
        finally:
            os.close(fd)

    def write(self, record: dict[str, Any]) -> None:
        line = json.dumps(scrub(record, self.secrets), ensure_ascii=False, default=str)
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as f:
                f.write(line + "\n")


def stderr_warn(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class Tracer:
    """What the app reports per request: the trace record (when a log is set) and the
    window warnings (always)."""

    def __init__(self, log: TraceLog | None, *, backend: str,
                 warn: Callable[[str], None] = stderr_warn) -> None:
        self.log = log
        self.backend = backend
        self.warn = warn

    @property
    def keeps_content(self) -> bool:
        return bool(self.log and self.log.content)

    def check_window(self, tokens: int, window: int) -> None:
        line = context_warning(tokens, window)
        if line:
            self.warn(line)

    def record(self, **fields: Any) -> None:
        if self.log is None:
            return
        started = fields.pop("started", None)
        record: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "duration_ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
            "backend": self.backend,
        }
        record.update(fields)
        if not self.log.content:
            record.pop("request", None)
            record.pop("response", None)
        self.log.write(record)


def headers_of(headers: Any) -> dict[str, str]:
    """The request headers a trace may keep."""
    return {k: str(headers.get(k)) for k in KEPT_HEADERS if headers.get(k)}
