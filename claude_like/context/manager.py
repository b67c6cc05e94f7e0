"""The planner's one call into context management, before and after each model request.

``prepare`` gives the request (system prompt with any summary, the view of the thread),
compacting first when the estimate crosses the threshold; ``after_reply`` learns from the
server's usage and reports the turn's figures; ``recover`` compacts harder after a
server's "context exceeded" error, for one retry (and one more, harder still).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, SystemMessage
from langgraph.constants import TAG_NOSTREAM
from langgraph.errors import GraphBubbleUp

from claude_like.context.accounting import TokenAccountant, learn_ratio, overflow_tokens
from claude_like.context.budget import ContextBudget
from claude_like.context.compaction import Compaction, Compactor
from claude_like.context.view import ContextState, model_view, start_index, system_text

Emit = Callable[[dict[str, Any]], None]

MIN_RESULT = 128
"""Tokens a tool result always gets: room for a short head and tail and the note."""


@dataclass
class Request:
    """One model request as prepared: what is sent and what it is estimated to take."""

    system: SystemMessage
    view: list[BaseMessage]
    ctx: ContextState
    tokens: int
    changed: bool = False
    """True when this preparation compacted (``ctx`` must go into the state update)."""

    @property
    def messages(self) -> list[BaseMessage]:
        return [self.system, *self.view]


class ContextManager:
    """Context management for one agent: a budget, an accountant and a compactor."""

    def __init__(self, model: Any, tools: Sequence[Any], system_prompt: str,
                 budget: ContextBudget, *, compaction: bool = True) -> None:
        self.budget = budget
        self.system_prompt = system_prompt
        self.accountant = TokenAccountant(model, tools)
        self.compactor = Compactor(self.accountant, budget, system_prompt)
        self.compaction = compaction
        self.model = model
        self.ratio = 1.0
        """The latest server-to-approximation token ratio seen (for :meth:`result_tokens`)."""

    def result_tokens(self) -> int:
        """One tool result's budget: the window's share, but at most half the room between
        the fixed prompt (system and tool schemas) and the compaction threshold, so that a
        fresh result (its head, tail and the note on where the rest is) reaches the model
        whole instead of being clipped by the next compaction. Never below MIN_RESULT."""
        fixed = self.accountant.fixed(self.system_prompt, self.ratio)
        room = (self.budget.compact_tokens - fixed) // 2
        return max(MIN_RESULT, min(self.budget.result_tokens, room))

    def summarize(self, messages: list[BaseMessage]) -> str | None:
        """The model's summary for compaction: no tools, not streamed to the user (tagged
        ``nostream``); None when the call fails (compaction then drops instead)."""
        try:
            reply = self.model.invoke(messages, {"tags": [TAG_NOSTREAM, "claude_like:summary"]})
        except GraphBubbleUp:
            raise
        except Exception:
            return None
        return reply.text if isinstance(reply, BaseMessage) else None

    # -- before the request -----------------------------------------------------------------
    def start_ratio(self, ctx: ContextState) -> ContextState:
        """The state's ratio, calibrated against the server's count the first time."""
        if ctx.get("ratio"):
            self.ratio = ctx["ratio"]
            return ctx
        calibrated = self.accountant.calibrate(self.system_prompt)
        self.ratio = calibrated or self.ratio
        return {**ctx, "ratio": self.ratio}

    def build(self, messages: Sequence[AnyMessage], ctx: ContextState,
              changed: bool = False) -> Request:
        system = system_text(self.system_prompt, ctx)
        view = model_view(messages, ctx)
        tokens = self.accountant.estimate(system, view, ctx.get("ratio") or 1.0,
                                          ctx.get("last"), ctx.get("epoch", 0))
        return Request(SystemMessage(content=system), view, ctx, tokens, changed)

    def prepare(self, messages: Sequence[AnyMessage], ctx: ContextState, emit: Emit) -> Request:
        """The request for this turn, compacted first when it crosses the threshold."""
        request = self.build(messages, self.start_ratio(ctx))
        if self.compaction and request.tokens >= self.budget.compact_tokens:
            request = self.compact(messages, request, emit, reason="threshold")
        return request

    # -- compaction -------------------------------------------------------------------------
    def compact(self, messages: Sequence[AnyMessage], request: Request, emit: Emit, *,
                reason: str, target: int | None = None) -> Request:
        """Run the stages until the view fits ``target`` (default: the compactor's aim)."""
        c = self.compactor
        ctx = request.ctx
        goal = target if target is not None else c.target(ctx)
        before = request.tokens
        stages: list[str] = []
        ctx, cleared = c.clear(messages, ctx, goal)
        if cleared:
            stages.append("clear")
        summarized = dropped = 0
        if c.tokens(messages, ctx) > goal:
            cut = c.choose_cut(messages, ctx, goal)
            first = start_index(messages, ctx)
            if cut > first:
                ask = c.summary_request(messages, ctx, cut)
                ctx, stage = c.apply_summary(messages, ctx, ask, self.summarize(ask.messages),
                                             goal)
                stages.append(stage)
                summarized, dropped = ((cut - first, 0) if stage == "summary"
                                       else (0, cut - first))
        # Clipping cuts text the model has not seen: only when the request would still
        # cross the threshold (or an explicit target, after an overflow), never merely to
        # reach the aim; then down to the aim, so the next turn does not clip again.
        trigger = target if target is not None else self.budget.compact_tokens
        if c.tokens(messages, ctx) > min(trigger, self.budget.limit):
            ctx, clipped = c.clip(messages, ctx, min(goal, self.budget.limit))
            if clipped:
                stages.append("clip")
        if not stages:
            return request
        ctx = {**ctx, "epoch": ctx.get("epoch", 0) + 1}
        after = self.build(messages, ctx, changed=True)
        event = Compaction(reason=reason, stages=tuple(stages), tokens_before=before,
                           tokens_after=after.tokens, cleared=cleared, summarized=summarized,
                           dropped=dropped)
        emit({"type": "compaction", **asdict(event)})
        return after

    def recover(self, messages: Sequence[AnyMessage], request: Request, exc: BaseException,
                emit: Emit, attempt: int) -> Request:
        """After a "context exceeded" error: learn the real size, compact harder."""
        ctx = dict(request.ctx)
        real = overflow_tokens(exc)
        if real and request.tokens:
            ctx["ratio"] = (ctx.get("ratio") or 1.0) * max(1.0, real / request.tokens)
        ctx.pop("last", None)  # its usage described a view the server just refused
        request = self.build(messages, ctx)  # type: ignore[arg-type]
        fixed = self.accountant.fixed(request.system.content, ctx.get("ratio") or 1.0)
        # First retry: the compactor's usual aim; second: the fixed part and little more.
        # Each aims below what the server refused, so a retry never resends the same size.
        target = self.compactor.target(request.ctx) if attempt == 1 else fixed + 64
        refused = int((real or request.tokens) / (ctx.get("ratio") or 1.0) * 0.9)
        return self.compact(messages, request, emit, reason="overflow",
                            target=min(target, refused))

    # -- after the reply ----------------------------------------------------------------------
    def after_reply(self, request: Request, reply: AIMessage, turn: int,
                    emit: Emit) -> ContextState:
        """Learn from the reply's usage; report the turn's figures; the new context state."""
        if reply.id is None:
            reply.id = f"ai-{uuid.uuid4().hex}"
        usage = reply.usage_metadata or {}
        real = int(usage.get("input_tokens") or 0)
        ctx: ContextState = dict(request.ctx)  # type: ignore[assignment]
        if real:
            raw = self.accountant.approx_total(request.system.content, request.view)
            ctx["ratio"] = learn_ratio(ctx.get("ratio") or 0.0, real, raw)
            self.ratio = ctx["ratio"]
        ctx["last"] = {"id": reply.id, "input": real,
                       "output": int(usage.get("output_tokens") or 0),
                       "epoch": ctx.get("epoch", 0)}
        tokens = real or request.tokens
        emit({"type": "context", "turn": turn, "tokens": tokens, "estimated": not real,
              "window": self.budget.window, "limit": self.budget.limit,
              "share": tokens / self.budget.window,
              "warning": tokens >= self.budget.warn_tokens})
        return ctx

