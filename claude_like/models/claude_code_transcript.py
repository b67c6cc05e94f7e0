"""The Claude Agent SDK's messages, read once into what a chat model returns: text pieces,
Claude Code's own tool activity, usage, the session id, and the run's error if any.

Text of the top-level assistant (not of sub-agents) is taken from the partial stream
events when the CLI streamed them, else from the complete assistant message, so that it
is never counted twice; the turns' texts are separated by a blank line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import BaseMessage
from langchain_core.messages.ai import UsageMetadata

from claude_like.models.claude_cli import ClaudeCodeAuthError, ClaudeCodeError, is_auth_failure

TURN_SEPARATOR = "\n\n"


@dataclass
class Step:
    """One thing to hand on: a piece of text, or one tool use / tool result record."""

    text: str = ""
    activity: dict[str, Any] | None = None


@dataclass
class Transcript:
    """Reads the SDK's messages in order (``feed``) and keeps what the reply needs."""

    session_id: str | None = None
    model: str | None = None
    tools: list[str] = field(default_factory=list)
    activity: list[dict[str, Any]] = field(default_factory=list)
    result: Any = None
    """The SDK's ``ResultMessage``, once it came."""
    _streamed: set[str] = field(default_factory=set)
    _current: str | None = None
    _text_owner: str | None = None
    _error_kind: str | None = None
    _error_text: str = ""

    def feed(self, message: Any) -> list[Step]:
        """The steps this message adds; raises when it says the run failed."""
        kind = type(message).__name__
        if kind == "StreamEvent":
            return self._stream_event(message)
        if kind == "AssistantMessage":
            return self._assistant(message)
        if kind == "UserMessage":
            return self._tool_results(message)
        if kind == "SystemMessage" and message.subtype == "init":
            self.session_id = message.data.get("session_id") or self.session_id
            self.model = message.data.get("model") or self.model
            self.tools = list(message.data.get("tools") or [])
        elif kind == "ResultMessage":
            self.result = message
            self.session_id = message.session_id or self.session_id
            if message.is_error:
                raise self.error()
        return []

    def _text(self, owner: str | None, text: str) -> list[Step]:
        if not text:
            return []
        sep = TURN_SEPARATOR if self._text_owner is not None and owner != self._text_owner \
            else ""
        self._text_owner = owner
        return [Step(text=sep + text)]

    def _stream_event(self, message: Any) -> list[Step]:
        if message.parent_tool_use_id is not None:
            return []
        event = message.event or {}
        if event.get("type") == "message_start":
            self._current = (event.get("message") or {}).get("id")
            return []
        delta = event.get("delta") or {}
        if event.get("type") == "content_block_delta" and delta.get("type") == "text_delta":
            self._streamed.add(self._current or "")
            return self._text(self._current, delta.get("text", ""))
        return []

    def _assistant(self, message: Any) -> list[Step]:
        parent = message.parent_tool_use_id
        if message.error:
            self._error_kind = message.error
            self._error_text = " ".join(getattr(b, "text", "") for b in message.content).strip()
            if is_auth_failure(self._error_text, error=message.error):
                raise ClaudeCodeAuthError(self._error_text or message.error)
            return []
        self.model = message.model or self.model
        steps: list[Step] = []
        owner = message.message_id
        for block in message.content:
            name = type(block).__name__
            if name == "TextBlock" and parent is None and owner not in self._streamed:
                steps += self._text(owner, block.text)
            elif name == "ToolUseBlock":
                steps.append(self._record({"type": "tool_use", "id": block.id,
                                           "name": block.name, "input": block.input,
                                           "parent_tool_use_id": parent}))
        return steps

    def _tool_results(self, message: Any) -> list[Step]:
        if not isinstance(message.content, list):
            return []
        return [self._record({"type": "tool_result", "tool_use_id": block.tool_use_id,
                              "content": block.content, "is_error": bool(block.is_error),
                              "parent_tool_use_id": message.parent_tool_use_id})
                for block in message.content if type(block).__name__ == "ToolResultBlock"]

    def _record(self, item: dict[str, Any]) -> Step:
        self.activity.append(item)
        return Step(activity=item)

    def error(self, *, status: int | None = None, text: str | None = None) -> Exception:
        """The exception for a failed run, from the result, the SDK's error or the CLI."""
        result = self.result
        said = text or (result.result if result is not None else None) or self._error_text
        status = status or (result.api_error_status if result is not None else None)
        if is_auth_failure(said, status=status, error=self._error_kind):
            return ClaudeCodeAuthError(said or f"HTTP {status}")
        subtype = result.subtype if result is not None else None
        if subtype == "error_max_turns":
            said = f"Claude Code stopped at its turn limit ({said or subtype})"
        return ClaudeCodeError(f"Claude Code failed: {said or subtype or 'no result'}",
                               subtype=subtype, session_id=self.session_id, status=status)

    def metadata(self) -> dict[str, Any]:
        """``response_metadata`` of the reply: model, stop reason, and Claude Code's run."""
        result = self.result
        run = {
            "session_id": self.session_id,
            "tool_activity": list(self.activity),
            "tools": list(self.tools),
            "num_turns": getattr(result, "num_turns", None),
            "total_cost_usd": getattr(result, "total_cost_usd", None),
            "duration_ms": getattr(result, "duration_ms", None),
            "result": getattr(result, "result", None),
        }
        return {"model_name": self.model, "stop_reason": getattr(result, "stop_reason", None),
                "session_id": self.session_id, "claude_code": run}

    def usage(self) -> UsageMetadata | None:
        """The run's token usage (all of Claude Code's turns), LangChain's way."""
        raw = getattr(self.result, "usage", None) or {}
        if not raw:
            return None
        read = int(raw.get("cache_read_input_tokens") or 0)
        made = int(raw.get("cache_creation_input_tokens") or 0)
        prompt = int(raw.get("input_tokens") or 0) + read + made
        out = int(raw.get("output_tokens") or 0)
        return UsageMetadata(input_tokens=prompt, output_tokens=out, total_tokens=prompt + out,
                             input_token_details={"cache_read": read, "cache_creation": made})


def flatten(messages: list[BaseMessage]) -> tuple[str, str]:
    """(system text, prompt) for one Claude Code run: system messages join the system
    prompt; a single user message is the prompt as is; a longer conversation becomes a
    transcript with the last user message as the request."""
    system = "\n\n".join(_text_of(m) for m in messages if m.type == "system").strip()
    rest = [m for m in messages if m.type != "system"]
    if not rest:
        raise ValueError("Claude Code needs a user message, not only a system prompt")
    if len(rest) == 1 and rest[0].type == "human":
        return system, _text_of(rest[0])
    last = rest[-1] if rest and rest[-1].type == "human" else None
    history = rest[:-1] if last is not None else rest
    lines = []
    for message in history:
        label = {"human": "User", "ai": "Assistant", "tool": "Tool result"}.get(
            message.type, message.type.capitalize())
        text = _text_of(message)
        calls = getattr(message, "tool_calls", None) or []
        text += "".join(f"\n[called {c['name']} with {c['args']}]" for c in calls)
        lines.append(f"{label}: {text}")
    transcript = "Conversation so far:\n\n" + "\n\n".join(lines)
    if last is None:
        return system, transcript
    return system, f"{transcript}\n\nThe user's new message:\n{_text_of(last)}"


def _text_of(message: BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    parts = []
    for block in content:
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, dict) and block.get("type") == "text":
            parts.append(str(block.get("text", "")))
    return "".join(parts)
