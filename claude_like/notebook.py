"""Watching a run as it happens: ``show(agent.stream(...))`` in Jupyter or a terminal.

In a Jupyter kernel the stream is one HTML output updated in place (text as it streams,
each tool call a collapsible line that gains its result, approvals with their diff, the
context figure, and the result at the end). Anywhere else (a terminal, ``python x.py``,
an IPython shell without a notebook) it is printed as plain lines, so the same code runs
in both. Rendering itself lives in :mod:`claude_like.display`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import AsyncIterable, Iterable
from dataclasses import dataclass, field
from typing import Any, TextIO

from claude_like.display import (
    event_html,
    event_text,
    tool_call_html,
)
from claude_like.events import (
    AgentResult,
    ContextUsage,
    Final,
    TextDelta,
    ToolFinished,
    ToolStarted,
)

__all__ = ["StreamView", "ashow", "in_notebook", "show"]


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where HTML output is shown), False in a plain
    interpreter or a terminal IPython."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


@dataclass
class _Call:
    name: str
    args: dict[str, Any]
    output: str | None = None
    ok: bool | None = None


@dataclass
class _Items:
    """What has arrived, in order: text runs, tool calls (filled in when they finish),
    other events; the latest context figure is kept apart (it replaces the previous)."""

    items: list[Any] = field(default_factory=list)
    calls: dict[str, _Call] = field(default_factory=dict)
    context: ContextUsage | None = None

    def add(self, event: Any) -> None:
        if isinstance(event, TextDelta):
            if self.items and isinstance(self.items[-1], list):
                self.items[-1].append(event.text)
            else:
                self.items.append([event.text])
        elif isinstance(event, ToolStarted):
            call = _Call(event.name, dict(event.args))
            self.calls[event.id] = call
            self.items.append(call)
        elif isinstance(event, ToolFinished):
            call = self.calls.get(event.id)
            if call is None:  # a finish without a start (a refused repeat): show it alone
                call = _Call(event.name, {})
                self.items.append(call)
            call.output, call.ok = event.output, event.ok
        elif isinstance(event, ContextUsage):
            self.context = event
        else:
            self.items.append(event)


class StreamView:
    """Shows a run's events as they arrive; ``result`` is the run's result once ``Final``
    came. ``html=None`` picks HTML inside a Jupyter kernel and plain text elsewhere;
    ``refresh`` is the least time in seconds between two redraws for streamed text (tool
    events and the end redraw at once)."""

    def __init__(self, *, html: bool | None = None, file: TextIO | None = None,
                 refresh: float = 0.25) -> None:
        self.html = in_notebook() if html is None else html
        self.file = file
        self.refresh = refresh
        self.result: AgentResult | None = None
        self._items = _Items()
        self._handle: Any = None
        self._drawn = 0.0
        self._line_open = False

    # -- rendering -------------------------------------------------------------------------
    def to_html(self) -> str:
        """Everything so far as HTML: text, calls with their results, other events, the
        latest context figure, and the summary line once the run ended."""
        parts = []
        for item in self._items.items:
            if isinstance(item, list):
                parts.append('<div style="white-space:pre-wrap;margin:4px 0">'
                             f'{"".join(event_html(TextDelta(t)) for t in item)}</div>')
            elif isinstance(item, _Call):
                parts.append(tool_call_html(item.name, item.args, item.output, item.ok))
            else:
                parts.append(event_html(item))
        if self._items.context is not None:
            parts.append(event_html(self._items.context))
        return f'<div class="claude-like-stream">{"".join(parts)}</div>'

    def _repr_html_(self) -> str:
        return self.to_html()

    # -- feeding ---------------------------------------------------------------------------
    def add(self, event: Any) -> None:
        """Take one event and show it (a redraw in HTML, printed lines in text)."""
        self._items.add(event)
        if isinstance(event, Final):
            self.result = event.result
        if self.html:
            urgent = not isinstance(event, TextDelta)
            if urgent or time.monotonic() - self._drawn >= self.refresh:
                self._draw()
        else:
            self._print(event)

    def close(self) -> None:
        """Draw what is left (text that came after the last redraw)."""
        if self.html:
            self._draw()
        elif self._line_open:
            self._write("\n")
            self._line_open = False

    def _draw(self) -> None:
        from IPython.display import HTML, display

        page = HTML(self.to_html())
        if self._handle is None:
            self._handle = display(page, display_id=True)
        else:
            self._handle.update(page)
        self._drawn = time.monotonic()

    def _write(self, text: str) -> None:
        out = self.file or sys.stdout
        out.write(text)
        out.flush()

    def _print(self, event: Any) -> None:
        if isinstance(event, TextDelta):
            self._write(event_text(event))
            self._line_open = not event.text.endswith("\n")
            return
        if isinstance(event, ContextUsage):  # one line per turn is noise: shown at the end
            return
        if isinstance(event, Final) and self._items.context is not None:
            self._write(("\n" if self._line_open else "") + event_text(self._items.context))
            self._line_open = True
        self._write(("\n" if self._line_open else "") + event_text(event) + "\n")
        self._line_open = False


def show(events: Iterable[Any], *, html: bool | None = None,
         file: TextIO | None = None) -> AgentResult | None:
    """Show ``agent.stream(...)`` as it runs; the run's result (None if the stream had no
    ``Final``). Write ``result = show(...)``: a bare ``show(...)`` as a cell's last line
    would display the result a second time."""
    view = StreamView(html=html, file=file)
    try:
        for event in events:
            view.add(event)
    finally:
        view.close()
    return view.result


async def ashow(events: AsyncIterable[Any], *, html: bool | None = None,
                file: TextIO | None = None) -> AgentResult | None:
    """:func:`show` for ``agent.astream(...)`` (``await ashow(...)`` in a notebook cell)."""
    view = StreamView(html=html, file=file)
    try:
        async for event in events:
            view.add(event)
    finally:
        view.close()
    return view.result
