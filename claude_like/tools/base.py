"""What every tool shares: the context it acts in and the error-handling base class.

Tools reach files and the shell only through ``ctx.sandbox``. Anything that goes wrong is
raised as a :class:`ToolException` whose message tells the model what to do instead;
LangChain turns it into a ``ToolMessage`` with ``status="error"`` (``handle_tool_error``),
so a failing tool never ends the agent loop. Every result and error is passed through
:func:`~claude_like.text_safety.visible`, so no control sequence or undecodable name
reaches the model.
"""

from __future__ import annotations

import asyncio
import difflib
import posixpath
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, ClassVar

from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, ToolException
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from claude_like.sandbox.base import (
    DEFAULT_OUTPUT_LIMIT,
    READ_LIMIT,
    FileInfo,
    FileTooLargeError,
    PathOutsideWorkspaceError,
    Sandbox,
    SandboxError,
)
from claude_like.text_safety import unescape_bytes, visible
from claude_like.tools.read_record import DEFAULT_THREAD, ReadRecord, thread_key
from claude_like.tools.text_codec import DecodedText, decode, is_binary
from claude_like.tools.web_policy import FetchPolicy

MAX_TEXT_FILE_BYTES = READ_LIMIT
"""Read and Edit load whole files, never more than this; beyond it they point the model
to Bash (``sed -n``, ``head``) instead."""

DEFAULT_SEARCH_TIMEOUT = 60.0
"""Seconds one Grep search may take before ripgrep is killed."""

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

_THREAD: ContextVar[str] = ContextVar("claude_like_tool_thread", default=DEFAULT_THREAD)
"""The conversation of the tool call running in this context (set by ``_run``)."""


@dataclass
class ToolContext:
    """What the tools of one agent share: the sandbox and what each conversation read.

    ``record`` holds, per conversation thread, the files Read, Written or Edited with
    their modification time, size and hash: Write and Edit refuse a file the conversation
    has not read, or that changed since (as Claude Code does).
    """

    sandbox: Sandbox
    output_limit: int = DEFAULT_OUTPUT_LIMIT
    """What a tool may return, in characters: Read, Grep and Glob stop early with a note on
    how to see more (the files still exist, so nothing is lost). Bash returns its whole
    output instead; the tool node saves what is over budget to a file."""
    scratch_dir: str = SCRATCH_DIR
    """Where oversized results are saved; hidden from Glob, Grep and LS (give the same
    folder to the ``ResultStore``)."""
    search_timeout: float = DEFAULT_SEARCH_TIMEOUT
    """Seconds a Grep search may run before it is killed."""
    web: FetchPolicy | None = None
    """What WebFetch may reach (domains, addresses, limits); None: WebFetch is off."""
    record: ReadRecord = field(default_factory=ReadRecord, repr=False, compare=False)


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


