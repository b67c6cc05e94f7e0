"""Read: a text file with numbered lines, a page at a time; a Jupyter notebook as its cells
with their outputs (a page of cells at a time)."""

from __future__ import annotations

from langchain_core.tools import ToolException
from pydantic import AliasChoices, BaseModel, Field

from claude_like.sandbox.base import FileInfo
from claude_like.tools.base import ClaudeLikeTool, ToolInput, number_lines, split_lines
from claude_like.tools.notebook_cells import NotebookError, load_notebook, render_notebook

DEFAULT_LIMIT = 2000
"""Lines returned when the model does not ask for a limit."""
MAX_LINE_CHARS = 2000
"""Longer lines are cut (minified files would otherwise eat the context)."""


class ReadInput(ToolInput):
    file_path: str = Field(
        description="Path of the file, relative to the workspace or absolute. Example: src/app.py",
        validation_alias=AliasChoices("file_path", "path"),
    )
    offset: int = Field(
        default=1,
        ge=0,
        description="Line number to start reading from (1 = first line). Only for long files.",
    )
    limit: int = Field(
        default=DEFAULT_LIMIT,
        ge=1,
        description="How many lines to read.",
    )


class Read(ClaudeLikeTool):
    """Shows a file the way ``cat -n`` does, so Edit can quote it exactly."""

    name: str = "Read"
    description: str = (
        "Read a text file. Returns its lines numbered like `cat -n` (number, tab, line). "
        f"Reads up to {DEFAULT_LIMIT} lines; use offset and limit to read other parts of "
        "long files. The line numbers are not part of the file: never copy them into Edit. "
        "Read a file before you Edit or overwrite it. For folders use LS; to find files "
        "use Glob; to search contents use Grep."
    )
    args_schema: type[BaseModel] = ReadInput
    read_only = True

    def _execute(self, file_path: str, offset: int = 1, limit: int = DEFAULT_LIMIT) -> str:
        resolved = self.resolve(file_path)
        info = self.sandbox.stat(resolved)
        if info is None:
            raise self.not_found(file_path)
        if info.is_dir:
            raise self._refuse_dir(file_path)
        shown = self.show(resolved)
        note = ""
        if resolved.endswith(".ipynb"):
            shown_nb, note = self._read_notebook(resolved, shown, info, offset, limit)
            if shown_nb is not None:
                return shown_nb
        data, decoded = self.read_text(resolved, shown)
        self.remember(resolved, info, data)
        lines = split_lines(decoded.text)
        if not lines:
            return f"{shown} exists but is empty (0 lines).{note}"
        total = len(lines)
        start = offset or 1
        if start > total:
            raise self._past_end(shown, start, total)
        end = min(total, start - 1 + limit)
        body, end = self._fit(lines, start, end)
        if start == 1 and end == total:
            return body + note
        page = f"[Showing lines {start}-{end} of {total} in {shown}."
        if end < total:
            page += f" To read more, call Read with offset={end + 1}."
        return body + "\n\n" + page + "]" + note

    def _read_notebook(self, resolved: str, shown: str, info: FileInfo, offset: int,
                       limit: int) -> tuple[str | None, str]:
        """The notebook's cells (offset and limit count cells); or, for a file nbformat
        refuses, ``None`` and a note to add to its plain text."""
        data = self.read_file(resolved, shown)
        try:
            nb = load_notebook(data)
        except NotebookError as exc:
            return None, f"\n\n[{shown} is not a usable notebook: {exc}. Shown as text.]"
        self.remember(resolved, info, data)
        budget = max(self.ctx.output_limit - 200, 1000)
        try:
            return render_notebook(nb, shown, offset or 1, limit, budget), ""
        except LookupError as exc:
            raise ToolException(str(exc)) from exc

    def _fit(self, lines: list[str], start: int, end: int) -> tuple[str, int]:
        """Stop early rather than overflow the output budget (so the note stays exact)."""
        budget = max(self.ctx.output_limit - 200, 1000)
        used = 0
        for n in range(start, end + 1):
            used += min(len(lines[n - 1]), MAX_LINE_CHARS + 30) + 8
            if used > budget and n > start:
                end = n - 1
                break
        return number_lines(lines[start - 1 : end], start, MAX_LINE_CHARS), end

    def _refuse_dir(self, path: str) -> ToolException:
        return ToolException(
            f"{path} is a directory, not a file. Use LS to list it, or Glob to find files in it."
        )

    def _past_end(self, shown: str, start: int, total: int) -> ToolException:
        return ToolException(
            f"offset={start} is past the end of {shown}, which has {total} lines. "
            f"Use an offset between 1 and {total}."
        )
