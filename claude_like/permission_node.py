"""The graph's permission step, between the planner and the tool node.

``permissions`` asks the gate about every well-formed call of the turn (hooks, rules,
mode, callback) and keeps the verdicts in the state; when some call must wait for the
user, ``approval`` pauses the graph with LangGraph's ``interrupt()``, carrying the
approval requests, and folds the answers in when the graph is resumed
(``Command(resume=...)``). Keeping the two apart means a resume re-runs only the
interrupt, never the hooks or the callback. The tool node then runs the allowed calls
and answers the refused ones with their reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from langchain_core.messages import AIMessage, ToolCall
from langchain_core.runnables import RunnableConfig
from langgraph.types import interrupt

from claude_like.events import stream_writer
from claude_like.permissions.approval import (
    AnswerError,
    ApprovalRequest,
    Verdict,
    answers_for,
    parse_answer,
    refusal_message,
)
from claude_like.permissions.gate import GateResult, PermissionGate
from claude_like.state import AgentState, thread_of

Precheck = Callable[[ToolCall, list], Any]
"""The tool node's own checks of a call (unknown tool, bad arguments, a loop): a
non-None answer means the call is refused before permissions are asked."""


def _calls(state: AgentState) -> list[ToolCall]:
    messages = state.get("messages", [])
    last = messages[-1] if messages else None
    return list(last.tool_calls) if isinstance(last, AIMessage) else []


class PermissionNode:
    """Decides each call of the turn; sync and async like the other nodes."""

    def __init__(self, gate: PermissionGate, precheck: Precheck) -> None:
        self.gate = gate
        self.precheck = precheck

    def _todo(self, state: AgentState) -> list[ToolCall]:
        messages = list(state.get("messages", []))
        return [c for c in _calls(state) if self.precheck(c, messages) is None]

    def _collect(self, state: AgentState, results: list[tuple[ToolCall, GateResult]]
                 ) -> dict[str, Any]:
        emit = stream_writer()
        verdicts: dict[str, Verdict] = {}
        pending: list[ApprovalRequest] = []
        rules = list(state.get("session_rules") or [])
        update: dict[str, Any] = {}
        for call, result in results:
            verdicts[call["id"] or ""] = result.verdict
            for notice in result.notices:
                emit({"type": "notice", "source": "permissions", "text": notice})
            if result.request is not None:
                pending.append(result.request)
                emit({"type": "approval", "request": result.request})
            rules += [r for r in result.add_rules if r not in rules]
            if result.mode is not None:
                update["permission_mode"] = result.mode
            if result.verdict.get("interrupt"):
                update["stop_reason"] = "denied"
        if rules != list(state.get("session_rules") or []):
            update["session_rules"] = rules
        return {**update, "verdicts": verdicts, "pending": pending}

    def _mode(self, state: AgentState, results: list[tuple[ToolCall, GateResult]]) -> str:
        """The mode for the next call: a switch earlier in the same turn counts."""
        for _call, result in reversed(results):
            if result.mode is not None:
                return result.mode
        return state.get("permission_mode") or self.gate.mode

    def _rules(self, state: AgentState, results: list[tuple[ToolCall, GateResult]]
               ) -> list[str]:
        return [*(state.get("session_rules") or []), *(r for _c, res in results
                                                         for r in res.add_rules)]

    def __call__(self, state: AgentState, config: RunnableConfig) -> dict[str, Any]:
        results: list[tuple[ToolCall, GateResult]] = []
        for call in self._todo(state):
            results.append((call, self.gate.check(
                call, mode=self._mode(state, results), session_rules=self._rules(state, results),
                session_id=thread_of(config))))
        return self._collect(state, results)

    async def acall(self, state: AgentState, config: RunnableConfig) -> dict[str, Any]:
        results: list[tuple[ToolCall, GateResult]] = []
        for call in self._todo(state):
            results.append((call, await self.gate.acheck(
                call, mode=self._mode(state, results), session_rules=self._rules(state, results),
                session_id=thread_of(config))))
        return self._collect(state, results)


def route_after_permissions(state: AgentState) -> Literal["approval", "tools"]:
    return "approval" if state.get("pending") else "tools"


def approval_node(state: AgentState) -> dict[str, Any]:
    """Wait for the user's answers to the pending requests, then fold them in."""
    pending: list[ApprovalRequest] = list(state.get("pending") or [])
    if not pending:
        return {}
    answer = interrupt({"type": "approval", "requests": pending})
    answers = answers_for(answer, pending)
    verdicts = dict(state.get("verdicts") or {})
    rules = list(state.get("session_rules") or [])
    update: dict[str, Any] = {}
    for request in pending:
        try:
            verdict, rule, mode = parse_answer(answers[request["tool_call_id"]], request)
        except AnswerError as exc:
            why = f"the answer could not be understood ({exc})"
            verdict, rule, mode = ({"behavior": "deny", "reason": why,
                                    "message": refusal_message(request["tool"], why)}, None, None)
        verdicts[request["tool_call_id"]] = verdict
        if rule and rule not in rules:
            rules.append(rule)
        if mode is not None:
            update["permission_mode"] = mode
        if verdict.get("interrupt"):
            update["stop_reason"] = "denied"
    if rules != list(state.get("session_rules") or []):
        update["session_rules"] = rules
    return {**update, "verdicts": verdicts, "pending": []}
