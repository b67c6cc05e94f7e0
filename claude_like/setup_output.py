"""What the person waiting sees while set-up takes minutes: building llama-server, building
the sandbox image, downloading. A few status lines with the elapsed time, never thousands
of compiler or build lines: those go to a log file whose path (and last lines) a failure
shows. In a terminal (stderr is a tty) the step is a live rich line (spinner, stage,
elapsed time, a bar for downloads); otherwise plain ``[claude-like] ...`` lines.

Everything goes to stderr, so stdout stays what the program promises (JSON, a path).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

PREFIX = "[claude-like]"
TAIL_LINES = 25
"""Lines of the log a failure shows."""
LineReader = Callable[[str], str | None]


def log(msg: str) -> None:
    """One status line for the person waiting (stderr, so stdout stays parseable)."""
    print(f"{PREFIX} {msg}", file=sys.stderr, flush=True)


def cache_root() -> Path:
    """``$CLAUDE_LIKE_CACHE`` or ``$XDG_CACHE_HOME/claude-like`` or ``~/.cache/claude-like``."""
    if os.environ.get("CLAUDE_LIKE_CACHE"):
        return Path(os.environ["CLAUDE_LIKE_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "claude-like"


def elapsed(seconds: float) -> str:
    """``42s``, ``7m 05s``: short enough for a status line."""
    whole = round(seconds)
    return f"{whole}s" if whole < 60 else f"{whole // 60}m {whole % 60:02d}s"


class SetupStatus:
    """One long step, told as it goes: :meth:`stage` when it enters a new stage (a line of
    its own), :meth:`tick` while it waits (a line every ``every`` seconds), :meth:`advance`
    for bytes downloaded; leaving the ``with`` block says ``done in`` or ``failed after``.
    ``live`` (default: stderr is a terminal) shows one updating rich line instead;
    ``log_file`` is named when the step fails."""

    def __init__(self, what: str, *, total: int | None = None, every: float = 30.0,
                 live: bool | None = None, quiet: bool = False, log_file: Path | None = None,
                 console: Console | None = None) -> None:
        self.what = what
        self.total = total
        self.every = every
        self.quiet = quiet
        self.log_file = log_file
        self.live = (sys.stderr.isatty() if live is None else live) and not quiet
        self._console = console
        self._progress: Progress | None = None
        self._task = None
        self._stage = ""
        self._detail = ""
        self._done = 0
        self._started = self._next_line = 0.0

    def seconds(self) -> float:
        return time.monotonic() - self._started

    def __enter__(self) -> SetupStatus:
        self._started = time.monotonic()
        self._next_line = self._started + self.every
        if self.live:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                ProgressColumn,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            columns: list[ProgressColumn] = [SpinnerColumn(), TextColumn("{task.description}")]
            if self.total:
                columns += [BarColumn(), DownloadColumn()]
            columns.append(TimeElapsedColumn())
            self._console = self._console or Console(stderr=True)
            self._progress = Progress(*columns, console=self._console, transient=True)
            self._progress.start()
            self._task = self._progress.add_task(self.what, total=self.total)
        return self

    def _say(self, msg: str) -> None:
        if self.quiet:
            return
        if self.live and self._console is not None:  # above the live line, or after it
            self._console.print(f"{PREFIX} {msg}", markup=False, highlight=False,
                                soft_wrap=True)
        else:
            log(msg)

    def _notes(self) -> str:
        return ", ".join(note for note in (self._stage, self._detail) if note)

    def _show(self) -> None:
        if self._progress is not None and self._task is not None:
            text = f"{self.what}: {self._notes()}" if self._notes() else self.what
            self._progress.update(self._task, description=text, completed=self._done)

    def stage(self, name: str) -> None:
        """The step entered a new stage: a line now (with the time so far)."""
        if name == self._stage:
            return
        self._stage, self._detail = name, ""
        self._next_line = time.monotonic() + self.every
        if self.live:
            self._show()
        else:
            self._say(f"{self.what}: {name} ({elapsed(self.seconds())})")

    def advance(self, amount: int) -> None:
        """``amount`` more of ``total`` (bytes of a download) is done."""
        self._done += amount
        self._show()

    def tick(self, detail: str = "") -> None:
        """Still working: in a terminal the live line; else a line every ``every`` s."""
        if detail:
            self._detail = detail
        if self.live:
            self._show()
            return
        if time.monotonic() < self._next_line:
            return
        self._next_line += self.every
        done = f"{self._done / 1e6:.1f} of {self.total / 1e6:.1f} MB, " if self.total else ""
        note = f"{self._notes()}, " if self._notes() else ""
        self._say(f"{self.what}: {note}{done}{elapsed(self.seconds())} elapsed")

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        if kind is None:
            self._say(f"{self.what}: done in {elapsed(self.seconds())}")
        else:
            where = f" (full log: {self.log_file})" if self.log_file else ""
            self._say(f"{self.what}: failed after {elapsed(self.seconds())}{where}")


class SetupStepFailed(RuntimeError):
    """A logged set-up command exited non-zero; the message holds the log's tail and path."""


def run_logged(cmd: list[str], log_file: Path, what: str, *, every: float = 30.0,
               env: Mapping[str, str] | None = None, stage: LineReader | None = None,
               progress: LineReader | None = None, live: bool | None = None,
               quiet: bool = False) -> None:
    """Run ``cmd`` with its output appended to ``log_file``, telling the person waiting
    through a :class:`SetupStatus`: ``stage(line)`` names the stages a log line starts
    (each gets a line), ``progress(line)`` reads how far a stage is (shown while waiting).
    A failure raises :class:`SetupStepFailed` with the log's last lines and its path."""
    with SetupStatus(what, every=every, live=live, quiet=quiet, log_file=log_file) as status, \
            log_file.open("ab") as out:
        out.write(("$ " + " ".join(cmd) + "\n").encode())
        out.flush()
        start = log_file.stat().st_size
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=None if env is None else dict(env))
        with log_file.open("rb") as reader:
            reader.seek(start)
            pending = b""
            while True:
                finished = proc.poll() is not None
                pending += reader.read()
                *lines, pending = pending.split(b"\n")
                detail = ""
                for raw in lines:
                    line = raw.decode(errors="replace").rstrip("\r")
                    named = stage(line) if stage else None
                    if named:
                        status.stage(named)
                    found = progress(line) if progress else None
                    detail = found or detail
                status.tick(detail)
                if finished:
                    break
                time.sleep(0.5)
        if proc.returncode != 0:
            raise SetupStepFailed(f"{what} failed (exit {proc.returncode}); last lines:\n"
                                  f"{log_tail(log_file)}\nfull log: {log_file}")


def log_tail(log_file: Path, lines: int = TAIL_LINES) -> str:
    """The last ``lines`` lines of a log (its end only is read)."""
    with log_file.open("rb") as f:
        f.seek(max(0, log_file.stat().st_size - 256 * lines))
        return "\n".join(f.read().decode(errors="replace").splitlines()[-lines:])
