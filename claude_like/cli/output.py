"""``--output-format json`` and ``stream-json``: a run as JSON for scripts, in Claude Code's
shapes where they fit, on stdout only (lines meant for people go to stderr).

``json`` writes one ``result`` object when the run ends. ``stream-json`` writes one object
per line as things happen: ``system``/``init`` first, ``assistant`` messages (a text block,
or a ``tool_use`` block per call), ``user`` messages (a ``tool_result`` per call),
``stream_event`` text deltas (with ``--include-partial-messages``), ``system`` lines for
approvals, notices, context usage, compaction and todos, and the same ``result`` object
last. ``schemas/result.schema.json`` and ``schemas/stream-line.schema.json`` describe them.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from claude_like.cli.approvals import Answers, Approver
from claude_like.events import (
    AgentEvent,
    AgentResult,
    Compacted,
    ContextUsage,
    Notice,
    SubagentEvent,
    TextDelta,
    TodosUpdated,
    ToolFinished,
    ToolStarted,
)
from claude_like.permissions.approval import ApprovalRequest

if TYPE_CHECKING:
    from claude_like.agent import ClaudeLikeAgent

SCHEMAS = Path(__file__).resolve().parent / "schemas"
CANCELLED = "cancelled"
"""The result's ``stop_reason`` when Ctrl-C stopped the run (exit 130)."""
_SUBTYPES = {"done": "success", "max_turns": "error_max_turns"}
_USAGE_NAMES = {"cached_tokens": "cache_read_input_tokens"}


def result_subtype(stop_reason: str) -> str:
    """Claude Code's ``subtype``: ``success``, ``error_max_turns``, else
    ``error_during_execution`` (the exact reason is in ``stop_reason``)."""
    return _SUBTYPES.get(stop_reason, "error_during_execution")


def usage_object(usage: dict[str, int]) -> dict[str, int]:
    """Token counts under Claude Code's names (``cached_tokens`` is
    ``cache_read_input_tokens``), input and output always present."""
    out = {"input_tokens": 0, "output_tokens": 0}
    for key, value in usage.items():
        out[_USAGE_NAMES.get(key, key)] = int(value)
    return out


def _decision(answer: Any) -> tuple[str, str]:
    """(``allow`` | ``always`` | ``deny``, message) of one approver answer."""
    if isinstance(answer, dict):
        behavior = str(answer.get("behavior", "deny"))
        return behavior, str(answer.get("message") or answer.get("reason") or "")
    return (answer if answer in ("allow", "always") else "deny"), ""


