"""Cutting long text to a budget, keeping the head and the tail (where errors usually are)."""

from __future__ import annotations

from claude_like.sandbox.base import DEFAULT_OUTPUT_LIMIT as DEFAULT_TOOL_OUTPUT_LIMIT

__all__ = ["DEFAULT_TOOL_OUTPUT_LIMIT", "clip_middle"]


def clip_middle(text: str, limit: int = DEFAULT_TOOL_OUTPUT_LIMIT) -> str:
    """``text`` if it fits; otherwise its head and tail with a note of what was left out."""
    if limit <= 0 or len(text) <= limit:
        return text
    half = limit // 2
    omitted = len(text) - 2 * half
    lines = text[half : len(text) - half].count("\n")
    return (
        f"{text[:half]}\n\n[... {omitted} characters ({lines} lines) omitted to fit the "
        f"output budget; narrow the request (offset/limit, head_limit, grep) to see them ...]\n\n"
        f"{text[len(text) - half :]}"
    )
