"""Compaction in stages, each tried only when the one before did not free enough:

1. clear: old tool results become one-line stubs, oldest first, in one batch down to the
   target, so the prefix then stays byte-stable until the next compaction;
2. summary: the model itself summarises the older turns into one text (task, what was
   done, files touched, what remains); the recent turns stay verbatim;
3. drop: when the summary fails or does not fit, the older turns leave the view with a note;
4. clip: when even the latest turn is too big, its longest messages are cut in the middle.
The transcript itself is never changed (see ``view``); a cut never separates an assistant
message from its tool results.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage, ToolMessage

from claude_like.budget import clip_middle
from claude_like.context.accounting import TokenAccountant, message_tokens
from claude_like.context.budget import ContextBudget
from claude_like.context.view import (
    ContextState,
    calls_by_id,
    is_cut_point,
    model_view,
    plain_text,
    start_index,
    system_text,
)
from claude_like.models.tokens import CHARS_PER_TOKEN

#: What stands for the middle of a summary longer than its room (its start -- the task,
#: what was done -- and its end -- what remains -- are kept).
SUMMARY_CUT = "\n[...]\n"

SUMMARY_PROMPT = (
    "You compress a coding agent's conversation so that it can continue its work. Write at "
    "most 200 words, as plain text with these headings: Task, Done so far, Files touched, "
    "Key facts, Remaining. Keep paths, names, numbers and error messages exactly. Do not "
    "call tools."
)
#: Tokens a summary always keeps, however full the window.
MIN_SUMMARY = 96
#: Longest piece of one message shown to the summariser.
SUMMARY_ITEM_CHARS = 1200


@dataclass(frozen=True)
class Compaction:
    """What one compaction did, in tokens of the prompt before and after (the agent's
    stream yields it as ``events.Compacted``). The transcript itself stays intact."""

    reason: str
    """``threshold``, ``overflow`` or ``manual``."""
    stages: tuple[str, ...]
    tokens_before: int
    tokens_after: int
    cleared: int = 0
    """Tool results turned into stubs."""
    summarized: int = 0
    """Messages replaced by the summary."""
    dropped: int = 0
    """Messages that left the view without a summary."""


@dataclass
class SummaryRequest:
    """A summary the caller must ask the model for (sync or async), then hand back."""

    messages: list[Any]
    cut: int
    """Index of the first message kept verbatim."""


class Compactor:
    """Decides and applies compactions for one agent (model, tools, system prompt)."""

    def __init__(self, accountant: TokenAccountant, budget: ContextBudget, system: str) -> None:
        self.accountant = accountant
        self.budget = budget
        self.system = system

    # -- measuring -------------------------------------------------------------------------
    def tokens(self, messages: Sequence[AnyMessage], ctx: ContextState) -> int:
        """Estimated prompt tokens of the view ``ctx`` gives (no usage shortcut)."""
        return self.accountant.estimate(system_text(self.system, ctx), model_view(messages, ctx),
                                        ctx.get("ratio") or 1.0)

    def target(self, ctx: ContextState) -> int:
        """Aim of a compaction: halfway between the fixed part and the threshold."""
        fixed = self.accountant.fixed(self.system, ctx.get("ratio") or 1.0)
        return max(fixed, (fixed + self.budget.compact_tokens) // 2)

    # -- stage 1: clear --------------------------------------------------------------------
    def clear(self, messages: Sequence[AnyMessage], ctx: ContextState,
              target: int) -> tuple[ContextState, int]:
        """Stub old tool results, oldest first, until the view fits ``target``."""
        start = start_index(messages, ctx)
        last_ai = max((i for i, m in enumerate(messages) if isinstance(m, AIMessage)), default=-1)
        cleared = list(ctx.get("cleared") or [])
        candidates = [m for i, m in enumerate(messages) if i >= start and i < last_ai
                      and isinstance(m, ToolMessage) and m.tool_call_id not in cleared]
        ratio = ctx.get("ratio") or 1.0
        excess = self.tokens(messages, ctx) - target
        picked: list[str] = []
        for msg in candidates:
            if excess <= 0:
                break
            picked.append(msg.tool_call_id)
            excess -= int(max(message_tokens(msg) - 30, 0) * ratio)
        if not picked:
            return ctx, 0
        return {**ctx, "cleared": cleared + picked}, len(picked)

    # -- stage 2 and 3: summary or drop ----------------------------------------------------
    def choose_cut(self, messages: Sequence[AnyMessage], ctx: ContextState, target: int) -> int:
        """The earliest start that fits ``target`` with room for a summary; at the latest,
        the last assistant or user message (the turn in progress always stays)."""
        start = start_index(messages, ctx)
        points = [i for i in range(start + 1, len(messages)) if is_cut_point(messages, i)]
        if not points:
            return start
        reserve = min(self.budget.limit // 5, 400)
        for i in points:
            trial: ContextState = {**ctx, "start_id": messages[i].id or "",
                                   "summary": "x" * int(reserve * CHARS_PER_TOKEN)}
            if self.tokens(messages, trial) <= target:
                return i
        return points[-1]

    def summary_request(self, messages: Sequence[AnyMessage], ctx: ContextState,
                        cut: int) -> SummaryRequest:
        """The model request that summarises ``messages[start:cut]`` (bounded to fit)."""
        start = start_index(messages, ctx)
        calls = calls_by_id(messages)
        cleared = set(ctx.get("cleared") or ())
        items = [_render(m, calls, cleared) for m in messages[start:cut]]
        prior = ctx.get("summary")
        head = [f"Summary of what came before:\n{prior}"] if prior else []
        room = int((self.budget.limit - 300) * CHARS_PER_TOKEN / max(ctx.get("ratio") or 1, 1))
        text = _fit_items(head + items, room)
        return SummaryRequest(
            messages=[SystemMessage(content=SUMMARY_PROMPT),
                      HumanMessage(content=f"Conversation to summarise:\n\n{text}")],
            cut=cut,
        )

    def apply_summary(self, messages: Sequence[AnyMessage], ctx: ContextState,
                      request: SummaryRequest, summary: str | None,
                      goal: int | None = None) -> tuple[ContextState, str]:
        """Use ``summary`` when the model gave one, cut to the room it has below ``goal``
        (its start and its end kept: the task and what remains); else drop the older turns
        (counted in one line of the prompt). Returns the new state and the stage applied
        (``summary`` or ``drop``); what still does not fit is left to the clip stage."""
        start = start_index(messages, ctx)
        cut_id = messages[request.cut].id or ""
        text = (summary or "").strip()
        if text:
            after: ContextState = {**ctx, "start_id": cut_id, "summary": ""}
            room = self.budget.limit // 4
            if goal is not None:
                room = min(room, goal - self.tokens(messages, after))
            ratio = ctx.get("ratio") or 1.0
            chars = int(max(MIN_SUMMARY, room) * CHARS_PER_TOKEN / ratio)
            return {**after, "summary": clip_middle(text, chars, note=SUMMARY_CUT)}, "summary"
        gone = request.cut - start
        return {**ctx, "start_id": cut_id, "dropped": ctx.get("dropped", 0) + gone}, "drop"

    # -- stage 4: clip ----------------------------------------------------------------------
    def clip(self, messages: Sequence[AnyMessage], ctx: ContextState,
             target: int) -> tuple[ContextState, int]:
        """Cut the longest messages of the view in the middle until it fits ``target``."""
        ratio = ctx.get("ratio") or 1.0
        excess = self.tokens(messages, ctx) - target
        start = start_index(messages, ctx)
        clip = dict(ctx.get("clip") or {})
        sized = sorted(((m, len(plain_text(m))) for m in messages[start:] if m.id),
                       key=lambda pair: pair[1], reverse=True)
        count = 0
        for msg, length in sized:
            if excess <= 0:
                break
            size = min(length, clip.get(msg.id or "", length))
            keep = max(400, size - int(excess * CHARS_PER_TOKEN / ratio) - 200)
            if keep >= size:
                continue
            clip[msg.id or ""] = keep
            excess -= int((size - keep) / CHARS_PER_TOKEN * ratio)
            count += 1
        return ({**ctx, "clip": clip}, count) if count else (ctx, 0)


def _render(msg: AnyMessage, calls: dict[str, tuple[str, dict[str, Any]]],
            cleared: set[str]) -> str:
    text = msg.text if isinstance(msg.content, list) else str(msg.content)
    if isinstance(msg, HumanMessage):
        label = "User"
    elif isinstance(msg, AIMessage):
        label = "Assistant"
        made = [f"{c['name']}({_args(c['args'])})" for c in msg.tool_calls]
        if made:
            text = (text + "\n" if text else "") + "Called: " + "; ".join(made)
    elif isinstance(msg, ToolMessage):
        name = calls.get(msg.tool_call_id, (msg.name or "tool", {}))[0]
        label = f"Result of {name}"
        if msg.tool_call_id in cleared:
            text = "(cleared earlier)"
    else:
        label = msg.type.capitalize()
    if len(text) > SUMMARY_ITEM_CHARS:
        half = SUMMARY_ITEM_CHARS // 2
        text = f"{text[:half]} [...] {text[-half:]}"
    return f"{label}: {text}"


def _args(args: dict[str, Any]) -> str:
    parts = [f"{k}={str(v)[:80]!r}" for k, v in args.items()]
    return ", ".join(parts)


def _fit_items(items: list[str], room: int) -> str:
    """All items if they fit ``room`` characters; else the first (the task) and as many of
    the latest as fit, with a note of how many were left out."""
    if sum(len(i) + 2 for i in items) <= room or len(items) <= 1:
        return "\n\n".join(items)[:room]
    first, rest = items[0][: room // 3], items[1:]
    kept: list[str] = []
    used = len(first) + 60
    for item in reversed(rest):
        if used + len(item) + 2 > room:
            break
        kept.append(item)
        used += len(item) + 2
    skipped = len(rest) - len(kept)
    return "\n\n".join([first, f"[... {skipped} messages left out ...]", *reversed(kept)])
