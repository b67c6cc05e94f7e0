"""Context management: the window budget, token accounting, oversized tool results, and
compaction in stages, so long sessions fit small local context windows."""

from claude_like.context.budget import ContextBudget, derive_max_tokens, known_window

__all__ = ["ContextBudget", "derive_max_tokens", "known_window"]
