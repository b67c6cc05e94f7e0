"""Command-line values that need more than typer's parsing: tool-rule lists and modes."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from claude_like.permissions.modes import MODES

PermissionModeChoice = Enum(  # type: ignore[misc]
    "PermissionModeChoice", {mode: mode for mode in MODES}, type=str)
"""The permission modes as a typer choice (help lists them, a typo is a usage error)."""

OUTPUT_FORMATS = ("text", "json", "stream-json")
OutputFormat = Enum(  # type: ignore[misc]
    "OutputFormat", {name.replace("-", "_"): name for name in OUTPUT_FORMATS}, type=str)
"""``--output-format``: text (people), json (one object at the end), stream-json (one
object per line per event), as Claude Code's option of that name."""


def split_tool_rules(values: list[str] | None) -> list[str]:
    """Rules from repeated ``--allowedTools`` values, each holding one or more rules
    separated by commas or spaces: ``["Bash(git diff:*) Edit", "Read,Write"]`` ->
    ``["Bash(git diff:*)", "Edit", "Read", "Write"]``. Separators inside parentheses
    belong to the rule (``Bash(git status:*)``)."""
    rules: list[str] = []
    for value in values or []:
        depth, current = 0, ""
        for char in value:
            if char in ", \t\n" and depth == 0:
                if current:
                    rules.append(current)
                current = ""
                continue
            depth += (char == "(") - (char == ")" and depth > 0)
            current += char
        if current:
            rules.append(current)
    return rules

ModelOption = Annotated[
    str | None,
    typer.Option(help="Model spec, e.g. ollama:qwen2.5-coder:7b; default $CLAUDE_LIKE_MODEL."),
]
WorkspaceOption = Annotated[Path, typer.Option(help="The only folder the tools may touch.")]
SandboxOption = Annotated[str, typer.Option(help="local or docker.")]
ContextWindowOption = Annotated[
    int | None,
    typer.Option(help="Tokens the model holds per request (default: what the server says)."),
]
"""Options the one-shot run and the interactive session declare alike."""
