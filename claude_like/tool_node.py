"""The tool node: runs the planner's tool calls and turns every outcome into a ToolMessage.

For each call: validate (known tool, well-formed arguments, not a loop of identical
calls) ─► run (read-only calls of one turn concurrently, the others in order) ─► budget
the output. Failures never escape: they go back to the model as error results that say
what to fix. Tools run on the node's own bounded thread pool, in the sync and the async
path alike (not on asyncio's default executor); :meth:`ToolNode.close` (or garbage
collection) shuts it down.
"""

from __future__ import annotations

import asyncio
import contextvars
import math
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, ToolCall, ToolMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, StructuredTool
from langgraph.errors import GraphBubbleUp
from pydantic import BaseModel, ValidationError

from claude_like.budget import DEFAULT_TOOL_OUTPUT_LIMIT, clip_end, clip_middle
from claude_like.context.offload import ResultStore
from claude_like.events import stream_writer
from claude_like.models.tokens import CHARS_PER_TOKEN
from claude_like.repeat_guard import DEFAULT_REPEAT_LIMIT, repeat_refusal
from claude_like.state import AgentState, add_usage, thread_of
from claude_like.text_safety import visible
from claude_like.tools.base import ClaudeLikeTool, format_validation_error

Emit = Callable[[dict[str, Any]], None]


def is_read_only(tool: BaseTool) -> bool:
    """Tools declare ``read_only``; anything that does not is treated as a writer."""
    return bool(getattr(tool, "read_only", False))


def _has_own_coroutine(tool: BaseTool) -> bool:
    """True for tools that are async by nature (awaited as they are); the others are
    synchronous and run on the node's pool."""
    if isinstance(tool, StructuredTool):
        return tool.coroutine is not None
    return not isinstance(tool, ClaudeLikeTool) and type(tool)._arun is not BaseTool._arun


def _error(call: ToolCall, text: str) -> ToolMessage:
    return ToolMessage(
        content=visible(f"Error: {text}"),
        name=call["name"],
        tool_call_id=call["id"] or "",
        status="error",
    )


def _schema_hint(tool: BaseTool) -> str:
    props = tool.get_input_schema().model_json_schema().get("properties", {})
    fields = ", ".join(f"{k}: {v.get('type', 'any')}" for k, v in props.items())
    return f"{tool.name}({fields})"


def _validation_message(tool: BaseTool, exc: ValidationError) -> str:
    return format_validation_error(
        exc,
        heading=f"invalid arguments for {tool.name}:",
        advice=f"Call it again with arguments that match {_schema_hint(tool)}.",
    )


