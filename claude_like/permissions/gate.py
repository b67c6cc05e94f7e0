"""The permission check of one tool call: hooks, rules and mode, then the callback.

Order (the Claude Agent SDK's): PreToolUse hooks (allow, deny, ask, or change the input)
─► deny rules (they hold against a hook's allow and in every mode) ─► the mode, the
dangerous-command check, ask and allow rules (:func:`modes.decide`) ─► for what still asks:
``can_use_tool`` if given; without one, the call waits for the user (the graph's approval
node interrupts). A failing hook or callback never allows anything.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import ToolCall

from claude_like.async_bridge import run_blocking
from claude_like.permissions.approval import (
    PLAN_TOOL,
    ApprovalRequest,
    Verdict,
    always_rule,
    refusal_message,
)
from claude_like.permissions.decisions import (
    CanUseTool,
    PermissionResultDeny,
    ToolPermissionContext,
    session_updates,
    to_result,
)
from claude_like.permissions.modes import Decision, PermissionMode, check_mode, decide
from claude_like.permissions.preview import Reader, preview
from claude_like.permissions.rules import RuleSet, parse_rule


@dataclass
class GateResult:
    """The gate's answer for one call."""

    verdict: Verdict
    request: ApprovalRequest | None = None
    """Set when the call waits for the user."""
    add_rules: list[str] = field(default_factory=list)
    """Allow rules the callback added for the session."""
    mode: PermissionMode | None = None
    """A mode the callback switched to (or an approved plan's)."""
    notices: list[str] = field(default_factory=list)
    """Messages for the user (failed hooks, hook system messages)."""


def _deny(tool: str, reason: str, *, message: str = "", interrupt: bool = False) -> Verdict:
    return {"behavior": "deny", "reason": reason, "interrupt": interrupt,
            "message": refusal_message(tool, message or reason)}


