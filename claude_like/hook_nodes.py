"""Graph nodes for the hooks that are not about one tool call.

- ``prompt_hooks`` (first, when a UserPromptSubmit hook exists): a hook may refuse the
  prompt (the run stops with ``stop_reason="blocked"`` and the prompt is taken out of the
  conversation) or add context, which the model reads with the prompt.
- ``stop_hooks`` (when a Stop hook exists and the model gave its final answer): a hook may
  ask the agent to go on, with a reason the model reads. ``stop_hook_active`` tells the
  hook that the agent is already going on because of it (so it can let it stop); the turn
  limit bounds a hook that never does.

Tool-call hooks (PreToolUse, PostToolUse) run in the permission step and the tool node.
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.messages import AIMessage, HumanMessage, RemoveMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END

from claude_like.events import stream_writer
from claude_like.state import AgentState, thread_of

PROMPT_CONTEXT = "[context from a UserPromptSubmit hook]\n"
STOP_PREFIX = "[a Stop hook asks you to continue] "


def _notices(outcome: Any, source: str) -> None:
    emit = stream_writer()
    for text in getattr(outcome, "messages", []) or []:
        emit({"type": "notice", "source": source, "text": text})


class HookNodes:
    """The two nodes over one :class:`claude_like.hooks.Hooks`."""

    def __init__(self, hooks: Any, max_turns: int) -> None:
        self.hooks = hooks
        self.max_turns = max_turns

    # -- UserPromptSubmit ----------------------------------------------------------------
    @staticmethod
    def _prompt(state: AgentState) -> HumanMessage | None:
        messages = state.get("messages", [])
        last = messages[-1] if messages else None
        return last if isinstance(last, HumanMessage) else None

    def _after_prompt(self, prompt: HumanMessage, outcome: Any) -> dict[str, Any]:
        _notices(outcome, "UserPromptSubmit")
        if getattr(outcome, "blocked", False):
            reason = getattr(outcome, "reason", "") or "a UserPromptSubmit hook refused it"
            return {"messages": [RemoveMessage(id=prompt.id or "")], "stop_reason": "blocked",
                    "error": f"prompt blocked: {reason}"}
        context = getattr(outcome, "additional_context", None)
        if not context:
            return {}
        return {"messages": [HumanMessage(content=f"{prompt.text}\n\n{PROMPT_CONTEXT}{context}",
                                          id=prompt.id)]}

    def prompt(self, state: AgentState, config: RunnableConfig) -> dict[str, Any]:
        prompt = self._prompt(state)
        if prompt is None:
            return {}
        outcome = self.hooks.user_prompt_submit(prompt.text, session_id=thread_of(config))
        return self._after_prompt(prompt, outcome)

    async def aprompt(self, state: AgentState, config: RunnableConfig) -> dict[str, Any]:
        prompt = self._prompt(state)
        if prompt is None:
            return {}
        outcome = await self.hooks.auser_prompt_submit(prompt.text, session_id=thread_of(config))
        return self._after_prompt(prompt, outcome)

    # -- Stop ----------------------------------------------------------------------------
    def _last_text(self, state: AgentState) -> str:
        last = state["messages"][-1] if state.get("messages") else None
        return last.text if isinstance(last, AIMessage) else ""

    def _after_stop(self, state: AgentState, outcome: Any) -> dict[str, Any]:
        _notices(outcome, "Stop")
        if not getattr(outcome, "block", False) or state.get("turns", 0) >= self.max_turns:
            return {"stop_hook_active": False}
        reason = getattr(outcome, "reason", "") or "keep working"
        return {"messages": [HumanMessage(content=STOP_PREFIX + reason)],
                "stop_hook_active": True}

    def stop(self, state: AgentState, config: RunnableConfig) -> dict[str, Any]:
        outcome = self.hooks.stop(stop_hook_active=bool(state.get("stop_hook_active")),
                                  last_message=self._last_text(state),
                                  session_id=thread_of(config))
        return self._after_stop(state, outcome)

    async def astop(self, state: AgentState, config: RunnableConfig) -> dict[str, Any]:
        outcome = await self.hooks.astop(stop_hook_active=bool(state.get("stop_hook_active")),
                                         last_message=self._last_text(state),
                                         session_id=thread_of(config))
        return self._after_stop(state, outcome)


def route_after_prompt(state: AgentState) -> Literal["planner", "__end__"]:
    return END if state.get("stop_reason") == "blocked" else "planner"


def route_after_stop(state: AgentState) -> Literal["planner", "__end__"]:
    messages = state.get("messages", [])
    last = messages[-1] if messages else None
    return "planner" if isinstance(last, HumanMessage) and state.get("stop_hook_active") else END
