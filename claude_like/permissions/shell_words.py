"""A shell line cut into its simple commands, so a rule judges each one.

``git status && rm -rf x`` is two commands: an allow rule for ``git status`` must not let
the second through. The line is tokenised the way the shell quotes (``shlex`` with
punctuation), split at ``&&``, ``||``, ``;``, ``|``, ``&`` and newlines; a command that
runs other code the rules cannot see (``$(...)``, backticks, process substitution,
``eval``, ``sh -c``) is marked opaque, and no allow rule matches an opaque command.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

SEPARATORS = frozenset({"&&", "||", ";", "|", "&", "\n", ";;", "|&"})
_HIDDEN = ("$(", "`", "<(", ">(")
_RUNNERS = frozenset({"eval", "exec", "source", "."})
_SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh"})


@dataclass(frozen=True)
class SimpleCommand:
    """One command of a line: its words as the shell would see them (quotes removed)."""

    words: tuple[str, ...]
    opaque: bool
    """True when it runs code that rules cannot judge from its words."""

    @property
    def text(self) -> str:
        return " ".join(self.words)


class UnparsableCommand(ValueError):
    """The line cannot be tokenised (an unclosed quote): treat it as opaque."""


def split_commands(line: str) -> list[SimpleCommand]:
    """The simple commands of ``line``, in order; raises UnparsableCommand."""
    lexer = shlex.shlex(line.replace("\n", " ; "), posix=True, punctuation_chars=";&|()<>")
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        tokens = list(lexer)
    except ValueError as exc:
        raise UnparsableCommand(str(exc)) from None
    hidden = any(mark in line for mark in _HIDDEN)
    commands: list[SimpleCommand] = []
    words: list[str] = []
    for token in [*tokens, ";"]:
        if token in SEPARATORS or token in ("(", ")"):
            if words:
                commands.append(_command(words, hidden))
            words = []
        else:
            words.append(token)
    return commands


def _command(words: list[str], hidden: bool) -> SimpleCommand:
    name = words[0].rsplit("/", 1)[-1]
    runs_code = name in _RUNNERS or (name in _SHELLS and "-c" in words[1:])
    return SimpleCommand(tuple(words), opaque=hidden or runs_code)
