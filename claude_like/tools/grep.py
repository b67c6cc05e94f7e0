"""Grep: search file contents with a regular expression (Python ``re``), ripgrep-style."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from typing import Literal

from langchain_core.tools import ToolException
from pydantic import AliasChoices, BaseModel, Field
from pydantic.json_schema import SkipJsonSchema

from claude_like.sandbox.base import FileInfo, SandboxError
from claude_like.tools.base import (
    DEFAULT_SKIP_DIRS,
    ClaudeLikeTool,
    GlobMatcher,
    ToolInput,
    is_binary,
    split_lines,
)
from claude_like.tools.ignore import IgnoreRules

DEFAULT_HEAD_LIMIT = {"files_with_matches": 200, "content": 400, "count": 200}
"""Entries (files, lines or counts) shown when head_limit is not given."""
MAX_FILE_BYTES = 10_000_000
"""Larger files are skipped (they are data, not code) and counted in a note."""
MAX_LINE_CHARS = 500

OutputMode = Literal["files_with_matches", "content", "count"]


class GrepInput(ToolInput):
    pattern: str = Field(
        description=(
            r"Regular expression (Python syntax) to search for, e.g. def \w+_user or "
            r"TODO. Escape ( ) [ ] { } . * + ? with a backslash to match them literally."
        )
    )
    path: str = Field(
        default=".", description="File or folder to search (default: the workspace root)."
    )
    glob: str | SkipJsonSchema[None] = Field(
        default=None,
        description="Only search files matching this glob, e.g. *.py or src/**/*.{ts,tsx}",
    )
    output_mode: OutputMode = Field(
        default="files_with_matches",
        description=(
            "files_with_matches: list files that match (default). "
            "content: show matching lines. count: number of matches per file."
        ),
    )
    case_insensitive: bool = Field(
        default=False,
        description="Ignore upper/lower case (like grep -i).",
        validation_alias=AliasChoices("case_insensitive", "-i"),
    )
    context_before: int = Field(
        default=0,
        ge=0,
        description="content mode: lines to show before each match (like grep -B).",
        validation_alias=AliasChoices("context_before", "-B"),
    )
    context_after: int = Field(
        default=0,
        ge=0,
        description="content mode: lines to show after each match (like grep -A).",
        validation_alias=AliasChoices("context_after", "-A"),
    )
    context: int = Field(
        default=0,
        ge=0,
        description="content mode: lines to show before and after each match (like grep -C).",
        validation_alias=AliasChoices("context", "-C"),
    )
    line_numbers: bool = Field(
        default=True,
        description="content mode: prefix lines with their line number (like grep -n).",
        validation_alias=AliasChoices("line_numbers", "-n"),
    )
    head_limit: int = Field(
        default=0,
        ge=0,
        description="Show only the first N files/lines/counts (0 = the default cap).",
    )


class Grep(ClaudeLikeTool):
    """Searches through the sandbox's file API (no host ``grep``): same result everywhere."""

    name: str = "Grep"
    description: str = (
        "Search file contents with a regular expression. By default lists the files that "
        "match; output_mode='content' shows the matching lines (path:line:text), 'count' "
        "counts matches per file. Narrow with path and glob (e.g. glob='*.py'). Skips "
        "binary files, files ignored by .gitignore, .git, node_modules, .venv and "
        "__pycache__. Use this instead of grep or rg in Bash."
    )
    args_schema: type[BaseModel] = GrepInput
    read_only = True

    def _execute(
        self,
        pattern: str,
        path: str = ".",
        glob: str | None = None,
        output_mode: OutputMode = "files_with_matches",
        case_insensitive: bool = False,
        context_before: int = 0,
        context_after: int = 0,
        context: int = 0,
        line_numbers: bool = True,
        head_limit: int = 0,
    ) -> str:
        regex = self._compile(pattern, case_insensitive)
        base_arg = path or "."
        base = self.resolve(base_arg)
        info = self.sandbox.stat(base)
        if info is None:
            raise self.not_found(base_arg, "Path")
        if info.is_dir:
            files = self.sandbox.walk(base, skip_dirs=DEFAULT_SKIP_DIRS)
            rules = IgnoreRules.load(self.sandbox, hidden=[self.scratch_path])
            files = rules.filter(files, base, self.sandbox.root)
        else:
            files = [info]
        if glob:
            matcher = GlobMatcher(glob.strip(), basename_only=True)
            root = base if info.is_dir else posixpath.dirname(base)
            files = [f for f in files if matcher.match(posixpath.relpath(f.path, root))]
        limit = head_limit or DEFAULT_HEAD_LIMIT[output_mode]
        before, after = max(context_before, context), max(context_after, context)
        search = _Search(self, regex, files)
        if output_mode == "content":
            body = search.content(before, after, line_numbers, limit)
        elif output_mode == "count":
            body = search.counts(limit)
        else:
            body = search.files(limit)
        where = self.show(base)
        if not search.matched_files:
            body = f"No matches for {pattern!r} in {where}."
            if glob:
                body += f" (searched {len(files)} files matching glob {glob!r})"
        notes = search.notes()
        return body + ("\n\n" + notes if notes else "")

    def _compile(self, pattern: str, case_insensitive: bool) -> re.Pattern[str]:
        if not pattern:
            raise ToolException("pattern is empty. Give a regular expression, e.g. TODO")
        try:
            return re.compile(pattern, re.IGNORECASE if case_insensitive else 0)
        except re.error as exc:
            raise ToolException(
                f"Invalid regular expression {pattern!r}: {exc}. Escape special characters "
                r"with a backslash, e.g. 'foo\(' to find 'foo('."
            ) from exc


