"""Glob: find files by name pattern, newest first."""

from __future__ import annotations

import posixpath

from langchain_core.tools import ToolException
from pydantic import BaseModel, Field

from claude_like.tools.base import DEFAULT_SKIP_DIRS, ClaudeLikeTool, ToolInput
from claude_like.tools.globbing import GlobMatcher
from claude_like.tools.ignore import IgnoreRules

MAX_RESULTS = 100

_GLOB_CHARS = set("*?[{")


class GlobInput(ToolInput):
    pattern: str = Field(
        description=(
            "Glob pattern. `*` matches within one folder, `**` across folders. "
            "Examples: **/*.py (all Python files), src/**/test_*.py, *.{json,yaml}"
        )
    )
    path: str = Field(
        default=".",
        description="Folder to search in (default: the workspace root).",
    )


class Glob(ClaudeLikeTool):
    """Lists matching files, most recently modified first (what the model wants to see)."""

    name: str = "Glob"
    description: str = (
        "Find files whose path matches a glob pattern, e.g. **/*.py or src/**/*.ts. Returns "
        f"paths relative to the workspace, newest first, at most {MAX_RESULTS}. Skips files "
        "ignored by .gitignore, .git, node_modules, .venv and __pycache__ unless you search "
        "inside them. "
        "To search file contents use Grep."
    )
    args_schema: type[BaseModel] = GlobInput
    read_only = True

    def _execute(self, pattern: str, path: str = ".") -> str:
        pattern = pattern.strip()
        if not pattern:
            raise ToolException("pattern is empty. Example: **/*.py")
        base_arg = path or "."
        if pattern.startswith("/"):
            # An absolute pattern: its literal folders become the search folder.
            base_arg, pattern = "/", pattern.lstrip("/")
        prefix, rest = _split_literal_prefix(pattern)
        if prefix:
            base_arg = posixpath.join(base_arg, prefix)
        base = self.resolve(base_arg)
        info = self.sandbox.stat(base)
        if info is None:
            raise self.not_found(base_arg, "Folder")
        if not info.is_dir:
            raise ToolException(f"{self.show(base)} is a file, not a folder; give a folder.")
        if not rest:  # "src/": everything below it
            rest = "**/*"
        matcher = GlobMatcher(rest)
        files = [
            f
            for f in self.sandbox.walk(base, skip_dirs=DEFAULT_SKIP_DIRS)
            if matcher.match(posixpath.relpath(f.path, base))
        ]
        rules = IgnoreRules.load(self.sandbox, hidden=[self.scratch_path])
        files = rules.filter(files, base, self.sandbox.root)
        if not files:
            msg = f"No files match {pattern!r} in {self.show(base)}."
            target = self.sandbox.stat(posixpath.join(base, rest))
            if target is not None and target.is_dir:
                msg += f" {rest} is a folder: use {pattern.rstrip('/')}/** or LS to see its files."
            elif "/" not in rest and "**" not in rest:
                msg += f" `{rest}` only looks in that folder; use **/{rest} to include subfolders."
            return msg
        files.sort(key=lambda f: (-f.mtime, f.path))
        shown = [self.show(f.path) for f in files[:MAX_RESULTS]]
        out = "\n".join(shown)
        if len(files) > MAX_RESULTS:
            out += (
                f"\n\n[Showing the {MAX_RESULTS} most recently modified of {len(files)} "
                "matches. Use a narrower pattern or path to see others.]"
            )
        return out


def _split_literal_prefix(pattern: str) -> tuple[str, str]:
    """``src/app/**/*.py`` -> (``src/app``, ``**/*.py``): folders without wildcards."""
    parts = pattern.split("/")
    literal: list[str] = []
    while len(parts) > 1 and not (_GLOB_CHARS & set(parts[0])):
        literal.append(parts.pop(0))
    return "/".join(literal), "/".join(parts)
