"""Between the two worlds: an Anthropic request becomes LangChain messages and tool schemas;
a LangChain reply becomes Anthropic content blocks, a stop reason and usage.

Choices made for backends that are not Claude:
- one system message, first: ``system`` (text or blocks) plus any leading ``role: "system"``
  messages; a system message later in the conversation becomes a user-turn note, since
  chat templates refuse a system message in the middle. Claude Code's first system block,
  its per-request billing header, is dropped (it would only break the server's KV cache);
- tool results become ``ToolMessage``s (``is_error`` -> ``status="error"``), any text of the
  same user turn a ``HumanMessage`` after them; consecutive user turns are merged, as many
  templates want roles to alternate;
- images of a user turn pass as LangChain image blocks (the backend decides); images inside
  a tool result become a one-line note, as tool messages carry text only on most backends;
- thinking blocks and blocks of server tools are dropped, as are server tools and tools with
  ``defer_loading`` (their schemas would only be loaded on demand by Anthropic's tool search,
  which a local backend does not have).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from claude_like.gateway.schema import (
    CountTokensRequest,
    DocumentBlock,
    ImageBlock,
    Message,
    TextBlock,
    ThinkingBlock,
    Tool,
    ToolChoice,
    ToolResultBlock,
    ToolUseBlock,
)
from claude_like.models.tool_arguments import was_cut_off

#: Claude Code's first system block; it changes between requests and means nothing here.
BILLING_PREFIX = "x-anthropic-billing-header:"


@dataclass
class Conversation:
    """A request in LangChain terms."""

    system: str
    messages: list[BaseMessage]
    """The conversation without the system prompt."""
    tools: list[dict[str, Any]] = field(default_factory=list)
    """Client tools in OpenAI function format (what ``bind_tools`` takes)."""
    tool_choice: str | None = None
    """``None`` (auto), ``any``, ``none`` or a tool's name."""
    left_out: list[str] = field(default_factory=list)
    """Tools not sent to the backend: server tools and ``defer_loading`` ones."""

    @property
    def prompt(self) -> list[BaseMessage]:
        """What the backend is sent: the system prompt, then the conversation."""
        head: list[BaseMessage] = [SystemMessage(content=self.system)] if self.system else []
        return [*head, *self.messages]

    @property
    def bound_tools(self) -> list[dict[str, Any]]:
        """The tools the reply may call (none when ``tool_choice`` is ``none``)."""
        return [] if self.tool_choice == "none" else self.tools


# -- request -> LangChain ----------------------------------------------------------------


def system_text(system: str | list[TextBlock] | None) -> str:
    """The system prompt as one text (blocks joined by blank lines, billing header dropped)."""
    if system is None:
        return ""
    if isinstance(system, str):
        return system
    return "\n\n".join(b.text for b in system if b.text and not b.text.startswith(BILLING_PREFIX))


def tool_schema(tool: Tool) -> dict[str, Any]:
    """An Anthropic client tool in OpenAI function format."""
    params = {k: v for k, v in (tool.input_schema or {}).items() if k != "$schema"}
    params.setdefault("type", "object")
    return {"type": "function",
            "function": {"name": tool.name, "description": tool.description or "",
                         "parameters": params}}


def choice_name(choice: ToolChoice | None) -> str | None:
    """Anthropic ``tool_choice`` as ``bind_tools`` and the constrained model take it."""
    if choice is None or choice.type == "auto":
        return None
    return choice.name if choice.type == "tool" else choice.type


def to_conversation(request: CountTokensRequest) -> Conversation:
    """The request's system prompt, messages and tools for a LangChain chat model."""
    system = [system_text(request.system)] if request.system else []
    messages: list[BaseMessage] = []
    names: dict[str, str] = {}
    for message in request.messages:
        if message.role == "system":
            text = _text_of(message)
            if not messages:
                system.append(text)
            elif text:
                messages.append(HumanMessage(content=f"<system>\n{text}\n</system>"))
        elif message.role == "assistant":
            reply = _assistant(message, names)
            if reply is not None:
                messages.append(reply)
        else:
            messages.extend(_user(message, names))
    tools, left_out = [], []
    for tool in request.tools or []:
        if tool.is_client_tool and not tool.defer_loading:
            tools.append(tool_schema(tool))
        else:
            left_out.append(tool.name)
    return Conversation(system="\n\n".join(t for t in system if t), messages=_merged(messages),
                        tools=tools, tool_choice=choice_name(request.tool_choice),
                        left_out=left_out)


def _text_of(message: Message) -> str:
    if isinstance(message.content, str):
        return message.content
    return "\n\n".join(b.text for b in message.content if isinstance(b, TextBlock) and b.text)


def _assistant(message: Message, names: dict[str, str]) -> AIMessage | None:
    if isinstance(message.content, str):
        return AIMessage(content=message.content) if message.content else None
    texts, calls = [], []
    for block in message.content:
        if isinstance(block, TextBlock) and block.text:
            texts.append(block.text)
        elif isinstance(block, ToolUseBlock):
            names[block.id] = block.name
            calls.append({"name": block.name, "args": block.input, "id": block.id,
                          "type": "tool_call"})
    if not texts and not calls:
        return None
    return AIMessage(content="\n\n".join(texts), tool_calls=calls)


def _user(message: Message, names: dict[str, str]) -> list[BaseMessage]:
    """Tool results first (they must follow the assistant turn that called), then the rest."""
    if isinstance(message.content, str):
        return [HumanMessage(content=message.content)]
    results: list[BaseMessage] = []
    parts: list[dict[str, Any]] = []
    for block in message.content:
        if isinstance(block, ToolResultBlock):
            results.append(ToolMessage(content=_result_text(block), tool_call_id=block.tool_use_id,
                                       name=names.get(block.tool_use_id),
                                       status="error" if block.is_error else "success"))
        else:
            parts.extend(_human_parts(block))
    if parts:
        results.append(HumanMessage(content=_content(parts)))
    return results


