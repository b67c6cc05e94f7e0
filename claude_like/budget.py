"""Cutting long text to a budget: the one helper for every place that shortens text."""

from __future__ import annotations

from claude_like.sandbox.base import DEFAULT_OUTPUT_LIMIT as DEFAULT_TOOL_OUTPUT_LIMIT

__all__ = ["DEFAULT_TOOL_OUTPUT_LIMIT", "MIDDLE_NOTE", "clip_end", "clip_middle"]

MIDDLE_NOTE = (
    "\n\n[... {omitted} characters ({lines} lines) omitted to fit the output budget; narrow "
    "the request (offset/limit, head_limit, grep) to see them ...]\n\n"
)
"""What :func:`clip_middle` puts in place of the middle by default."""


def clip_middle(
    text: str, limit: int = DEFAULT_TOOL_OUTPUT_LIMIT, *, note: str = MIDDLE_NOTE
) -> str:
    """``text`` if it fits in ``limit`` characters; otherwise its head and tail (where
    errors and summaries usually are) around ``note``, whose ``{omitted}`` and ``{lines}``
    are filled with the characters and newlines left out."""
    if limit <= 0 or len(text) <= limit:
        return text
    half = limit // 2
    middle = text[half : len(text) - half]
    marker = note.format(omitted=len(middle), lines=middle.count("\n"))
    return f"{text[:half]}{marker}{text[len(text) - half :]}"


def clip_end(text: str, limit: int) -> str:
    """``text`` if it fits in ``limit`` characters, else its start and an ellipsis."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"
