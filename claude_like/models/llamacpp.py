"""``llamacpp:<alias>``: llama.cpp's llama-server, over its OpenAI-compatible API or its
native Anthropic ``/v1/messages`` API (``api="anthropic"``).

Before the first turn the factory asks the server ``/health`` (503 while loading, so it
waits a little), ``/props`` (context size ``n_ctx``, the chat template's tool support) and
learns whether to use native or constrained tool calling (``tool_calling="auto"``).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlparse

import httpx
from langchain_anthropic import ChatAnthropic
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from pydantic import SecretStr

from claude_like.models.base import (
    DEFAULT_MAX_RETRIES,
    ModelInfo,
    ModelUnavailableError,
    cap_for,
)
from claude_like.models.openai_compatible import make_compat_chat
from claude_like.models.probe import wait_healthy
from claude_like.models.tool_calling import apply_mode, check_mode

DEFAULT_BASE_URL = "http://127.0.0.1:8080"
BASE_URL_ENV = "LLAMACPP_BASE_URL"
#: How long the readiness check waits for a server that is still loading its model.
LOAD_WAIT = 120.0


def server_root(base_url: str | None) -> str:
    """``http://host:port`` from a URL given with or without ``/v1``."""
    url = (base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL).rstrip("/")
    if url.endswith("/v1"):
        url = url[: -len("/v1")]
    return url


def start_hint(root: str) -> str:
    """The exact command that would make ``root`` answer."""
    port = urlparse(root).port or 8080
    return (
        f"start it: llama-server -m /path/to/model.gguf --jinja -c 16384 --port {port}"
        f"  (or set {BASE_URL_ENV}; `python -m claude_like.models.embedded --ensure`"
        " builds llama-server if you have none)"
    )


class LlamaCppChatAnthropic(ChatAnthropic):
    """ChatAnthropic against llama-server's ``/v1/messages``: also records the prompt cache
    figures as ``response_metadata["timings"]`` (``cache_n``/``prompt_n``), derived from
    the usage block, where the OpenAI route gets them from llama-server's ``timings``."""

    @property
    def _llm_type(self) -> str:
        return "claude-like-llamacpp-anthropic"

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any
                  ) -> ChatResult:
        result = super()._generate(messages, stop, run_manager, **kwargs)
        for gen in result.generations:
            _add_timings(gen.message)
        return result

    async def _agenerate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                         run_manager: AsyncCallbackManagerForLLMRun | None = None,
                         **kwargs: Any) -> ChatResult:
        result = await super()._agenerate(messages, stop, run_manager, **kwargs)
        for gen in result.generations:
            _add_timings(gen.message)
        return result

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any
                ) -> Iterator[ChatGenerationChunk]:
        for chunk in super()._stream(messages, stop, run_manager, **kwargs):
            _add_timings(chunk.message)
            yield chunk

    async def _astream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                       run_manager: AsyncCallbackManagerForLLMRun | None = None,
                       **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
        async for chunk in super()._astream(messages, stop, run_manager, **kwargs):
            _add_timings(chunk.message)
            yield chunk


def _add_timings(message: BaseMessage) -> None:
    usage = getattr(message, "usage_metadata", None)
    if not usage:
        return
    details = usage.get("input_token_details") or {}
    cache_read = details.get("cache_read")
    if cache_read is None or not usage.get("input_tokens"):
        return
    message.response_metadata["timings"] = {
        "cache_n": int(cache_read),
        "prompt_n": int(usage["input_tokens"]) - int(cache_read),
    }


def probe_server(root: str, *, wait: float = LOAD_WAIT) -> dict[str, Any]:
    """``/props`` of a healthy llama-server; waits while it loads, else ModelUnavailableError."""
    wait_healthy(f"{root}/health", timeout=wait, hint=start_hint(root), what="llama-server",
                 poll=0.5, refused_is_final=True)
    try:
        props = httpx.get(f"{root}/props", timeout=5.0).json()
    except (httpx.HTTPError, ValueError):
        props = {}
    return props if isinstance(props, dict) else {}