def format_validation_error(
    exc: ValidationError,
    *,
    heading: str = "Invalid arguments:",
    advice: str = "Fix them and call the tool again.",
) -> str:
    """Which argument was wrong and how, one line each, between a heading and advice."""
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ())) or "arguments"
        lines.append(f"- {loc}: {err.get('msg', 'invalid')}")
    return "\n".join([heading, *lines, advice])


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
    handle_validation_error: Any = format_validation_error

    @property
    def sandbox(self) -> Sandbox:
        return self.ctx.sandbox

    @property
    def thread(self) -> str:
        """The conversation this call belongs to (its record of reads, its shell)."""
        return _THREAD.get()

    def _execute(self, **kwargs: Any) -> str:
        raise NotImplementedError

    def _run(
        self, *args: Any, config: RunnableConfig, run_manager: Any = None, **kwargs: Any
    ) -> str:
        token = _THREAD.set(thread_key(config))
        try:
            result = self._execute(*args, **kwargs)
            if isinstance(result, tuple):  # response_format="content_and_artifact"
                return visible(result[0]), result[1]  # type: ignore[return-value]
            return visible(result)
        except ToolException as exc:
            raise ToolException(visible(str(exc))) from exc
        except PathOutsideWorkspaceError as exc:
            raise ToolException(visible(f"{exc} (relative paths start at the workspace).")) from exc
        except (SandboxError, FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise ToolException(visible(str(exc))) from exc
        except PermissionError as exc:
            raise ToolException(visible(f"Permission denied: {exc}")) from exc
        except Exception as exc:  # a bug or an unexpected state: still a result, not a crash
            message = f"{self.name} failed: {type(exc).__name__}: {exc}"
            raise ToolException(visible(message)) from exc
        finally:
            _THREAD.reset(token)

    async def _arun(self, *args: Any, config: RunnableConfig, run_manager: Any = None,
                    **kwargs: Any) -> str:
        # The sandbox is synchronous; a thread lets read-only calls overlap. (The tool
        # node runs tools on its own bounded pool and does not come through here.)
        return await asyncio.to_thread(self._run, *args, config=config, **kwargs)

    # -- helpers shared by the tools ---------------------------------------------------
    def resolve(self, path: str) -> str:
        """The sandbox path; a name shown escaped (``caf\\xe9.txt``, as listings show
        names that are not UTF-8) finds the file when no file has the literal name."""
        resolved = self.sandbox.resolve(path)
        if "\\x" in path and self.sandbox.stat(resolved) is None:
            raw = unescape_bytes(path)
            try:
                candidate = self.sandbox.resolve(raw) if raw != path else resolved
                if self.sandbox.stat(candidate) is not None:
                    return candidate
            except (SandboxError, OSError):
                pass  # e.g. an escaped NUL: the literal name stands
        return resolved

    @property
    def scratch_path(self) -> str:
        """The scratch folder as an absolute sandbox path (lexical: no symlink followed)."""
        return posixpath.normpath(posixpath.join(self.sandbox.root, self.ctx.scratch_dir))

    def show(self, path: str) -> str:
        """A path as the model should see it: relative to the workspace when inside."""
        return self.sandbox.display_path(path)

    def read_file(self, resolved: str, shown: str) -> bytes:
        """The whole file, at most MAX_TEXT_FILE_BYTES; a clear error when it is bigger."""
        try:
            return self.sandbox.read_bytes(resolved, MAX_TEXT_FILE_BYTES)
        except FileTooLargeError as exc:
            raise ToolException(
                f"{shown} is larger than {MAX_TEXT_FILE_BYTES:,} bytes, too large to load "
                f"whole. Search it with Grep, or look at parts with Bash, e.g. "
                f"`head -n 100 {shown}` or `sed -n '5000,5100p' {shown}`."
            ) from exc

    def read_text(self, resolved: str, shown: str) -> tuple[bytes, DecodedText]:
        """The file's bytes and text; binary files are refused."""
        data = self.read_file(resolved, shown)
        if is_binary(data):
            raise ToolException(
                f"{shown} is a binary file ({len(data)} bytes) and cannot be used as text. "
                "If you need facts about it, use Bash (e.g. `file`, `xxd | head`)."
            )
        return data, decode(data)

    def remember(self, resolved: str, info: FileInfo | None, data: bytes | None) -> None:
        """Record the file as this conversation now knows it (after a Read or a write)."""
        if info is not None:
            self.ctx.record.remember(self.thread, resolved, info, data)

    def remember_written(self, resolved: str, data: bytes) -> None:
        self.remember(resolved, self.sandbox.stat(resolved), data)

    def ensure_read_and_unchanged(
        self, resolved: str, shown: str, info: FileInfo, data: bytes | None
    ) -> None:
        """Refuse to change a file this conversation has not Read, or that changed since."""
        stamp = self.ctx.record.get(self.thread, resolved)
        if stamp is None:
            raise ToolException(
                f"{shown} exists and you have not Read it in this conversation. Read it "
                f"first, then call {self.name} again."
            )
        if not stamp.matches(info, data):
            raise ToolException(
                f"{shown} was modified since you read it (by the user, a command or another "
                f"tool). Read it again, then call {self.name} again, so that those changes "
                "are not lost."
            )

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
