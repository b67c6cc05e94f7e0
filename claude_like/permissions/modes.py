"""Permission modes (the Claude Agent SDK's names) and the one decision per tool call.

- ``default``: read-only tools run; writes, edits and Bash ask unless a rule allows them.
- ``acceptEdits``: file edits inside the workspace run as well; Bash still asks.
- ``plan``: only read-only tools run; everything else is refused with a pointer to
  ``ExitPlanMode`` (the user's approval of the plan switches the mode).
- ``bypassPermissions``: everything runs; the sandbox is the only limit. A user's explicit
  deny rule still holds (a rule the user wrote never silently loses).

Order of the decision: deny rules, then the mode's hard limits (plan), then the
dangerous-command check (always asks in ``default`` and ``acceptEdits``), then ask and
allow rules, then the mode's default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from claude_like.permissions.dangerous import danger
from claude_like.permissions.rules import (
    EDIT_TOOLS,
    SHELL_TOOLS,
    Behavior,
    RuleSet,
    absolute,
    call_path,
)

PermissionMode = Literal["default", "acceptEdits", "plan", "bypassPermissions"]
MODES: tuple[PermissionMode, ...] = ("default", "acceptEdits", "plan", "bypassPermissions")


@dataclass(frozen=True)
class Decision:
    """What happens to one tool call, and why (shown to the user and, on a refusal, to
    the model)."""

    behavior: Behavior
    reason: str
    rule: str | None = None
    """The rule that decided, as the user wrote it (``Bash(git push:*)``), if one did."""


def check_mode(mode: str) -> PermissionMode:
    """``mode`` if it is a permission mode, else a ValueError that lists them."""
    if mode not in MODES:
        raise ValueError(f"permission_mode must be one of {', '.join(MODES)}, not {mode!r}")
    return mode  # type: ignore[return-value]


def _inside(path: str, root: str) -> bool:
    full = absolute(path, root)
    return full == root or full.startswith(root.rstrip("/") + "/")


def decide(mode: str, tool: str, tool_input: Mapping[str, Any], rules: RuleSet, *,
           read_only: bool, scratch: str = "") -> Decision:
    """The decision for one call of ``tool`` (``read_only`` as the tool declares)."""
    mode = check_mode(mode)
    ruled = rules.decide(tool, tool_input)
    if ruled is not None and ruled[0] == "deny":
        return Decision("deny", f"a deny rule forbids it ({ruled[1]})", str(ruled[1]))
    if mode == "bypassPermissions":
        return Decision("allow", "bypassPermissions mode")
    if mode == "plan" and not read_only:
        return Decision("deny", "plan mode allows only read-only tools: present the plan "
                        "with ExitPlanMode and wait for the user's approval")
    if tool in SHELL_TOOLS:
        reason = danger(str(tool_input.get("command", "")), scratch=scratch)
        if reason:
            return Decision("ask", f"a dangerous command: it {reason}")
    if ruled is not None:
        behavior, rule = ruled
        return Decision(behavior, f"{'an ask' if behavior == 'ask' else 'an allow'} rule "
                        f"({rule})", str(rule))
    if read_only:
        return Decision("allow", "a read-only tool")
    if mode == "acceptEdits" and tool in EDIT_TOOLS:
        path = call_path(tool_input)
        if path is not None and _inside(path, rules.root):
            return Decision("allow", "acceptEdits mode: an edit inside the workspace")
    return Decision("ask", f"{mode} mode asks before {tool}")
