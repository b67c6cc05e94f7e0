"""ScriptedChatModel: a deterministic chat model for tests of graphs built on claude-like.

It replies with a scripted sequence of AIMessages (text and/or tool calls), supports
``bind_tools`` and token streaming, reports usage, and records what it was sent.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from pydantic import ConfigDict, Field, PrivateAttr

Reply = AIMessage | str | Callable[[list[BaseMessage]], AIMessage]


def tool_call(name: str, args: dict[str, Any] | None = None, id: str | None = None) -> dict:
    """A tool call dict for a scripted reply."""
    return {"name": name, "args": args or {}, "id": id or f"call_{name}_{next(_ids)}"}


_ids = itertools.count(1)


def say(text: str = "", *calls: dict) -> AIMessage:
    """A scripted assistant reply: text and any number of tool calls."""
    return AIMessage(content=text, tool_calls=list(calls))


class ScriptedChatModel(BaseChatModel):
    """Replies with ``script`` in order; ``repeat_last`` keeps replying with the last one."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    script: list[Any] = Field(default_factory=list)
    repeat_last: bool = False
    chunk_size: int = 4
    """Characters per streamed chunk of text."""
    _position: int = PrivateAttr(default=0)
    _calls: list[list[BaseMessage]] = PrivateAttr(default_factory=list)
    _bound_tools: list[str] = PrivateAttr(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    @property
    def calls(self) -> list[list[BaseMessage]]:
        """The message lists the model was called with, in order."""
        return self._calls

    @property
    def bound_tool_names(self) -> list[str]:
        return self._bound_tools

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Runnable:
        self._bound_tools = [getattr(t, "name", str(t)) for t in tools]
        return self

    def _next(self, messages: list[BaseMessage]) -> AIMessage:
        self._calls.append(list(messages))
        if self._position >= len(self.script):
            if self.repeat_last and self.script:
                reply = self.script[-1]
            else:
                raise RuntimeError("ScriptedChatModel: the script has no more replies")
        else:
            reply = self.script[self._position]
            self._position += 1
        if callable(reply):
            reply = reply(messages)
        if isinstance(reply, str):
            reply = AIMessage(content=reply)
        reply = reply.model_copy(deep=True)
        prompt_chars = sum(len(str(m.content)) for m in messages)
        out_chars = len(str(reply.content)) + len(str(reply.tool_calls))
        reply.usage_metadata = {
            "input_tokens": prompt_chars // 4,
            "output_tokens": max(out_chars // 4, 1),
            "total_tokens": prompt_chars // 4 + max(out_chars // 4, 1),
        }
        return reply

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._next(messages))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        reply = self._next(messages)
        if isinstance(reply.content, str):
            text = reply.content
            pieces = [text[i : i + self.chunk_size] for i in range(0, len(text), self.chunk_size)]
        else:  # content blocks (an Anthropic reply) come in one chunk
            pieces = [reply.content]  # type: ignore[list-item]
        for piece in pieces:
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
            if run_manager:
                run_manager.on_llm_new_token(piece if isinstance(piece, str) else "", chunk=chunk)
            yield chunk
        # Invalid calls stream as their raw argument text, which fails to parse again.
        calls = [(c["name"], _json(c["args"]), c["id"]) for c in reply.tool_calls] + [
            (c.get("name"), c.get("args"), c.get("id")) for c in reply.invalid_tool_calls]
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                tool_call_chunks=[
                    {"name": name, "args": args, "id": cid, "index": i}
                    for i, (name, args, cid) in enumerate(calls)
                ],
                usage_metadata=reply.usage_metadata,
                chunk_position="last",
            )
        )


def _json(args: dict[str, Any]) -> str:
    import json

    return json.dumps(args)


