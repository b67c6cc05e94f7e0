"""The planner node: the chat model, tools bound, decides the next step (ReAct).

It sees a stable system prompt plus the conversation, and returns an AIMessage with text
and/or tool calls. Tool calls that a small model wrote as text are recovered here, so the
rest of the graph only ever sees native ``tool_calls``. A failing model call ends the run
with ``stop_reason="error"`` instead of an exception.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.errors import GraphBubbleUp

from claude_like.context.accounting import is_context_overflow
from claude_like.context.budget import ContextBudget
from claude_like.context.manager import ContextManager, Request
from claude_like.events import stream_writer
from claude_like.models.tool_call_repair import answer_unanswered, normalize_tool_calls
from claude_like.state import AgentState, TurnStats
from claude_like.todos import reminder

#: Retries of a request the server refused as too long, each after a harder compaction.
MAX_OVERFLOW_RETRIES = 2

Recover = Callable[[AIMessage, Sequence[Any]], AIMessage]
"""Makes a fresh reply's tool calls usable (text calls recovered, near-JSON repaired,
unique ids); given the reply and the tools."""


class Planner:
    """Calls the model on system prompt + the context's view of the conversation, and
    records turns, usage and the context's figures."""

    def __init__(
        self,
        model: BaseChatModel | Runnable[LanguageModelInput, BaseMessage],
        tools: Sequence[BaseTool],
        system_prompt: str,
        *,
        recover: Recover | None = None,
        context: ContextManager | None = None,
    ) -> None:
        self.model = model
        self.tools = list(tools)
        self.bound: Runnable[LanguageModelInput, BaseMessage] = (
            model.bind_tools(list(tools)) if tools and isinstance(model, BaseChatModel) else model
        )
        self.recover = recover or normalize_tool_calls
        self.context = context or ContextManager(
            model, tools, system_prompt, ContextBudget.for_model(model))

    def _prepare(self, state: AgentState, events: list[dict[str, Any]]) -> Request:
        messages = answer_unanswered(state.get("messages", []))
        note = reminder(state.get("todos") or [])
        if note is not None:
            messages = [*messages, note]
        return self.context.prepare(messages, state.get("context") or {}, events.append)

    def _retry(self, state: AgentState, request: Request, exc: Exception, attempt: int,
               events: list[dict[str, Any]]) -> Request | None:
        """A compacted request after a "context exceeded" error, or None to give up."""
        if attempt >= MAX_OVERFLOW_RETRIES or not self.context.compaction \
                or not is_context_overflow(exc):
            return None
        messages = answer_unanswered(state.get("messages", []))
        return self.context.recover(messages, request, exc, events.append, attempt + 1)

    def _update(self, state: AgentState, reply: BaseMessage, request: Request,
                events: list[dict[str, Any]]) -> dict[str, Any]:
        turn = state.get("turns", 0) + 1
        if not isinstance(reply, AIMessage):
            reply = AIMessage(content=reply.content)
        if self.tools:
            reply = self.recover(reply, self.tools)
        ctx = self.context.after_reply(request, reply, turn, events.append)
        usage = dict(reply.usage_metadata or {})
        stats: TurnStats = {
            "turn": turn,
            "input_tokens": int(usage.get("input_tokens", 0)),
            "output_tokens": int(usage.get("output_tokens", 0)),
            "estimated_tokens": request.tokens,
        }
        timings = (reply.response_metadata or {}).get("timings") or {}
        for key in ("cache_n", "prompt_n"):
            if key in timings:
                stats[key] = int(timings[key])  # type: ignore[literal-required]
        totals = {k: v for k, v in usage.items() if isinstance(v, int)}
        cached = timings.get("cache_n") or (usage.get("input_token_details") or {}).get(
            "cache_read")
        if cached:
            totals["cached_tokens"] = int(cached)
        update: dict[str, Any] = {
            "messages": [reply],
            "turns": turn,
            "usage": totals,
            "turn_stats": [stats],
            "context": ctx,
        }
        if not reply.tool_calls and not reply.invalid_tool_calls:
            update["stop_reason"] = "done"
        return update

    def _failed(self, state: AgentState, exc: Exception, request: Request) -> dict[str, Any]:
        update: dict[str, Any] = {
            "turns": state.get("turns", 0) + 1,
            "stop_reason": "error",
            "error": f"the model call failed: {type(exc).__name__}: {exc}",
        }
        if request.changed:
            update["context"] = request.ctx
        return update

    def __call__(self, state: AgentState, config: RunnableConfig) -> dict[str, Any]:
        emit = stream_writer()
        events: list[dict[str, Any]] = []
        request = self._prepare(state, events)
        attempt = 0
        while True:
            _flush(emit, events)
            try:
                reply = self.bound.invoke(request.messages, config)
                break
            except GraphBubbleUp:
                raise
            except Exception as exc:
                retry = self._retry(state, request, exc, attempt, events)
                if retry is None:
                    return self._failed(state, exc, request)
                request, attempt = retry, attempt + 1
        update = self._update(state, reply, request, events)
        _flush(emit, events)
        return update

    async def acall(self, state: AgentState, config: RunnableConfig) -> dict[str, Any]:
        emit = stream_writer()
        events: list[dict[str, Any]] = []
        # Preparing may count tokens or summarise with a blocking call: off the event loop.
        request = await asyncio.to_thread(self._prepare, state, events)
        attempt = 0
        while True:
            _flush(emit, events)
            try:
                reply = await self.bound.ainvoke(request.messages, config)
                break
            except GraphBubbleUp:
                raise
            except Exception as exc:
                retry = await asyncio.to_thread(self._retry, state, request, exc, attempt,
                                                events)
                if retry is None:
                    return self._failed(state, exc, request)
                request, attempt = retry, attempt + 1
        update = self._update(state, reply, request, events)
        _flush(emit, events)
        return update


def _flush(emit: Callable[[dict[str, Any]], None], events: list[dict[str, Any]]) -> None:
    for event in events:
        emit(event)
    events.clear()
