"""Reading the user's lines: a prompt_toolkit prompt with history kept across sessions,
Enter to submit, a trailing ``\\`` or Esc then Enter for another line, Shift-Tab to cycle
the permission mode, and a plain one-line prompt for approval answers."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from prompt_toolkit import PromptSession
from prompt_toolkit.formatted_text import ANSI, AnyFormattedText
from prompt_toolkit.history import FileHistory
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent

from claude_like.sessions import default_store_path

HISTORY_FILE_NAME = "repl_history"
PROMPT = "> "
CONTINUATION = "… "
EMPTY_INTERRUPT = "empty-interrupt"
"""What :meth:`LineReader.read` raises ``KeyboardInterrupt`` with when Ctrl-C was pressed
at an empty prompt (with text, Ctrl-C only clears it)."""


def history_path() -> Path:
    """``repl_history`` beside the session store (``$CLAUDE_LIKE_DATA_DIR``, else the XDG
    data folder), created private to the user: prompts may hold secrets."""
    path = default_store_path().parent / HISTORY_FILE_NAME
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    return path


def _bindings(cycle_mode: Callable[[], None] | None) -> KeyBindings:
    keys = KeyBindings()

    @keys.add("enter")
    @keys.add("c-j")  # Enter typed ahead while the terminal was not in raw mode
    def _submit(event: KeyPressEvent) -> None:
        """Enter submits; after a trailing backslash it starts a new line instead."""
        buffer = event.current_buffer
        if buffer.document.is_cursor_at_the_end and buffer.text.endswith("\\"):
            buffer.delete_before_cursor(1)
            buffer.insert_text("\n")
        else:
            buffer.validate_and_handle()

    @keys.add("escape", "enter")
    def _newline(event: KeyPressEvent) -> None:
        event.current_buffer.insert_text("\n")

    @keys.add("c-c")
    def _interrupt(event: KeyPressEvent) -> None:
        """Ctrl-C clears typed text; at an empty prompt it is reported to the loop."""
        buffer = event.current_buffer
        if buffer.text:
            buffer.reset()
        else:
            event.app.exit(exception=KeyboardInterrupt(EMPTY_INTERRUPT))

    if cycle_mode is not None:
        @keys.add("s-tab")
        def _cycle(event: KeyPressEvent) -> None:
            cycle_mode()
            event.app.invalidate()

    return keys


class LineReader:
    """The session's input: one prompt_toolkit session with a file history."""

    def __init__(self, toolbar: Callable[[], AnyFormattedText],
                 cycle_mode: Callable[[], None] | None = None,
                 history: Path | None = None) -> None:
        self.session: PromptSession[str] = PromptSession(
            history=FileHistory(str(history or history_path())), multiline=True,
            key_bindings=_bindings(cycle_mode), bottom_toolbar=toolbar,
            prompt_continuation=lambda width, *_: CONTINUATION.rjust(width),
            enable_history_search=False)

    async def read(self) -> str:
        """The next input. Ctrl-D at an empty prompt raises EOFError; Ctrl-C at an empty
        prompt raises KeyboardInterrupt."""
        # SIGINT stays the session's (it cancels turns): in raw mode Ctrl-C is a key anyway.
        return await self.session.prompt_async(PROMPT, handle_sigint=False)


def ask_line(markup_prompt: str, render: Callable[[str], str]) -> str:
    """One answer line (approvals, the session picker), read on the calling thread.
    ``render`` turns the rich markup of the prompt into ANSI text. Ctrl-C raises
    KeyboardInterrupt, Ctrl-D at an empty line EOFError."""
    answer: str = PromptSession().prompt(ANSI(render(markup_prompt)), handle_sigint=False)
    return answer