class WindowedChatModel(ScriptedChatModel):
    """A scripted model that enforces a context window the way llama-server does.

    Each request is counted with a deterministic tokenizer (``chars_per_token`` characters
    a token, plus the bound tools' schemas and a few tokens a message); when prompt +
    ``max_tokens`` exceeds ``window`` it raises the error llama-server's OpenAI route gives
    (HTTP 400, ``exceed_context_size_error``), and a history with a tool call and no
    result, or a result without its call, is refused as OpenAI and Anthropic refuse it.
    Replies report the real prompt tokens as usage. ``summary`` answers compaction's
    summary requests (or raises, when it is an exception).
    """

    window: int = 4096
    max_tokens: int = 1024
    chars_per_token: float = 3.0
    reported_window: int | None = None
    """The window the model claims (default ``window``): a server misreporting its slot."""
    summary: Any = "Task: the user's task. Done so far: read files. Remaining: continue."
    _tool_chars: int = PrivateAttr(default=0)
    _requests: list[int] = PrivateAttr(default_factory=list)
    _refused: list[int] = PrivateAttr(default_factory=list)

    @property
    def requests(self) -> list[int]:
        """Prompt tokens of every request that was served."""
        return self._requests

    @property
    def refused(self) -> list[int]:
        """Prompt tokens of every request refused as too long."""
        return self._refused

    def model_post_init(self, context: Any) -> None:
        from claude_like.models.base import ModelInfo, attach_info

        attach_info(self, ModelInfo(provider="windowed", model="windowed",
                                    context_window=self.reported_window or self.window,
                                    max_tokens=self.max_tokens))

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Runnable:
        import json

        from langchain_core.utils.function_calling import convert_to_openai_tool

        self._tool_chars = sum(len(json.dumps(convert_to_openai_tool(t))) for t in tools)
        return super().bind_tools(tools, **kwargs)

    def count(self, messages: list[BaseMessage], *, with_tools: bool = True) -> int:
        """The server's count of a prompt."""
        chars = sum(len(str(m.content)) + len(str(getattr(m, "tool_calls", "") or ""))
                    for m in messages)
        chars += self._tool_chars if with_tools else 0
        return int(chars / self.chars_per_token) + 4 * len(messages)

    def _next(self, messages: list[BaseMessage]) -> AIMessage:
        from langchain_core.messages import SystemMessage

        summary_request = bool(messages) and isinstance(messages[0], SystemMessage) and \
            str(messages[0].content).startswith("You compress a coding agent's conversation")
        _check_pairs(messages)
        tokens = self.count(messages, with_tools=not summary_request)
        if tokens + self.max_tokens > self.window:
            self._refused.append(tokens)
            raise _overflow_error(tokens, self.window)
        self._requests.append(tokens)
        if summary_request:
            self._calls.append(list(messages))
            if isinstance(self.summary, BaseException):
                raise self.summary
            return AIMessage(content=str(self.summary),
                             usage_metadata={"input_tokens": tokens, "output_tokens": 20,
                                             "total_tokens": tokens + 20})
        reply = super()._next(messages)
        reply.usage_metadata = {"input_tokens": tokens, "output_tokens": 10,
                                "total_tokens": tokens + 10}
        return reply


def _check_pairs(messages: list[BaseMessage]) -> None:
    """Refuse a history OpenAI or Anthropic would refuse: calls and results must pair up."""
    from langchain_core.messages import ToolMessage

    pending: set[str] = set()
    for msg in messages:
        if isinstance(msg, ToolMessage):
            if msg.tool_call_id not in pending:
                raise ValueError(f"tool result {msg.tool_call_id!r} has no preceding call")
            pending.discard(msg.tool_call_id)
            continue
        if pending:
            raise ValueError(f"tool calls {sorted(pending)} have no result")
        if isinstance(msg, AIMessage):
            # Invalid calls are sent as calls too (langchain-openai and -anthropic do).
            calls = [*msg.tool_calls, *msg.invalid_tool_calls]
            pending = {c["id"] for c in calls if c.get("id")}
    if pending:
        raise ValueError(f"tool calls {sorted(pending)} have no result")


def _overflow_error(tokens: int, window: int) -> Exception:
    import httpx
    import openai

    message = (f"request ({tokens} tokens) exceeds the available context size "
               f"({window} tokens), try increasing it")
    body = {"error": {"code": 400, "message": message, "type": "exceed_context_size_error",
                      "n_prompt_tokens": tokens, "n_ctx": window}}
    response = httpx.Response(400, json=body,
                              request=httpx.Request("POST", "http://fake/v1/chat/completions"))
    return openai.BadRequestError(f"Error code: 400 - {body}", response=response, body=body)