class ToolNode:
    """Runs the tool calls of the last AIMessage. Usable as a sync or async graph node."""

    def __init__(
        self,
        tools: Sequence[BaseTool],
        *,
        output_limit: int = DEFAULT_TOOL_OUTPUT_LIMIT,
        repeat_limit: int = DEFAULT_REPEAT_LIMIT,
        max_workers: int = 8,
        results: ResultStore | None = None,
        result_tokens: int | Callable[[], int] | None = None,
        hooks: Any = None,
    ) -> None:
        """``results`` saves a result over ``result_tokens`` (a number, or a callable read
        at every result so it follows the live budget; default: ``output_limit`` in
        tokens) whole to a file; without it, results are cut to ``output_limit`` characters
        in the middle and what is cut is lost. ``hooks`` (:class:`claude_like.hooks.Hooks`)
        runs PostToolUse hooks on each result; what they add reaches the model with it."""
        self.tools = {t.name: t for t in tools}
        self.output_limit = output_limit
        self.results = results
        self.result_tokens = (
            math.ceil(output_limit / CHARS_PER_TOKEN) if result_tokens is None else result_tokens
        )
        self.repeat_limit = repeat_limit
        after = hooks is not None and (hooks.has("PostToolUse") or hooks.has("PostToolUseFailure"))
        self.hooks = hooks if after else None
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="cl-tool")
        # Shuts the pool down on close() or when the node is collected, whichever is first.
        self._release = weakref.finalize(self, _shut_down, self._pool)

    def close(self) -> None:
        """Stop the pool's threads (running calls finish; queued ones are cancelled).
        Idempotent; the node must not be used afterwards."""
        self._release()

    @property
    def closed(self) -> bool:
        return not self._release.alive

    # -- checks ---------------------------------------------------------------------------
    def check(self, call: ToolCall, messages: Sequence[AnyMessage]) -> ToolMessage | None:
        """An error result when the call must not run, else None."""
        tool = self.tools.get(call["name"])
        if tool is None:
            names = ", ".join(sorted(self.tools)) or "(none)"
            return _error(call, f"there is no tool named {call['name']!r}. Available: {names}.")
        if not isinstance(call.get("args"), dict):
            return _error(call, f"arguments must be a JSON object; {_schema_hint(tool)}")
        schema = tool.args_schema
        if isinstance(schema, type) and issubclass(schema, BaseModel):
            try:
                schema.model_validate(call["args"])
            except ValidationError as exc:
                return _error(call, _validation_message(tool, exc))
        # The AIMessage holding this call is already in ``messages``.
        refusal = repeat_refusal(messages, call, self.repeat_limit, self._changes)
        return None if refusal is None else _error(call, refusal)

    def _changes(self, name: str) -> bool:
        """Whether a successful call of tool ``name`` may have changed something."""
        tool = self.tools.get(name)
        return tool is None or not is_read_only(tool) or bool(getattr(tool, "delegates", False))

    def _invalid(self, ai: AIMessage) -> list[ToolMessage]:
        out = []
        for bad in ai.invalid_tool_calls:
            call = ToolCall(name=bad.get("name") or "unknown", args={}, id=bad.get("id") or "")
            tool = self.tools.get(call["name"])
            hint = f" Expected {_schema_hint(tool)}." if tool else ""
            out.append(
                _error(
                    call,
                    f"your call's arguments were not valid JSON ({bad.get('error') or 'parse'}"
                    f" error): {clip_end(str(bad.get('args')), 200)!r}. Send one JSON "
                    f"object.{hint}",
                )
            )
        return out

    @staticmethod
    def _permitted(call: ToolCall, verdicts: dict[str, Any] | None
                   ) -> tuple[ToolCall, ToolMessage | None]:
        """The call as permitted (the callback's or user's changed input), or its refusal.
        Without verdicts (no permission step in the graph) every call is permitted."""
        if verdicts is None:
            return call, None
        verdict = verdicts.get(call["id"] or "")
        if verdict is None:
            return call, None  # refused by check() before permissions were asked
        if verdict["behavior"] != "allow":
            text = verdict.get("message") or f"Permission denied: {verdict['reason']}."
            return call, ToolMessage(content=text, name=call["name"],
                                     tool_call_id=call["id"] or "", status="error")
        updated = verdict.get("updated_input")
        return (ToolCall(name=call["name"], args=dict(updated), id=call["id"])
                if isinstance(updated, dict) else call), None

    # -- running ---------------------------------------------------------------------------
    def _finish(self, call: ToolCall, result: Any) -> ToolMessage:
        if isinstance(result, ToolMessage):
            msg = result
        else:
            msg = ToolMessage(content=str(result), name=call["name"], tool_call_id=call["id"] or "")
        if isinstance(msg.content, str):
            msg.content = visible(msg.content)
            if self.results is None:
                msg.content = clip_middle(msg.content, self.output_limit)
            else:
                limit = self.result_tokens
                msg.content = self.results.fit(
                    msg.content,
                    limit_tokens=limit() if callable(limit) else limit,
                    tool=call["name"],
                    call_id=call["id"] or "",
                )
        return msg

    def _crash(self, call: ToolCall, exc: BaseException) -> ToolMessage:
        return _error(call, f"{call['name']} failed: {type(exc).__name__}: {exc}")

    def _run_one(self, call: ToolCall, config: RunnableConfig) -> ToolMessage:
        config = with_call_id(config, call)
        try:
            result = self.tools[call["name"]].invoke({**call, "type": "tool_call"}, config)
        except GraphBubbleUp:
            raise
        except Exception as exc:
            msg = self._crash(call, exc)
        else:
            msg = self._finish(call, result)
        if self.hooks is not None:
            outcome = self.hooks.post_tool_use(call["name"], dict(call["args"]), str(msg.content),
                                               call["id"] or "", is_error=msg.status == "error",
                                               session_id=thread_of(config))
            _add_hook_context(msg, outcome)
        return msg

    async def _arun_one(self, call: ToolCall, config: RunnableConfig) -> ToolMessage:
        tool = self.tools[call["name"]]
        if not _has_own_coroutine(tool):
            # A synchronous tool: on our bounded pool, never asyncio's default executor.
            loop = asyncio.get_running_loop()
            run = contextvars.copy_context().run
            return await loop.run_in_executor(self._pool, run, self._run_one, call, config)
        try:
            result = await tool.ainvoke({**call, "type": "tool_call"}, with_call_id(config, call))
        except GraphBubbleUp:
            raise
        except Exception as exc:
            msg = self._crash(call, exc)
        else:
            msg = self._finish(call, result)
        if self.hooks is not None:
            outcome = await self.hooks.apost_tool_use(
                call["name"], dict(call["args"]), str(msg.content), call["id"] or "",
                is_error=msg.status == "error", session_id=thread_of(config))
            _add_hook_context(msg, outcome)
        return msg

    def _plan(
        self, state: AgentState
    ) -> tuple[list[ToolMessage], list[list[ToolCall]], dict[str, ToolMessage]]:
        """Pre-checked errors, and the runnable calls grouped into batches.

        Consecutive read-only calls form one concurrent batch; any other call is a batch
        of its own, so writes keep the model's order.
        """
        messages = state.get("messages", [])
        ai = messages[-1] if messages else None
        if not isinstance(ai, AIMessage):
            return [], [], {}
        invalid = self._invalid(ai)
        verdicts = state.get("verdicts") if "verdicts" in state else None
        refused: dict[str, ToolMessage] = {}
        batches: list[list[ToolCall]] = []
        for call in ai.tool_calls:
            call, err = self._permitted(call, verdicts)
            err = err or self.check(call, messages)
            if err is not None:
                refused[call["id"] or ""] = err
                continue
            ro = is_read_only(self.tools[call["name"]])
            if ro and batches and all(is_read_only(self.tools[c["name"]]) for c in batches[-1]):
                batches[-1].append(call)
            else:
                batches.append([call])
        return invalid, batches, refused

    @staticmethod
    def _ordered(state: AgentState, invalid: list[ToolMessage], done: dict[str, ToolMessage]):
        ai = state["messages"][-1]
        assert isinstance(ai, AIMessage)
        ordered = [done[c["id"] or ""] for c in ai.tool_calls if (c["id"] or "") in done]
        return {**state_updates(ordered, stream_writer()), "messages": invalid + ordered}

    def __call__(self, state: AgentState, config: RunnableConfig) -> dict[str, Any]:
        emit = stream_writer()
        invalid, batches, done = self._plan(state)
        _emit_refused(emit, state, invalid, done)
        for batch in batches:
            for call in batch:
                emit(_start_event(call))
            if len(batch) == 1:
                results = [self._run_one(batch[0], config)]
            else:
                futures = [
                    self._pool.submit(contextvars.copy_context().run, self._run_one, c, config)
                    for c in batch
                ]
                results = [f.result() for f in futures]
            for call, msg in zip(batch, results, strict=True):
                done[call["id"] or ""] = msg
                emit(_end_event(msg))
        return self._ordered(state, invalid, done)

    async def acall(self, state: AgentState, config: RunnableConfig) -> dict[str, Any]:
        emit = stream_writer()
        invalid, batches, done = self._plan(state)
        _emit_refused(emit, state, invalid, done)
        for batch in batches:
            for call in batch:
                emit(_start_event(call))
            results = await asyncio.gather(*(self._arun_one(c, config) for c in batch))
            for call, msg in zip(batch, results, strict=True):
                done[call["id"] or ""] = msg
                emit(_end_event(msg))
        return self._ordered(state, invalid, done)


