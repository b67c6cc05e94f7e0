"""Shared vocabulary of the model factories: ModelInfo, the readiness error, defaults.

Every factory returns a plain LangChain ``BaseChatModel``; what the agent needs to know
beyond that (context window, tool-calling mode, where the server is) travels as a small
``ModelInfo`` in the model's ``metadata``, so any chat model, even a user's own, can carry it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel

ToolCalling = Literal["native", "constrained", "auto"]

#: Generation cap when neither the user nor the window says: a small model left uncapped
#: rambles to the end of its context (seen: SmolLM2 wrote 4,060 tokens for 110 s).
DEFAULT_MAX_TOKENS = 4096
#: Context requested from Ollama when none is given: its small default silently drops
#: the front of the prompt (system prompt and tool schemas).
DEFAULT_NUM_CTX = 16384
#: Retries of transient server errors (connection refused, 429, 5xx), with backoff.
DEFAULT_MAX_RETRIES = 3

INFO_KEY = "claude_like_model_info"

#: Window assumed for a chat model that does not say (a user's own BaseChatModel): small,
#: so that a local model is never overrun; pass ``context_window=`` for a bigger one.
DEFAULT_WINDOW = 8192
#: Largest generation cap derived from a window (a quarter of it, at most this).
MAX_DERIVED_MAX_TOKENS = 8192

#: Context windows of cloud models by name prefix (longest prefix wins).
KNOWN_WINDOWS: dict[str, int] = {
    "claude-": 200_000,
    "gpt-4.1": 1_047_576,
    "gpt-4o": 128_000,
    "gpt-4-turbo": 128_000,
    "gpt-4": 8_192,
    "gpt-5": 400_000,
    "gpt-3.5-turbo": 16_385,
    "o1": 200_000,
    "o3": 200_000,
    "o4-mini": 200_000,
    "deepseek-chat": 128_000,
    "deepseek-reasoner": 128_000,
}


def known_window(model_name: str) -> int | None:
    """The window of a known cloud model, by the longest matching name prefix."""
    name = model_name.lower().rsplit("/", 1)[-1]
    best = max((p for p in KNOWN_WINDOWS if name.startswith(p)), key=len, default=None)
    return KNOWN_WINDOWS[best] if best else None


def derive_max_tokens(window: int) -> int:
    """The generation cap when the user set none: a quarter of the window, never all of it."""
    return max(64, min(window // 4, MAX_DERIVED_MAX_TOKENS))


def cap_for(max_tokens: int | None, window: int | None) -> int:
    """The generation cap to send: the user's, else derived from the window, else the
    default; never the whole window."""
    if max_tokens:
        return max_tokens
    return derive_max_tokens(window) if window else DEFAULT_MAX_TOKENS


class ModelUnavailableError(RuntimeError):
    """The model's server does not answer or does not serve the model; says what to start."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.hint = hint
        super().__init__(f"{message}\n  -> {hint}" if hint else message)


@dataclass
class ModelInfo:
    """What the agent may ask about a chat model beyond the LangChain interface."""

    provider: str
    """Registry name of the provider (``llamacpp``, ``ollama``, ``openai``, ...)."""
    model: str
    """Model name or alias as sent to the server."""
    base_url: str | None = None
    """Server root, for local servers (no ``/v1`` suffix)."""
    context_window: int | None = None
    """Tokens the server holds per request (llama-server ``n_ctx``, Ollama ``num_ctx``)."""
    max_tokens: int | None = None
    """Generation cap sent with every request."""
    tool_calling: str = "native"
    """``native`` (the server's tool calling) or ``constrained`` (JSON-schema decoding)."""
    supports_native_tools: bool | None = None
    """Whether the server's chat template handles tools; None when unknown."""
    api: str | None = None
    """Wire format: ``openai``, ``anthropic`` or ``ollama``."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Anything else learnt from the server (template caps, capabilities, build)."""


def unwrap(model: Any) -> Any:
    """The chat model under RunnableBindings (``bind_tools``), retries and wrappers."""
    seen = 0
    while seen < 10:
        seen += 1
        inner = getattr(model, "bound", None)
        if inner is not None and not isinstance(model, BaseChatModel):
            model = inner
            continue
        break
    return model


def model_info(chat_model: Any) -> ModelInfo | None:
    """The ``ModelInfo`` a factory attached to this model (or to the model it wraps)."""
    model = unwrap(chat_model)
    for _ in range(5):
        meta = getattr(model, "metadata", None) or {}
        info = meta.get(INFO_KEY) if isinstance(meta, dict) else None
        if isinstance(info, ModelInfo):
            return info
        model = getattr(model, "inner", None)
        if model is None:
            return None
    return None


def attach_info(chat_model: BaseChatModel, info: ModelInfo) -> BaseChatModel:
    """Store ``info`` in the model's metadata (kept by ``bind_tools`` and copies)."""
    chat_model.metadata = {**(chat_model.metadata or {}), INFO_KEY: info}
    return chat_model
