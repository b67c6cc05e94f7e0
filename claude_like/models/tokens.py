"""Token counting: exact where the server counts, langchain-core's approximation otherwise."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseLanguageModel
from langchain_core.messages import BaseMessage
from langchain_core.messages.utils import count_tokens_approximately

from claude_like.models.base import unwrap

#: Characters per token of the approximation (code and JSON run denser than English's 4).
CHARS_PER_TOKEN = 3.5


def approx_tokens(messages: Sequence[BaseMessage], tools: Sequence[Any] | None = None) -> int:
    """About how many tokens ``messages`` and tool schemas take (``count_tokens_approximately``
    at ``CHARS_PER_TOKEN``)."""
    return count_tokens_approximately(list(messages), chars_per_token=CHARS_PER_TOKEN,
                                      tools=list(tools) if tools else None)


def exact_tokens(
    chat_model: Any, messages: Sequence[BaseMessage], tools: Sequence[Any] | None = None
) -> int | None:
    """The server's count of the prompt tokens, or None when it cannot count.

    Our own wrappers say so through ``exact_prompt_tokens``; other models are trusted only
    when they override ``get_num_tokens_from_messages`` (the base class's version loads a
    GPT-2 tokenizer from a hub). Never raises for a network or tokenizer problem."""
    model = unwrap(chat_model)
    exact = getattr(model, "exact_prompt_tokens", None)
    if callable(exact):
        return exact(list(messages), list(tools) if tools else None)
    counter = getattr(model, "get_num_tokens_from_messages", None)
    overridden = getattr(type(model), "get_num_tokens_from_messages", None) is not getattr(
        BaseLanguageModel, "get_num_tokens_from_messages", None
    )
    if counter is None or not overridden:
        return None
    try:
        return int(counter(list(messages), tools=list(tools) if tools else None))
    except Exception:  # a missing tokenizer download, an unreachable server, ...
        return None


def count_tokens(
    chat_model: Any, messages: Sequence[BaseMessage], tools: Sequence[Any] | None = None
) -> int:
    """Prompt tokens of ``messages`` for ``chat_model``: the server's count when it offers
    one (llama-server ``/v1/chat/completions/input_tokens``, ``/v1/messages/count_tokens``),
    else an approximation."""
    exact = exact_tokens(chat_model, messages, tools)
    return exact if exact is not None else approx_tokens(messages, tools)
