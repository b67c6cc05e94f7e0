"""Outline: the structure of a source file or folder (classes, functions, methods, their
signatures and line ranges) without the bodies, so a small-context model can find its way
around a project for a fraction of the tokens Read would cost, then Read just the lines
it needs. Python through ``ast``; JavaScript, TypeScript, Go, Rust and Java through
tree-sitter grammars (see :mod:`claude_like.tools.outline_treesitter`). Read-only.
"""

from __future__ import annotations

import posixpath

from langchain_core.tools import ToolException
from pydantic import AliasChoices, BaseModel, Field

from claude_like.sandbox.base import FileInfo, FileTooLargeError
from claude_like.tools.base import DEFAULT_SKIP_DIRS, ClaudeLikeTool, ToolInput
from claude_like.tools.ignore import IgnoreRules
from claude_like.tools.outline_python import OutlineError, Symbol, python_outline
from claude_like.tools.outline_treesitter import GRAMMARS, treesitter_outline
from claude_like.tools.text_codec import is_binary

MAX_SOURCE_BYTES = 1_000_000
"""Bigger files (generated or minified code) are named, not outlined."""
MAX_FILES_NAMED = 20
"""Files left out of a folder's outline that the closing note names."""

SUPPORTED = "Python, " + ", ".join(dict.fromkeys(g.name for g in GRAMMARS.values()))


def outlinable(path: str) -> bool:
    return path.endswith(".py") or posixpath.splitext(path)[1] in GRAMMARS


class OutlineInput(ToolInput):
    path: str = Field(
        default=".",
        description="A source file or a folder (default: the workspace). Example: src/app",
        validation_alias=AliasChoices("path", "file_path"),
    )


class Outline(ClaudeLikeTool):
    """Signatures and line numbers only: the map, not the territory."""

    name: str = "Outline"
    description: str = (
        "Show the structure of a source file or folder: classes, functions and methods with "
        "signatures and line ranges, without their bodies. Much shorter than Read; use it to "
        "find code, then Read the lines you need with offset and limit."
    )
    args_schema: type[BaseModel] = OutlineInput
    read_only = True

    def _execute(self, path: str = ".") -> str:
        resolved = self.resolve(path or ".")
        info = self.sandbox.stat(resolved)
        if info is None:
            raise self.not_found(path)
        if not info.is_dir:
            if not outlinable(resolved):
                raise ToolException(self._unsupported(self.show(resolved)))
            try:
                return self._file_block(info)
            except OutlineError as exc:
                raise ToolException(f"Cannot outline {self.show(resolved)}: {exc}.") from exc
        return self._folder(resolved)

    def _folder(self, folder: str) -> str:
        files = self.sandbox.walk(folder, skip_dirs=DEFAULT_SKIP_DIRS)
        rules = IgnoreRules.load(self.sandbox, hidden=[self.scratch_path])
        files = sorted((f for f in rules.filter(files, folder, self.sandbox.root)
                        if not f.is_dir), key=lambda f: f.path)
        sources = [f for f in files if outlinable(f.path)]
        others = len(files) - len(sources)
        shown = self.show(folder)
        if not sources:
            return (f"No source files to outline in {shown} ({others} other files). "
                    f"Outline knows {SUPPORTED}. Use LS or Glob to see what is there.")
        budget = max(self.ctx.output_limit - 300, 1000)
        blocks: list[str] = []
        used = 0
        for n, f in enumerate(sources):
            try:
                block = self._file_block(f)
            except OutlineError as exc:
                block = f"{self.show(f.path)}: cannot outline ({exc})"
            if used + len(block) > budget and blocks:
                return "\n".join(blocks) + self._left_out(sources[n:], len(sources))
            used += len(block) + 1
            blocks.append(block)
        tail = f"\n[{others} files of other kinds not outlined.]" if others else ""
        return "\n".join(blocks) + tail

    def _left_out(self, rest: list[FileInfo], total: int) -> str:
        names = ", ".join(self.show(f.path) for f in rest[:MAX_FILES_NAMED])
        more = f" and {len(rest) - MAX_FILES_NAMED} more" if len(rest) > MAX_FILES_NAMED else ""
        return (f"\n\n[Outlined {total - len(rest)} of {total} source files; the output limit "
                f"was reached. Call Outline on a subfolder or file for the rest: {names}{more}.]")

    def _file_block(self, f: FileInfo) -> str:
        """``path (N lines)`` then one indented line per definition: ``start-end signature``."""
        shown = self.show(f.path)
        try:
            data = self.sandbox.read_bytes(f.path, MAX_SOURCE_BYTES)
        except FileTooLargeError:
            raise OutlineError(f"larger than {MAX_SOURCE_BYTES:,} bytes") from None
        if is_binary(data):
            raise OutlineError("binary file")
        lines = data.count(b"\n") + (not data.endswith(b"\n") and bool(data))
        if f.path.endswith(".py"):
            symbols = python_outline(data.decode("utf-8", "replace"))
        else:
            symbols = treesitter_outline(data, GRAMMARS[posixpath.splitext(f.path)[1]])
        head = f"{shown} ({lines} lines)"
        if not symbols:
            return head + ": no classes or functions"
        width = len(str(max(s.end for s in symbols)))
        return "\n".join([head, *(_symbol_line(s, width) for s in symbols)])

    def _unsupported(self, shown: str) -> str:
        ext = posixpath.splitext(shown)[1] or "(no extension)"
        return (f"Outline does not know the language of {shown} ({ext}); it knows {SUPPORTED}. "
                "Use Grep to find definitions (e.g. pattern '^\\s*(def|class|function) ') or "
                "Read the file.")


def _symbol_line(s: Symbol, width: int) -> str:
    where = f"{s.line}-{s.end}" if s.end > s.line else str(s.line)
    return f"  {where:>{2 * width + 1}} {'  ' * s.depth}{s.text}"
