"""One agent's tool set: the built-in tools (or the caller's), the optional ones it asked
for, sub-agents' Task, the caller's extra tools, and ExitPlanMode in plan mode.

Optional tools are off by default because every tool schema costs prompt tokens, which a
4K-token local window cannot spare; ask for them by name (``optional_tools=``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from langchain_core.tools import BaseTool

from claude_like.sandbox.base import Sandbox
from claude_like.subagents import AgentDefinition, SubagentRunner
from claude_like.tools import EXTRA_TOOL_CLASSES, ExitPlanMode, ToolContext, make_tools
from claude_like.tools.task import Task
from claude_like.tools.todo_write import TodoWrite
from claude_like.tools.web_policy import FetchPolicy

OPTIONAL_TOOLS = ("TodoWrite", "Task", *EXTRA_TOOL_CLASSES)
"""Tools an agent adds when asked (``Task`` also comes with ``agents=``, ``WebFetch`` with
a fetch policy)."""


@dataclass
class Toolset:
    tools: list[BaseTool]
    ctx: ToolContext
    runner: SubagentRunner | None = None
    """Runs Task's sub-agents (bound to the agent once it is built; closed with it)."""

    def add_plan_tool(self) -> None:
        """ExitPlanMode, for an agent that starts in plan mode."""
        if not any(t.name == "ExitPlanMode" for t in self.tools):
            self.tools.append(ExitPlanMode(ctx=self.ctx))


def build_toolset(sandbox: Sandbox, output_limit: int, *, tools: Sequence[BaseTool] | None,
                  extra_tools: Sequence[BaseTool] = (), optional: Sequence[str] = (),
                  agents: Mapping[str, AgentDefinition] | bool | None = None,
                  web: FetchPolicy | None = None) -> Toolset:
    """The tools in the order they are offered: built-in, optional, extra. ``web`` turns
    WebFetch on with that policy."""
    unknown = set(optional) - set(OPTIONAL_TOOLS)
    if unknown:
        raise ValueError(f"unknown optional tools {sorted(unknown)}; choose from "
                         f"{', '.join(OPTIONAL_TOOLS)}")
    ctx = ToolContext(sandbox, output_limit=output_limit, web=web)
    extra = [n for n in optional if n in EXTRA_TOOL_CLASSES]
    if web is not None and "WebFetch" not in extra:
        extra.append("WebFetch")
    chosen: list[BaseTool] = list(tools) if tools is not None else make_tools(ctx, extra=extra)
    if "TodoWrite" in optional:
        chosen.append(TodoWrite(ctx=ctx))
    runner = None
    if agents or "Task" in optional:
        runner = SubagentRunner(agents if isinstance(agents, Mapping) else None)
        chosen.append(Task(runner=runner, description=(
            "Give a self-contained job to a sub-agent with a fresh context; you get only its "
            f"report. Several Task calls run at once. Types: {runner.describe()}")))
    return Toolset([*chosen, *extra_tools], ctx, runner)
