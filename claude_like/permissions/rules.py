"""Permission rules in Claude Code's syntax: ``Read``, ``Bash(git status)``,
``Bash(npm run test:*)``, ``Edit(src/**)``, ``Read(./.env)``.

A rule names a tool and, optionally, what it may touch:

- shell rules (``Bash(...)``): an exact command, or a prefix ending in ``:*`` (``git
  diff:*`` matches ``git diff`` and ``git diff --stat``, not ``git difftool``). They judge
  each simple command of a compound line: an allow rule allows the line only when every
  command is allowed, a deny or ask rule catches the line when any command matches.
- MCP rules: ``mcp__<server>__<tool>`` names one tool of an MCP server; ``mcp__<server>``
  and ``mcp__<server>__*`` cover all of that server's tools (``mcp__*``: every MCP tool).
- path rules (``Read(...)``, ``Edit(...)``): gitignore-style globs (``pathspec``) on the
  path the tool touches. ``//abs/path`` is absolute, ``~/x`` is in the home folder, and
  ``/x``, ``./x`` and ``x`` are relative to the workspace. ``Edit`` rules cover every tool
  that changes files, ``Read`` rules every tool that reads them.

:class:`RuleSet` decides: deny beats ask beats allow; no match is ``None`` (the mode
decides).
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pathspec

from claude_like.permissions.shell_words import UnparsableCommand, split_commands

Behavior = Literal["allow", "ask", "deny"]

SHELL_TOOLS = frozenset({"Bash"})
EDIT_TOOLS = frozenset({"Edit", "Write", "NotebookEdit"})
READ_TOOLS = frozenset({"Read", "Glob", "Grep", "LS", "Outline"})
PATH_KEYS = ("file_path", "notebook_path", "path")
_RULE = re.compile(r"^\s*([A-Za-z_][\w.-]*(?:__\*)?)\s*(?:\((.*)\))?\s*$", re.DOTALL)


class RuleError(ValueError):
    """A rule string that is not in Claude Code's syntax."""


@dataclass(frozen=True)
class Rule:
    """One parsed rule: a tool name and an optional specifier (what is inside the
    parentheses)."""

    tool: str
    specifier: str | None = None

    def __str__(self) -> str:
        return self.tool if self.specifier is None else f"{self.tool}({self.specifier})"

    def covers(self, tool: str) -> bool:
        """Whether this rule speaks about calls of ``tool``."""
        if self.tool == tool:
            return True
        if self.specifier is None:
            return self._covers_mcp(tool)
        return (self.tool == "Edit" and tool in EDIT_TOOLS) or (
            self.tool == "Read" and tool in READ_TOOLS)

    def _covers_mcp(self, tool: str) -> bool:
        """Claude Code's server-wide MCP rules: ``mcp__github`` and ``mcp__github__*`` cover
        every ``mcp__github__<tool>``; ``mcp__*`` covers every MCP tool."""
        if not self.tool.startswith("mcp__"):
            return False
        if self.tool.endswith("__*"):
            return tool.startswith(self.tool[:-1])
        return self.tool.count("__") == 1 and tool.startswith(self.tool + "__")


def parse_rule(text: str) -> Rule:
    """``Bash(npm run test:*)`` -> Rule("Bash", "npm run test:*"); RuleError if malformed."""
    m = _RULE.match(text or "")
    if not m:
        raise RuleError(f"not a permission rule: {text!r} (expected Tool or Tool(specifier))")
    tool, spec = m.group(1), m.group(2)
    if spec is not None:
        spec = spec.strip()
        if not spec or spec == "*":
            spec = None  # Bash() and Bash(*) mean every call, as Claude Code reads them
    return Rule(tool, spec)


# -- matching ------------------------------------------------------------------------------
def _shell_pattern_matches(spec: str, words: tuple[str, ...]) -> bool:
    command = " ".join(words)
    if spec.endswith(":*"):
        prefix = spec[:-2].strip()
        return command == prefix or command.startswith(prefix + " ")
    return command == " ".join(spec.split())


