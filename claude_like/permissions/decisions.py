"""The ``can_use_tool`` callback's values, in the Claude Agent SDK's shape.

A callback ``can_use_tool(tool_name, tool_input, context)`` (sync or async) returns
:class:`PermissionResultAllow` (optionally with ``updated_input`` and
``updated_permissions``) or :class:`PermissionResultDeny` (a ``message`` for the model;
``interrupt=True`` also ends the run). Plain dicts of the SDK's wire shape
(``{"behavior": "allow", "updatedInput": {...}}``) are accepted too, and so are the
words ``"allow"`` / ``"deny"``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from claude_like.permissions.modes import PermissionMode, check_mode
from claude_like.permissions.rules import parse_rule


@dataclass(frozen=True)
class PermissionResultAllow:
    """Run the call, with ``updated_input`` instead of the model's arguments if given."""

    updated_input: dict[str, Any] | None = None
    updated_permissions: list[Any] | None = None
    """Rules to add for the rest of the session (``"Bash(git diff:*)"`` strings or the
    SDK's ``{"type": "addRules", "rules": [{"toolName", "ruleContent"}]}`` updates), or
    ``{"type": "setMode", "mode": "acceptEdits"}``."""
    behavior: Literal["allow"] = "allow"


@dataclass(frozen=True)
class PermissionResultDeny:
    """Refuse the call; ``message`` reaches the model; ``interrupt`` ends the run."""

    message: str = ""
    interrupt: bool = False
    behavior: Literal["deny"] = "deny"


PermissionResult = PermissionResultAllow | PermissionResultDeny


@dataclass(frozen=True)
class ToolPermissionContext:
    """What the callback knows besides the tool's name and input."""

    tool_use_id: str = ""
    reason: str = ""
    """Why the call was not settled by the rules (e.g. ``default mode asks before Bash``)."""
    rule: str | None = None
    """The ask rule that caught it, if one did."""
    mode: str = "default"
    suggestions: list[str] = field(default_factory=list)
    """A rule that would allow calls like this one for the session (``always``)."""
    diff: str | None = None
    """For Write and Edit: the change as a unified diff."""
    signal: Any = None


Answer = PermissionResult | Mapping[str, Any] | str
CanUseTool = Callable[[str, dict[str, Any], ToolPermissionContext], Answer | Awaitable[Answer]]


class PermissionCallbackError(ValueError):
    """A callback answered with something that is not a permission result."""


def to_result(value: Any) -> PermissionResult:
    """The callback's answer as a typed result (dicts and ``"allow"``/``"deny"`` too)."""
    if isinstance(value, PermissionResultAllow | PermissionResultDeny):
        return value
    if value in ("allow", "deny"):
        return PermissionResultAllow() if value == "allow" else PermissionResultDeny()
    if isinstance(value, Mapping):
        behavior = value.get("behavior")
        if behavior == "allow":
            updated = value.get("updated_input", value.get("updatedInput"))
            if updated is not None and not isinstance(updated, dict):
                raise PermissionCallbackError("updated_input must be a dict of arguments")
            perms = value.get("updated_permissions", value.get("updatedPermissions"))
            return PermissionResultAllow(updated, list(perms) if perms else None)
        if behavior == "deny":
            return PermissionResultDeny(str(value.get("message") or ""),
                                        bool(value.get("interrupt")))
    raise PermissionCallbackError(
        f"can_use_tool returned {type(value).__name__} {value!r:.80}; return "
        "PermissionResultAllow(...) or PermissionResultDeny(message=...)")


def session_updates(updates: Sequence[Any] | None) -> tuple[list[str], PermissionMode | None]:
    """Allow rules and a mode change from ``updated_permissions``; a malformed update is a
    PermissionCallbackError (never half applied)."""
    rules: list[str] = []
    mode: PermissionMode | None = None
    for update in updates or ():
        if isinstance(update, str):
            rules.append(str(parse_rule(update)))
        elif isinstance(update, Mapping) and update.get("type") == "setMode":
            mode = check_mode(str(update.get("mode")))
        elif isinstance(update, Mapping) and update.get("type") == "addRules" \
                and update.get("behavior", "allow") == "allow":
            for rule in update.get("rules") or ():
                name, content = rule.get("toolName"), rule.get("ruleContent")
                rules.append(str(parse_rule(f"{name}({content})" if content else str(name))))
        else:
            raise PermissionCallbackError(f"unsupported permission update {update!r:.80}")
    return rules, mode