def _stdout_line(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class JsonOutput:
    """Turns a run's events into JSON on stdout. It is the ``drive`` loop's renderer
    (``show``, ``end_text``), wraps the approver (to report requests, answers and
    refusals) and writes the ``result`` object at the end (``finish``)."""

    def __init__(self, *, stream: bool, partial: bool = False,
                 write: Callable[[str], None] | None = None) -> None:
        self.stream = stream
        self.partial = partial
        self._write = write or _stdout_line
        self.session_id: str | None = None
        self.model = ""
        self.denials: list[dict[str, Any]] = []
        self.turns = 0
        self._calls_shown: set[str] = set()
        self._text: dict[str | None, list[str]] = {}
        self._started = time.monotonic()
        self._model_since = self._started
        self._model_seconds = 0.0

    # -- lines ---------------------------------------------------------------------------
    def emit(self, kind: str, parent: str | None = None, **fields: Any) -> None:
        """One stream-json line (nothing in json mode)."""
        if not self.stream:
            return
        line = {"type": kind, **fields}
        if kind != "system" or parent is not None:
            line["parent_tool_use_id"] = parent
        line.update(session_id=self.session_id, uuid=str(uuid.uuid4()))
        self._write(json.dumps(line, ensure_ascii=False, default=str))

    def start(self, agent: ClaudeLikeAgent, *, sandbox: str) -> None:
        """The ``init`` line: the session, the tools, the model and the mode."""
        self.session_id = agent.thread_id
        self.model = agent.model_name
        self.emit("system", subtype="init", cwd=agent.workspace,
                  tools=[tool.name for tool in agent.tools], model=self.model,
                  permissionMode=agent.permission_mode, sandbox=sandbox,
                  max_turns=agent.max_turns, context_window=agent.budget.window)

    def _assistant(self, parent: str | None, block: dict[str, Any]) -> None:
        if block["type"] == "tool_use":  # once: at its approval request, or when it starts
            if block["id"] in self._calls_shown:
                return
            self._calls_shown.add(block["id"])
        self.emit("assistant", parent, message={
            "type": "message", "role": "assistant", "model": self.model, "content": [block]})

    # -- the renderer side ---------------------------------------------------------------
    def end_text(self, parent: str | None = None, *, everyone: bool = True) -> None:
        """Close streamed text as one ``assistant`` text block (each agent's own)."""
        for owner in list(self._text) if everyone else [parent]:
            pieces = self._text.pop(owner, None)
            if pieces:
                self._assistant(owner, {"type": "text", "text": "".join(pieces)})

    def show(self, event: AgentEvent, parent: str | None = None) -> None:
        if isinstance(event, SubagentEvent):
            self.show(event.event, parent=event.task_id)
            return
        if isinstance(event, TextDelta):
            self._text.setdefault(parent, []).append(event.text)
            if self.partial:
                self.emit("stream_event", parent, event={
                    "type": "content_block_delta", "index": 0,
                    "delta": {"type": "text_delta", "text": event.text}})
            return
        self.end_text(parent, everyone=False)
        if isinstance(event, ToolStarted):
            self._assistant(parent, {"type": "tool_use", "id": event.id, "name": event.name,
                                     "input": event.args})
        elif isinstance(event, ToolFinished):
            self.emit("user", parent, message={"role": "user", "content": [{
                "type": "tool_result", "tool_use_id": event.id, "content": event.output,
                "is_error": not event.ok}]})
            if parent is None:
                self._model_since = time.monotonic()
        elif isinstance(event, ContextUsage):
            if parent is None:
                self.turns += 1
                now = time.monotonic()
                self._model_seconds += now - self._model_since
                self._model_since = now
            self.emit("system", parent, subtype="context_usage", turn=event.turn,
                      tokens=event.tokens, window=event.window, limit=event.limit,
                      share=event.share, warning=event.warning, estimated=event.estimated)
        elif isinstance(event, Compacted):
            self.emit("system", parent, subtype="compact_boundary", compact_metadata={
                "trigger": "manual" if event.reason == "manual" else "auto",
                "reason": event.reason, "stages": list(event.stages),
                "pre_tokens": event.tokens_before, "post_tokens": event.tokens_after,
                "cleared": event.cleared, "summarized": event.summarized,
                "dropped": event.dropped})
        elif isinstance(event, Notice):
            self.emit("system", parent, subtype="notice", source=event.source, text=event.text)
        elif isinstance(event, TodosUpdated):
            self.emit("system", parent, subtype="todos", todos=list(event.todos))

    # -- approvals -----------------------------------------------------------------------
    def approver(self, inner: Approver) -> Approver:
        """``inner`` with each request reported before it is answered, each answer after,
        and every refusal kept for the result's ``permission_denials``."""

        def approve(requests: Sequence[ApprovalRequest]) -> Answers:
            self.end_text()
            for request in requests:
                self._assistant(None, {"type": "tool_use", "id": request["tool_call_id"],
                                       "name": request["tool"], "input": request["input"]})
                self.emit("system", subtype="approval_request", request=dict(request))
            answers = inner(requests)
            for request in requests:
                decision, message = _decision(answers.get(request["tool_call_id"]))
                self.emit("system", subtype="approval_decision",
                          tool_use_id=request["tool_call_id"], tool_name=request["tool"],
                          decision=decision, message=message)
                if decision == "deny":
                    self.denials.append({
                        "tool_name": request["tool"], "tool_use_id": request["tool_call_id"],
                        "tool_input": request["input"], "reason": request["reason"],
                        "message": message})
            self._model_since = time.monotonic()
            return answers

        return approve

    # -- the end -------------------------------------------------------------------------
    def finish(self, result: AgentResult | None, *, stop_reason: str | None = None,
               error: str = "") -> dict[str, Any]:
        """Write the ``result`` object (both formats) and return it. ``result`` is None
        when the run never ended by itself (set-up error, Ctrl-C): ``stop_reason`` and
        ``error`` say why."""
        self.end_text()
        reason = stop_reason or (result.stop_reason if result else "error")
        error = error or (result.error if result else "")
        obj: dict[str, Any] = {
            "type": "result",
            "subtype": result_subtype(reason),
            "is_error": reason != "done",
            "result": result.text if result else "",
            "session_id": self.session_id,
            "stop_reason": reason,
            "num_turns": result.turns if result else self.turns,
            "duration_ms": round((time.monotonic() - self._started) * 1000),
            "duration_api_ms": round(self._model_seconds * 1000),
            "usage": usage_object(result.usage if result else {}),
            "permission_denials": self.denials,
            "pending_approvals": [dict(r) for r in (result.pending if result else [])],
            "error": error or None,
            "uuid": str(uuid.uuid4()),
        }
        self._write(json.dumps(obj, ensure_ascii=False, default=str))
        return obj
