"""Permission settings from files, as Claude Code keeps them, so a project set up for
Claude Code works unchanged.

Files, lowest precedence first (``PROJECT_FILES`` after the user's):

1. the user's ``~/.config/claude-like/settings.json`` (``$XDG_CONFIG_HOME`` honoured);
2. Claude Code's project files ``.claude/settings.json`` then ``.claude/settings.local.json``;
3. ours, ``.claude-like/settings.json``.

Each may hold ``{"permissions": {"allow": [...], "ask": [...], "deny": [...],
"defaultMode": "..."}}``. Rules of every file are combined (deny beats ask beats allow
whichever file they come from); ``defaultMode`` is taken from the file of highest
precedence that sets it. ``"hooks"`` (Claude Code's command hooks) are combined too: each
event's matcher entries of every file, lowest precedence first. A file that is not valid
JSON, a rule not in Claude Code's syntax or a malformed hook entry is a
:class:`SettingsError` naming the file: a broken file is never skipped in silence, since
that could drop a deny rule.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from claude_like.hooks.command import HookConfigError, parse_command_hooks
from claude_like.permissions.modes import PermissionMode, check_mode
from claude_like.permissions.rules import RuleError, RuleSet, parse_rule

PROJECT_FILES = (".claude/settings.json", ".claude/settings.local.json",
                 ".claude-like/settings.json")
SETTINGS_LIMIT = 256 * 1024
"""A settings file larger than this is refused (it is not a real one)."""


class SettingsError(ValueError):
    """A settings file that cannot be used; the message names the file and the fault."""


@dataclass
class PermissionSettings:
    """What the settings files say about permissions."""

    allow: list[str] = field(default_factory=list)
    ask: list[str] = field(default_factory=list)
    deny: list[str] = field(default_factory=list)
    default_mode: PermissionMode | None = None
    sources: list[Path] = field(default_factory=list)
    """The files read, lowest precedence first."""
    hooks: dict[str, list[dict]] = field(default_factory=dict)
    """Claude Code's ``"hooks"``: event -> matcher entries of every file, lowest precedence
    first (for ``claude_like.hooks.Hooks(commands=...)``)."""

    def rules(self, root: str, *, allow: Sequence[str] = (), ask: Sequence[str] = (),
              deny: Sequence[str] = ()) -> RuleSet:
        """A RuleSet of these rules plus the caller's (options, CLI flags)."""
        return RuleSet.from_strings(allow=[*self.allow, *allow], ask=[*self.ask, *ask],
                                    deny=[*self.deny, *deny], root=root)


def user_settings_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "claude-like" / "settings.json"


def _read(path: Path) -> dict | None:
    try:
        with open(path, "rb") as f:
            data = f.read(SETTINGS_LIMIT + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SettingsError(f"{path}: cannot be read ({exc.strerror})") from None
    if len(data) > SETTINGS_LIMIT:
        raise SettingsError(f"{path}: larger than {SETTINGS_LIMIT // 1024} KB")
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SettingsError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise SettingsError(f"{path}: the top level must be a JSON object")
    return value


def _merge(out: PermissionSettings, path: Path, value: dict) -> None:
    perms = value.get("permissions", {})
    if not isinstance(perms, dict):
        raise SettingsError(f"{path}: \"permissions\" must be an object")
    for key in ("allow", "ask", "deny"):
        rules = perms.get(key, [])
        if not isinstance(rules, list) or not all(isinstance(r, str) for r in rules):
            raise SettingsError(f"{path}: permissions.{key} must be a list of rule strings")
        for rule in rules:
            try:
                parse_rule(rule)
            except RuleError as exc:
                raise SettingsError(f"{path}: permissions.{key}: {exc}") from None
        getattr(out, key).extend(rules)
    mode = perms.get("defaultMode")
    if mode is not None:
        try:
            out.default_mode = check_mode(mode)
        except ValueError as exc:
            raise SettingsError(f"{path}: permissions.defaultMode: {exc}") from None
    hooks = value.get("hooks")
    try:
        parse_command_hooks(hooks)
    except HookConfigError as exc:
        raise SettingsError(f"{path}: {exc}") from None
    for event, entries in (hooks or {}).items():
        out.hooks.setdefault(event, []).extend(entries)
    out.sources.append(path)


def load_settings(workspace: str | os.PathLike[str], *,
                  user_file: Path | None = None) -> PermissionSettings:
    """The permission settings for ``workspace`` (a host folder), user's file included
    unless ``user_file`` points elsewhere."""
    out = PermissionSettings()
    files = [user_file or user_settings_path(), *(Path(workspace) / p for p in PROJECT_FILES)]
    for path in files:
        value = _read(path)
        if value is not None:
            _merge(out, path, value)
    return out
