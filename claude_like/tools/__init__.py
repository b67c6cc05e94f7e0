"""The built-in tools, with Claude Code's names and semantics.

``make_tools(ToolContext(sandbox))`` gives the full set; tools that declare
``read_only = True`` never change anything, so the agent may run several of them at once.
"""

from __future__ import annotations

from langchain_core.tools import BaseTool

from claude_like.tools.base import ClaudeLikeTool, ToolContext
from claude_like.tools.bash import Bash
from claude_like.tools.edit import Edit
from claude_like.tools.exit_plan_mode import ExitPlanMode
from claude_like.tools.glob import Glob
from claude_like.tools.grep import Grep
from claude_like.tools.ls import LS
from claude_like.tools.read import Read
from claude_like.tools.write import Write

TOOL_CLASSES: tuple[type[ClaudeLikeTool], ...] = (Read, Write, Edit, Glob, Grep, LS, Bash)
"""In the order they are offered to the model. ``ExitPlanMode`` is not among them: the
agent adds it when it starts in plan mode (each tool costs prompt tokens in small
windows)."""


def make_tools(ctx: ToolContext, *, include: list[str] | None = None) -> list[BaseTool]:
    """One instance of each built-in tool (or of those named in ``include``) sharing ``ctx``."""
    tools: list[BaseTool] = [cls(ctx=ctx) for cls in TOOL_CLASSES]
    if include is not None:
        unknown = set(include) - {t.name for t in tools}
        if unknown:
            raise ValueError(f"unknown tools: {sorted(unknown)}")
        tools = [t for t in tools if t.name in include]
    return tools


__all__ = [
    "LS",
    "TOOL_CLASSES",
    "Bash",
    "ClaudeLikeTool",
    "Edit",
    "ExitPlanMode",
    "Glob",
    "Grep",
    "Read",
    "ToolContext",
    "Write",
    "make_tools",
]
