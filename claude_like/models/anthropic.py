"""``anthropic:<model>``: Anthropic's API through langchain-anthropic's ChatAnthropic."""

from __future__ import annotations

import os
from typing import Any

from langchain_anthropic import ChatAnthropic
from langchain_core.language_models import BaseChatModel

from claude_like.models.base import (
    DEFAULT_MAX_RETRIES,
    ModelInfo,
    ModelUnavailableError,
    attach_info,
    cap_for,
    known_window,
)


def make_anthropic(
    model: str,
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    max_tokens: int | None = None,
    context_window: int | None = None,
    max_retries: int = DEFAULT_MAX_RETRIES,
    check: bool = True,
    tool_calling: str = "native",
    **kwargs: Any,
) -> BaseChatModel:
    """ChatAnthropic with a generation cap and retries; the key must be set."""
    api_key = api_key or os.environ.get("ANTHROPIC_API_KEY")
    if check and not api_key:
        raise ModelUnavailableError(
            f"anthropic:{model} needs an API key",
            hint="set ANTHROPIC_API_KEY (or pass api_key=...)",
        )
    if tool_calling == "constrained":
        raise ValueError("anthropic: use tool_calling='native' (the API has native tool calling)")
    extra = {"base_url": base_url} if base_url else {}
    window = context_window or known_window(model)
    max_tokens = cap_for(max_tokens, window)
    chat = ChatAnthropic(
        model=model,
        api_key=api_key or "",
        max_tokens=max_tokens,
        max_retries=max_retries,
        **extra,
        **kwargs,
    )
    attach_info(chat, ModelInfo(provider="anthropic", model=model, base_url=base_url,
                                context_window=window, max_tokens=max_tokens,
                                supports_native_tools=True,
                                api="anthropic"))
    return chat
