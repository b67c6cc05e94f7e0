"""``ollama:<model>``: Ollama's native ``/api/chat`` through langchain-ollama.

Always sends ``num_ctx`` (Ollama's small default context silently drops the front of the
prompt, i.e. the system prompt and tool schemas) and ``num_predict``; learns the model's
context length and capabilities from ``/api/show``; retries transient errors.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import httpx
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_ollama import ChatOllama

from claude_like.models.base import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_NUM_CTX,
    ModelInfo,
    ModelUnavailableError,
    cap_for,
)
from claude_like.models.retry import aretry_call, aretry_stream, retry_call, retry_stream
from claude_like.models.tokens import approx_tokens
from claude_like.models.tool_calling import apply_mode, check_mode

DEFAULT_HOST = "http://127.0.0.1:11434"


def ollama_host(base_url: str | None = None) -> str:
    """The server URL from the argument or ``OLLAMA_HOST`` (which may lack a scheme)."""
    host = (base_url or os.environ.get("OLLAMA_HOST") or DEFAULT_HOST).strip().rstrip("/")
    if "://" not in host:
        host = f"http://{host}"
    if host.endswith("/v1"):  # the OpenAI route ignores num_ctx: use the native API
        host = host[: -len("/v1")]
    return host.replace("://0.0.0.0", "://127.0.0.1")


class RetryingChatOllama(ChatOllama):
    """ChatOllama with retries of transient errors and an offline token estimate."""

    max_retries: int = DEFAULT_MAX_RETRIES

    @property
    def _llm_type(self) -> str:
        return "claude-like-ollama"

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any
                  ) -> ChatResult:
        return retry_call(lambda: super(RetryingChatOllama, self)._generate(
            messages, stop, run_manager, **kwargs), max_retries=self.max_retries)

    async def _agenerate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                         run_manager: AsyncCallbackManagerForLLMRun | None = None,
                         **kwargs: Any) -> ChatResult:
        return await aretry_call(lambda: super(RetryingChatOllama, self)._agenerate(
            messages, stop, run_manager, **kwargs), max_retries=self.max_retries)

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any
                ) -> Iterator[ChatGenerationChunk]:
        return retry_stream(lambda: super(RetryingChatOllama, self)._stream(
            messages, stop, run_manager, **kwargs), max_retries=self.max_retries)

    def _astream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                 run_manager: AsyncCallbackManagerForLLMRun | None = None, **kwargs: Any
                 ) -> AsyncIterator[ChatGenerationChunk]:
        return aretry_stream(lambda: super(RetryingChatOllama, self)._astream(
            messages, stop, run_manager, **kwargs), max_retries=self.max_retries)

    def exact_prompt_tokens(self, messages: list[BaseMessage],
                            tools: Sequence[Any] | None = None) -> int | None:
        """Ollama has no tokenize endpoint: no exact count."""
        return None

    def get_num_tokens_from_messages(self, messages: list[BaseMessage],
                                     tools: Sequence[Any] | None = None) -> int:
        """An approximation (no tokenizer download)."""
        return approx_tokens(messages, tools)


def _full_name(model: str) -> str:
    return model if ":" in model else f"{model}:latest"


def probe_ollama(host: str, model: str) -> dict[str, Any]:
    """``/api/show`` of ``model`` after checking the server answers and has it pulled."""
    try:
        tags = httpx.get(f"{host}/api/tags", timeout=5.0)
    except httpx.HTTPError as e:
        raise ModelUnavailableError(
            f"no Ollama server answers at {host} ({type(e).__name__})",
            hint=f"start it: `ollama serve` (then `ollama pull {model}`), or set OLLAMA_HOST",
        ) from e
    names = set()
    try:
        for m in tags.json().get("models", []):
            names.update({m.get("name"), m.get("model")})
    except (ValueError, AttributeError):
        pass
    if _full_name(model) not in {_full_name(n) for n in names if n}:
        raise ModelUnavailableError(
            f"Ollama at {host} has no model {model!r}",
            hint=f"pull it: ollama pull {model}",
        )
    try:
        r = httpx.post(f"{host}/api/show", json={"model": model}, timeout=10.0)
        show = r.json() if r.status_code == 200 else {}
    except (httpx.HTTPError, ValueError):
        show = {}
    return show if isinstance(show, dict) else {}


def info_from_show(model: str, host: str, show: dict[str, Any], num_ctx: int,
                   max_tokens: int | None) -> ModelInfo:
    """ModelInfo from ``/api/show``; ``context_window`` is the ``num_ctx`` we send."""
    trained = None
    for key, value in (show.get("model_info") or {}).items():
        if key.endswith(".context_length") and isinstance(value, int):
            trained = value
    caps = show.get("capabilities")
    native = ("tools" in caps) if isinstance(caps, list) else None
    return ModelInfo(
        provider="ollama",
        model=model,
        base_url=host,
        context_window=num_ctx,
        max_tokens=cap_for(max_tokens, num_ctx),
        supports_native_tools=native,
        api="ollama",
        extra={"capabilities": caps, "trained_context_length": trained},
    )


def make_ollama(
    model: str,
    *,
    base_url: str | None = None,
    num_ctx: int | None = None,
    max_tokens: int | None = None,
    tool_calling: str = "auto",
    max_retries: int = DEFAULT_MAX_RETRIES,
    check: bool = True,
    **kwargs: Any,
) -> BaseChatModel:
    """A chat model on Ollama. ``num_ctx`` defaults to 16k, capped at the model's trained
    context; ``tool_calling="auto"`` uses constrained decoding when the model has no
    ``tools`` capability."""
    check_mode(tool_calling)
    host = ollama_host(base_url)
    show = probe_ollama(host, model) if check else {}
    info = info_from_show(model, host, show, num_ctx or DEFAULT_NUM_CTX, max_tokens)
    trained = info.extra.get("trained_context_length")
    if num_ctx is None and trained:
        info.context_window = min(DEFAULT_NUM_CTX, trained)
        info.max_tokens = cap_for(max_tokens, info.context_window)
    kwargs.setdefault("num_predict", info.max_tokens)
    chat = RetryingChatOllama(
        model=model,
        base_url=host,
        num_ctx=info.context_window,
        max_retries=max_retries,
        **kwargs,
    )
    return apply_mode(chat, info, tool_calling)
