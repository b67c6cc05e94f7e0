"""The workspace's ``.gitignore``, so Glob and Grep skip build output as ripgrep does.

Only the root ``.gitignore`` is read (nested ones and the global excludes are not), with
the common syntax: comments, ``!`` negation, a trailing ``/`` for folders only, a ``/``
inside the pattern anchoring it to the root, ``*``, ``?``, ``[...]`` and ``**``.
A folder the search starts in is searched even when it is ignored, as with ``rg PATH``.
The agent's own scratch folder (saved tool results) is hidden the same way, whatever the
``.gitignore`` says.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass

from claude_like.sandbox.base import FileInfo, Sandbox, SandboxError
from claude_like.tools.base import glob_to_regex


@dataclass(frozen=True)
class _Rule:
    regex: re.Pattern[str]
    negate: bool
    dir_only: bool


class IgnoreRules:
    """Decides whether a workspace-relative path is ignored; the last matching rule wins."""

    def __init__(self, lines: Iterable[str] = ()) -> None:
        self.rules: list[_Rule] = []
        for raw in lines:
            rule = _parse(raw)
            if rule is not None:
                self.rules.append(rule)

    @classmethod
    def load(cls, sandbox: Sandbox, *, hidden: Iterable[str] = ()) -> IgnoreRules:
        """The root ``.gitignore``, then ``hidden`` folders (absolute sandbox paths), which
        stay hidden even if the ``.gitignore`` un-ignores them (their rules come last)."""
        try:
            data = sandbox.read_bytes(posixpath.join(sandbox.root, ".gitignore"))
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
        self.rules.append(_Rule(re.compile(re.escape(rel) + r"\Z"), False, True))

    def ignored(self, rel_path: str, is_dir: bool) -> bool:
        result = False
        for rule in self.rules:
            if rule.dir_only and not is_dir:
                continue
            if rule.regex.match(rel_path):
                result = not rule.negate
        return result

    def filter(self, files: list[FileInfo], base: str, root: str) -> list[FileInfo]:
        """``files`` (found below ``base``) without the ignored ones or those in ignored folders."""
        if not self.rules:
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
                    verdicts[folder] = self.ignored(folder, True)
                if verdicts[folder]:
                    hidden = True
                    break
            if not hidden and len(parts) > base_depth:
                hidden = self.ignored("/".join(parts), False)
            if not hidden:
                kept.append(f)
        return kept


def _parse(raw: str) -> _Rule | None:
    line = raw.rstrip("\n").rstrip()
    if not line or line.startswith("#"):
        return None
    negate = line.startswith("!")
    if negate:
        line = line[1:]
    if line.startswith("\\"):
        line = line[1:]
    dir_only = line.endswith("/")
    line = line.rstrip("/")
    if not line:
        return None
    anchored = "/" in line
    line = line.lstrip("/")
    rx = glob_to_regex(line)
    if not anchored:
        rx = re.compile(r"(?:.*/)?" + rx.pattern, re.DOTALL)
    return _Rule(rx, negate, dir_only)
