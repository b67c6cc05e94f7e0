"""Tool results bigger than their budget: saved whole to a file; the model gets head + tail.

Why: on a 4K-token window even a 30,000-character result does not fit, and whatever a
head+tail cut drops is lost for good. Saved through the sandbox into a scratch folder of
the workspace, the whole text stays one Read (offset/limit) or Grep away, and the note
says exactly where and how. Glob, Grep and LS hide the folder (``ToolContext.scratch_dir``),
a ``.gitignore`` in it keeps it out of ``git status``, and :meth:`ResultStore.close`
removes what this store saved.
"""

from __future__ import annotations

import logging
import posixpath
import re
import secrets
import shlex
import threading
from dataclasses import dataclass

from claude_like.models.tokens import CHARS_PER_TOKEN
from claude_like.sandbox.base import Sandbox
from claude_like.tools.base import SCRATCH_DIR
from claude_like.tools.read import DEFAULT_LIMIT as READ_MAX_LINES
from claude_like.tools.read import MAX_LINE_CHARS as READ_LINE_CHARS

__all__ = ["SCRATCH_DIR", "ResultStore"]

log = logging.getLogger(__name__)

HEAD_SHARE = 0.4
"""Share of the shown text given to the head; the tail gets more, as errors and summaries
come last."""
PAGE_ROOM = 0.8
"""Share of the budget a suggested Read page should fill (Read adds numbers and a note)."""
_SEP = "\n\n"


def _lines(text: str) -> int:
    """Lines as Read numbers them (a final newline does not start another line)."""
    return text.count("\n") + (0 if not text or text.endswith("\n") else 1)


@dataclass(frozen=True)
class _Cut:
    """Head and tail of a text, and the 1-based line range that neither shows whole."""

    head: str
    tail: str
    first_hidden: int
    last_hidden: int


