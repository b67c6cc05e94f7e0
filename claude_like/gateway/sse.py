"""The Messages API's streaming format, event by event, in the order Anthropic clients expect:

``message_start``, ``ping``, per content block ``content_block_start``, its
``content_block_delta``s (``text_delta`` or ``input_json_delta``) and ``content_block_stop``,
then ``message_delta`` (stop reason and usage) and ``message_stop``. A failure after the
response started is an ``error`` event shaped as Anthropic's.

Text is streamed as the backend produces it. Tool calls are sent when the reply is complete:
their arguments must be whole to be repaired and checked, and a client cannot use half a
call anyway. While tools are bound, text from the first character that may open a call
written as text (``<``, ``{``, ``[``, a backquote) is held back until the end: if it was a
call, it is sent as a ``tool_use`` block, not as text as well.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

#: Characters that may open a tool call a model wrote as text.
MARKERS = "<{[`"
#: Characters of arguments per ``input_json_delta``.
JSON_PIECE = 64
#: Seconds without a chunk after which a ``ping`` keeps the connection alive.
PING_EVERY = 10.0


def event(name: str, data: dict[str, Any]) -> str:
    """One server-sent event."""
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


class TextGate:
    """Decides which text may be sent now and which waits for the end of the reply."""

    def __init__(self, hold: bool) -> None:
        self.hold = hold
        self.sent = ""
        self.held = ""

    def feed(self, text: str) -> str:
        """The part of ``text`` that may go out now."""
        if self.held:
            self.held += text
            return ""
        if self.hold:
            cut = min((i for i in (text.find(m) for m in MARKERS) if i >= 0), default=-1)
            if cut >= 0:
                self.held, text = text[cut:], text[:cut]
        self.sent += text
        return text

    def rest(self, recovered: bool) -> str:
        """Held text to send at the end; nothing when it turned out to be tool calls."""
        out = "" if recovered else self.held
        self.sent += out
        self.held = ""
        return out


def visible_text(text: str, *, recovered: bool, hold: bool) -> str:
    """The text a client gets for a whole reply: the same as the stream would send."""
    gate = TextGate(hold)
    gate.feed(text)
    gate.rest(recovered)
    return gate.sent


class EventWriter:
    """Builds the event sequence of one streamed message."""

    def __init__(self, message: dict[str, Any]) -> None:
        self.message = message
        self.index = -1
        self.text_open = False

    def start(self) -> str:
        return event("message_start", {"type": "message_start", "message": self.message}) + \
            ping()

    def text(self, delta: str) -> str:
        if not delta:
            return ""
        out = ""
        if not self.text_open:
            self.index += 1
            self.text_open = True
            out = event("content_block_start", {"type": "content_block_start",
                                                "index": self.index,
                                                "content_block": {"type": "text", "text": ""}})
        return out + event("content_block_delta", {
            "type": "content_block_delta", "index": self.index,
            "delta": {"type": "text_delta", "text": delta}})

    def _close_text(self) -> str:
        if not self.text_open:
            return ""
        self.text_open = False
        return event("content_block_stop", {"type": "content_block_stop", "index": self.index})

    def tool_use(self, block: dict[str, Any]) -> str:
        out = self._close_text()
        self.index += 1
        out += event("content_block_start", {
            "type": "content_block_start", "index": self.index,
            "content_block": {"type": "tool_use", "id": block["id"], "name": block["name"],
                              "input": {}}})
        args = json.dumps(block["input"], ensure_ascii=False)
        for i in range(0, len(args), JSON_PIECE):
            out += event("content_block_delta", {
                "type": "content_block_delta", "index": self.index,
                "delta": {"type": "input_json_delta", "partial_json": args[i:i + JSON_PIECE]}})
        return out + event("content_block_stop", {"type": "content_block_stop",
                                                   "index": self.index})

    def finish(self, tool_uses: list[dict[str, Any]], stop_reason: str,
               usage: dict[str, int]) -> str:
        out = self._close_text() + "".join(self.tool_use(b) for b in tool_uses)
        out += event("message_delta", {"type": "message_delta",
                                       "delta": {"stop_reason": stop_reason,
                                                 "stop_sequence": None},
                                       "usage": usage})
        return out + event("message_stop", {"type": "message_stop"})


def ping() -> str:
    return event("ping", {"type": "ping"})


def error_event(body: dict[str, Any]) -> str:
    """A failure after the stream started (``body`` from ``errors.error_body``)."""
    return event("error", body)


async def with_pings(chunks: AsyncIterator[Any], every: float | None = None
                     ) -> AsyncIterator[Any]:
    """The items of ``chunks``, and ``None`` whenever ``every`` seconds pass without one
    (the caller sends a ``ping``), so a slow backend does not look like a dead connection."""
    every = every if every is not None else PING_EVERY
    iterator = aiter(chunks)
    pending: asyncio.Task[Any] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(iterator))
            done, _ = await asyncio.wait({pending}, timeout=every)
            if not done:
                yield None
                continue
            try:
                item = pending.result()
            except StopAsyncIteration:
                return
            finally:
                if done:
                    pending = None
            yield item
    finally:
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending
