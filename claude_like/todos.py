"""The agent's task list (Claude Code's TodoWrite): items in the graph state, a compact
form the model is shown every turn, and the rule of one item in progress at a time.

Small models lose track of multi-step work; a short list they rewrite as they go, and see
again on every turn, keeps them on it for a few dozen tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from langchain_core.messages import HumanMessage
from typing_extensions import TypedDict

from claude_like.budget import clip_end

Status = Literal["pending", "in_progress", "completed"]
MARKS: dict[str, str] = {"completed": "[x]", "in_progress": "[>]", "pending": "[ ]"}
MAX_ITEMS = 30
ITEM_CHARS = 160
REMINDER_HEAD = "[your todo list; update it with TodoWrite as you go]"


class Todo(TypedDict):
    """One item: what to do, its status, and (optionally) how it reads while in progress."""

    content: str
    status: Status
    activeForm: str


class TodoError(ValueError):
    """A list the model must fix (the message says how)."""


def check_todos(todos: Sequence[Todo]) -> list[Todo]:
    """The list as kept: at most one item in progress, no empty item, not too many."""
    if len(todos) > MAX_ITEMS:
        raise TodoError(f"at most {MAX_ITEMS} items; merge small steps")
    doing = [t for t in todos if t["status"] == "in_progress"]
    if len(doing) > 1:
        raise TodoError("only one item may be in_progress at a time; mark the others "
                        "pending or completed")
    out: list[Todo] = []
    for item in todos:
        content = " ".join(item["content"].split())
        if not content:
            raise TodoError("an item has no content")
        out.append({"content": clip_end(content, ITEM_CHARS), "status": item["status"],
                    "activeForm": clip_end(" ".join((item.get("activeForm") or "").split()),
                                           ITEM_CHARS)})
    return out


def render_todos(todos: Sequence[Todo]) -> str:
    """One line per item: ``[x] done``, ``[>] doing``, ``[ ] to do``."""
    return "\n".join(f"{MARKS[t['status']]} {t['content']}" for t in todos)


def summary(todos: Sequence[Todo]) -> str:
    done = sum(t["status"] == "completed" for t in todos)
    doing = sum(t["status"] == "in_progress" for t in todos)
    return f"{done} completed, {doing} in progress, {len(todos) - done - doing} pending"


def reminder(todos: Sequence[Todo]) -> HumanMessage | None:
    """What the model is shown at the end of each request while the list has open items
    (not kept in the conversation, so the cached prefix does not change)."""
    if not todos or all(t["status"] == "completed" for t in todos):
        return None
    return HumanMessage(content=f"{REMINDER_HEAD}\n{render_todos(todos)}")
