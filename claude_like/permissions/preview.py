"""What an approval shows: the change a Write or Edit would make, as a unified diff.

The current file is read through a callable the caller gives (the sandbox), so this
module never touches the host itself; a file that cannot be read counts as empty for a
Write, and an Edit then shows just ``old_string`` against ``new_string``.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from typing import Any

from claude_like.budget import clip_middle

PREVIEW_LIMIT = 6000
"""Characters of diff kept for the user (cut in the middle beyond)."""

Reader = Callable[[str], str | None]


def _diff(before: str, after: str, path: str) -> str:
    lines = difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                 fromfile=f"a/{path}", tofile=f"b/{path}", n=2)
    text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    return clip_middle(text, PREVIEW_LIMIT) if text else "(no change)\n"


def preview(tool: str, tool_input: Mapping[str, Any], read: Reader, *,
            display: Callable[[str], str] = str) -> str | None:
    """The diff for a Write or Edit call (None for other tools)."""
    path = tool_input.get("file_path")
    if tool not in ("Write", "Edit") or not isinstance(path, str) or not path:
        return None
    shown = display(path)
    try:
        current = read(path)
    except Exception:  # a preview must never stop the approval itself
        current = None
    if tool == "Write":
        return _diff(current or "", str(tool_input.get("content", "")), shown)
    old, new = str(tool_input.get("old_string", "")), str(tool_input.get("new_string", ""))
    if current is not None and old and old in current:
        count = -1 if tool_input.get("replace_all") else 1
        return _diff(current, current.replace(old, new, count), shown)
    return _diff(old, new, shown)