class PermissionGate:
    """Decides each call; ``mode`` is the agent's current default (a thread's own mode,
    kept in its state, wins when set)."""

    def __init__(self, *, mode: str = "default", rules: RuleSet | None = None,
                 can_use_tool: CanUseTool | None = None, hooks: Any = None,
                 read_only: Callable[[str], bool] = lambda _name: False, scratch: str = "",
                 reader: Reader | None = None, display: Callable[[str], str] = str) -> None:
        self.mode: PermissionMode = check_mode(mode)
        self.rules = rules or RuleSet()
        self.can_use_tool = can_use_tool
        self.hooks = hooks
        self.read_only = read_only
        self.scratch = scratch
        self.reader = reader or (lambda _path: None)
        self.display = display
        self.plan_tool = False
        """Whether the model has ExitPlanMode (else plan mode tells it to answer with the
        plan in words)."""

    # -- the pure part ---------------------------------------------------------------------
    def _rules(self, session_rules: Sequence[str]) -> RuleSet:
        if not session_rules:
            return self.rules
        extra = [parse_rule(r) for r in session_rules]
        return RuleSet([*self.rules.allow, *extra], self.rules.ask, self.rules.deny,
                       self.rules.root)

    def _decide(self, mode: str, tool: str, args: Mapping[str, Any], hook: Any,
                session_rules: Sequence[str]) -> Decision:
        rules = self._rules(session_rules)
        decision = decide(mode, tool, args, rules, read_only=self.read_only(tool),
                          scratch=self.scratch)
        hook_says = getattr(hook, "decision", None)
        hook_why = getattr(hook, "reason", "") or "a PreToolUse hook"
        if decision.behavior == "deny" and decision.rule is not None:
            return decision  # a deny rule holds against everything
        if hook_says == "deny":
            return Decision("deny", f"a PreToolUse hook refused it ({hook_why})")
        if hook_says == "allow":
            return Decision("allow", f"a PreToolUse hook allowed it ({hook_why})")
        if decision.behavior == "deny" and mode == "plan" and not self.plan_tool:
            return Decision("deny", "plan mode allows only read-only tools: write your plan "
                            "as your answer and wait for the user to approve it")
        if tool == PLAN_TOOL:
            if mode == "plan":
                return Decision("ask", "the plan needs the user's approval")
            return Decision("allow", "not in plan mode")
        if hook_says == "ask" and decision.behavior == "allow":
            return Decision("ask", f"a PreToolUse hook asks ({hook_why})")
        return decision

    def _request(self, call: ToolCall, args: dict[str, Any], decision: Decision) -> ApprovalRequest:
        tool = call["name"]
        shown = str(args.get("plan", "")) if tool == PLAN_TOOL else preview(
            tool, args, self.reader, display=self.display)
        return {"tool_call_id": call["id"] or "", "tool": tool, "input": args,
                "reason": decision.reason, "rule": decision.rule, "diff": shown,
                "always_rule": always_rule(tool, args)}

    def _settled(self, call: ToolCall, args: dict[str, Any], decision: Decision,
                 changed: bool) -> GateResult:
        tool = call["name"]
        if decision.behavior == "deny":
            return GateResult(_deny(tool, decision.reason))
        verdict: Verdict = {"behavior": decision.behavior, "reason": decision.reason,
                            "updated_input": args if changed else None}
        request = self._request(call, args, decision) if decision.behavior == "ask" else None
        return GateResult(verdict, request)

    def _answered(self, call: ToolCall, result: GateResult, answer: Any) -> GateResult:
        """Fold the callback's answer (or its failure, an Exception) into ``result``."""
        tool = call["name"]
        if isinstance(answer, Exception):
            why = f"the can_use_tool callback failed ({type(answer).__name__}: {answer})"
            return GateResult(_deny(tool, why), notices=[*result.notices, why])
        try:
            typed = to_result(answer)
            if isinstance(typed, PermissionResultDeny):
                return GateResult(_deny(tool, "the permission callback refused it",
                                        message=typed.message, interrupt=typed.interrupt),
                                  notices=result.notices)
            rules, mode = session_updates(typed.updated_permissions)
        except ValueError as exc:
            return GateResult(_deny(tool, str(exc)), notices=[*result.notices, str(exc)])
        if tool == PLAN_TOOL:
            mode = mode or "default"
        args = typed.updated_input if typed.updated_input is not None else \
            result.verdict.get("updated_input")
        return GateResult({"behavior": "allow", "reason": "the permission callback allowed it",
                           "updated_input": args}, None, rules, mode, result.notices)

    def _context(self, request: ApprovalRequest, mode: str) -> ToolPermissionContext:
        rule = request["always_rule"]
        return ToolPermissionContext(tool_use_id=request["tool_call_id"], reason=request["reason"],
                                     rule=request["rule"], mode=mode, diff=request["diff"],
                                     suggestions=[rule] if rule else [])

    @staticmethod
    def _hook_parts(call: ToolCall, hook: Any) -> tuple[dict[str, Any], bool, list[str]]:
        args = dict(call["args"])
        updated = getattr(hook, "updated_input", None)
        notices = list(getattr(hook, "messages", []) or [])
        return (dict(updated), True, notices) if isinstance(updated, dict) else (args, False,
                                                                                  notices)

    # -- sync and async doors ------------------------------------------------------------
    def check(self, call: ToolCall, *, mode: str | None = None,
              session_rules: Sequence[str] = (), session_id: str = "") -> GateResult:
        """The verdict for ``call`` from sync code (hooks and the callback, sync or
        async, run here): :meth:`acheck` on a loop of its own."""
        return run_blocking(lambda: self.acheck(call, mode=mode, session_rules=session_rules,
                                                session_id=session_id))

    async def acheck(self, call: ToolCall, *, mode: str | None = None,
                     session_rules: Sequence[str] = (), session_id: str = "") -> GateResult:
        """The verdict for ``call``: hooks, rules and mode, then the callback if the call
        still asks (a sync callback is called as is, an async one awaited)."""
        mode = mode or self.mode
        hook = None
        if self.hooks is not None and self.hooks.has("PreToolUse"):
            hook = await self.hooks.apre_tool_use(call["name"], dict(call["args"]),
                                                  call["id"] or "", session_id=session_id)
        args, changed, notices = self._hook_parts(call, hook)
        result = self._settled(call, args, self._decide(mode, call["name"], args, hook,
                                                        session_rules), changed)
        result.notices = notices
        if result.request is None or self.can_use_tool is None:
            return result
        try:
            answer = self.can_use_tool(call["name"], args, self._context(result.request, mode))
            if inspect.isawaitable(answer):
                answer = await answer
        except Exception as exc:
            answer = exc
        return self._answered(call, result, answer)
