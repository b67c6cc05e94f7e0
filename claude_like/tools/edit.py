"""Edit: replace an exact piece of a file, with hints when the piece is not found."""

from __future__ import annotations

import re

from langchain_core.tools import ToolException
from pydantic import AliasChoices, BaseModel, Field

from claude_like.tools.base import ClaudeLikeTool, ToolInput, number_lines, split_lines
from claude_like.tools.text_codec import DecodedText, with_line_endings

SNIPPET_CONTEXT = 3
"""Lines shown around the changed region in the result."""
MAX_SNIPPET_LINES = 30

_LINE_NUMBER_PREFIX = re.compile(r"^\s*\d+\t")


class EditInput(ToolInput):
    file_path: str = Field(
        description="Path of the file to change, relative to the workspace or absolute.",
        validation_alias=AliasChoices("file_path", "path"),
    )
    old_string: str = Field(
        description=(
            "The exact text to replace, copied from the file with the same spaces and "
            "indentation (without Read's line numbers). Include enough lines to be unique."
        )
    )
    new_string: str = Field(description="The text to put in its place (must differ).")
    replace_all: bool = Field(
        default=False,
        description="Replace every occurrence instead of exactly one (e.g. to rename).",
    )


class Edit(ClaudeLikeTool):
    """Exact string replacement: predictable for the model and easy to check."""

    name: str = "Edit"
    description: str = (
        "Replace exact text in a file. old_string must appear in the file exactly once "
        "(copy it from Read output, same indentation, without the line-number prefix), or "
        "set replace_all=true to replace every occurrence. Example: old_string='x = 1', "
        "new_string='x = 2'. Read the file first. To create a new file use Write."
    )
    args_schema: type[BaseModel] = EditInput
    read_only = False

    def _execute(
        self, file_path: str, old_string: str, new_string: str, replace_all: bool = False
    ) -> str:
        resolved = self.resolve(file_path)
        shown = self.show(resolved)
        info = self.sandbox.stat(resolved)
        if info is None:
            if old_string == "":
                return self._create(resolved, shown, new_string)
            raise self.not_found(file_path)
        if info.is_dir:
            raise ToolException(f"{shown} is a directory, not a file.")
        if old_string == new_string:
            raise ToolException(
                "old_string and new_string are identical, so there is nothing to change. "
                "Put the changed text in new_string."
            )
        data, decoded = self.read_text(resolved, shown)
        self.ensure_read_and_unchanged(resolved, shown, info, data)
        text = decoded.text
        if old_string == "":
            if text.strip():
                raise ToolException(
                    f"old_string is empty but {shown} is not. Give the exact text to replace "
                    "(or Read the file and use Write to replace all of it)."
                )
            new = with_line_endings(new_string, decoded.crlf)
            return self._write(resolved, shown, decoded, new, 0, new, 1)

        # The model writes plain newlines; in a CRLF file both sides get CRLF, so the
        # inserted lines end like the file's own (a mixed file may still match as given).
        old = with_line_endings(old_string, decoded.crlf)
        new = with_line_endings(new_string, decoded.crlf)
        count = text.count(old)
        if count == 0 and old != old_string:
            old, new = old_string, new_string
            count = text.count(old)
        if count == 0:
            raise ToolException(self._missing_message(shown, text, old_string))
        if count > 1 and not replace_all:
            lines = _lines_of_occurrences(text, old)
            where = ", ".join(str(n) for n in lines[:10]) + (" ..." if len(lines) > 10 else "")
            raise ToolException(
                f"old_string occurs {count} times in {shown} (at lines {where}). Include "
                "more surrounding lines in old_string so it matches exactly one place, or "
                "set replace_all=true to replace all of them."
            )
        first = text.index(old)
        new_text = text.replace(old, new) if replace_all else text.replace(old, new, 1)
        return self._write(resolved, shown, decoded, new_text, first, new, count)

    def _create(self, resolved: str, shown: str, content: str) -> str:
        data = content.encode("utf-8")
        self.sandbox.write_bytes(resolved, data)
        self.remember_written(resolved, data)
        return f"Created {shown} ({len(split_lines(content))} lines)."

    def _write(
        self, resolved: str, shown: str, decoded: DecodedText, new_text: str, pos: int,
        new: str, n: int,
    ) -> str:
        try:
            data = decoded.encode(new_text)
        except UnicodeEncodeError as exc:
            bad = new_text[exc.start : exc.end]
            raise ToolException(
                f"{shown} is not UTF-8 (it is kept as {decoded.encoding}), and new_string has "
                f"characters that encoding cannot hold: {bad!r}. Use characters it can hold, "
                "or convert the file first (e.g. with Bash `iconv`)."
            ) from exc
        self.sandbox.write_bytes(resolved, data)
        self.remember_written(resolved, data)
        lines = split_lines(new_text)
        first_line = new_text.count("\n", 0, pos) + 1
        last_line = first_line + new.count("\n")
        lo = max(1, first_line - SNIPPET_CONTEXT)
        hi = min(len(lines), last_line + SNIPPET_CONTEXT, lo + MAX_SNIPPET_LINES - 1)
        what = f"{n} occurrences" if n > 1 else "1 occurrence"
        head = f"Edited {shown}: replaced {what}."
        if not lines:
            return head + " The file is now empty."
        snippet = number_lines(lines[lo - 1 : hi], lo, 300)
        where = "first change" if n > 1 else "result"
        return f"{head} The {where} (lines {lo}-{hi}):\n{snippet}"

    def _missing_message(self, shown: str, text: str, old: str) -> str:
        msg = f"old_string was not found in {shown}."
        old_lines = split_lines(old)
        if old_lines and all(_LINE_NUMBER_PREFIX.match(line) for line in old_lines):
            return (
                msg + " It starts with line numbers from Read's output (number + tab); "
                "remove them and keep only the file's text."
            )
        near = _whitespace_insensitive_match(text, old)
        if near is not None:
            start, end = near
            file_lines = split_lines(text)
            where = f"line {start}" if start == end else f"lines {start}-{end}"
            return (
                msg + f" A match that differs only in spaces/indentation is at {where}:\n"
                f"{number_lines(file_lines[start - 1 : end], start, 300)}\n"
                "Copy that text exactly (same indentation) into old_string."
            )
        return msg + " Read the file again and copy the text exactly, including indentation."


def _lines_of_occurrences(text: str, needle: str) -> list[int]:
    out, pos = [], text.find(needle)
    while pos != -1:
        out.append(text.count("\n", 0, pos) + 1)
        pos = text.find(needle, pos + max(len(needle), 1))
    return out


def _whitespace_insensitive_match(text: str, old: str) -> tuple[int, int] | None:
    """First line range whose lines equal ``old``'s lines once whitespace is ignored."""
    want = [_squash(line) for line in split_lines(old)]
    while want and not want[0]:
        want.pop(0)
    while want and not want[-1]:
        want.pop()
    if not want:
        return None
    have = [_squash(line) for line in split_lines(text)]
    k = len(want)
    if k == 1:
        for i, line in enumerate(have):
            if want[0] in line:
                return i + 1, i + 1
        return None
    for i in range(len(have) - k + 1):
        if have[i] == want[0] and have[i : i + k] == want:
            return i + 1, i + k
    return None


def _squash(line: str) -> str:
    return re.sub(r"\s+", "", line)
