"""One agent's permission gate, from its options and the settings files.

Where each piece comes from: rules are the settings files' (user's, then the project's)
plus the options (``allowed_tools``, ``ask_tools``, ``disallowed_tools``); the mode is the
option, else the settings' ``defaultMode``, else ``default``; hooks are the ``hooks``
option plus the settings files' command hooks.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from langchain_core.tools import BaseTool

from claude_like.hooks import HookMatcher, Hooks
from claude_like.permissions.decisions import CanUseTool
from claude_like.permissions.gate import PermissionGate
from claude_like.permissions.settings import PermissionSettings, load_settings
from claude_like.sandbox.base import Sandbox
from claude_like.tools.base import SCRATCH_DIR

PREVIEW_READ_LIMIT = 512 * 1024
"""Bytes of a file read to show an edit's diff."""


def sandbox_reader(sandbox: Sandbox):
    """Read a file's text through the sandbox for a diff (None when it cannot be read)."""

    def read(path: str) -> str | None:
        try:
            return sandbox.read_bytes(sandbox.resolve(path), PREVIEW_READ_LIMIT).decode(
                "utf-8", "replace")
        except Exception:  # a missing file is a new one; anything else: no diff, still ask
            return None

    return read


def permission_setup(
    sandbox: Sandbox,
    workspace: str | os.PathLike[str],
    tools: Sequence[BaseTool],
    *,
    mode: str | None = None,
    allowed_tools: Sequence[str] = (),
    ask_tools: Sequence[str] = (),
    disallowed_tools: Sequence[str] = (),
    can_use_tool: CanUseTool | None = None,
    hooks: Mapping[str, Sequence[HookMatcher]] | Hooks | None = None,
    settings: PermissionSettings | bool = True,
    user_settings: Path | None = None,
) -> tuple[PermissionGate, Hooks]:
    """The gate and the hooks of an agent on ``sandbox`` (``workspace``: the host folder,
    where project settings files are). ``settings=False`` reads no file."""
    if settings is True:
        loaded = load_settings(workspace, user_file=user_settings)
    elif settings is False:
        loaded = PermissionSettings()
    else:
        loaded = settings
    if isinstance(hooks, Hooks):
        all_hooks = hooks
    else:
        all_hooks = Hooks(hooks, commands=loaded.hooks or None, cwd=str(Path(workspace).resolve()))
    read_only = {t.name: bool(getattr(t, "read_only", False)) for t in tools}
    gate = PermissionGate(
        mode=mode or loaded.default_mode or "default",
        rules=loaded.rules(sandbox.root, allow=allowed_tools, ask=ask_tools,
                           deny=disallowed_tools),
        can_use_tool=can_use_tool,
        hooks=all_hooks,
        read_only=lambda name: read_only.get(name, False),
        scratch=SCRATCH_DIR,
        reader=sandbox_reader(sandbox),
        display=sandbox.display_path,
    )
    return gate, all_hooks