def _human_parts(block: Any) -> list[dict[str, Any]]:
    if isinstance(block, TextBlock):
        return [{"type": "text", "text": block.text}] if block.text else []
    if isinstance(block, ImageBlock):
        src = block.source
        if src.type == "base64" and src.data:
            return [{"type": "image", "base64": src.data,
                     "mime_type": src.media_type or "image/png"}]
        if src.type == "url" and src.url:
            return [{"type": "image", "url": src.url}]
        return [{"type": "text", "text": f"[image {src.file_id or ''} not available]"}]
    if isinstance(block, DocumentBlock):
        return [{"type": "text", "text": _document_text(block)}]
    return []  # thinking, server tool blocks, unknown types


def _document_text(block: DocumentBlock) -> str:
    src = block.source
    title = f"{block.title}: " if block.title else ""
    if src.get("type") == "text" and isinstance(src.get("data"), str):
        return f"{title}{src['data']}"
    if src.get("type") == "content" and isinstance(src.get("content"), list):
        texts = [c.get("text", "") for c in src["content"] if isinstance(c, dict)]
        return title + "\n".join(t for t in texts if t)
    kind = src.get("media_type") or src.get("type") or "document"
    return f"[{title}{kind} document not readable by this model]"


def _result_text(block: ToolResultBlock) -> str:
    content = block.content
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    texts = []
    for part in content:
        if isinstance(part, TextBlock):
            texts.append(part.text)
        elif isinstance(part, ImageBlock):
            texts.append(f"[image ({part.source.media_type or part.source.type}) not shown: "
                         "tool results reach this model as text]")
        elif isinstance(part, DocumentBlock):
            texts.append(_document_text(part))
        elif not isinstance(part, ThinkingBlock):
            text = getattr(part, "text", None)
            if isinstance(text, str):
                texts.append(text)
    return "\n".join(texts)


def _content(parts: list[dict[str, Any]]) -> str | list[dict[str, Any]]:
    """Plain text when there is only text (what every backend takes), else blocks."""
    if all(p["type"] == "text" for p in parts):
        return "\n\n".join(p["text"] for p in parts)
    return parts


def _as_parts(content: str | list[Any]) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    return [p if isinstance(p, dict) else {"type": "text", "text": str(p)} for p in content]


def _merged(messages: list[BaseMessage]) -> list[BaseMessage]:
    """Consecutive user turns as one (templates that want alternating roles)."""
    out: list[BaseMessage] = []
    for msg in messages:
        prev = out[-1] if out else None
        if isinstance(msg, HumanMessage) and isinstance(prev, HumanMessage):
            out[-1] = HumanMessage(content=_content(_as_parts(prev.content)
                                                    + _as_parts(msg.content)))
        else:
            out.append(msg)
    return out


# -- LangChain reply -> Anthropic --------------------------------------------------------


def new_message_id() -> str:
    return f"msg_{uuid.uuid4().hex[:24]}"


def tool_use_id(call_id: str | None) -> str:
    """The backend's call id when it is already Anthropic's, else a fresh ``toolu_`` id."""
    if call_id and call_id.startswith("toolu_"):
        return call_id
    return f"toolu_{uuid.uuid4().hex[:24]}"


def tool_uses(reply: AIMessage) -> list[dict[str, Any]]:
    """The reply's calls as ``tool_use`` blocks. A call whose arguments could not be read
    still goes out (with empty input) when it names a tool: the client then tells the model
    what was missing, which a small model can act on."""
    blocks = [{"type": "tool_use", "id": tool_use_id(c.get("id")), "name": c["name"],
               "input": dict(c.get("args") or {})} for c in reply.tool_calls]
    blocks += [{"type": "tool_use", "id": tool_use_id(c.get("id")), "name": c["name"],
                "input": {}} for c in reply.invalid_tool_calls if c.get("name")]
    return blocks


def content_blocks(text: str, reply: AIMessage) -> list[dict[str, Any]]:
    """A text block (when there is text), then the tool_use blocks."""
    head = [{"type": "text", "text": text}] if text else []
    return head + tool_uses(reply)


def stop_reason(reply: AIMessage, blocks: list[dict[str, Any]]) -> str:
    if any(b["type"] == "tool_use" for b in blocks):
        return "tool_use"
    return "max_tokens" if was_cut_off(reply) else "end_turn"


def usage(reply: AIMessage, estimate: int) -> dict[str, int]:
    """Anthropic usage: ``input_tokens`` excludes the cached ones, reported apart (from the
    usage details, or llama-server's ``timings.cache_n``); our estimate when the backend
    reports no usage."""
    meta = reply.usage_metadata or {}
    total = int(meta.get("input_tokens") or 0) or estimate
    details = meta.get("input_token_details") or {}
    timings = (reply.response_metadata or {}).get("timings") or {}
    cached = min(int(details.get("cache_read") or timings.get("cache_n") or 0), total)
    created = min(int(details.get("cache_creation") or 0), total - cached)
    return {"input_tokens": total - cached - created,
            "output_tokens": int(meta.get("output_tokens") or 0),
            "cache_read_input_tokens": cached, "cache_creation_input_tokens": created}


def message_body(message_id: str, model: str, blocks: list[dict[str, Any]], stop: str | None,
                 use: dict[str, int]) -> dict[str, Any]:
    """A whole Messages API response (also the ``message`` of ``message_start``)."""
    return {"id": message_id, "type": "message", "role": "assistant", "model": model,
            "content": blocks, "stop_reason": stop, "stop_sequence": None, "usage": use}
