"""``openai:<model>``: OpenAI's API through langchain-openai's ChatOpenAI."""

from __future__ import annotations

import os
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_openai import ChatOpenAI

from claude_like.models.base import (
    DEFAULT_MAX_RETRIES,
    ModelInfo,
    ModelUnavailableError,
    attach_info,
    cap_for,
    known_window,
)


def make_openai(
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
    """ChatOpenAI with a generation cap and retries; the key must be set (no network probe:
    a cloud API answers, and a request costs money)."""
    api_key = api_key or os.environ.get("OPENAI_API_KEY")
    if check and not api_key:
        raise ModelUnavailableError(
            f"openai:{model} needs an API key",
            hint="set OPENAI_API_KEY (or pass api_key=...)",
        )
    if tool_calling == "constrained":
        raise ValueError("openai: use tool_calling='native' (the API has native tool calling)")
    window = context_window or known_window(model)
    max_tokens = cap_for(max_tokens, window)
    chat = ChatOpenAI(
        model=model,
        api_key=api_key,
        base_url=base_url,
        max_tokens=max_tokens,
        max_retries=max_retries,
        stream_usage=True,
        **kwargs,
    )
    attach_info(chat, ModelInfo(provider="openai", model=model, base_url=base_url,
                                context_window=window, max_tokens=max_tokens,
                                supports_native_tools=True, api="openai"))
    return chat
