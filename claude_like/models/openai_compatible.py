"""OpenAI-compatible Chat Completions servers: llama-server, vLLM, LM Studio, mlx-lm, ...

``CompatChatOpenAI`` is langchain-openai's ``BaseChatOpenAI`` (plain Chat Completions, no
Responses API, ``max_tokens`` sent as is: llama-server ignores ``max_completion_tokens``)
with three fixes made at the payload/response layer, where langchain-openai makes them:

- an assistant message with tool calls goes out with ``content: ""``: langchain-openai
  turns it into ``null`` on purpose, and some Jinja chat templates reject ``null``;
- llama-server's ``timings`` (``cache_n``, ``prompt_n``, ...) land in
  ``AIMessage.response_metadata["timings"]``, streamed or not;
- token counts are exact when the server can count (llama-server's
  ``/v1/chat/completions/input_tokens``), approximate otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import httpx
from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool
from langchain_openai.chat_models.base import BaseChatOpenAI
from pydantic import SecretStr

from claude_like.models.base import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_TOKENS,
    ModelInfo,
    ModelUnavailableError,
    attach_info,
    cap_for,
    known_window,
)
from claude_like.models.tokens import approx_tokens


class CompatChatOpenAI(BaseChatOpenAI):
    """Chat Completions against a non-OpenAI server, with the fixes above."""

    token_count_url: str | None = None
    """Server URL that counts a chat request's prompt tokens exactly (llama-server)."""

    @property
    def _llm_type(self) -> str:
        return "claude-like-openai-compatible"

    def _get_request_payload(
        self, input_: LanguageModelInput, *, stop: list[str] | None = None, **kwargs: Any
    ) -> dict:
        payload = super()._get_request_payload(input_, stop=stop, **kwargs)
        for message in payload.get("messages", []):
            if message.get("role") == "assistant" and message.get("content") is None:
                message["content"] = ""
        return payload

    def _create_chat_result(self, response: Any, generation_info: dict | None = None) -> ChatResult:
        result = super()._create_chat_result(response, generation_info)
        timings = _field(response, "timings")
        if timings:
            for gen in result.generations:
                gen.message.response_metadata["timings"] = dict(timings)
        return result

    def _convert_chunk_to_generation_chunk(
        self, chunk: dict, default_chunk_class: type, base_generation_info: dict | None
    ) -> ChatGenerationChunk | None:
        gen = super()._convert_chunk_to_generation_chunk(
            chunk, default_chunk_class, base_generation_info
        )
        timings = chunk.get("timings") if isinstance(chunk, dict) else None
        if gen is not None and timings:
            gen.message.response_metadata["timings"] = dict(timings)
        return gen

    def exact_prompt_tokens(
        self, messages: list[BaseMessage], tools: Sequence[Any] | None = None
    ) -> int | None:
        """The server's count of the prompt (llama-server's ``input_tokens`` route), or None."""
        if not self.token_count_url:
            return None
        payload = self._get_request_payload(messages)
        body: dict[str, Any] = {"messages": payload["messages"]}
        if tools:
            body["tools"] = [convert_to_openai_tool(t) for t in tools]
        try:
            r = httpx.post(self.token_count_url, json=body, timeout=30)
            r.raise_for_status()
            return int(r.json()["input_tokens"])
        except (httpx.HTTPError, KeyError, ValueError, TypeError):
            return None

    def get_num_tokens_from_messages(
        self, messages: list[BaseMessage], tools: Sequence[Any] | None = None
    ) -> int:
        """Exact prompt tokens from the server when it counts, else an approximation."""
        exact = self.exact_prompt_tokens(messages, tools)
        return exact if exact is not None else approx_tokens(messages, tools)


def _field(response: Any, name: str) -> Any:
    if isinstance(response, dict):
        return response.get(name)
    value = getattr(response, name, None)
    if value is None:
        extra = getattr(response, "model_extra", None) or {}
        value = extra.get(name)
    return value


def make_compat_chat(
    model: str,
    *,
    base_url: str,
    api_key: str | None = None,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    max_retries: int = DEFAULT_MAX_RETRIES,
    timeout: float | None = 600.0,
    token_count_url: str | None = None,
    **kwargs: Any,
) -> CompatChatOpenAI:
    """A ``CompatChatOpenAI`` with a generation cap, retries and streamed usage on."""
    return CompatChatOpenAI(
        model=model,
        base_url=base_url,
        api_key=SecretStr(api_key or "sk-no-key-required"),
        max_tokens=max_tokens,
        max_retries=max_retries,
        timeout=timeout,
        stream_usage=True,
        token_count_url=token_count_url,
        **kwargs,
    )


def make_openai_compatible(
    model: str,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    check: bool = True,
    max_tokens: int | None = None,
    context_window: int | None = None,
    tool_calling: str = "native",
    **kwargs: Any,
) -> Any:
    """``openai-compatible:<model>``: any Chat Completions server (vLLM, LM Studio, ...).

    The base URL comes from the argument or ``OPENAI_COMPATIBLE_BASE_URL`` (with ``/v1``),
    the key from the argument or ``OPENAI_COMPATIBLE_API_KEY``.
    """
    base_url = base_url or os.environ.get("OPENAI_COMPATIBLE_BASE_URL")
    if not base_url:
        raise ModelUnavailableError(
            f"openai-compatible:{model} needs a server URL",
            hint="pass base_url='http://host:port/v1' or set OPENAI_COMPATIBLE_BASE_URL",
        )
    base_url = base_url.rstrip("/")
    api_key = api_key or os.environ.get("OPENAI_COMPATIBLE_API_KEY")
    if check:
        _check_models_endpoint(base_url, model, api_key)
    window = context_window or known_window(model)
    max_tokens = cap_for(max_tokens, window)
    chat = make_compat_chat(
        model, base_url=base_url, api_key=api_key, max_tokens=max_tokens, **kwargs
    )
    info = ModelInfo(
        provider="openai-compatible",
        model=model,
        base_url=base_url,
        context_window=window,
        max_tokens=max_tokens,
        api="openai",
        tool_calling="constrained" if tool_calling == "constrained" else "native",
    )
    attach_info(chat, info)
    if tool_calling == "constrained":
        from claude_like.models.constrained import ConstrainedToolChatModel

        return ConstrainedToolChatModel.wrap(chat, info)
    return chat


def _check_models_endpoint(base_url: str, model: str, api_key: str | None) -> None:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    hint = f"start an OpenAI-compatible server serving {model!r} at {base_url}"
    try:
        r = httpx.get(f"{base_url}/models", headers=headers, timeout=5.0)
    except httpx.HTTPError as e:
        raise ModelUnavailableError(f"no server answers at {base_url} ({e})", hint=hint) from e
    if r.status_code in (401, 403):
        raise ModelUnavailableError(
            f"{base_url} refused the API key ({r.status_code})",
            hint="set OPENAI_COMPATIBLE_API_KEY or pass api_key=...",
        )
    if r.status_code >= 400:
        return  # some servers have no /models; the first request will tell
    try:
        ids = [m.get("id") for m in r.json().get("data", [])]
    except (ValueError, AttributeError):
        return
    if ids and model not in ids and len(ids) > 1:
        raise ModelUnavailableError(
            f"{base_url} does not serve {model!r} (it serves: {', '.join(map(str, ids))})",
            hint=hint,
        )


__all__ = ["CompatChatOpenAI", "make_compat_chat", "make_openai_compatible"]
