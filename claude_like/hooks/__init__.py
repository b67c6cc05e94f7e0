"""Hooks: code the user runs at points of the agent's loop, in the Claude Agent SDK's shape
(``HookMatcher`` callbacks) and as Claude Code's command hooks from settings files.

``Hooks(...).pre_tool_use(...)`` and the other events return typed outcomes; a failing hook
never stops the run, it becomes a message for the user.
"""

from claude_like.hooks.command import HookConfigError, parse_command_hooks
from claude_like.hooks.runner import Hooks
from claude_like.hooks.types import (
    DEFAULT_TIMEOUT,
    HookCallback,
    HookContext,
    HookEvent,
    HookMatcher,
    PostToolOutcome,
    PreToolOutcome,
    PromptOutcome,
    StopOutcome,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "HookCallback",
    "HookConfigError",
    "HookContext",
    "HookEvent",
    "HookMatcher",
    "Hooks",
    "PostToolOutcome",
    "PreToolOutcome",
    "PromptOutcome",
    "StopOutcome",
    "parse_command_hooks",
]