def _resolve_pattern(spec: str, root: str) -> str:
    """The rule's glob as an absolute path pattern."""
    if spec.startswith("//"):
        return spec[1:]
    if spec.startswith("~/"):
        return os.path.expanduser("~") + spec[1:]
    return posixpath.join(root, spec.removeprefix("./").lstrip("/"))


def absolute(path: str, root: str) -> str:
    """``path`` as an absolute, ``..``-folded path (relative ones are under ``root``)."""
    return posixpath.normpath(path if path.startswith("/") else posixpath.join(root, path))


def _path_matches(spec: str, path: str, root: str) -> bool:
    pattern = _resolve_pattern(spec, root)
    target = absolute(path, root)
    if pattern.endswith("/**") and target == pattern[:-3]:
        return True  # a folder whose whole content the rule covers (Glob/Grep/LS on it)
    # The pattern starts with "/", which anchors it at the top of the path matched.
    return pathspec.GitIgnoreSpec.from_lines([pattern]).match_file(target.lstrip("/"))


def call_path(tool_input: Mapping[str, Any]) -> str | None:
    """The path a file tool's call touches (``None`` when it names none)."""
    for key in PATH_KEYS:
        value = tool_input.get(key)
        if isinstance(value, str) and value:
            return value
    return None


@dataclass
class RuleSet:
    """Allow, ask and deny rules, judged against one workspace root."""

    allow: list[Rule] = field(default_factory=list)
    ask: list[Rule] = field(default_factory=list)
    deny: list[Rule] = field(default_factory=list)
    root: str = "/"

    @classmethod
    def from_strings(cls, *, allow: Iterable[str] = (), ask: Iterable[str] = (),
                     deny: Iterable[str] = (), root: str = "/") -> RuleSet:
        return cls([parse_rule(r) for r in allow], [parse_rule(r) for r in ask],
                   [parse_rule(r) for r in deny], root)

    def decide(self, tool: str, tool_input: Mapping[str, Any]) -> tuple[Behavior, Rule] | None:
        """The strongest matching behaviour and the rule that gave it, or ``None``."""
        for behavior, rules in (("deny", self.deny), ("ask", self.ask)):
            hit = next((r for r in rules if self._catches(r, tool, tool_input)), None)
            if hit is not None:
                return behavior, hit  # type: ignore[return-value]
        hit = self._allowing(tool, tool_input)
        return ("allow", hit) if hit is not None else None

    # -- deny / ask: any part of the call matching is enough ------------------------------
    def _catches(self, rule: Rule, tool: str, tool_input: Mapping[str, Any]) -> bool:
        if not rule.covers(tool):
            return False
        if rule.specifier is None:
            return True
        if tool in SHELL_TOOLS:
            try:
                commands = split_commands(str(tool_input.get("command", "")))
            except UnparsableCommand:
                return True  # what cannot be read is treated as matching a refusal
            return any(_shell_pattern_matches(rule.specifier, c.words) for c in commands)
        path = call_path(tool_input)
        return path is not None and _path_matches(rule.specifier, path, self.root)

    # -- allow: every part of the call must be allowed ------------------------------------
    def _allowing(self, tool: str, tool_input: Mapping[str, Any]) -> Rule | None:
        rules = [r for r in self.allow if r.covers(tool)]
        whole = next((r for r in rules if r.specifier is None), None)
        if whole is not None or not rules:
            return whole
        if tool in SHELL_TOOLS:
            return self._allowing_shell(rules, str(tool_input.get("command", "")))
        path = call_path(tool_input)
        if path is None:
            return None
        return next((r for r in rules if _path_matches(r.specifier or "", path, self.root)),
                    None)

    @staticmethod
    def _allowing_shell(rules: list[Rule], line: str) -> Rule | None:
        try:
            commands = split_commands(line)
        except UnparsableCommand:
            return None
        if not commands or any(c.opaque for c in commands):
            return None
        first: Rule | None = None
        for command in commands:
            hit = next((r for r in rules
                        if _shell_pattern_matches(r.specifier or "", command.words)), None)
            if hit is None:
                return None
            first = first or hit
        return first
