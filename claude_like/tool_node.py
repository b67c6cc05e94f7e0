"""The tool node: runs the planner's tool calls and turns every outcome into a ToolMessage.

For each call: validate (known tool, well-formed arguments, not a loop of identical
calls) ─► run (read-only calls of one turn concurrently, the others in order) ─► budget
the output. Failures never escape: they go back to the model as error results that say
what to fix.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolCall, ToolMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.errors import GraphBubbleUp
from pydantic import BaseModel, ValidationError

from claude_like.budget import DEFAULT_TOOL_OUTPUT_LIMIT, clip_middle
from claude_like.context.offload import ResultStore
from claude_like.events import stream_writer
from claude_like.models.tokens import CHARS_PER_TOKEN
from claude_like.state import AgentState

DEFAULT_REPEAT_LIMIT = 3
"""The same call (name and arguments) this many turns in a row is refused."""

Emit = Callable[[dict[str, Any]], None]


def is_read_only(tool: BaseTool) -> bool:
    """Tools declare ``read_only``; anything that does not is treated as a writer."""
    return bool(getattr(tool, "read_only", False))


def _error(call: ToolCall, text: str) -> ToolMessage:
    return ToolMessage(
        content=f"Error: {text}",
        name=call["name"],
        tool_call_id=call["id"] or "",
        status="error",
    )


def _schema_hint(tool: BaseTool) -> str:
    props = tool.get_input_schema().model_json_schema().get("properties", {})
    fields = ", ".join(f"{k}: {v.get('type', 'any')}" for k, v in props.items())
    return f"{tool.name}({fields})"


def _validation_message(tool: BaseTool, exc: ValidationError) -> str:
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ())) or "(arguments)"
        problems.append(f"- {where}: {err.get('msg')}")
    return (
        f"invalid arguments for {tool.name}:\n"
        + "\n".join(problems)
        + f"\nCall it again with arguments that match {_schema_hint(tool)}."
    )


def _same_call_streak(messages: Sequence[AnyMessage], call: ToolCall) -> int:
    """How many of the latest assistant turns, in a row, made this exact call."""
    key = (call["name"], json.dumps(call["args"], sort_keys=True, default=str))
    streak = 0
    for msg in reversed(messages):
        if isinstance(msg, HumanMessage):
            break
        if not isinstance(msg, AIMessage):
            continue
        keys = {
            (c["name"], json.dumps(c["args"], sort_keys=True, default=str)) for c in msg.tool_calls
        }
        if key not in keys:
            break
        streak += 1
    return streak


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
    ) -> None:
        """``results`` saves a result over ``result_tokens`` (a number, or a callable read
        at every result so it follows the live budget; default: ``output_limit`` in
        tokens) whole to a file; without it, results are cut to ``output_limit`` characters
        in the middle and what is cut is lost."""
        self.tools = {t.name: t for t in tools}
        self.output_limit = output_limit
        self.results = results
        self.result_tokens = (
            math.ceil(output_limit / CHARS_PER_TOKEN) if result_tokens is None else result_tokens
        )
        self.repeat_limit = repeat_limit
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="cl-tool")

    # -- checks ---------------------------------------------------------------------------
    def _check(self, call: ToolCall, messages: Sequence[AnyMessage]) -> ToolMessage | None:
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
        if _same_call_streak(messages, call) >= self.repeat_limit:
            return _error(
                call,
                f"you have made this exact {call['name']} call {self.repeat_limit} times in a "
                "row; its result will not change. Use what you already have, try a different "
                "approach, or give your final answer.",
            )
        return None

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
                    f" error): {str(bad.get('args'))[:200]!r}. Send one JSON object.{hint}",
                )
            )
        return out

    # -- running ---------------------------------------------------------------------------
    def _finish(self, call: ToolCall, result: Any) -> ToolMessage:
        if isinstance(result, ToolMessage):
            msg = result
        else:
            msg = ToolMessage(content=str(result), name=call["name"], tool_call_id=call["id"] or "")
        if isinstance(msg.content, str):
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
        try:
            result = self.tools[call["name"]].invoke({**call, "type": "tool_call"}, config)
        except GraphBubbleUp:
            raise
        except Exception as exc:
            return self._crash(call, exc)
        return self._finish(call, result)

    async def _arun_one(self, call: ToolCall, config: RunnableConfig) -> ToolMessage:
        try:
            result = await self.tools[call["name"]].ainvoke({**call, "type": "tool_call"}, config)
        except GraphBubbleUp:
            raise
        except Exception as exc:
            return self._crash(call, exc)
        return self._finish(call, result)

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
        refused: dict[str, ToolMessage] = {}
        batches: list[list[ToolCall]] = []
        for call in ai.tool_calls:
            err = self._check(call, messages)
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
        return {"messages": invalid + ordered}

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
