"""The agent's graph state: what one conversation carries from step to step."""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict

from claude_like.context.view import ContextState
from claude_like.permissions.approval import ApprovalRequest, Verdict
from claude_like.todos import Todo

StopReason = Literal["", "done", "max_turns", "error", "interrupted", "denied", "blocked"]
"""``interrupted``: calls wait for the user's approval; ``denied``: a refusal that ends the
run; ``blocked``: a UserPromptSubmit hook refused the prompt."""


def thread_of(config: Mapping[str, Any] | None) -> str:
    """The thread a node runs for (its session id), from the run's config."""
    return str(((config or {}).get("configurable") or {}).get("thread_id", ""))


def add_usage(left: dict[str, int] | None, right: dict[str, int] | None) -> dict[str, int]:
    """Sum token counts key by key, so usage totals accumulate over turns and runs."""
    out = dict(left or {})
    for key, value in (right or {}).items():
        if isinstance(value, int | float):
            out[key] = out.get(key, 0) + int(value)
    return out


class TurnStats(TypedDict, total=False):
    """One planner call's figures, kept to measure prompt caching and cost per turn."""

    turn: int
    input_tokens: int
    output_tokens: int
    cache_n: int
    """Prompt tokens served from the server's KV cache (llama-server ``timings``)."""
    prompt_n: int
    """Prompt tokens the server had to evaluate (llama-server ``timings``)."""
    estimated_tokens: int
    """Prompt tokens the context manager estimated before sending the request."""


class AgentState(TypedDict, total=False):
    """State of one thread. ``turns`` and ``stop_reason`` are reset by each run's input."""

    messages: Annotated[list[AnyMessage], add_messages]
    turns: int
    """Planner calls in the current run."""
    usage: Annotated[dict[str, int], add_usage]
    """Token totals of the thread (input_tokens, output_tokens, total_tokens,
    cached_tokens: prompt tokens the server took from its cache)."""
    turn_stats: Annotated[list[TurnStats], operator.add]
    stop_reason: StopReason
    error: str
    """Why the run stopped with ``stop_reason == "error"``."""
    context: ContextState
    """Context management's record: where the model's view starts, the summary of what
    came before, cleared tool results, the learnt token ratio (see ``context.view``)."""
    permission_mode: str
    """The thread's permission mode when it differs from the agent's default (an approved
    plan, ``set_permission_mode``)."""
    session_rules: list[str]
    """Allow rules added during the session (``always`` answers, callback updates)."""
    verdicts: dict[str, Verdict]
    """The permission verdict of each call of the current turn, by tool-call id."""
    pending: list[ApprovalRequest]
    """Calls of the current turn waiting for the user."""
    stop_hook_active: bool
    """True while the run continues because a Stop hook asked it to."""
    todos: list[Todo]
    """The task list the model keeps with TodoWrite (shown to it every turn)."""
