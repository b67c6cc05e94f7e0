"""TodoWrite: the model rewrites its task list (see :mod:`claude_like.todos`).

The new list goes into the graph state through the result's artifact (the tool node
merges ``artifact["state"]``), so it is checkpointed with the conversation, shown to the
model every turn and streamed as an event.
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.tools import ToolException
from pydantic import BaseModel, Field

from claude_like.todos import Todo, TodoError, check_todos, render_todos, summary
from claude_like.tools.base import ClaudeLikeTool, ToolInput


class TodoItem(BaseModel):
    content: str = Field(description="What to do, short.")
    status: Literal["pending", "in_progress", "completed"]
    activeForm: str = Field(default="", description="The same in -ing form (optional).")


class TodoWriteInput(ToolInput):
    todos: list[TodoItem] = Field(description=(
        'The whole updated list. Example: [{"content": "Fix the test", "status": '
        '"in_progress"}, {"content": "Run the tests", "status": "pending"}]'))


class TodoWrite(ClaudeLikeTool):
    """Changes nothing outside the state; safe to run beside read-only calls."""

    name: str = "TodoWrite"
    description: str = (
        "Write your task list for multi-step work: the whole list each time, one item "
        "in_progress at a time, mark items completed as soon as they are done."
    )
    args_schema: type[BaseModel] = TodoWriteInput
    response_format: Literal["content", "content_and_artifact"] = "content_and_artifact"
    read_only = True

    def _execute(self, todos: list[Any]) -> tuple[str, dict[str, Any]]:
        items: list[Todo] = [
            {"content": t.content, "status": t.status, "activeForm": t.activeForm}
            if isinstance(t, TodoItem) else t for t in todos]
        try:
            kept = check_todos(items)
        except TodoError as exc:
            raise ToolException(f"Todo list not changed: {exc}.") from exc
        text = f"Todo list updated ({summary(kept)}):\n{render_todos(kept)}"
        return text, {"state": {"todos": kept}}