class _Search:
    """One search run: reads files lazily and remembers what it had to leave out."""

    def __init__(self, tool: Grep, regex: re.Pattern[str], files: list[FileInfo]) -> None:
        self.tool = tool
        self.regex = regex
        # Quick whole-file test before splitting lines; MULTILINE so that ^ and $ mean
        # line starts and ends there too, as they do in the per-line search.
        self.prefilter = re.compile(regex.pattern, regex.flags | re.MULTILINE)
        self.candidates = sorted(files, key=lambda f: f.path)
        self.matched_files = 0
        self.skipped_big = 0
        self.limited: str = ""
        self.budget = tool.ctx.output_limit - 300

    def _matching(self) -> Iterator[tuple[FileInfo, list[str], list[int]]]:
        """(file, lines, indexes of matching lines) for every file with a match."""
        for f in self.candidates:
            if f.size > MAX_FILE_BYTES:
                self.skipped_big += 1
                continue
            try:
                data = self.tool.sandbox.read_bytes(f.path)
            except (OSError, SandboxError):
                continue
            if is_binary(data):
                continue
            text = data.decode("utf-8", errors="replace")
            # ($ does not match before a \r, which the per-line search drops.)
            if "\r" not in text and not self.prefilter.search(text):
                continue
            lines = split_lines(text)
            hits = [i for i, line in enumerate(lines) if self.regex.search(line)]
            if hits:
                self.matched_files += 1
                yield f, lines, hits

    def files(self, limit: int) -> str:
        found = [f for f, _, _ in self._matching()]
        found.sort(key=lambda f: (-f.mtime, f.path))
        if len(found) > limit:
            self.limited = (
                f"Showing {limit} of {len(found)} matching files (newest first); "
                "narrow with path/glob or raise head_limit."
            )
        shown = [self.tool.show(f.path) for f in found[:limit]]
        return f"Found {len(found)} file{'s' if len(found) != 1 else ''}\n" + "\n".join(shown)

    def counts(self, limit: int) -> str:
        rows, total = [], 0
        for f, _, hits in self._matching():
            total += len(hits)
            if len(rows) < limit:
                rows.append(f"{self.tool.show(f.path)}:{len(hits)}")
        if self.matched_files > limit:
            self.limited = f"Showing {limit} of {self.matched_files} files; raise head_limit."
        files = self.matched_files
        head = f"{total} matching line{'s' if total != 1 else ''} in {files} file"
        return head + ("s" if files != 1 else "") + "\n" + "\n".join(rows)

    def content(self, before: int, after: int, numbers: bool, limit: int) -> str:
        out: list[str] = []
        used = 0
        separate = before > 0 or after > 0
        for f, lines, hits in self._matching():
            name = self.tool.show(f.path)
            hit_set = set(hits)
            shown: set[int] = set()
            for h in hits:
                shown.update(range(max(0, h - before), min(len(lines), h + after + 1)))
            prev = None
            for i in sorted(shown):
                if separate and out and (prev is None or i != prev + 1):
                    out.append("--")
                prev = i
                line = lines[i]
                if len(line) > MAX_LINE_CHARS:
                    line = line[:MAX_LINE_CHARS] + "... [line cut]"
                sep = ":" if i in hit_set else "-"
                row = f"{name}{sep}{i + 1}{sep}{line}" if numbers else f"{name}{sep}{line}"
                used += len(row) + 1
                if len(out) >= limit or used > self.budget:
                    self.limited = (
                        f"Stopped after {len(out)} lines (limit reached); narrow the search "
                        "with path/glob, use output_mode='files_with_matches', or raise "
                        "head_limit."
                    )
                    return "\n".join(out)
                out.append(row)
        return "\n".join(out)

    def notes(self) -> str:
        notes = []
        if self.limited:
            notes.append(self.limited)
        if self.skipped_big:
            notes.append(f"Skipped {self.skipped_big} file(s) over {MAX_FILE_BYTES} bytes.")
        return "\n".join(f"[{n}]" for n in notes)
