"""LS: the entries of one folder."""

from __future__ import annotations

import posixpath

from langchain_core.tools import ToolException
from pydantic import BaseModel, Field

from claude_like.sandbox.base import FileInfo, SandboxError
from claude_like.tools.base import ClaudeLikeTool, ToolInput
from claude_like.tools.globbing import GlobMatcher

MAX_ENTRIES = 500


class LSInput(ToolInput):
    path: str = Field(
        default=".",
        description="Folder to list, relative to the workspace or absolute (default: the root).",
    )
    ignore: list[str] = Field(
        default_factory=list,
        description='Names to leave out, as glob patterns. Example: ["*.pyc", "node_modules"]',
    )


class LS(ClaudeLikeTool):
    """One level only: predictable size; Glob is the recursive search."""

    name: str = "LS"
    description: str = (
        "List the files and folders in a folder (one level, not recursive). Folders end "
        "with '/'. Use Glob to find files in subfolders."
    )
    args_schema: type[BaseModel] = LSInput
    read_only = True

    def _execute(self, path: str = ".", ignore: list[str] | None = None) -> str:
        resolved = self.resolve(path or ".")
        shown = self.show(resolved)
        info = self.sandbox.stat(resolved)
        if info is None:
            raise self.not_found(path, "Folder")
        if not info.is_dir:
            raise ToolException(f"{shown} is a file, not a folder. Use Read to see its content.")
        matchers = [GlobMatcher(p.rstrip("/")) for p in ignore or [] if p.rstrip("/")]
        entries = [
            e
            for e in self.sandbox.list_dir(resolved)
            if not any(m.match(posixpath.basename(e.path)) for m in matchers)
            and not self._leads_only_to_scratch(e)
        ]
        if not entries:
            return f"{shown} is empty." + (" (after ignore)" if ignore else "")
        dirs = sum(1 for e in entries if e.is_dir)
        rows = []
        for e in entries[:MAX_ENTRIES]:
            name = posixpath.basename(e.path) + ("/" if e.is_dir else "")
            if e.is_symlink:
                name += " (symlink)"
            rows.append(name)
        head = f"{shown}: {dirs} folders, {len(entries) - dirs} files"
        out = head + "\n" + "\n".join(rows)
        if len(entries) > MAX_ENTRIES:
            out += f"\n\n[Showing {MAX_ENTRIES} of {len(entries)} entries. Use Glob to narrow.]"
        return out

    def _leads_only_to_scratch(self, entry: FileInfo) -> bool:
        """True for the scratch folder and for a folder holding nothing else (the
        ``.claude-like`` made only for it), so saved results never show up in a listing."""
        scratch = self.scratch_path
        if entry.path == scratch:
            return True
        if not entry.is_dir or entry.is_symlink or not scratch.startswith(entry.path + "/"):
            return False
        try:
            inside = self.sandbox.list_dir(entry.path)
        except (OSError, SandboxError):
            return False
        return all(self._leads_only_to_scratch(e) for e in inside)
