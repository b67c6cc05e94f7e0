"""How Read, Edit and Grep turn a file's bytes into text, and Edit turns it back.

A file is UTF-8 when it decodes as UTF-8; anything else is read as Latin-1, which maps
every byte to one character, so an edit writes back exactly the bytes it did not touch (a
Latin-1 or cp1252 file keeps its encoding). Line endings are the file's: a file whose
lines end in CRLF gets CRLF in the lines an edit inserts too.
"""

from __future__ import annotations

from dataclasses import dataclass

BINARY_SNIFF_BYTES = 8192
"""How much of a file is looked at for NUL bytes to decide that it is binary."""


def is_binary(data: bytes) -> bool:
    """Cheap and conventional (git, grep): a NUL byte near the start means binary."""
    return b"\x00" in data[:BINARY_SNIFF_BYTES]


@dataclass(frozen=True)
class DecodedText:
    text: str
    encoding: str
    """``utf-8`` or ``latin-1``: what :meth:`encode` writes back."""

    @property
    def crlf(self) -> bool:
        """True when the file's lines end in CRLF (most of its newlines have a CR)."""
        newlines = self.text.count("\n")
        return newlines > 0 and self.text.count("\r\n") * 2 > newlines

    def encode(self, text: str) -> bytes:
        """``text`` in the file's encoding; UnicodeEncodeError names what does not fit."""
        return text.encode(self.encoding)


def decode(data: bytes) -> DecodedText:
    try:
        return DecodedText(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        return DecodedText(data.decode("latin-1"), "latin-1")


def with_line_endings(text: str, crlf: bool) -> str:
    """``text`` with its bare newlines as CRLF when ``crlf`` (CRLF pairs left alone)."""
    if not crlf:
        return text
    return text.replace("\r\n", "\n").replace("\n", "\r\n")
