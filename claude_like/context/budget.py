"""One context budget per agent: the window, the generation cap, thresholds, result sizes.

Every request must fit: system prompt + tool schemas + history + generation cap <= the
window the server really holds. The window comes from the user (always wins), else from
the server (llama-server's per-slot ``n_ctx``, Ollama's ``num_ctx``, via ``ModelInfo``),
else from a table of known cloud models, else a conservative default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from claude_like.models.base import (
    DEFAULT_WINDOW,
    derive_max_tokens,
    known_window,
    model_info,
)
from claude_like.models.tokens import CHARS_PER_TOKEN

__all__ = ["DEFAULT_WINDOW", "ContextBudget", "derive_max_tokens", "known_window", "model_name"]

def model_name(model: Any) -> str:
    """The model's name as its factory or client knows it ("" when it has none)."""
    info = model_info(model)
    if info is not None:
        return info.model
    for attr in ("model_name", "model"):
        value = getattr(model, attr, None)
        if isinstance(value, str):
            return value
    return ""


@dataclass(frozen=True)
class ContextBudget:
    """The numbers every context decision derives from (all in tokens).

    ``limit`` is what a prompt may take: the window less the generation cap. Warnings and
    compaction trigger at shares of it; a compaction aims for ``target_after`` so that
    the new, stable prefix lasts several turns before the next one.
    """

    window: int
    max_tokens: int
    warn_at: float = 0.75
    compact_at: float = 0.90
    target_after: float = 0.55
    #: Share of the window one tool result may take before it is saved to a file.
    result_share: float = 0.15

    def __post_init__(self) -> None:
        if self.window <= 0 or self.max_tokens <= 0:
            raise ValueError("context window and max_tokens must be positive")
        if self.max_tokens >= self.window:
            raise ValueError(f"max_tokens ({self.max_tokens}) must be smaller than the "
                             f"context window ({self.window})")
        if not 0 < self.target_after < self.compact_at <= 1 or not 0 < self.warn_at <= 1:
            raise ValueError("thresholds need 0 < target_after < compact_at <= 1, "
                             "0 < warn_at <= 1")

    @property
    def limit(self) -> int:
        """Prompt tokens that fit beside the generation cap."""
        return self.window - self.max_tokens

    @property
    def warn_tokens(self) -> int:
        return int(self.limit * self.warn_at)

    @property
    def compact_tokens(self) -> int:
        return int(self.limit * self.compact_at)

    @property
    def target_tokens(self) -> int:
        return int(self.limit * self.target_after)

    @property
    def result_tokens(self) -> int:
        """Budget of one tool result (at least 256 tokens, so small windows stay usable)."""
        return max(256, int(self.window * self.result_share))

    @property
    def result_chars(self) -> int:
        """``result_tokens`` in characters, for tools that shape their own output."""
        return int(self.result_tokens * CHARS_PER_TOKEN)

    @classmethod
    def for_model(
        cls,
        model: Any,
        *,
        context_window: int | None = None,
        max_tokens: int | None = None,
        **thresholds: float,
    ) -> ContextBudget:
        """The budget of ``model``: explicit values win, then what its factory learnt from
        the server (``ModelInfo``), then the known-model table, then ``DEFAULT_WINDOW``."""
        info = model_info(model)
        window = (context_window or (info.context_window if info else None)
                  or known_window(model_name(model)) or DEFAULT_WINDOW)
        cap = max_tokens
        if cap is None:
            sent = info.max_tokens if info else None
            # A factory's cap that does not fit the window (set before the window was
            # known) is replaced; an explicit ``max_tokens`` is checked instead.
            cap = sent if sent and sent < window else derive_max_tokens(window)
        return cls(window=window, max_tokens=cap, **thresholds)