def _cut(text: str, room: int) -> _Cut:
    """Head and tail within ``room`` characters, at line ends when a line end is near."""
    room = max(room, 0)
    head_len = int(room * HEAD_SHARE)
    tail_len = room - head_len
    head = text[:head_len]
    nl = head.rfind("\n")
    if nl >= head_len // 2:
        head = head[: nl + 1]
    tail = text[len(text) - tail_len :] if tail_len else ""
    nl = tail.find("\n")
    if 0 <= nl < max(tail_len // 2, 1) and nl + 1 < len(tail):
        tail = tail[nl + 1 :]
    start = len(text) - len(tail)
    starts_line = start == 0 or text[start - 1] == "\n"
    first_hidden = head.count("\n") + 1
    # The line the tail starts in; a partly shown line counts as hidden.
    tail_line = text.count("\n", 0, start) + 1
    last_hidden = tail_line - 1 if starts_line else tail_line
    return _Cut(head.rstrip("\n"), tail, first_hidden, max(last_hidden, first_hidden))


class ResultStore:
    """Saves oversized tool results to ``<workspace>/<folder>/<tool>-<id>.txt``.

    Thread-safe: read-only tools of one turn run concurrently. ``saved`` maps each tool
    call id to the path its result went to (for a UI or a trace).
    """

    def __init__(self, sandbox: Sandbox, *, folder: str = SCRATCH_DIR, keep: bool = False) -> None:
        self.sandbox = sandbox
        self.keep = keep
        self.folder = posixpath.normpath(posixpath.join(sandbox.root, folder))
        """Absolute sandbox path of the scratch folder (lexical, no symlink followed)."""
        self.saved: dict[str, str] = {}
        self._files: list[str] = []
        self._lock = threading.Lock()

    # -- fitting -------------------------------------------------------------------------
    def fit(self, text: str, *, limit_tokens: int, tool: str, call_id: str = "") -> str:
        """``text`` if it fits ``limit_tokens``; else head + tail + a note, the whole text
        saved to a file (or, when saving fails, a note that the middle is lost)."""
        budget = int(limit_tokens * CHARS_PER_TOKEN)
        if len(text) <= budget:
            return text
        try:
            path, reason = self._save(text, tool), ""
        except Exception as exc:  # disk full, read-only workspace, closed sandbox, ...
            path, reason = None, f"{type(exc).__name__}: {exc}"
            log.warning("could not save the %s result: %s", tool, reason)
        if path is not None and call_id:
            with self._lock:
                self.saved[call_id] = path
        total, page = _lines(text), self._page(text, budget)

        def note(cut: _Cut) -> str:
            return self._note(text, cut, total, page, path, reason)

        # Room for the note, measured with the largest numbers it can hold.
        worst = _Cut("", "", total, total + 1)
        cut = _cut(text, budget - len(note(worst)) - 2 * len(_SEP))
        parts = [p for p in (cut.head, note(cut), cut.tail) if p]
        return _SEP.join(parts)

    def _page(self, text: str, budget: int) -> int:
        """Lines per Read call that keep one page within the budget."""
        widths = [min(len(line), READ_LINE_CHARS) + 8 for line in text.split("\n")]
        mean = sum(widths) / len(widths)
        return max(1, min(READ_MAX_LINES, int(budget * PAGE_ROOM / mean)))

    def _note(
        self, text: str, cut: _Cut, total: int, page: int, path: str | None, reason: str
    ) -> str:
        a, b = cut.first_hidden, cut.last_hidden
        tokens = round(len(text) / CHARS_PER_TOKEN)
        hidden = f"line {a}" if a == b else f"lines {a}-{b}"
        if path is None:
            return (
                f"[... {hidden} of {total} not shown. The whole result (about {tokens} "
                f"tokens) could not be saved to a file ({reason}), so they are lost. To see "
                "them, run the command again with its output in a file (cmd > out.log 2>&1) "
                "and Read or Grep that file, or narrow it (head, tail, grep).]"
            )
        shown = self.sandbox.display_path(path)
        out = (
            f"[... {hidden} of {total} not shown. The whole result ({total} lines, about "
            f"{tokens} tokens) is saved in {shown}. To see them, call Read with "
            f'file_path="{shown}", offset={a}, limit={page}, then offset={a + page}, and so '
            f'on; or search it with Grep path="{shown}".'
        )
        if max(len(line) for line in text.split("\n")) > READ_LINE_CHARS:
            out += (
                f" Read cuts lines longer than {READ_LINE_CHARS} characters; see those "
                f"with Bash: fold -w {READ_LINE_CHARS} {shlex.quote(shown)} | sed -n '1,20p'"
            )
        return out + "]"

    # -- files ---------------------------------------------------------------------------
    def _save(self, text: str, tool: str) -> str:
        """Write ``text`` to a new file in the scratch folder; its absolute sandbox path."""
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", tool)[:40] or "tool"
        path = posixpath.join(self.folder, f"{name}-{secrets.token_hex(4)}.txt")
        self._check_folder()
        with self._lock:
            if not self._files:  # first file: keep the folder out of ``git status``
                self.sandbox.write_bytes(posixpath.join(self.folder, ".gitignore"), b"*\n")
            self.sandbox.write_bytes(path, text.encode("utf-8"))
            self._files.append(path)
        return path

    def _check_folder(self) -> None:
        """Refuse a scratch folder that is (or sits under) a symlink: results would land,
        and :meth:`close` would delete, somewhere else."""
        if self.sandbox.resolve(self.folder) != self.folder:
            raise OSError(f"{self.sandbox.display_path(self.folder)} leads through a symlink")

    def close(self) -> None:
        """Delete the files this store saved, then the folder if nothing else is in it.

        Unless ``keep``. Deletion runs in the sandbox's shell (``rm -f`` on exactly the
        saved files, ``rmdir`` on the emptied folders below the workspace root), so it
        never reaches outside the scratch folder; call it before closing the sandbox.
        Other stores' files in the same folder are left alone. Never raises.
        """
        with self._lock:
            files, self._files = self._files, []
        if self.keep or not files:
            return
        try:
            self._check_folder()
            self._remove(files)
        except Exception as exc:
            log.warning("could not remove saved tool results in %s: %s", self.folder, exc)

    def _remove(self, files: list[str]) -> None:
        gone = {posixpath.basename(f) for f in files} | {".gitignore"}
        entries = self.sandbox.list_dir(self.folder)
        left = [e for e in entries if posixpath.basename(e.path) not in gone]
        script = "command rm -f -- " + " ".join(shlex.quote(f) for f in files)
        if not left:  # ours only: the .gitignore and the emptied folders go too
            folders, p = [], self.folder
            while p.startswith(self.sandbox.root.rstrip("/") + "/"):
                folders.append(shlex.quote(p))
                p = posixpath.dirname(p)
            ignore = shlex.quote(posixpath.join(self.folder, ".gitignore"))
            # rmdir stops at the first folder that holds anything else.
            script += f" && command rm -f -- {ignore} && {{ command rmdir -- "
            script += " ".join(folders) + " 2>/dev/null; true; }"
        result = self.sandbox.execute(script, timeout=60)
        if not result.ok:
            raise OSError(result.output.strip() or f"exit code {result.exit_code}")