def info_from_props(alias: str, root: str, props: dict[str, Any], api: str,
                    max_tokens: int | None) -> ModelInfo:
    """ModelInfo from llama-server's ``/props``."""
    caps = props.get("chat_template_caps") or {}
    n_ctx = (props.get("default_generation_settings") or {}).get("n_ctx") or props.get("n_ctx")
    native = None
    if caps:
        native = bool(caps.get("supports_tools") and caps.get("supports_tool_calls"))
    return ModelInfo(
        provider="llamacpp",
        model=alias,
        base_url=root,
        context_window=int(n_ctx) if n_ctx else None,
        max_tokens=cap_for(max_tokens, int(n_ctx) if n_ctx else None),
        supports_native_tools=native,
        api=api,
        extra={
            "chat_template_caps": caps,
            "model_path": props.get("model_path"),
            "build_info": props.get("build_info"),
            "total_slots": props.get("total_slots"),
        },
    )


def make_llamacpp(
    alias: str = "",
    *,
    base_url: str | None = None,
    api: str = "openai",
    api_key: str | None = None,
    tool_calling: str = "auto",
    max_tokens: int | None = None,
    max_retries: int = DEFAULT_MAX_RETRIES,
    check: bool = True,
    **kwargs: Any,
) -> BaseChatModel:
    """A chat model on llama-server. ``api``: ``openai`` (``/v1/chat/completions``) or
    ``anthropic`` (``/v1/messages``). ``tool_calling``: ``native``, ``constrained`` or
    ``auto`` (constrained when the server's chat template has no tool support)."""
    if api not in ("openai", "anthropic"):
        raise ValueError(f"llamacpp api must be 'openai' or 'anthropic', not {api!r}")
    check_mode(tool_calling)
    root = server_root(base_url)
    props = probe_server(root) if check else {}
    if check and alias and alias != "default":
        _check_alias(root, alias)
    info = info_from_props(alias or "default", root, props, api, max_tokens)
    max_tokens = info.max_tokens  # derived from the slot's window unless given
    alias = alias or "default"
    api_key = api_key or os.environ.get("LLAMACPP_API_KEY")
    chat: BaseChatModel
    if api == "openai":
        chat = make_compat_chat(
            alias,
            base_url=f"{root}/v1",
            api_key=api_key,
            max_tokens=max_tokens,
            max_retries=max_retries,
            token_count_url=f"{root}/v1/chat/completions/input_tokens",
            **kwargs,
        )
    else:
        chat = LlamaCppChatAnthropic(
            model=alias,
            base_url=root,
            api_key=SecretStr(api_key or "sk-no-key-required"),
            max_tokens=max_tokens,
            max_retries=max_retries,
            timeout=kwargs.pop("timeout", 600.0),
            **kwargs,
        )
    return apply_mode(chat, info, tool_calling)


def _check_alias(root: str, alias: str) -> None:
    """A server that serves several models (router mode) must serve ``alias``; a
    single-model server answers to any name, so it is not held to its alias."""
    try:
        data = httpx.get(f"{root}/v1/models", timeout=5.0).json().get("data", [])
    except (httpx.HTTPError, ValueError, AttributeError):
        return
    names: set[str] = set()
    for m in data if isinstance(data, list) else []:
        names.add(str(m.get("id")))
        names.update(str(a) for a in m.get("aliases") or [])
    if len(data) > 1 and alias not in names:
        raise ModelUnavailableError(
            f"llama-server at {root} serves {', '.join(sorted(names))}, not {alias!r}",
            hint="use one of those names, or start a server for it: "
            + start_hint(root).removeprefix("start it: "),
        )


def make_llamacpp_anthropic(alias: str = "", **kwargs: Any) -> BaseChatModel:
    """``llamacpp-anthropic:<alias>``: llama-server through its Anthropic ``/v1/messages``."""
    kwargs.setdefault("api", "anthropic")
    return make_llamacpp(alias, **kwargs)
