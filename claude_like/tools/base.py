"""What every tool shares: the context it acts in and the error-handling base class.

Tools reach files and the shell only through ``ctx.sandbox``. Anything that goes wrong is
raised as a :class:`ToolException` whose message tells the model what to do instead;
LangChain turns it into a ``ToolMessage`` with ``status="error"`` (``handle_tool_error``),
so a failing tool never ends the agent loop.
"""

from __future__ import annotations

import asyncio
import difflib
import posixpath
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from langchain_core.tools import BaseTool, ToolException
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from claude_like.sandbox.base import (
    DEFAULT_OUTPUT_LIMIT,
    PathOutsideWorkspaceError,
    Sandbox,
    SandboxError,
)

BINARY_SNIFF_BYTES = 8192
"""How much of a file is looked at for NUL bytes to decide that it is binary."""

MAX_TEXT_FILE_BYTES = 20_000_000
"""Read and Edit load whole files; beyond this size they point the model to Bash instead."""

DEFAULT_SKIP_DIRS = frozenset(
    {
        ".git",
        "node_modules",
        "__pycache__",
        ".venv",
        "venv",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".tox",
    }
)
"""Folders Glob and Grep do not descend into (unless the search starts inside one)."""

SCRATCH_DIR = ".claude-like/results"
"""Workspace-relative folder where tool results too big for the context are saved whole
(see ``claude_like.context.offload``). Glob, Grep and LS leave it out, so saved results do
not crowd searches; Read, and searches that start inside it, still reach it."""


@dataclass
class ToolContext:
    """What the tools of one agent share: the sandbox and the files seen so far.

    ``seen`` holds the resolved paths the model has Read, Written or Edited; Write refuses
    to overwrite an existing file that is not in it, so the model never clobbers a file
    it has not looked at (as Claude Code does). Tools may run in threads concurrently,
    hence the lock.
    """

    sandbox: Sandbox
    output_limit: int = DEFAULT_OUTPUT_LIMIT
    """What a tool may return, in characters: Read, Grep and Glob stop early with a note on
    how to see more (the files still exist, so nothing is lost). Bash returns its whole
    output instead; the tool node saves what is over budget to a file."""
    scratch_dir: str = SCRATCH_DIR
    """Where oversized results are saved; hidden from Glob, Grep and LS (give the same
    folder to the ``ResultStore``)."""
    seen: set[str] = field(default_factory=set)
    _lock: Any = field(default_factory=threading.Lock, repr=False, compare=False)

    def mark_seen(self, resolved_path: str) -> None:
        with self._lock:
            self.seen.add(resolved_path)

    def has_seen(self, resolved_path: str) -> bool:
        with self._lock:
            return resolved_path in self.seen

    def forget(self) -> None:
        """Clear the record (e.g. when the conversation is reset or compacted away)."""
        with self._lock:
            self.seen.clear()


class ToolInput(BaseModel):
    """Base of the argument schemas: ``null`` means "not given".

    Small models often send ``"offset": null`` for optional arguments; dropping nulls lets
    the defaults apply, so the schemas can show plain types (no ``anyOf`` with null).
    """

    model_config = ConfigDict(populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _drop_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v is not None}
        return data


def _format_validation_error(exc: ValidationError) -> str:
    """Tell the model which argument was wrong and how, in one short block."""
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ())) or "arguments"
        lines.append(f"- {loc}: {err.get('msg', 'invalid')}")
    return "Invalid arguments:\n" + "\n".join(lines) + "\nFix them and call the tool again."


