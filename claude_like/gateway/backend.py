"""The gateway's one backend: a factory chat model, called the way the agent calls it.

Per request: the generation cap is set on a copy of the wire-level model (so concurrent
requests do not share it), the tools are bound with the request's ``tool_choice`` (a
constrained model turns them into a reply schema), and every reply goes through the same
repair as the agent's (calls written as text recovered, near-JSON arguments repaired,
unique ids), so a client always gets well-formed ``tool_use`` blocks.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.runnables import Runnable

from claude_like.context.budget import ContextBudget
from claude_like.gateway.convert import Conversation
from claude_like.gateway.fit import Fit, WindowFitter
from claude_like.models.base import model_info
from claude_like.models.constrained import ConstrainedToolChatModel
from claude_like.models.tool_call_repair import normalize_tool_calls

#: Where each wire-level model keeps its generation cap.
CAP_FIELDS = ("max_tokens", "num_predict")


def with_cap(model: BaseChatModel, cap: int) -> BaseChatModel:
    """A copy of ``model`` that generates at most ``cap`` tokens. Only the factories' wire
    models (OpenAI-compatible, Anthropic, Ollama) are copied; another chat model (a user's
    own, a scripted one) keeps its own cap."""
    if isinstance(model, ConstrainedToolChatModel):
        return model.model_copy(update={"inner": with_cap(model.inner, cap)})
    if not _is_wire_model(model):
        return model
    for name in CAP_FIELDS:
        if name in type(model).model_fields:
            return model.model_copy(update={name: cap})
    return model


@functools.cache
def _wire_classes() -> tuple[type, ...]:
    from langchain_anthropic import ChatAnthropic
    from langchain_ollama import ChatOllama
    from langchain_openai.chat_models.base import BaseChatOpenAI

    return (BaseChatOpenAI, ChatAnthropic, ChatOllama)


def _is_wire_model(model: BaseChatModel) -> bool:
    return isinstance(model, _wire_classes())


def bind(model: BaseChatModel, tools: list[dict[str, Any]], choice: str | None) -> Runnable:
    """``model`` with ``tools`` bound; ``choice`` passed when the model takes one."""
    if choice is None:
        return model.bind_tools(tools)
    try:
        return model.bind_tools(tools, tool_choice=choice)
    except (TypeError, ValueError, NotImplementedError):
        return model.bind_tools(tools)


def as_message(chunk: AIMessageChunk | None) -> AIMessage:
    """The sum of a streamed reply's chunks as one AIMessage."""
    if chunk is None:
        return AIMessage(content="")
    return AIMessage(content=chunk.content, tool_calls=chunk.tool_calls,
                     invalid_tool_calls=chunk.invalid_tool_calls,
                     usage_metadata=chunk.usage_metadata,
                     response_metadata=chunk.response_metadata,
                     additional_kwargs=chunk.additional_kwargs, id=chunk.id)


class Backend:
    """One chat model behind the gateway, with its window budget."""

    def __init__(self, model: BaseChatModel, *, window: int | None = None,
                 compact: bool = False) -> None:
        self.model = model
        self.budget = ContextBudget.for_model(model, context_window=window)
        self.fitter = WindowFitter(model, self.budget, compact=compact)
        info = model_info(model)
        self.name = f"{info.provider}:{info.model}" if info else type(model).__name__
        self.tool_calling = info.tool_calling if info else "native"
        self.constrained = isinstance(model, ConstrainedToolChatModel)
        _wire_classes()  # imported now, not during the first request

    async def fit(self, conv: Conversation, requested: int | None) -> Fit:
        """The request fitted to the window (off the event loop: it may ask the server)."""
        return await asyncio.to_thread(self.fitter.fit, conv, requested)

    async def count(self, conv: Conversation) -> int:
        """Prompt tokens of ``conv`` (the backend's count when near the limit)."""
        tokens, _exact = await asyncio.to_thread(self.fitter.count, conv)
        return tokens

    def runnable(self, conv: Conversation, fit: Fit) -> Runnable:
        model = with_cap(self.model, fit.cap)
        return bind(model, conv.bound_tools, conv.tool_choice) if conv.bound_tools else model

    def _kwargs(self, stop: list[str] | None) -> dict[str, Any]:
        # A stop sequence would cut a constrained reply's JSON in half.
        return {"stop": stop} if stop and not self.constrained else {}

    async def invoke(self, conv: Conversation, fit: Fit, stop: list[str] | None = None
                     ) -> AIMessage:
        reply = await self.runnable(conv, fit).ainvoke(fit.prompt, **self._kwargs(stop))
        return self.finish(conv, reply)

    def stream(self, conv: Conversation, fit: Fit, stop: list[str] | None = None
               ) -> AsyncIterator[BaseMessage]:
        """The backend's chunks as they come (a model without streaming gives one)."""
        return self.runnable(conv, fit).astream(fit.prompt, **self._kwargs(stop))

    def finish(self, conv: Conversation, reply: BaseMessage) -> AIMessage:
        """The reply with its tool calls made usable (see module docstring)."""
        if isinstance(reply, AIMessageChunk):
            reply = as_message(reply)
        if not isinstance(reply, AIMessage):
            reply = AIMessage(content=reply.content)
        return normalize_tool_calls(reply, conv.bound_tools) if conv.bound_tools else reply
