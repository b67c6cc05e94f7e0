"""The one decision between native and constrained tool calling, for every factory.

``auto`` means native unless the server says the model cannot call tools (a chat template
without tool support, an Ollama model without the ``tools`` capability); unknown counts
as able, since a wrong "constrained" costs more than a wrong "native".
"""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel

from claude_like.models.base import ModelInfo, attach_info
from claude_like.models.constrained import ConstrainedToolChatModel

MODES = ("native", "constrained", "auto")


def check_mode(mode: str) -> str:
    """``mode`` if it is one of MODES, else a ValueError that lists them."""
    if mode not in MODES:
        raise ValueError(f"tool_calling must be native, constrained or auto, not {mode!r}")
    return mode


def apply_mode(chat: BaseChatModel, info: ModelInfo, mode: str) -> BaseChatModel:
    """``chat`` with ``info`` attached, wrapped for constrained decoding when ``mode`` (or
    ``auto`` and what the server told about the model) says so."""
    if check_mode(mode) == "auto":
        mode = "constrained" if info.supports_native_tools is False else "native"
    info.tool_calling = mode
    attach_info(chat, info)
    return ConstrainedToolChatModel.wrap(chat, info) if mode == "constrained" else chat
