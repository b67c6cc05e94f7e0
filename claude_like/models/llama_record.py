"""What we learned about a llama-server binary on this machine, kept across runs.

A binary that works on one CPU may crash on another (AMX kernels, missing instructions),
so each smoke test's outcome is recorded per (binary, machine): ``ok`` with the extra
arguments it needed (``--no-repack``), or ``broken`` with the crash report. The record is
a small JSON file in the cache; a corrupt or unreadable one counts as "nothing known yet".
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from claude_like.models.llama_build import cache_root, machine_id


@dataclass
class Verdict:
    """One smoke test's outcome for a binary on this machine."""

    status: Literal["ok", "broken"]
    #: Arguments the binary needs here (e.g. ``["--no-repack"]``); empty when none.
    extra_args: list[str] = field(default_factory=list)
    #: For ``broken``: what crashed and why, as shown to the user.
    report: str = ""


def _records_path() -> Path:
    return cache_root() / "llama-server" / "verified.json"


def _key(binary: Path) -> str:
    try:
        st = binary.resolve().stat()
        ident = f"{binary.resolve()}|{st.st_size}|{st.st_mtime_ns}"
    except OSError:
        ident = str(binary)
    return f"{machine_id()}|{ident}"


def _load() -> dict[str, dict[str, object]]:
    try:
        data = json.loads(_records_path().read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def verdict(binary: Path) -> Verdict | None:
    """What is known about ``binary`` on this machine, or None if it was never tested."""
    raw = _load().get(_key(binary))
    if not isinstance(raw, dict) or raw.get("status") not in ("ok", "broken"):
        return None
    args = raw.get("extra_args")
    return Verdict(status=raw["status"],  # type: ignore[arg-type]
                   extra_args=[str(a) for a in args] if isinstance(args, list) else [],
                   report=str(raw.get("report", "")))


def remember(binary: Path, result: Verdict) -> None:
    """Record ``result`` for ``binary`` on this machine (atomic write; best effort)."""
    path = _records_path()
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        data = _load()
        data[_key(binary)] = asdict(result)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".verified-")
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=1)
        os.replace(tmp, path)
