"""The planner node: the chat model, tools bound, decides the next step (ReAct).

It sees a stable system prompt plus the conversation, and returns an AIMessage with text
and/or tool calls. Tool calls that a small model wrote as text are recovered here, so the
rest of the graph only ever sees native ``tool_calls``. A failing model call ends the run
with ``stop_reason="error"`` instead of an exception.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, SystemMessage, ToolMessage
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.errors import GraphBubbleUp

from claude_like.state import AgentState, TurnStats

Recover = Callable[[AIMessage, Sequence[str]], AIMessage]


def _no_recovery(message: AIMessage, _names: Sequence[str]) -> AIMessage:
    return message


def default_recovery() -> Recover:
    """The text tool-call recovery of the models package, when it is available."""
    try:
        from claude_like.models.text_tool_calls import recover_tool_calls
    except ImportError:
        return _no_recovery
    return recover_tool_calls


def close_dangling_calls(messages: Sequence[AnyMessage]) -> list[BaseMessage]:
    """Answer tool calls that never got a result (an interrupted run), as APIs require."""
    answered = {m.tool_call_id for m in messages if isinstance(m, ToolMessage)}
    out: list[BaseMessage] = []
    for msg in messages:
        out.append(msg)
        if isinstance(msg, AIMessage):
            for call in msg.tool_calls:
                if call["id"] and call["id"] not in answered:
                    out.append(
                        ToolMessage(
                            content="Not run: the previous run stopped before this call.",
                            tool_call_id=call["id"],
                            name=call["name"],
                            status="error",
                        )
                    )
    return out


class Planner:
    """Calls the model on system prompt + conversation and records turns and usage."""

    def __init__(
        self,
        model: BaseChatModel | Runnable[LanguageModelInput, BaseMessage],
        tools: Sequence[BaseTool],
        system_prompt: str,
        *,
        recover: Recover | None = None,
    ) -> None:
        self.model = model
        self.tool_names = [t.name for t in tools]
        self.bound: Runnable[LanguageModelInput, BaseMessage] = (
            model.bind_tools(list(tools)) if tools and isinstance(model, BaseChatModel) else model
        )
        self.system = SystemMessage(content=system_prompt)
        self.recover = recover or default_recovery()

    def _input(self, state: AgentState) -> list[BaseMessage]:
        return [self.system, *close_dangling_calls(state.get("messages", []))]

    def _update(self, state: AgentState, reply: BaseMessage) -> dict[str, Any]:
        turn = state.get("turns", 0) + 1
        if not isinstance(reply, AIMessage):
            reply = AIMessage(content=reply.content)
        if not reply.tool_calls and self.tool_names:
            reply = self.recover(reply, self.tool_names)
        usage = dict(reply.usage_metadata or {})
        stats: TurnStats = {
            "turn": turn,
            "input_tokens": int(usage.get("input_tokens", 0)),
            "output_tokens": int(usage.get("output_tokens", 0)),
        }
        timings = (reply.response_metadata or {}).get("timings") or {}
        for key in ("cache_n", "prompt_n"):
            if key in timings:
                stats[key] = int(timings[key])  # type: ignore[literal-required]
        update: dict[str, Any] = {
            "messages": [reply],
            "turns": turn,
            "usage": {k: v for k, v in usage.items() if isinstance(v, int)},
            "turn_stats": [stats],
        }
        if not reply.tool_calls and not reply.invalid_tool_calls:
            update["stop_reason"] = "done"
        return update

    def _failed(self, state: AgentState, exc: Exception) -> dict[str, Any]:
        return {
            "turns": state.get("turns", 0) + 1,
            "stop_reason": "error",
            "error": f"the model call failed: {type(exc).__name__}: {exc}",
        }

    def __call__(self, state: AgentState, config: RunnableConfig) -> dict[str, Any]:
        try:
            reply = self.bound.invoke(self._input(state), config)
        except GraphBubbleUp:
            raise
        except Exception as exc:
            return self._failed(state, exc)
        return self._update(state, reply)

    async def acall(self, state: AgentState, config: RunnableConfig) -> dict[str, Any]:
        try:
            reply = await self.bound.ainvoke(self._input(state), config)
        except GraphBubbleUp:
            raise
        except Exception as exc:
            return self._failed(state, exc)
        return self._update(state, reply)
