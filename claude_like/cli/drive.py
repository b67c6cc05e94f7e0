"""One task to its end: stream it, answer the approvals it stops for, continue, until the
run ends for another reason. Front ends (the one-shot command, the REPL) share it."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Protocol

from claude_like.cli.approvals import Approver
from claude_like.events import AgentEvent, AgentResult, ApprovalRequested, Final
from claude_like.state import add_usage

if TYPE_CHECKING:
    from claude_like.agent import ClaudeLikeAgent, RunInput


class EventSink(Protocol):
    """Where a run's events go: the terminal renderer, or JSON for scripts."""

    def show(self, event: AgentEvent) -> None: ...

    def end_text(self) -> None: ...


def drive(agent: ClaudeLikeAgent, task: RunInput, renderer: EventSink,
          approve: Approver) -> AgentResult:
    """The result of ``task`` on the agent's thread, after every approval it asked for was
    answered by ``approve``; ``usage`` covers the whole task, not only its last stretch."""
    usage: dict[str, int] = {}
    step: RunInput = task
    while True:
        result: AgentResult | None = None
        for event in agent.stream(step):
            if isinstance(event, Final):
                result = event.result
            elif not isinstance(event, ApprovalRequested):  # answered below, all at once
                renderer.show(event)
        if result is None:  # stream() always ends with Final; this guards the loop
            raise RuntimeError("the agent's stream ended without a result")
        usage = add_usage(usage, result.usage)
        if result.stop_reason != "interrupted" or not result.pending:
            return dataclasses.replace(result, usage=usage)
        renderer.end_text()
        step = agent.answer(approve(result.pending))
