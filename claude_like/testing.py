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
        text = reply.content if isinstance(reply.content, str) else ""
        pieces = [text[i : i + self.chunk_size] for i in range(0, len(text), self.chunk_size)]
        for piece in pieces:
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
            if run_manager:
                run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                tool_call_chunks=[
                    {"name": c["name"], "args": _json(c["args"]), "id": c["id"], "index": i}
                    for i, c in enumerate(reply.tool_calls)
                ],
                usage_metadata=reply.usage_metadata,
                chunk_position="last",
            )
        )


def _json(args: dict[str, Any]) -> str:
    import json

    return json.dumps(args)