def _add_hook_context(msg: ToolMessage, outcome: Any) -> None:
    """What PostToolUse hooks said for the model, appended to the result it reads."""
    extra = [f"[PostToolUse hook] {text}" for text in
             (getattr(outcome, "block_reason", None), getattr(outcome, "additional_context", None))
             if text]
    if extra and isinstance(msg.content, str):
        msg.content = visible("\n\n".join([msg.content, *extra]))


def with_call_id(config: RunnableConfig, call: ToolCall) -> RunnableConfig:
    """``config`` with the call's id in its metadata, so a tool knows which call it runs
    (Task tags its sub-agent's events with it)."""
    metadata = {**(config.get("metadata") or {}), "tool_call_id": call["id"] or ""}
    return {**config, "metadata": metadata}  # type: ignore[return-value]


STATE_KEYS = frozenset({"todos", "usage"})
"""State a tool may change through its result's ``artifact["state"]``: the task list
(TodoWrite) and token usage (a sub-agent's, added to the thread's totals)."""


def state_updates(results: Sequence[ToolMessage], emit: Emit) -> dict[str, Any]:
    """The state changes the successful results carry, in call order (a later todo list
    replaces an earlier one; usage adds up); a new todo list is also streamed."""
    update: dict[str, Any] = {}
    for msg in results:
        artifact = msg.artifact if msg.status != "error" else None
        state = artifact.get("state") if isinstance(artifact, dict) else None
        for key, value in (state or {}).items():
            if key not in STATE_KEYS:
                continue
            update[key] = add_usage(update.get(key), value) if key == "usage" else value
    if "todos" in update:
        emit({"type": "todos", "todos": update["todos"]})
    return update


def _shut_down(pool: ThreadPoolExecutor) -> None:
    pool.shutdown(wait=False, cancel_futures=True)


def _emit_refused(
    emit: Emit, state: AgentState, invalid: list[ToolMessage], refused: dict[str, ToolMessage]
) -> None:
    """Refused calls still show up as started and finished, so a UI sees every call."""
    ai = state["messages"][-1]
    calls = {c["id"] or "": c for c in ai.tool_calls} if isinstance(ai, AIMessage) else {}
    for msg in [*invalid, *refused.values()]:
        call = calls.get(msg.tool_call_id)
        args = call["args"] if call is not None else {}
        emit({"type": "tool_start", "id": msg.tool_call_id, "name": msg.name, "args": args})
        emit(_end_event(msg))


def _start_event(call: ToolCall) -> dict[str, Any]:
    return {"type": "tool_start", "id": call["id"], "name": call["name"], "args": call["args"]}


def _end_event(msg: ToolMessage) -> dict[str, Any]:
    return {
        "type": "tool_end",
        "id": msg.tool_call_id,
        "name": msg.name,
        "ok": msg.status != "error",
        "output": msg.content if isinstance(msg.content, str) else str(msg.content),
    }
