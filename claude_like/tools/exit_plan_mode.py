"""ExitPlanMode: in plan mode, the model presents its plan and waits for the user.

The permission step always asks the user about this call in plan mode (the plan is what
the approval shows); an approval switches the thread to the mode the user picks
(``default`` unless they say otherwise), a refusal keeps it in plan mode with the user's
words. So the tool itself only has to tell the model what happens next.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from claude_like.tools.base import ClaudeLikeTool, ToolInput


class ExitPlanModeInput(ToolInput):
    plan: str = Field(description="The plan, as short Markdown steps: what you will change "
                                  "and how you will check it.")


class ExitPlanMode(ClaudeLikeTool):
    """Read-only: it changes nothing itself; the permission step does the switching."""

    name: str = "ExitPlanMode"
    description: str = (
        "In plan mode, present your plan for the user's approval. Only after approval may "
        "you edit files or run commands."
    )
    args_schema: type[BaseModel] = ExitPlanModeInput
    read_only = True

    def _execute(self, plan: str) -> str:
        return ("The user approved the plan (or plan mode was already off). Carry it out "
                "now, step by step.")
