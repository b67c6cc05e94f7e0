"""What a shell prints, split into a command's output and its end record, within a budget."""

from __future__ import annotations

from claude_like.sandbox.base import OMITTED_MARK


def decode_output(data: bytes | bytearray) -> str:
    """UTF-8 text of shell output (invalid bytes shown as U+FFFD)."""
    return bytes(data).decode("utf-8", errors="replace")


class OutputCapture:
    """Keeps the head and the tail of a stream of bytes within a budget, never stalling.

    When the stream is longer than the budget, the text holds the head, one note with the
    exact number of bytes left out, and the tail (both cut at character boundaries)."""

    def __init__(self, limit: int) -> None:
        self.half = max(limit // 2, 1)
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def add(self, data: bytes | bytearray) -> None:
        self.total += len(data)
        room = self.half - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            if len(self.tail) > 2 * self.half:
                del self.tail[: len(self.tail) - self.half]

    @property
    def truncated(self) -> bool:
        return self.total > len(self.head) + len(self.tail)

    def text(self) -> str:
        if not self.truncated:
            return decode_output(self.head + self.tail)
        head = _cut_incomplete_end(bytes(self.head))
        tail = _cut_incomplete_start(bytes(self.tail[-self.half :]))
        omitted = self.total - len(head) - len(tail)
        mark = OMITTED_MARK.format(omitted=omitted)
        return f"{decode_output(head)}{mark}{decode_output(tail)}"


def _cut_incomplete_start(data: bytes) -> bytes:
    """Drop UTF-8 continuation bytes a cut left at the start (at most 3)."""
    i = 0
    while i < min(len(data), 3) and 0x80 <= data[i] < 0xC0:
        i += 1
    return data[i:]


def _cut_incomplete_end(data: bytes) -> bytes:
    """Drop a UTF-8 sequence a cut left unfinished at the end."""
    for back in range(1, min(len(data), 4) + 1):
        byte = data[-back]
        if byte < 0x80:
            return data
        if byte >= 0xC0:
            need = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return data if back >= need else data[:-back]
    return data


class CommandStream:
    """Splits what the shell prints into the command's output and its end record:
    ``\\n__CL_END_<nonce> <status>\\0<pwd>\\0<export -p>\\0``."""

    def __init__(self, nonce: str, limit: int) -> None:
        self.marker = f"\n__CL_END_{nonce} ".encode()
        self.capture = OutputCapture(limit)
        self._buf = bytearray()

    def feed(self, chunk: bytes) -> tuple[int, str, str] | None:
        """Add ``chunk``; the record ``(status, pwd, exports)`` once it is complete."""
        buf = self._buf
        buf += chunk
        idx = buf.find(self.marker)
        if idx < 0:
            keep = len(self.marker) - 1  # a marker may be split across chunks
            if len(buf) > keep:
                self.capture.add(buf[:-keep])
                del buf[:-keep]
            return None
        self.capture.add(buf[:idx])
        del buf[:idx]
        fields = bytes(buf[len(self.marker) :]).split(b"\0", 3)
        if len(fields) < 4:
            return None
        status, pwd, exports = fields[0], fields[1], fields[2]
        return int(status), pwd.decode("utf-8", "surrogateescape"), decode_output(exports)

    def rest(self) -> str:
        """All the output, buffered bytes included (when the stream ended without a record)."""
        self.capture.add(self._buf)
        self._buf.clear()
        return self.capture.text()
