"""Fit a request to the backend's window: count its tokens, cap the generation, and refuse
(``prompt is too long``) or compact what does not fit.

The count is langchain-core's approximation, split into system prompt, tool schemas and
messages (for the trace); only when it comes near the limit is the backend's own counter
asked (llama-server counts exactly), so that a small request costs no extra round trip.

``compact=True`` applies the agent's context management to the stateless request: old tool
results become one-line stubs (oldest first), then, if that is not enough, the oldest turns
leave the prompt with a note, and a single turn too large for the window is clipped in the
middle. No summary is asked of the model: the gateway keeps no state between requests, so a
summary would be paid for again on every request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_core.messages import BaseMessage, SystemMessage

from claude_like.context.accounting import learn_ratio
from claude_like.context.budget import ContextBudget
from claude_like.context.manager import ContextManager
from claude_like.gateway.convert import Conversation
from claude_like.models.tokens import approx_tokens, exact_tokens

#: Generation room a request must leave at least (or all of its own max_tokens, if less).
MIN_GENERATION = 256
#: Share of the limit from which the backend's exact counter is asked.
EXACT_FROM = 0.8


class PromptTooLong(Exception):
    """The prompt does not fit the backend's window (Anthropic's wording, which clients
    such as Claude Code recognise and parse)."""

    def __init__(self, tokens: int, maximum: int) -> None:
        self.tokens = tokens
        self.maximum = maximum
        super().__init__(f"prompt is too long: {tokens} tokens > {maximum} maximum")


@dataclass(frozen=True)
class TokenSplit:
    """Approximate tokens of each part of a request."""

    system: int
    tools: int
    messages: int

    @property
    def total(self) -> int:
        return self.system + self.tools + self.messages


def split_tokens(conv: Conversation) -> TokenSplit:
    """Tokens of the system prompt, the tool schemas and the messages (approximate)."""
    system = approx_tokens([SystemMessage(content=conv.system)]) if conv.system else 0
    tools = approx_tokens([], conv.bound_tools) if conv.bound_tools else 0
    return TokenSplit(system, tools, approx_tokens(conv.messages) if conv.messages else 0)


@dataclass
class Fit:
    """A request made to fit: what to send and how much it may generate."""

    prompt: list[BaseMessage]
    tokens: int
    """Prompt tokens (the backend's count when ``exact``, else the approximation)."""
    cap: int
    split: TokenSplit
    exact: bool = False
    compaction: dict[str, Any] | None = None
    """What compaction did (``stages``, ``tokens_before``, ``tokens_after``, ...)."""
    window: int = 0


class _StatelessContext(ContextManager):
    """The agent's context management without the model-written summary (see above)."""

    def summarize(self, messages: list[BaseMessage]) -> str | None:
        return None


class WindowFitter:
    """Fits requests to one backend's budget (window and generation cap)."""

    def __init__(self, model: Any, budget: ContextBudget, *, compact: bool = False) -> None:
        self.model = model
        self.budget = budget
        self.compact = compact

    def cap_for(self, requested: int | None, tokens: int) -> int:
        """The request's max_tokens, never above the backend's cap nor the room left."""
        wanted = min(requested or self.budget.max_tokens, self.budget.max_tokens)
        return max(1, min(wanted, self.budget.window - tokens))

    def maximum(self, requested: int | None) -> int:
        """The largest prompt that still leaves room to generate."""
        return self.budget.window - min(MIN_GENERATION, requested or MIN_GENERATION)

    def count(self, conv: Conversation, *, requested: int | None = None) -> tuple[int, bool]:
        """Prompt tokens of ``conv``, and whether the backend counted them. Blocking: the
        backend's counter is an HTTP call."""
        estimate = split_tokens(conv).total
        if estimate <= EXACT_FROM * self.maximum(requested):
            return estimate, False
        counted = exact_tokens(self.model, conv.prompt, conv.bound_tools or None)
        return (counted, True) if counted else (estimate, False)

    def fit(self, conv: Conversation, requested: int | None) -> Fit:
        """The request as it will be sent, or :class:`PromptTooLong`. Blocking (see count)."""
        split = split_tokens(conv)
        tokens, exact = self.count(conv, requested=requested)
        maximum = self.maximum(requested)
        fit = Fit(prompt=conv.prompt, tokens=tokens, cap=0, split=split, exact=exact,
                  window=self.budget.window)
        if tokens > maximum:
            if not self.compact:
                raise PromptTooLong(tokens, maximum)
            self._compact(conv, fit)
            if fit.tokens > maximum:
                raise PromptTooLong(fit.tokens, maximum)
        fit.cap = self.cap_for(requested, fit.tokens)
        return fit

    def _compact(self, conv: Conversation, fit: Fit) -> None:
        """Clear old tool results (as the agent does, in one batch down to its aim, so the
        next requests share the same prefix); only when that cannot make the prompt fit
        beside the full cap, the agent's later stages (drop, clip) as well."""
        messages = list(conv.messages)
        for i, msg in enumerate(messages):
            messages[i] = msg.model_copy(update={"id": f"gw-{i}"})
        manager = _StatelessContext(self.model, conv.bound_tools, conv.system, self.budget)
        # The real/approximate ratio, when the backend counted (learn_ratio keeps it sane).
        ctx: Any = {"ratio": learn_ratio(0.0, fit.tokens, fit.split.total) or 1.0}
        before = manager.build(messages, ctx)
        cleared_ctx, cleared = manager.compactor.clear(messages, ctx,
                                                       manager.compactor.target(ctx))
        after = manager.build(messages, cleared_ctx)
        if cleared and after.tokens <= self.budget.limit:
            event: dict[str, Any] | None = {
                "reason": "threshold", "stages": ("clear",), "tokens_before": before.tokens,
                "tokens_after": after.tokens, "cleared": cleared, "summarized": 0, "dropped": 0}
        else:
            events: list[dict[str, Any]] = []
            after = manager.compact(messages, before, events.append, reason="threshold")
            event = next((e for e in events if e.get("type") == "compaction"), None)
        fit.prompt = after.messages if after.system.content else after.view
        fit.tokens = after.tokens
        fit.exact = False
        fit.compaction = {k: v for k, v in event.items() if k != "type"} if event else None
