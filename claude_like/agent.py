"""ClaudeLikeAgent: the facade users import, over the compiled LangGraph graph."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from types import TracebackType
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, StructuredTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph.state import CompiledStateGraph
from pydantic import BaseModel, Field

from claude_like.budget import DEFAULT_TOOL_OUTPUT_LIMIT
from claude_like.context.budget import ContextBudget
from claude_like.context.manager import ContextManager
from claude_like.context.offload import ResultStore
from claude_like.events import (
    AgentEvent,
    AgentResult,
    Compacted,
    ContextUsage,
    Final,
    TextDelta,
    ToolFinished,
    ToolStarted,
)
from claude_like.graph import DEFAULT_MAX_TURNS, build_graph
from claude_like.models.tool_call_repair import answer_unanswered
from claude_like.prompt import build_system_prompt
from claude_like.sandbox.base import Sandbox
from claude_like.sandbox.local import LocalSandbox
from claude_like.state import add_usage
from claude_like.tool_node import ToolNode

STREAM_MODES = ["messages", "custom"]


class AgentTask(BaseModel):
    """Input of the agent used as a tool."""

    task: str = Field(description="What the coding agent should do, in plain words.")


def make_sandbox(kind: str | Sandbox, workspace: str | os.PathLike[str]) -> Sandbox:
    """A sandbox from its name ("local", "docker") or the instance itself."""
    if isinstance(kind, Sandbox):
        return kind
    if kind == "local":
        return LocalSandbox(workspace)
    if kind == "docker":
        from claude_like.sandbox.docker import DockerSandbox

        return DockerSandbox(workspace)
    raise ValueError(f"unknown sandbox {kind!r}: use 'local', 'docker' or a Sandbox instance")


def resolve_model(model: BaseChatModel | str | None) -> BaseChatModel:
    """A chat model from an instance, a spec like ``ollama:qwen2.5-coder:7b``, or the default."""
    if isinstance(model, BaseChatModel):
        return model
    from claude_like.models import make_chat_model

    return make_chat_model(model)


class ClaudeLikeAgent:
    """A coding agent: a chat model, Claude-Code-style tools, a sandbox, a LangGraph graph.

    A conversation continues across ``run`` calls on the same ``thread_id`` (each agent
    has a default thread); state lives in a LangGraph checkpointer (in memory unless one
    is given).
    """

    def __init__(
        self,
        model: BaseChatModel | str | None = None,
        *,
        workspace: str | os.PathLike[str] = ".",
        sandbox: str | Sandbox = "local",
        max_turns: int = DEFAULT_MAX_TURNS,
        system_prompt: str | None = None,
        append_system_prompt: str | None = None,
        tools: Sequence[BaseTool] | None = None,
        extra_tools: Sequence[BaseTool] = (),
        checkpointer: BaseCheckpointSaver | None = None,
        output_limit: int | None = None,
        thread_id: str | None = None,
        context_window: int | None = None,
        compaction: bool = True,
        warn_at: float = 0.75,
        compact_at: float = 0.90,
        keep_results: bool = False,
    ) -> None:
        self.results: ResultStore | None = None
        self.tool_node: ToolNode | None = None
        self._owns_sandbox = not isinstance(sandbox, Sandbox)
        self.sandbox = make_sandbox(sandbox, workspace)
        try:
            self.model = resolve_model(model)
            self.budget = ContextBudget.for_model(
                self.model, context_window=context_window, warn_at=warn_at,
                compact_at=compact_at)
            limit = output_limit or min(self.budget.result_chars, DEFAULT_TOOL_OUTPUT_LIMIT)
            if tools is None:
                from claude_like.tools import ToolContext, make_tools

                tools = make_tools(ToolContext(self.sandbox, output_limit=limit))
            self.tools: list[BaseTool] = [*tools, *extra_tools]
            self.system_prompt = build_system_prompt(
                self.sandbox, replace=system_prompt, append=append_system_prompt
            )
            self.context = ContextManager(self.model, self.tools, self.system_prompt,
                                          self.budget, compaction=compaction)
            self.results = ResultStore(self.sandbox, keep=keep_results)
            self.max_turns = max_turns
            self.checkpointer = checkpointer or InMemorySaver()
            self.thread_id = thread_id or uuid.uuid4().hex
            self.tool_node = ToolNode(self.tools, output_limit=limit, results=self.results,
                                      result_tokens=self.context.result_tokens)
            self.graph: CompiledStateGraph = build_graph(
                self.model,
                self.tools,
                self.system_prompt,
                max_turns=max_turns,
                output_limit=limit,
                checkpointer=self.checkpointer,
                context=self.context,
                tool_node=self.tool_node,
            )
        except BaseException:
            self.close()
            raise

    # -- plumbing --------------------------------------------------------------------------
    def _config(self, thread_id: str | None, config: RunnableConfig | None) -> RunnableConfig:
        cfg: RunnableConfig = dict(config or {})  # type: ignore[assignment]
        configurable = dict(cfg.get("configurable", {}))
        configurable.setdefault("thread_id", thread_id or self.thread_id)
        cfg["configurable"] = configurable
        cfg.setdefault("recursion_limit", 2 * self.max_turns + 10)
        return cfg

    @staticmethod
    def _input(task: str | BaseMessage) -> dict[str, Any]:
        message = task if isinstance(task, BaseMessage) else HumanMessage(content=task)
        return {"messages": [message], "turns": 0, "stop_reason": "", "error": ""}

    def _mark(self, cfg: RunnableConfig) -> tuple[int, int]:
        values = self.graph.get_state(cfg).values
        return len(values.get("messages", [])), len(values.get("turn_stats", []))

    async def _amark(self, cfg: RunnableConfig) -> tuple[int, int]:
        values = (await self.graph.aget_state(cfg)).values
        return len(values.get("messages", [])), len(values.get("turn_stats", []))

    def _result(self, values: dict[str, Any], mark: tuple[int, int], cfg: RunnableConfig):
        messages: list[AnyMessage] = list(values.get("messages", []))
        new = messages[mark[0] :]
        usage: dict[str, int] = {}
        for msg in new:
            if isinstance(msg, AIMessage) and msg.usage_metadata:
                usage = add_usage(usage, dict(msg.usage_metadata))  # type: ignore[arg-type]
        last_ai = next((m for m in reversed(new) if isinstance(m, AIMessage)), None)
        return AgentResult(
            text=last_ai.text if last_ai is not None else "",
            messages=messages,
            turns=int(values.get("turns", 0)),
            usage=usage,
            stop_reason=values.get("stop_reason") or "done",
            error=values.get("error", ""),
            thread_id=cfg["configurable"]["thread_id"],
            turn_stats=list(values.get("turn_stats", []))[mark[1] :],
        )

    @staticmethod
    def _event(mode: str, chunk: Any) -> AgentEvent | None:
        if mode == "messages":
            message, meta = chunk
            if meta.get("langgraph_node") == "planner" and isinstance(message, AIMessage):
                text = message.text
                return TextDelta(text) if text else None
            return None
        if mode == "custom" and isinstance(chunk, dict):
            if chunk.get("type") == "tool_start":
                return ToolStarted(chunk["id"] or "", chunk["name"], dict(chunk["args"]))
            if chunk.get("type") == "tool_end":
                return ToolFinished(chunk["id"] or "", chunk["name"], chunk["ok"], chunk["output"])
            if chunk.get("type") == "context":
                return ContextUsage(**{k: v for k, v in chunk.items() if k != "type"})
            if chunk.get("type") == "compaction":
                return Compacted(**{k: v for k, v in chunk.items() if k != "type"})
        return None

    # -- public API --------------------------------------------------------------------------
    def run(
        self,
        task: str | BaseMessage,
        *,
        thread_id: str | None = None,
        config: RunnableConfig | None = None,
    ) -> AgentResult:
        """Work on ``task`` until a final answer, the turn limit, or a model error."""
        cfg = self._config(thread_id, config)
        mark = self._mark(cfg)
        values = self.graph.invoke(self._input(task), cfg)
        return self._result(values, mark, cfg)

    async def arun(
        self,
        task: str | BaseMessage,
        *,
        thread_id: str | None = None,
        config: RunnableConfig | None = None,
    ) -> AgentResult:
        cfg = self._config(thread_id, config)
        mark = await self._amark(cfg)
        values = await self.graph.ainvoke(self._input(task), cfg)
        return self._result(values, mark, cfg)

    def stream(
        self,
        task: str | BaseMessage,
        *,
        thread_id: str | None = None,
        config: RunnableConfig | None = None,
    ) -> Iterator[AgentEvent]:
        """Model text, tool starts and finishes as they happen, then ``Final``."""
        cfg = self._config(thread_id, config)
        mark = self._mark(cfg)
        for mode, chunk in self.graph.stream(self._input(task), cfg, stream_mode=STREAM_MODES):
            event = self._event(mode, chunk)
            if event is not None:
                yield event
        yield Final(self._result(self.graph.get_state(cfg).values, mark, cfg))

    async def astream(
        self,
        task: str | BaseMessage,
        *,
        thread_id: str | None = None,
        config: RunnableConfig | None = None,
    ) -> AsyncIterator[AgentEvent]:
        cfg = self._config(thread_id, config)
        mark = await self._amark(cfg)
        async for mode, chunk in self.graph.astream(
            self._input(task), cfg, stream_mode=STREAM_MODES
        ):
            event = self._event(mode, chunk)
            if event is not None:
                yield event
        yield Final(self._result((await self.graph.aget_state(cfg)).values, mark, cfg))

    def compact(self, *, thread_id: str | None = None) -> Compacted | None:
        """Compact the thread now, as far as it goes (old results cleared, all but the
        latest turn summarised); None when there was nothing to compact. The transcript
        itself is kept whole."""
        cfg = self._config(thread_id, None)
        values = self.graph.get_state(cfg).values
        messages = answer_unanswered(values.get("messages", []))
        ctx = self.context.start_ratio(values.get("context") or {})
        request = self.context.build(messages, ctx)
        events: list[dict[str, Any]] = []
        fixed = self.context.accountant.fixed(request.system.content, ctx.get("ratio") or 1.0)
        after = self.context.compact(messages, request, events.append, reason="manual",
                                     target=fixed)
        if not after.changed:
            return None
        self.graph.update_state(cfg, {"context": after.ctx})
        event = self._event("custom", events[-1])
        return event if isinstance(event, Compacted) else None

    def as_tool(
        self,
        name: str = "coding_agent",
        description: str = (
            "A coding agent that can read, search, edit files and run commands in its "
            "workspace. Give it one self-contained task; it returns its final answer."
        ),
    ) -> BaseTool:
        """The whole agent as a LangChain tool; each call is a fresh conversation, whose
        shell session is closed when the call returns (nothing continues that thread)."""

        def call(task: str) -> str:
            thread = uuid.uuid4().hex
            try:
                return self.run(task, thread_id=thread).text
            finally:
                self.sandbox.close_session(thread)

        async def acall(task: str) -> str:
            thread = uuid.uuid4().hex
            try:
                return (await self.arun(task, thread_id=thread)).text
            finally:
                self.sandbox.close_session(thread)

        return StructuredTool.from_function(
            func=call, coroutine=acall, name=name, description=description, args_schema=AgentTask
        )

    def close(self) -> None:
        """Stop the tool node's threads, remove the saved tool results (unless
        ``keep_results``), then close the sandbox if this agent created it. Idempotent."""
        if self.tool_node is not None:
            self.tool_node.close()
        if self.results is not None:
            self.results.close()
        sandbox = getattr(self, "sandbox", None)
        if sandbox is not None and self._owns_sandbox:
            sandbox.close()

    def __enter__(self) -> ClaudeLikeAgent:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
