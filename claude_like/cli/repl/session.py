"""The interactive session: read a line, run it as a turn (or a slash command), show the
turn as it streams, answer its approvals inline, and go on until /exit or Ctrl-D.

A turn runs ``agent.astream()`` as an asyncio task, so Ctrl-C (SIGINT, while the terminal
is not in the prompt's raw mode) cancels it wherever it waits: in a model call or in a
tool. The conversation keeps every step that was checkpointed; calls left without a
result are answered as "not run" when the next turn starts (the planner does that), and
the thread's shell is closed so a running command stops with the turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from prompt_toolkit.formatted_text import StyleAndTextTuples
from rich.console import Console

from claude_like.cli.approvals import Answers, TerminalApprover
from claude_like.cli.render import safe
from claude_like.cli.repl.input import EMPTY_INTERRUPT, LineReader, ask_line
from claude_like.cli.repl.live import TurnView
from claude_like.cli.repl.tool_view import ToolLog
from claude_like.events import AgentResult, ApprovalRequested, Final
from claude_like.permissions.approval import ApprovalRequest
from claude_like.permissions.modes import MODES
from claude_like.state import add_usage

if TYPE_CHECKING:
    from claude_like.agent import ClaudeLikeAgent, RunInput

T = TypeVar("T")
LOCAL_PROVIDERS = ("llamacpp", "llamacpp-anthropic", "ollama", "embedded")


def is_local(model_name: str | None) -> bool:
    """Whether the model runs on this machine (its prompt reading can take a while)."""
    if not model_name:
        return True  # no spec: a local llama-server or the embedded one
    return model_name.split(":", 1)[0] in LOCAL_PROVIDERS


@dataclass
class AgentOptions:
    """What the session builds its agent from, kept so /model can build another."""

    model: str | None
    settings: dict[str, Any] = field(default_factory=dict)
    """ClaudeLikeAgent keywords: workspace, sandbox, max_turns, permission rules, ..."""

    def build(self, model: str | None = None, **choices: Any) -> ClaudeLikeAgent:
        from claude_like.agent import ClaudeLikeAgent

        return ClaudeLikeAgent(model=model or self.model, **{**self.settings, **choices})


class ReplSession:
    """One interactive session on one agent (replaced by /model)."""

    def __init__(self, options: AgentOptions, agent: ClaudeLikeAgent, console: Console,
                 reader: LineReader | None = None) -> None:
        self.options = options
        self.agent = agent
        self.console = console
        self.tools = ToolLog()
        self.view = TurnView(console, self.tools, local=is_local(agent.model_name))
        self.reader = reader or LineReader(self.toolbar, self.cycle_mode)
        self.totals: dict[str, int] = {}
        """Tokens of every turn of this session (all threads)."""
        self.running = True
        self._current: asyncio.Task[Any] | None = None
        self._interrupts = 0

    # -- the status line -----------------------------------------------------------------
    def toolbar(self) -> StyleAndTextTuples:
        """Model, permission mode and context use, under the prompt."""
        context = self.view.context
        used = (f"context {context.share:.0%} ({context.tokens:,} of {context.window:,})"
                if context is not None else "context -")
        mode = self.agent.permission_mode
        return [("", f" {self.agent.model_name} "), ("", "· "),
                ("bold" if mode != "default" else "", f"{mode} mode"),
                ("", f" (shift-tab) · {used} · /help ")]

    def cycle_mode(self) -> None:
        """Shift-Tab: the next permission mode."""
        modes = list(MODES)
        self.agent.set_permission_mode(modes[(modes.index(self.agent.permission_mode) + 1)
                                             % len(modes)])

    # -- the loop --------------------------------------------------------------------------
    async def run(self) -> None:
        """Until /exit or Ctrl-D; the agent is closed at the end."""
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError):  # Windows: no loop signal handlers
            loop.add_signal_handler(signal.SIGINT, self._on_sigint)
        try:
            self.banner()
            await self.answer_pending()
            while self.running:
                line = await self._next_line()
                if line is None:
                    break
                if line.startswith("/"):
                    from claude_like.cli.repl.slash import dispatch

                    await dispatch(self, line)
                elif line.strip():
                    await self.busy(self.turn(line))
        finally:
            with contextlib.suppress(NotImplementedError):
                loop.remove_signal_handler(signal.SIGINT)
            await asyncio.to_thread(self.agent.close)

    async def _next_line(self) -> str | None:
        """The next input; None when the user leaves (Ctrl-D, or Ctrl-C twice)."""
        while True:
            try:
                line = await self.reader.read()
            except EOFError:
                return None
            except KeyboardInterrupt as exc:
                if str(exc) != EMPTY_INTERRUPT or self._interrupts:
                    return None
                self._interrupts += 1
                self.console.print("[dim](Ctrl-C again, Ctrl-D or /exit to leave)[/]")
                continue
            self._interrupts = 0
            return line.strip("\n")

    def banner(self) -> None:
        self.console.print(
            f"[bold]claude-like[/] [dim]· {safe(self.agent.model_name)} · "
            f"{safe(self.agent.workspace)} · session {self.agent.thread_id}[/]", soft_wrap=True)
        self.console.print("[dim]Enter sends, \\ then Enter or Esc Enter for a new line, "
                           "Ctrl-C cancels a turn, /help lists commands, Ctrl-D leaves[/]")

    def _on_sigint(self) -> None:
        task = self._current
        if task is not None and not task.done():
            task.cancel()

    async def busy(self, work: Awaitable[T]) -> T | None:
        """``work`` as a task that Ctrl-C cancels; None when it was cancelled or failed
        (which is said)."""
        task: asyncio.Task[T] = asyncio.ensure_future(work)
        self._current = task
        try:
            await asyncio.wait([task])
        finally:
            self._current = None
        if task.cancelled():
            self.console.print("[yellow]interrupted[/] [dim]the conversation keeps every "
                               "step that finished[/]")
            await asyncio.to_thread(self.agent.sandbox.close_session, self.agent.thread_id)
            return None
        error = task.exception()
        if error is not None:
            self.console.print(f"[bold red]error:[/] {safe(type(error).__name__)}: "
                               f"{safe(str(error))}", soft_wrap=True)
            return None
        return task.result()

    # -- turns -----------------------------------------------------------------------------
    async def turn(self, step: RunInput) -> AgentResult:
        """Run ``step`` to its end, answering the approvals it stops for."""
        usage: dict[str, int] = {}
        self.view.start()
        try:
            while True:
                result = await self._stream(step)
                usage = add_usage(usage, result.usage)
                self.totals = add_usage(self.totals, result.usage)
                if result.stop_reason != "interrupted" or not result.pending:
                    break
                self.view.pause()
                answers = await self.ask(result.pending)
                self.view.resume()
                step = self.agent.answer(answers)
        finally:
            self.view.stop()
        self._outcome(result, usage)
        return result

    async def answer_pending(self) -> None:
        """Calls the conversation left waiting for approval (a session resumed after the
        program ended at an approval prompt): ask now, and go on with the turn."""
        pending = await asyncio.to_thread(self.agent.pending)
        if not pending:
            return
        self.console.print("[yellow]this conversation has calls waiting for your answer[/]")
        answers = await self.ask(pending)
        await self.busy(self.turn(self.agent.answer(answers)))

    async def _stream(self, step: RunInput) -> AgentResult:
        result: AgentResult | None = None
        async for event in self.agent.astream(step):
            if isinstance(event, Final):
                result = event.result
            elif not isinstance(event, ApprovalRequested):  # answered together, after
                self.view.show(event)
        if result is None:
            raise RuntimeError("the agent's stream ended without a result")
        return result

    async def ask(self, requests: Sequence[ApprovalRequest]) -> Answers:
        """y / n / always for each request, on a worker thread (its prompt blocks)."""
        approver = TerminalApprover(self.console, read_line=self.read_line)
        return await asyncio.to_thread(approver, requests)

    def read_line(self, markup: str) -> str:
        """One line of input after a rich-markup prompt (worker threads only)."""
        return ask_line(markup, self._ansi)

    def _ansi(self, markup: str) -> str:
        with self.console.capture() as captured:
            self.console.print(markup, end="")
        return captured.get()

    def _outcome(self, result: AgentResult, usage: dict[str, int]) -> None:
        reason = result.stop_reason
        if reason in ("error", "blocked"):
            self.console.print(f"[bold red]error:[/] {safe(result.error)}", soft_wrap=True)
        elif reason == "max_turns":
            self.console.print(f"[yellow]stopped at the turn limit "
                               f"({self.agent.max_turns} model calls)[/]")
        elif reason == "denied":
            self.console.print("[yellow]stopped: a refusal ended the run[/]")
        self.console.print(self.view.stats(usage))

    # -- switching conversations and models ------------------------------------------------
    def switch_thread(self, thread_id: str) -> None:
        """Continue on ``thread_id`` (the permission mode stays as it is now)."""
        mode = self.agent.permission_mode
        old = self.agent.thread_id
        self.agent.thread_id = thread_id
        if self.agent.permission_mode != mode:
            self.agent.set_permission_mode(mode)
        self.agent.sandbox.close_session(old)
        self.view.context = None

    def new_thread(self) -> str:
        thread_id = uuid.uuid4().hex
        self.switch_thread(thread_id)
        return thread_id

    async def switch_model(self, spec: str) -> bool:
        """Build an agent on ``spec`` that continues this conversation; the old agent is
        closed only once the new one works."""
        mode, thread_id = self.agent.permission_mode, self.agent.thread_id
        build: Callable[[], ClaudeLikeAgent] = lambda: self.options.build(  # noqa: E731
            spec, thread_id=thread_id, permission_mode=mode)
        with self.console.status(f"starting {safe(spec)}"):
            agent = await self.busy(asyncio.to_thread(build))
        if agent is None:
            return False
        old, self.agent = self.agent, agent
        self.options.model = spec
        self.view.local = is_local(agent.model_name)
        await asyncio.to_thread(old.close)
        return True
