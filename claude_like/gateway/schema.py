"""Pydantic models of an Anthropic Messages API request, as lenient as the clients are varied.

Unknown fields are ignored everywhere (new API features must not break the gateway); the
fields Claude Code sends that a local backend cannot use (``cache_control``, ``thinking``,
``output_config``, ``context_management``, ``metadata``, ...) are declared, so that they are
visibly accepted, and then ignored. Content blocks of a type the gateway does not know are
kept as :class:`OtherBlock` and skipped when converting. What *is* checked is what the
conversion needs: roles, block shapes, tool names, ``tool_choice``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator


class Lenient(BaseModel):
    """Base of every request model: unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore")


class TextBlock(Lenient):
    type: Literal["text"] = "text"
    text: str
    cache_control: dict[str, Any] | None = None
    citations: Any = None


class ImageSource(Lenient):
    type: str = "base64"
    """``base64``, ``url`` or ``file`` (a Files API id, which the gateway cannot fetch)."""
    media_type: str | None = None
    data: str | None = None
    url: str | None = None
    file_id: str | None = None


class ImageBlock(Lenient):
    type: Literal["image"] = "image"
    source: ImageSource
    cache_control: dict[str, Any] | None = None


class DocumentBlock(Lenient):
    type: Literal["document"] = "document"
    source: dict[str, Any]
    title: str | None = None
    context: str | None = None
    cache_control: dict[str, Any] | None = None


class ToolUseBlock(Lenient):
    type: Literal["tool_use"] = "tool_use"
    id: str
    name: str
    input: dict[str, Any] = Field(default_factory=dict)
    cache_control: dict[str, Any] | None = None


class ThinkingBlock(Lenient):
    type: Literal["thinking", "redacted_thinking"] = "thinking"
    thinking: str | None = None
    signature: str | None = None
    data: str | None = None


class OtherBlock(Lenient):
    """A block type the gateway does not convert (server tool use, search results, ...)."""

    model_config = ConfigDict(extra="allow")
    type: str


def _tag(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    if kind in ("text", "image", "document", "tool_use", "tool_result"):
        return str(kind)
    if kind in ("thinking", "redacted_thinking"):
        return "thinking"
    return "other"


class ToolResultBlock(Lenient):
    type: Literal["tool_result"] = "tool_result"
    tool_use_id: str
    content: str | list[ResultPart] | None = None
    is_error: bool = False
    cache_control: dict[str, Any] | None = None


ResultPart = Annotated[
    Annotated[TextBlock, Tag("text")] | Annotated[ImageBlock, Tag("image")]
    | Annotated[DocumentBlock, Tag("document")] | Annotated[ToolUseBlock, Tag("tool_use")]
    | Annotated[ToolResultBlock, Tag("tool_result")] | Annotated[ThinkingBlock, Tag("thinking")]
    | Annotated[OtherBlock, Tag("other")],
    Discriminator(_tag),
]
Block = ResultPart
ToolResultBlock.model_rebuild()


class Message(Lenient):
    role: Literal["user", "assistant", "system"]
    content: str | list[Block]


class Tool(Lenient):
    """A client tool (``input_schema``) or a server tool (a versioned ``type``, no schema)."""

    name: str = Field(min_length=1)
    type: str | None = None
    description: str | None = None
    input_schema: dict[str, Any] | None = None
    cache_control: dict[str, Any] | None = None
    defer_loading: bool = False
    strict: bool | None = None
    input_examples: Any = None

    @property
    def is_client_tool(self) -> bool:
        return self.input_schema is not None and self.type in (None, "custom")


class ToolChoice(Lenient):
    type: Literal["auto", "any", "tool", "none"]
    name: str | None = None
    disable_parallel_tool_use: bool | None = None

    @model_validator(mode="after")
    def _named(self) -> ToolChoice:
        if self.type == "tool" and not self.name:
            raise ValueError('tool_choice of type "tool" needs a "name"')
        return self


class CountTokensRequest(Lenient):
    """``POST /v1/messages/count_tokens``: a Messages request without generation settings."""

    model: str = ""
    messages: list[Message] = Field(min_length=1)
    system: str | list[TextBlock] | None = None
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    # Accepted and ignored:
    thinking: Any = None
    output_config: Any = None
    context_management: Any = None
    mcp_servers: Any = None

    @model_validator(mode="after")
    def _choice_names_a_tool(self) -> CountTokensRequest:
        choice = self.tool_choice
        if choice is not None and choice.type == "tool":
            names = {t.name for t in self.tools or []}
            if choice.name not in names:
                raise ValueError(f"tool_choice names {choice.name!r}, which is not in tools")
        return self


class MessagesRequest(CountTokensRequest):
    """``POST /v1/messages``."""

    model: str = Field(min_length=1)
    max_tokens: int | None = Field(default=None, ge=1)
    stream: bool = False
    stop_sequences: list[str] | None = None
    # Accepted and ignored: sampling stays the backend's (set it in the model spec), and
    # the rest has no meaning for a local backend.
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    metadata: dict[str, Any] | None = None
    cache_control: Any = None
    service_tier: Any = None
    container: Any = None
    betas: Any = None


#: Request fields the gateway accepts without acting on them (README, tests).
IGNORED_FIELDS = ("cache_control", "thinking", "output_config", "context_management",
                  "metadata", "temperature", "top_p", "top_k", "service_tier", "container",
                  "mcp_servers", "betas")
