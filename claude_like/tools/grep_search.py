"""One Grep search as a ripgrep run in the sandbox: its options, its command line, and its
output shaped for the model.

The model's regular expression never runs in the agent's process: ripgrep runs it in the
sandbox (``Sandbox.run_program``) with a time limit, and is killed when the time is up.
ripgrep's default engine runs in linear time; ``--engine auto`` switches to PCRE2 only for
look-around and backreferences.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Literal

OutputMode = Literal["files_with_matches", "content", "count"]

DEFAULT_HEAD_LIMIT: dict[str, int] = {"files_with_matches": 200, "content": 400, "count": 200}
"""Entries (files, lines or counts) shown when head_limit is not given."""
MAX_FILE_SIZE = "10M"
"""Larger files are skipped (they are data, not code)."""
MAX_LINE_CHARS = 500


@dataclass(frozen=True)
class GrepOptions:
    """What the model asked for, with Claude Code's flags folded into plain fields."""

    pattern: str
    path: str = "."
    glob: str | None = None
    output_mode: OutputMode = "files_with_matches"
    case_insensitive: bool = False
    before: int = 0
    after: int = 0
    line_numbers: bool = True
    head_limit: int = 0

    @classmethod
    def from_args(
        cls, pattern: str, *, context: int = 0, context_before: int = 0,
        context_after: int = 0, **rest: object,
    ) -> GrepOptions:
        """From the tool's arguments: ``context`` (-C) is the least of -B and -A."""
        return cls(
            pattern=pattern,
            before=max(context_before, context),
            after=max(context_after, context),
            **rest,  # type: ignore[arg-type]
        )

    @property
    def limit(self) -> int:
        return self.head_limit or DEFAULT_HEAD_LIMIT[self.output_mode]


def rg_argv(
    opts: GrepOptions, *, target: str, skip_dirs: frozenset[str], hidden: list[str]
) -> list[str]:
    """The ripgrep command line. ``target`` is the workspace-relative path to search
    ("" for the whole workspace); ``skip_dirs`` are folder names and ``hidden`` are
    workspace-relative folders left out unless the search starts inside them."""
    argv = [
        "rg", "--no-config", "--color", "never", "--no-heading", "--with-filename",
        "--hidden",  # dotfiles are searched; .git and the like are skipped below
        "--no-require-git", "--no-ignore-global", "--no-ignore-parent",  # the workspace's
        "--no-messages", "--crlf", "--engine", "auto",
        "--max-filesize", MAX_FILE_SIZE,
        "--max-columns", str(MAX_LINE_CHARS), "--max-columns-preview",
    ]
    if opts.case_insensitive:
        argv.append("--ignore-case")
    if opts.output_mode == "files_with_matches":
        argv += ["--files-with-matches", "--sortr", "modified"]
    elif opts.output_mode == "count":
        argv += ["--count", "--sort", "path"]
    else:
        argv += ["--line-number" if opts.line_numbers else "--no-line-number", "--sort", "path"]
        if opts.before:
            argv += ["--before-context", str(opts.before)]
        if opts.after:
            argv += ["--after-context", str(opts.after)]
    if opts.glob:
        argv += ["--glob", opts.glob.strip()]
    # ripgrep never filters the path it is given, only what it finds below it.
    for name in sorted(skip_dirs):
        argv += ["--glob", f"!{name}/"]
    for folder in hidden:
        argv += ["--glob", f"!/{folder}/"]
        if target == folder or target.startswith(folder + "/"):
            argv.append("--no-ignore-vcs")  # its own .gitignore ("*") hides it from git only
    argv += ["--regexp", opts.pattern, "--"]
    if target:
        argv.append(target)
    return argv


def relative_target(base: str, root: str) -> str:
    """``base`` relative to the workspace root, "" for the root itself."""
    rel = posixpath.relpath(base, root)
    return "" if rel == "." else rel


@dataclass
class Shaped:
    """The text for the model, and the notes on what it leaves out."""

    body: str
    matched: int
    notes: list[str]


def shape(opts: GrepOptions, lines: list[str], budget: int, complete: bool) -> Shaped:
    """ripgrep's output lines as the model sees them: capped at the head limit and the
    character budget, with a note saying so. ``complete`` is False when the sandbox cut
    ripgrep's output (then the totals are lower bounds)."""
    more = "" if complete else "at least "
    limit = opts.limit
    if opts.output_mode == "files_with_matches":
        shown = lines[:limit]
        notes = []
        if len(lines) > limit or not complete:
            notes.append(
                f"Showing {len(shown)} of {more}{len(lines)} matching files (newest first); "
                "narrow with path/glob or raise head_limit."
            )
        n = len(lines)
        head = f"Found {more}{n} file{'s' if n != 1 else ''}"
        return Shaped("\n".join([head, *shown]), n, notes)
    if opts.output_mode == "count":
        total = sum(_count(line) for line in lines)
        files = len(lines)
        notes = []
        if files > limit or not complete:
            notes.append(f"Showing {min(limit, files)} of {more}{files} files; raise head_limit.")
        head = f"{more}{total} matching line{'s' if total != 1 else ''} in {files} file"
        head += "s" if files != 1 else ""
        return Shaped("\n".join([head, *lines[:limit]]), files, notes)
    out: list[str] = []
    used = rows = 0
    stopped = False
    for line in lines:
        if line != "--":
            rows += 1
        used += len(line) + 1
        if rows > limit or used > budget:
            stopped = True
            break
        out.append(line)
    while out and out[-1] == "--":
        out.pop()
    notes = []
    if stopped or not complete:
        notes.append(
            f"Stopped after {sum(1 for x in out if x != '--')} lines (limit reached); narrow "
            "the search with path/glob, use output_mode='files_with_matches', or raise "
            "head_limit."
        )
    return Shaped("\n".join(out), len(lines), notes)


def _count(line: str) -> int:
    _, _, n = line.rpartition(":")
    return int(n) if n.isdigit() else 0
