"""Chat-model factories: one spec string picks the backend.

``make_chat_model("ollama:qwen2.5-coder:7b")``, ``"llamacpp:<alias>"`` (add
``?api=anthropic`` for llama-server's ``/v1/messages``), ``"openai:<model>"``,
``"anthropic:<model>"``, ``"openai-compatible:<model>?base_url=..."``, ``"embedded:"``
(a managed llama-server on the bundled tiny GGUF). The default comes from
``CLAUDE_LIKE_MODEL``.
"""

from claude_like.models.base import (
    DEFAULT_MAX_TOKENS,
    DEFAULT_NUM_CTX,
    ModelInfo,
    ModelUnavailableError,
    ToolCalling,
    model_info,
)
from claude_like.models.registry import (
    ENTRY_POINT_GROUP,
    ENV_VAR,
    ModelSpec,
    UnknownProviderError,
    available_providers,
    make_chat_model,
    parse_spec,
    register_provider,
    resolve_model,
    unregister_provider,
)
from claude_like.models.text_tool_calls import recover_tool_calls
from claude_like.models.tokens import count_tokens

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "DEFAULT_NUM_CTX",
    "ENTRY_POINT_GROUP",
    "ENV_VAR",
    "ModelInfo",
    "ModelSpec",
    "ModelUnavailableError",
    "ToolCalling",
    "UnknownProviderError",
    "available_providers",
    "count_tokens",
    "make_chat_model",
    "model_info",
    "parse_spec",
    "recover_tool_calls",
    "register_provider",
    "resolve_model",
    "unregister_provider",
]
