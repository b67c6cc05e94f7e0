"""Driving the interactive session (``claude-like`` with no task) in a pseudo-terminal.

The session's prompt asks the terminal where the cursor is (a CPR request) before it
draws its status line; :meth:`Repl.expect` answers those requests as a terminal would."""

from __future__ import annotations

import re

import pexpect
from cli_harness import TIMEOUT, CliEnv, Finished, plain

CPR_REQUEST = "\x1b[6n"
ENTER = "\r"
_STYLE = r"(?:\x1b\[[0-9;]*m)*"


def styled(text: str) -> str:
    """A pattern for ``text`` as rich prints it: colour codes may come between any two
    characters (a word in green, the rest plain)."""
    return _STYLE.join(re.escape(char) for char in text)


READY = styled("(shift-tab) · context")
"""In the status line under the prompt: the session waits for input."""


class Repl:
    """One session program; ``expect`` returns the output up to and with the match, colours
    kept."""

    def __init__(self, cli: CliEnv, *args: str) -> None:
        self.cli = cli
        self.child = cli.spawn(*args)

    def expect(self, pattern: str | type[pexpect.EOF], timeout: float = TIMEOUT) -> str:
        seen = ""
        while True:
            index = self.child.expect([pattern, re.escape(CPR_REQUEST)], timeout=timeout)
            seen += self.child.before
            if index == 0:
                return seen + (self.child.after if isinstance(self.child.after, str) else "")
            self.child.send("\x1b[48;1R")  # near the bottom, as after some output
            seen += CPR_REQUEST

    def expect_text(self, text: str, timeout: float = TIMEOUT) -> str:
        """Wait for ``text`` printed with any colours."""
        return self.expect(styled(text), timeout)

    def ready(self) -> str:
        """Wait for the prompt (its status line); the output since the last wait."""
        return self.expect(READY)

    def send(self, text: str) -> None:
        """Type ``text`` and press Enter."""
        self.child.send(text + ENTER)

    def type(self, keys: str) -> None:
        self.child.send(keys)

    def finish(self) -> Finished:
        """Wait for the program to end: its status and everything it printed."""
        return self.cli.finish(self.child)

    @property
    def output(self) -> str:
        """Everything printed so far, without colours."""
        return plain(self.child.logfile_read.getvalue())
