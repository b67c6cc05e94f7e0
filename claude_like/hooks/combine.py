"""Combining what the hooks of one round answered into the event's outcome.

Answers count in the order the hooks were registered. PreToolUse: deny beats ask beats
allow, the reasons of the winning decision are joined, the last ``updatedInput`` wins.
Contexts and block reasons are joined with newlines. ``continue: false`` denies or blocks
with its ``stopReason`` (on Stop it means "stop now", so it overrides a block). A failed
hook only adds its message.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from claude_like.hooks.types import (
    HookReply,
    PostToolOutcome,
    PreToolOutcome,
    PromptOutcome,
    StopOutcome,
)

_RANK = {"allow": 1, "ask": 2, "deny": 3}


@dataclass
class _Read:
    """The parts of a reply every event reads."""

    messages: list[str]
    stop: str | None = None
    """Set when the hook said ``continue: false`` (its stopReason, or a default)."""
    specific: Mapping[str, Any] | None = None


def _read(event: str, reply: HookReply) -> _Read:
    out = reply.output or {}
    messages: list[str] = []
    if isinstance(out.get("systemMessage"), str) and out["systemMessage"]:
        messages.append(out["systemMessage"])
    read = _Read(messages)
    go_on = out.get("continue", out.get("continue_", True))  # the SDK's Python spelling
    if go_on is False:
        reason = out.get("stopReason")
        read.stop = reason if isinstance(reason, str) and reason else (
            f"stopped by {event} hook {reply.name}")
    specific = out.get("hookSpecificOutput")
    if isinstance(specific, Mapping):
        read.specific = specific
    elif specific is not None:
        messages.append(_failed(event, reply.name, "hookSpecificOutput is not an object"))
    return read


def _failed(event: str, name: str, why: str) -> str:
    return f"{event} hook {name} failed: {why}"


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _joined(parts: Iterable[str]) -> str | None:
    parts = [p for p in parts if p]
    return "\n".join(parts) if parts else None


def combine_pre(replies: list[HookReply]) -> PreToolOutcome:
    event = "PreToolUse"
    decisions: list[tuple[str, str]] = []
    messages: list[str] = []
    updated: dict | None = None
    for reply in replies:
        if reply.failure is not None:
            messages.append(_failed(event, reply.name, reply.failure))
            continue
        if reply.blocking is not None:
            decisions.append(("deny", reply.blocking))
            continue
        read = _read(event, reply)
        messages += read.messages
        if read.stop is not None:
            decisions.append(("deny", read.stop))
        specific = read.specific or {}
        out = reply.output or {}
        decision = specific.get("permissionDecision")
        reason = _text(specific.get("permissionDecisionReason")) or _text(out.get("reason"))
        legacy = {"approve": "allow", "block": "deny"}.get(out.get("decision"))
        for said in (decision, legacy):
            if said in _RANK:
                default = "" if said == "allow" else f"{event} hook {reply.name} said {said}"
                decisions.append((said, reason or default))
            elif said is not None:
                messages.append(_failed(event, reply.name,
                                        f"permissionDecision {said!r} is not allow, deny or ask"))
        new_input = specific.get("updatedInput")
        if isinstance(new_input, dict):
            updated = new_input
        elif new_input is not None:
            messages.append(_failed(event, reply.name, "updatedInput is not an object"))
    if not decisions:
        return PreToolOutcome(None, "", updated, messages)
    best = max((d for d, _ in decisions), key=_RANK.__getitem__)
    reason = _joined(r for d, r in decisions if d == best) or ""
    return PreToolOutcome(best, reason, updated, messages)  # type: ignore[arg-type]


def _blocks_and_contexts(event: str, replies: list[HookReply]
                         ) -> tuple[list[str], list[str], list[str]]:
    """Block reasons, contexts and user messages of a round of PostToolUse(Failure) or
    UserPromptSubmit hooks (a command's plain stdout counts as context)."""
    blocks: list[str] = []
    contexts: list[str] = []
    messages: list[str] = []
    for reply in replies:
        if reply.failure is not None:
            messages.append(_failed(event, reply.name, reply.failure))
            continue
        if reply.blocking is not None:
            blocks.append(reply.blocking)
            continue
        if reply.context is not None:
            contexts.append(reply.context)
            continue
        read = _read(event, reply)
        messages += read.messages
        if read.stop is not None:
            blocks.append(read.stop)
        out = reply.output or {}
        if out.get("decision") == "block":
            blocks.append(_text(out.get("reason")) or f"blocked by {event} hook {reply.name}")
        contexts.append(_text((read.specific or {}).get("additionalContext")) or "")
    return blocks, contexts, messages


def combine_post(event: str, replies: list[HookReply]) -> PostToolOutcome:
    blocks, contexts, messages = _blocks_and_contexts(event, replies)
    return PostToolOutcome(_joined(contexts), _joined(blocks), messages)


def combine_prompt(replies: list[HookReply]) -> PromptOutcome:
    blocks, contexts, messages = _blocks_and_contexts("UserPromptSubmit", replies)
    return PromptOutcome(bool(blocks), _joined(blocks) or "", _joined(contexts), messages)


def combine_stop(replies: list[HookReply]) -> StopOutcome:
    """``continue: false`` here means stop now, so it overrides any hook's block (Claude
    Code: it takes precedence over ``decision: "block"``)."""
    event = "Stop"
    blocks: list[str] = []
    messages: list[str] = []
    stop_now = False
    for reply in replies:
        if reply.failure is not None:
            messages.append(_failed(event, reply.name, reply.failure))
            continue
        if reply.blocking is not None:
            blocks.append(reply.blocking)
            continue
        read = _read(event, reply)
        messages += read.messages
        if read.stop is not None:
            stop_now = True
            messages.append(read.stop)
        out = reply.output or {}
        if out.get("decision") == "block":
            blocks.append(_text(out.get("reason"))
                          or f"{event} hook {reply.name} asked to keep working")
    if stop_now or not blocks:
        return StopOutcome(False, "", messages)
    return StopOutcome(True, _joined(blocks) or "", messages)


__all__ = ["combine_post", "combine_pre", "combine_prompt", "combine_stop"]
