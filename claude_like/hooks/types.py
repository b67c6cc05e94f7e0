"""The shapes of hooks, as the Claude Agent SDK has them, and what a round of hooks decided.

A callback is ``cb(input_data, tool_use_id, context) -> dict``, plain or ``async``; it is
registered under an event name with a :class:`HookMatcher` that says which tools it is for.
The outcomes are what the agent acts on: one per event, already combined over every hook
that ran, with failures turned into messages for the user instead of exceptions.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

HookEvent = Literal[
    "PreToolUse", "PostToolUse", "PostToolUseFailure", "UserPromptSubmit", "Stop"
]
"""The events this package fires (names as in Claude Code)."""

TOOL_EVENTS = frozenset({"PreToolUse", "PostToolUse", "PostToolUseFailure"})
"""Events whose matchers are matched against the tool's name; the others run every hook."""

Decision = Literal["allow", "deny", "ask"]

HookCallback = Callable[
    [dict[str, Any], "str | None", "HookContext"],
    "dict[str, Any] | Awaitable[dict[str, Any]]",
]

DEFAULT_TIMEOUT = 60.0
"""Seconds a hook may take when its matcher or command sets no timeout (as in Claude Code)."""


@dataclass
class HookContext:
    """Passed to every callback; ``signal`` is kept for the SDK's shape (always None)."""

    signal: Any | None = None


@dataclass
class HookMatcher:
    """Callbacks for the tools ``matcher`` names: None, ``""`` or ``"*"`` is every tool; else
    a tool name or a regular expression the whole name must match (``"Edit|Write"``,
    ``"mcp__.*"``). ``timeout`` in seconds applies to each callback (default 60)."""

    matcher: str | None = None
    hooks: list[HookCallback] = field(default_factory=list)
    timeout: float | None = None


def matcher_matches(matcher: str | None, tool_name: str) -> bool:
    """Whether a matcher (of a HookMatcher or a settings entry) covers ``tool_name``."""
    if matcher is None or matcher in ("", "*"):
        return True
    pattern = _compiled(matcher)
    if pattern is None:  # not a valid expression: only the exact name
        return matcher == tool_name
    return pattern.fullmatch(tool_name) is not None


@functools.lru_cache(maxsize=256)
def _compiled(matcher: str) -> re.Pattern[str] | None:
    try:
        return re.compile(matcher)
    except re.error:
        return None


@dataclass(frozen=True)
class HookReply:
    """What one hook answered, before the answers of a round are combined: a JSON-like
    ``output``, a ``blocking`` error (a command's exit 2, its stderr), plain ``context``
    (a UserPromptSubmit command's stdout), or a ``failure`` that is only reported."""

    name: str
    output: dict[str, Any] | None = None
    blocking: str | None = None
    context: str | None = None
    failure: str | None = None


@dataclass(frozen=True)
class PreToolOutcome:
    """What PreToolUse hooks decided. ``decision`` None: no hook decided, so the normal
    permission rules apply. ``updated_input`` replaces the tool's arguments when set.
    ``messages`` are for the user (hook failures, systemMessages)."""

    decision: Decision | None = None
    reason: str = ""
    updated_input: dict[str, Any] | None = None
    messages: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PostToolOutcome:
    """What PostToolUse hooks said: context to add to the tool's result for the model, and a
    ``block_reason`` to feed back to the model (the tool has already run)."""

    additional_context: str | None = None
    block_reason: str | None = None
    messages: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PromptOutcome:
    """What UserPromptSubmit hooks said: a blocked prompt is not sent to the model."""

    blocked: bool = False
    reason: str = ""
    additional_context: str | None = None
    messages: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StopOutcome:
    """What Stop hooks said: ``block`` means the agent must keep working, told ``reason``."""

    block: bool = False
    reason: str = ""
    messages: list[str] = field(default_factory=list)


__all__ = [
    "DEFAULT_TIMEOUT",
    "TOOL_EVENTS",
    "Decision",
    "HookCallback",
    "HookContext",
    "HookEvent",
    "HookMatcher",
    "HookReply",
    "PostToolOutcome",
    "PreToolOutcome",
    "PromptOutcome",
    "StopOutcome",
    "matcher_matches",
]
