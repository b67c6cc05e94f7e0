"""One turn on the screen while it streams: the model's text as Markdown, a spinner that
says what the agent is doing and for how long (for a local model, how long it has been
reading the prompt, so a slow CPU prefill does not look like a hang), tool calls through
:class:`ToolLog`, and after the reply its speed in tokens per second.

Finished paragraphs are printed for good as soon as they are complete; only the paragraph
being written and the spinner live in rich's redrawn region, which stays small."""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markdown import Markdown
from rich.spinner import Spinner
from rich.text import Text

from claude_like.cli.render import safe
from claude_like.cli.repl.tool_view import ToolLog
from claude_like.events import (
    AgentEvent,
    Compacted,
    ContextUsage,
    Notice,
    SubagentEvent,
    TextDelta,
    TodosUpdated,
    ToolFinished,
    ToolStarted,
)
from claude_like.text_safety import visible

Clock = Callable[[], float]
_TODO_MARKS = {"completed": "[green]☒[/]", "in_progress": "[yellow]◐[/]", "pending": "☐"}


def split_finished(text: str) -> tuple[str, str]:
    """``text`` cut after its last complete paragraph (a blank line outside a code
    fence): what can be printed for good, and what is still being written."""
    cut = len(text)
    while True:
        cut = text.rfind("\n\n", 0, cut)
        if cut < 0:
            return "", text
        if text.count("```", 0, cut) % 2 == 0:
            return text[:cut], text[cut + 2:]


class TurnView:
    """Renders one turn's events; :meth:`start` and :meth:`stop` bracket it, :meth:`pause`
    and :meth:`resume` leave the terminal to an approval prompt."""

    def __init__(self, console: Console, tools: ToolLog, *, local: bool,
                 clock: Clock = time.monotonic) -> None:
        self.console = console
        self.tools = tools
        self.local = local
        self.clock = clock
        self.context: ContextUsage | None = None
        self._live: Live | None = None
        self._spinner = Spinner("dots", style="cyan")
        self._reset()

    def _reset(self) -> None:
        self.text = ""
        self.model_seconds = 0.0
        self.turn_started = self.clock()
        self._phase_started = self.turn_started
        self._in_call = True
        self._replying = False
        self._running: dict[str, str] = {}

    # -- the live region -------------------------------------------------------------------
    def __rich__(self) -> RenderableType:
        self._spinner.update(text=Text(self.label(), style="dim"))
        if self.text.strip():
            return Group(Markdown(self.text), self._spinner)
        return self._spinner

    def label(self) -> str:
        """What the agent is doing, and for how long (seconds)."""
        elapsed = f"{self.clock() - self._phase_started:.0f}s"
        if self._running:
            return f"running {', '.join(sorted(set(self._running.values())))} · {elapsed}"
        if self._in_call and not self._replying:
            if self.local:
                return f"reading the prompt · {elapsed} (Ctrl-C to cancel)"
            return f"thinking · {elapsed} (Ctrl-C to cancel)"
        if self._in_call:
            return f"writing · {elapsed}"
        return f"working · {elapsed}"

    def start(self) -> None:
        self._reset()
        self._open()

    def _open(self) -> None:
        self._live = Live(self, console=self.console, transient=True, refresh_per_second=8,
                          redirect_stdout=False, redirect_stderr=False)
        self._live.start()

    def pause(self) -> None:
        """Print what was written, and give the terminal back (for an approval)."""
        self._commit(everything=True)
        if self._live is not None:
            self._live.stop()
            self._live = None

    def resume(self) -> None:
        self._phase_started = self.clock()
        self._in_call, self._replying = False, False
        self._open()

    def stop(self) -> None:
        self._end_call()
        self.pause()

    # -- events ----------------------------------------------------------------------------
    def show(self, event: AgentEvent) -> None:
        if isinstance(event, TextDelta):
            if not self._replying:
                self._replying = True
                self._phase_started = self.clock()
            self.text += visible(event.text)
            self._commit()
            return
        self._commit(everything=True)
        if isinstance(event, ToolStarted):
            self._end_call()
            if not self._running:
                self._phase_started = self.clock()
            self._running[event.id] = event.name
            self.console.print(self.tools.started(event))
        elif isinstance(event, ToolFinished):
            self._running.pop(event.id, None)
            self.console.print(self.tools.finished(event))
            if not self._running:
                self._start_call()
        elif isinstance(event, ContextUsage):
            self._end_call()
            self.context = event
            if event.warning:
                self.console.print(f"[yellow]context {event.share:.0%} full[/] [dim]"
                                   f"({event.tokens:,} of {event.window:,} tokens)[/]")
        elif isinstance(event, Compacted):
            self.console.print(f"[yellow]context compacted[/] [dim]({', '.join(event.stages)}: "
                               f"{event.tokens_before:,} -> {event.tokens_after:,} tokens)[/]")
        elif isinstance(event, Notice):
            self.console.print(f"[yellow]! {safe(event.source)}:[/] {safe(event.text)}")
        elif isinstance(event, TodosUpdated):
            self._todos(event)
        elif isinstance(event, SubagentEvent):
            self._subagent(event)

    def _start_call(self) -> None:
        self._in_call, self._replying = True, False
        self._phase_started = self.clock()

    def _end_call(self) -> None:
        """The model answered: its time counts toward the reply speed."""
        if self._in_call:
            self.model_seconds += self.clock() - self._phase_started
            self._in_call = False
            self._phase_started = self.clock()

    def _commit(self, everything: bool = False) -> None:
        done, rest = (self.text, "") if everything else split_finished(self.text)
        if done:
            self.text = rest  # first: printing redraws the live region, which shows the rest
        if done.strip():
            self.console.print(Markdown(done))

    def _todos(self, event: TodosUpdated) -> None:
        for todo in event.todos:
            mark = _TODO_MARKS.get(str(todo.get("status")), "☐")
            self.console.print(f"  {mark} {safe(str(todo.get('content', '')))}")

    def _subagent(self, event: SubagentEvent) -> None:
        inner = event.event
        if isinstance(inner, ToolStarted):
            self.console.print(self.tools.started(inner, indent=4, who=event.agent))
        elif isinstance(inner, ToolFinished):
            self.console.print(self.tools.finished(inner, indent=4))

    # -- after the turn --------------------------------------------------------------------
    def stats(self, usage: dict[str, int]) -> str:
        """``42 tokens out · 3.1 s · 13.5 tok/s · context 12% of 8,192`` (markup)."""
        out_tokens = int(usage.get("output_tokens", 0))
        seconds = self.clock() - self.turn_started
        parts = [f"{out_tokens:,} tokens out", f"{seconds:.1f} s"]
        if self.model_seconds > 0 and out_tokens:
            parts.append(f"{out_tokens / self.model_seconds:.1f} tok/s")
        if self.context is not None:
            parts.append(f"context {self.context.share:.0%} of {self.context.window:,}")
        return "[dim]✻ " + " · ".join(parts) + "[/]"
