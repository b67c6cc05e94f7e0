"""Token counting: exact where the server counts, an approximation otherwise."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseLanguageModel
from langchain_core.messages import BaseMessage
from langchain_core.utils.function_calling import convert_to_openai_tool

from claude_like.models.base import unwrap

#: Characters per token of the approximation (English and code average about 3.5-4).
CHARS_PER_TOKEN = 3.5


def approx_tokens(messages: Sequence[BaseMessage], tools: Sequence[Any] | None = None) -> int:
    """About how many tokens ``messages`` and tool schemas take (chars / 3.5 + overhead)."""
    chars = 0
    for m in messages:
        content = m.content if isinstance(m.content, str) else json.dumps(m.content)
        chars += len(content) + 16
        for call in getattr(m, "tool_calls", None) or []:
            chars += len(call["name"]) + len(json.dumps(call["args"])) + 16
    for tool in tools or []:
        try:
            chars += len(json.dumps(convert_to_openai_tool(tool)))
        except (TypeError, ValueError):
            chars += len(str(tool))
    return int(chars / CHARS_PER_TOKEN) + 1


def count_tokens(
    chat_model: Any, messages: Sequence[BaseMessage], tools: Sequence[Any] | None = None
) -> int:
    """Prompt tokens of ``messages`` for ``chat_model``: the server's count when it offers
    one (llama-server ``/v1/chat/completions/input_tokens``, ``/v1/messages/count_tokens``),
    else an approximation. Never raises for a network or tokenizer problem."""
    model = unwrap(chat_model)
    counter = getattr(model, "get_num_tokens_from_messages", None)
    # The base class's counter loads a GPT-2 tokenizer from a hub: only trust overrides.
    overridden = getattr(type(model), "get_num_tokens_from_messages", None) is not getattr(
        BaseLanguageModel, "get_num_tokens_from_messages", None
    )
    if counter is not None and overridden:
        try:
            return int(counter(list(messages), tools=list(tools) if tools else None))
        except Exception:  # a missing tokenizer download, an unreachable server, ...
            pass
    return approx_tokens(messages, tools)
