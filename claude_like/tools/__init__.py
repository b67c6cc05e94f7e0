"""The built-in tools, with Claude Code's names and semantics.

``make_tools(ToolContext(sandbox))`` gives the default set; ``extra=("NotebookEdit",
...)`` adds tools of :data:`EXTRA_TOOL_CLASSES`, which are off by default so that the
default set stays small for 4K-token windows. Tools that declare ``read_only = True``
never change anything, so the agent may run several of them at once.
"""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.tools import BaseTool

from claude_like.tools.base import ClaudeLikeTool, ToolContext
from claude_like.tools.bash import Bash
from claude_like.tools.edit import Edit
from claude_like.tools.exit_plan_mode import ExitPlanMode
from claude_like.tools.glob import Glob
from claude_like.tools.grep import Grep
from claude_like.tools.ls import LS
from claude_like.tools.notebook_edit import NotebookEdit
from claude_like.tools.outline import Outline
from claude_like.tools.read import Read
from claude_like.tools.web_fetch import WebFetch
from claude_like.tools.web_policy import FetchPolicy
from claude_like.tools.write import Write

TOOL_CLASSES: tuple[type[ClaudeLikeTool], ...] = (Read, Write, Edit, Glob, Grep, LS, Bash)
"""In the order they are offered to the model. ``ExitPlanMode`` is not among them: the
agent adds it when it starts in plan mode (each tool costs prompt tokens in small
windows)."""


EXTRA_TOOL_CLASSES: dict[str, type[ClaudeLikeTool]] = {
    "NotebookEdit": NotebookEdit,
    "Outline": Outline,
    "WebFetch": WebFetch,
}
"""Built-in tools offered only when asked for by name (``make_tools(ctx, extra=...)``)."""


def make_tools(ctx: ToolContext, *, include: list[str] | None = None,
               extra: Sequence[str] = ()) -> list[BaseTool]:
    """One instance of each default tool plus the ``extra`` ones, all sharing ``ctx`` (or
    only those named in ``include``)."""
    unknown_extra = set(extra) - set(EXTRA_TOOL_CLASSES)
    if unknown_extra:
        raise ValueError(f"unknown extra tools: {sorted(unknown_extra)}; choose from "
                         f"{', '.join(EXTRA_TOOL_CLASSES)}")
    if "WebFetch" in extra and ctx.web is None:
        raise ValueError("WebFetch is off by default: give it a policy, e.g. ToolContext("
                         "sandbox, web=FetchPolicy(allowed_domains=('docs.python.org',)))")
    classes = [*TOOL_CLASSES, *(EXTRA_TOOL_CLASSES[n] for n in dict.fromkeys(extra))]
    tools: list[BaseTool] = [cls(ctx=ctx) for cls in classes]
    if include is not None:
        unknown = set(include) - {t.name for t in tools}
        if unknown:
            raise ValueError(f"unknown tools: {sorted(unknown)}")
        tools = [t for t in tools if t.name in include]
    return tools


__all__ = [
    "EXTRA_TOOL_CLASSES",
    "LS",
    "TOOL_CLASSES",
    "Bash",
    "ClaudeLikeTool",
    "Edit",
    "ExitPlanMode",
    "FetchPolicy",
    "Glob",
    "Grep",
    "NotebookEdit",
    "Outline",
    "Read",
    "ToolContext",
    "WebFetch",
    "Write",
    "make_tools",
]
