"""Command-line values that need more than typer's parsing: tool-rule lists and modes."""

from __future__ import annotations

from enum import Enum

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