class ClaudeLikeTool(BaseTool):
    """Base of the built-in tools: sandbox access, read-only flag, errors as results.

    Subclasses implement :meth:`_execute` with their schema's fields as keyword
    arguments and raise :class:`ToolException` for anything the model did wrong.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    read_only: ClassVar[bool] = False
    """True when the tool never changes anything, so calls may run concurrently."""

    ctx: ToolContext
    handle_tool_error: bool = True
    handle_validation_error: Any = _format_validation_error

    @property
    def sandbox(self) -> Sandbox:
        return self.ctx.sandbox

    def _execute(self, **kwargs: Any) -> str:
        raise NotImplementedError

    def _run(self, *args: Any, run_manager: Any = None, **kwargs: Any) -> str:
        try:
            return self._execute(*args, **kwargs)
        except ToolException:
            raise
        except PathOutsideWorkspaceError as exc:
            raise ToolException(f"{exc} (relative paths start at the workspace).") from exc
        except SandboxError as exc:
            raise ToolException(str(exc)) from exc
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise ToolException(str(exc)) from exc
        except PermissionError as exc:
            raise ToolException(f"Permission denied: {exc}") from exc
        except Exception as exc:  # a bug or an unexpected state: still a result, not a crash
            raise ToolException(f"{self.name} failed: {type(exc).__name__}: {exc}") from exc

    async def _arun(self, *args: Any, run_manager: Any = None, **kwargs: Any) -> str:
        # The sandbox is synchronous; a thread lets read-only calls overlap.
        return await asyncio.to_thread(self._run, *args, **kwargs)

    # -- helpers shared by the tools ---------------------------------------------------
    def resolve(self, path: str) -> str:
        return self.sandbox.resolve(path)

    @property
    def scratch_path(self) -> str:
        """The scratch folder as an absolute sandbox path (lexical: no symlink followed)."""
        return posixpath.normpath(posixpath.join(self.sandbox.root, self.ctx.scratch_dir))

    def show(self, path: str) -> str:
        """A path as the model should see it: relative to the workspace when inside."""
        return self.sandbox.display_path(path)

    def not_found(self, path: str, what: str = "File") -> ToolException:
        """'does not exist' plus the closest names in the parent folder, when any."""
        msg = f"{what} does not exist: {path}."
        hint = self._similar_names(path)
        if hint:
            msg += f" Did you mean: {', '.join(hint)}?"
        else:
            msg += " Use Glob or LS to find the right path."
        return ToolException(msg)

    def _similar_names(self, path: str) -> list[str]:
        try:
            resolved = self.resolve(path)
            parent, name = posixpath.split(resolved)
            entries = self.sandbox.list_dir(parent)
        except (SandboxError, OSError):
            return []
        names = {posixpath.basename(e.path): e.path for e in entries}
        close = difflib.get_close_matches(name, list(names), n=3, cutoff=0.6)
        return [self.show(names[c]) for c in close]


def too_large(shown: str, size: int) -> ToolException | None:
    """An error for files too big to load whole, else None."""
    if size <= MAX_TEXT_FILE_BYTES:
        return None
    return ToolException(
        f"{shown} is {size} bytes, too large to load. Search it with Grep, or look at parts "
        f"with Bash (e.g. `head -n 100 {shown}`, `sed -n '5000,5100p' {shown}`)."
    )


def is_binary(data: bytes) -> bool:
    """Cheap and conventional (git, grep): a NUL byte near the start means binary."""
    return b"\x00" in data[:BINARY_SNIFF_BYTES]


def split_lines(text: str) -> list[str]:
    """Lines as Read numbers them: split on ``\\n`` only, ``\\r`` dropped, no phantom last line."""
    if not text:
        return []
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def number_lines(lines: Iterable[str], start: int, max_line_chars: int = 2000) -> str:
    """``cat -n`` style: right-aligned line number, a tab, the line (long lines cut)."""
    out = []
    for i, line in enumerate(lines, start):
        if len(line) > max_line_chars:
            line = line[:max_line_chars] + f"... [line cut, {len(line)} chars]"
        out.append(f"{i:>6}\t{line}")
    return "\n".join(out)


def expand_braces(pattern: str) -> list[str]:
    """``src/*.{ts,tsx}`` -> ``src/*.ts``, ``src/*.tsx`` (nested braces supported)."""
    m = re.search(r"\{([^{}]*,[^{}]*)\}", pattern)
    if not m:
        return [pattern]
    out: list[str] = []
    for alt in m.group(1).split(","):
        out.extend(expand_braces(pattern[: m.start()] + alt + pattern[m.end() :]))
    return out


def glob_to_regex(pattern: str) -> re.Pattern[str]:
    """A glob over ``/``-separated relative paths: ``**`` spans folders, ``*`` does not."""
    i, n = 0, len(pattern)
    out = []
    while i < n:
        c = pattern[i]
        if c == "*":
            if pattern.startswith("**", i):
                i += 2
                if i < n and pattern[i] == "/":
                    i += 1
                    out.append("(?:.*/)?")
                else:
                    out.append(".*")
                continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = pattern.find("]", i + 1)
            if j == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : j]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = j
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z", re.DOTALL)


class GlobMatcher:
    """Matches relative paths against a glob with braces; a pattern without ``/`` also
    matches by base name when ``basename_only`` (as ``rg --glob '*.py'`` does)."""

    def __init__(self, pattern: str, *, basename_only: bool = False) -> None:
        self.pattern = pattern
        self.by_name = basename_only and "/" not in pattern
        self.regexes = [glob_to_regex(p) for p in expand_braces(pattern)]

    def match(self, rel_path: str) -> bool:
        target = posixpath.basename(rel_path) if self.by_name else rel_path
        return any(r.match(target) for r in self.regexes)
