"""Text from tools and models made safe to show: to the model, in JSON, in a terminal.

Tool output can hold two kinds of characters that do harm downstream:

* terminal control sequences (``\\x1b]0;title\\x07`` sets the window title, ``\\x1bc``
  resets the terminal, ``\\x1b[8m`` hides text), which a terminal obeys and a model reads
  as noise;
* lone surrogates (``\\udcff``), which Python uses for bytes of a file name that are not
  UTF-8 and which make the next model request fail with ``UnicodeEncodeError``.

:func:`visible` shows both as plain escapes (``\\x1b``, ``\\xff``) and keeps newlines and
tabs. It is idempotent: its output has nothing left to escape.
"""

from __future__ import annotations

import re

__all__ = ["unescape_bytes", "visible"]

_UNSAFE = re.compile(
    "\r\n"  # a Windows line end: a plain newline (only a lone CR is a control)
    "|[\x00-\x08\x0b-\x1f\x7f-\x9f]"  # C0 and C1 controls and DEL, but not \t and \n
    "|[\ud800-\udfff]"  # lone surrogates (undecodable bytes of a name)
)


def _escape(m: re.Match[str]) -> str:
    ch = m.group()
    if ch == "\r\n":
        return "\n"
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape: the original byte
        return f"\\x{code - 0xDC00:02x}"
    if code >= 0xD800:
        return f"\\u{code:04x}"
    return f"\\x{code:02x}"


def visible(text: str) -> str:
    """``text`` with control characters and lone surrogates shown as ``\\xNN`` escapes."""
    if not _UNSAFE.search(text):
        return text
    return _UNSAFE.sub(_escape, text)


_BYTE_ESCAPE = re.compile(r"\\x([0-9a-fA-F]{2})")


def unescape_bytes(text: str) -> str:
    """The inverse of :func:`visible` for ``\\xNN`` escapes, so a name the model copies
    from a listing (``caf\\xe9.txt``) finds the file: bytes 0x80-0xff become the
    surrogates Python uses for them in file names, lower ones the control character."""

    def _byte(m: re.Match[str]) -> str:
        code = int(m.group(1), 16)
        return chr(0xDC00 + code) if code >= 0x80 else chr(code)

    return _BYTE_ESCAPE.sub(_byte, text)
