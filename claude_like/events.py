"""Typed events that ``ClaudeLikeAgent.stream`` yields, built on LangGraph's stream modes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AnyMessage

from claude_like.context.compaction import Compaction as Compacted
from claude_like.permissions.approval import ApprovalRequest
from claude_like.state import StopReason, TurnStats
from claude_like.stream import stream_writer
from claude_like.todos import Todo

__all__ = ["AgentEvent", "AgentResult", "ApprovalRequested", "Compacted", "ContextUsage",
           "Final", "Notice", "SubagentEvent", "TextDelta", "TodosUpdated", "ToolFinished",
           "ToolStarted", "stream_writer"]


@dataclass(frozen=True)
class TextDelta:
    """A piece of the model's visible text, as it streams."""

    text: str


@dataclass(frozen=True)
class ToolStarted:
    """The tool node is about to run a call."""

    id: str
    name: str
    args: dict[str, Any]


@dataclass(frozen=True)
class ToolFinished:
    """A call finished; ``ok`` is False when its result is an error for the model."""

    id: str
    name: str
    ok: bool
    output: str


@dataclass(frozen=True)
class ApprovalRequested:
    """A call waits for the user: the run pauses (``stop_reason="interrupted"``) unless a
    ``can_use_tool`` callback answers it."""

    request: ApprovalRequest


@dataclass(frozen=True)
class SubagentEvent:
    """An event of a sub-agent working on a Task call (``task_id``: the call's id)."""

    agent: str
    task_id: str
    description: str
    event: AgentEvent


@dataclass(frozen=True)
class TodosUpdated:
    """The model rewrote its task list (TodoWrite)."""

    todos: list[Todo]


@dataclass(frozen=True)
class Notice:
    """Something the user should know that is not the model's text: a hook that failed,
    a hook's system message."""

    source: str
    text: str


@dataclass(frozen=True)
class ContextUsage:
    """One turn's prompt against the window (after the model answered)."""

    turn: int
    tokens: int
    """Prompt tokens of the request (the server's figure unless ``estimated``)."""
    window: int
    limit: int
    """Prompt tokens that fit beside the generation cap."""
    share: float
    """``tokens / window``."""
    warning: bool
    """True from the warning threshold on (75% of ``limit`` by default)."""
    estimated: bool = False


@dataclass(frozen=True)
class AgentResult:
    """The outcome of one run."""

    text: str
    """The final answer (the last assistant message's text)."""
    messages: list[AnyMessage]
    """The whole conversation of the thread, this run included: the full transcript,
    also after compaction (which only changes what the model is shown)."""
    turns: int
    """Planner calls in this run."""
    usage: dict[str, int]
    """Tokens used by this run (input_tokens, output_tokens, total_tokens)."""
    stop_reason: StopReason
    """"done", "max_turns", "error", "interrupted" (calls wait for approval: see
    ``pending`` and ``ClaudeLikeAgent.resume``), "denied" (a refusal ended the run) or
    "blocked" (a UserPromptSubmit hook refused the prompt)."""
    error: str = ""
    """Why the run failed, when ``stop_reason == "error"``."""
    thread_id: str = ""
    turn_stats: list[TurnStats] = field(default_factory=list)
    """Per-turn token and prompt-cache figures of this run."""
    pending: list[ApprovalRequest] = field(default_factory=list)
    """The calls waiting for the user's answer when ``stop_reason == "interrupted"``."""

    def _repr_html_(self) -> str:
        """Jupyter's rich view: the conversation, tool calls collapsible, diffs coloured."""
        from claude_like.display import result_html

        return result_html(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """IPython's plain view: the conversation as text, not the dataclass fields."""
        from claude_like.display import result_text

        printer.text("AgentResult(...)" if cycle else result_text(self))


@dataclass(frozen=True)
class Final:
    """The last event of a stream."""

    result: AgentResult


AgentEvent = (TextDelta | ToolStarted | ToolFinished | ApprovalRequested | Notice | TodosUpdated
              | SubagentEvent | ContextUsage | Compacted | Final)
