"""The workspace's ``.gitignore``, so Glob skips build output as ripgrep does for Grep.

Patterns are git's (``pathspec``'s gitwildmatch): comments, ``!`` negation, a trailing
``/`` for folders only, a ``/`` inside the pattern anchoring it to the root, ``*``, ``?``,
``[...]`` and ``**``. Only the root ``.gitignore`` is read. As in git, each folder level is
judged on its own (the last matching pattern wins) and an ignored folder hides everything
below it; a folder the search starts in is searched even when it is ignored, as with
``rg PATH``. The agent's own scratch folder (saved tool results) is hidden the same way,
whatever the ``.gitignore`` says.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable

import pathspec

from claude_like.sandbox.base import FileInfo, Sandbox, SandboxError


def _git_style() -> str:
    """git's pattern syntax: ``gitignore`` in pathspec 1.x, ``gitwildmatch`` before."""
    try:
        pathspec.util.lookup_pattern("gitignore")
    except KeyError:
        return "gitwildmatch"
    return "gitignore"


_STYLE = _git_style()

GITIGNORE_LIMIT = 1_000_000
"""A bigger ``.gitignore`` is not a real one: it is not read."""


class IgnoreRules:
    """Decides whether a workspace-relative path is ignored."""

    def __init__(self, lines: Iterable[str] = ()) -> None:
        spec = pathspec.PathSpec.from_lines(_STYLE, lines)
        self._patterns = [p for p in spec.patterns if p.include is not None and p.regex]
        self._hidden: set[str] = set()

    @classmethod
    def load(cls, sandbox: Sandbox, *, hidden: Iterable[str] = ()) -> IgnoreRules:
        """The root ``.gitignore``, then ``hidden`` folders (absolute sandbox paths), which
        stay hidden even if the ``.gitignore`` un-ignores them."""
        try:
            data = sandbox.read_bytes(posixpath.join(sandbox.root, ".gitignore"), GITIGNORE_LIMIT)
            rules = cls(data.decode("utf-8", errors="replace").splitlines())
        except (OSError, SandboxError):
            rules = cls()
        for folder in hidden:
            rules.hide_folder(posixpath.relpath(folder, sandbox.root))
        return rules

    def hide_folder(self, rel_path: str) -> None:
        """Ignore exactly this workspace-relative folder (taken literally, not as a glob)."""
        rel = posixpath.normpath(rel_path).strip("/")
        if rel in ("", ".") or rel == ".." or rel.startswith("../"):
            return  # the workspace itself, or outside it: nothing to hide
        self._hidden.add(rel)

    def _ignored_here(self, rel_path: str, is_dir: bool) -> bool:
        """This path's own verdict, ignoring what its parent folders' verdicts are."""
        if is_dir and rel_path in self._hidden:
            return True
        # pathspec matches a prefix (so a folder pattern also covers what is inside it);
        # a full match is a match of this very path.
        candidate = rel_path + "/" if is_dir else rel_path
        verdict = False
        for pattern in self._patterns:
            if pattern.regex.fullmatch(candidate):
                verdict = bool(pattern.include)
        return verdict

    def ignored(self, rel_path: str, is_dir: bool) -> bool:
        """True if the path or one of its folders is ignored."""
        parts = rel_path.strip("/").split("/")
        folders = ("/".join(parts[:depth]) for depth in range(1, len(parts)))
        return any(self._ignored_here(f, True) for f in folders) or self._ignored_here(
            "/".join(parts), is_dir
        )

    def filter(self, files: list[FileInfo], base: str, root: str) -> list[FileInfo]:
        """``files`` (found below ``base``) without the ignored ones or those in ignored
        folders; ``base`` and the folders above it count as not ignored."""
        if not self._patterns and not self._hidden:
            return files
        base_rel = posixpath.relpath(base, root)
        base_depth = 0 if base_rel == "." else len(base_rel.split("/"))
        kept: list[FileInfo] = []
        verdicts: dict[str, bool] = {}
        for f in files:
            parts = posixpath.relpath(f.path, root).split("/")
            if parts[0] == "..":
                kept.append(f)
                continue
            hidden = False
            for depth in range(base_depth + 1, len(parts)):
                folder = "/".join(parts[:depth])
                if folder not in verdicts:
                    verdicts[folder] = self._ignored_here(folder, True)
                if verdicts[folder]:
                    hidden = True
                    break
            if not hidden and len(parts) > base_depth:
                hidden = self._ignored_here("/".join(parts), False)
            if not hidden:
                kept.append(f)
        return kept
