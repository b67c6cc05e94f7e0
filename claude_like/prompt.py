"""The system prompt: short, and byte-identical on every turn of a session.

Local servers reuse their KV cache only for an identical prefix, so nothing here changes
between turns (no clock, no per-turn git status): it is built once per agent.
"""

from __future__ import annotations

import datetime as dt
import platform

from claude_like.sandbox.base import FileTooLargeError, Sandbox, SandboxError

MEMORY_FILES = ("CLAUDE.md", "AGENTS.md", "AGENT.md")
MEMORY_LIMIT = 8_000
"""Characters of the project memory file put in the system prompt."""
MEMORY_READ_LIMIT = 256 * 1024
"""Bytes read from it at most: a huge (or sparse) file must not load into the host."""

CORE_PROMPT = """\
You are claude-like, a coding agent working in a project folder through tools.

How to work:
- Use tools to look before you change: LS, Glob and Grep to find files, Read to see them.
- Change files with Edit (exact text replacement) or Write (whole file). Read a file before \
you overwrite or edit it.
- Run commands, tests and git with Bash. The shell keeps its directory and variables.
- Paths are relative to the workspace or absolute inside it; nothing outside it is reachable.
- Call one tool at a time when a step depends on the previous result.
- If a tool returns an error, read it, fix the call and try again; do not repeat the same call.
- When the task is done, answer briefly in plain text without calling a tool.
"""


def _git_branch(sandbox: Sandbox) -> str | None:
    try:
        head = sandbox.read_bytes(".git/HEAD", limit=4096).decode(errors="replace").strip()
    except (OSError, SandboxError):
        return None
    if head.startswith("ref: refs/heads/"):
        return head.removeprefix("ref: refs/heads/")
    return f"detached at {head[:12]}" if head else None


def _memory(sandbox: Sandbox) -> tuple[str, str] | None:
    for name in MEMORY_FILES:
        try:
            text = sandbox.read_bytes(name, limit=MEMORY_READ_LIMIT).decode(
                "utf-8", errors="replace")
        except FileTooLargeError:
            return name, (f"[{name} is larger than {MEMORY_READ_LIMIT // 1024} KB and was not "
                          "loaded; Read parts of it with offset and limit when needed.]")
        except (OSError, SandboxError):
            continue
        if len(text) > MEMORY_LIMIT:
            text = text[:MEMORY_LIMIT] + f"\n[... {name} cut at {MEMORY_LIMIT} characters ...]"
        return name, text.strip()
    return None


def environment_section(sandbox: Sandbox, today: dt.date | None = None) -> str:
    kind = type(sandbox).__name__
    lines = [
        "Environment:",
        f"- Workspace: {sandbox.root}",
        f"- OS: {platform.system()} ({kind})",
        f"- Date: {(today or dt.date.today()).isoformat()}",
    ]
    branch = _git_branch(sandbox)
    if branch:
        lines.append(f"- Git branch: {branch}")
    return "\n".join(lines) + "\n"


def build_system_prompt(
    sandbox: Sandbox,
    *,
    replace: str | None = None,
    append: str | None = None,
    today: dt.date | None = None,
) -> str:
    """The full system prompt: core (or ``replace``), environment, project memory, ``append``."""
    parts = [replace if replace is not None else CORE_PROMPT, environment_section(sandbox, today)]
    memory = _memory(sandbox)
    if memory:
        name, text = memory
        parts.append(f"Project instructions from {name}:\n{text}\n")
    if append:
        parts.append(append.strip() + "\n")
    return "\n".join(parts)
