"""Sub-agents: a self-contained job run by a fresh graph with its own context, on the
parent's sandbox, workspace, model, window budget and permission rules, with a subset of
the tools. Only the sub-agent's final answer goes back to the parent, so the parent's
context stays small (the ``Task`` tool, :mod:`claude_like.tools.task`).

Types follow the Claude Agent SDK's ``agents={"name": AgentDefinition(description,
prompt, tools, model)}``; ``general-purpose`` (every parent tool but Task) is always there
unless redefined. Permissions apply inside: the parent's mode, rules, hooks and
``can_use_tool``; a call that would wait for the user is refused in a sub-agent (it cannot
pause the parent's run from inside a tool call) with a message telling it to report back.
"""

from __future__ import annotations

import asyncio
import contextvars
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import BaseTool
from langgraph.graph.state import CompiledStateGraph

from claude_like.agent_events import STREAM_MODES
from claude_like.context.budget import ContextBudget
from claude_like.context.manager import ContextManager
from claude_like.context.offload import ResultStore
from claude_like.graph import build_graph
from claude_like.permissions.decisions import PermissionResultDeny
from claude_like.permissions.gate import PermissionGate
from claude_like.state import add_usage
from claude_like.tool_node import ToolNode

GENERAL = "general-purpose"
SUBAGENT_PROMPT = (
    "You are a sub-agent. Do the task below on your own with your tools, then answer with "
    "a short, complete report: what you found or changed, with file paths. Your report is "
    "all the caller will see."
)
TASK_TOOL = "Task"


@dataclass(frozen=True)
class AgentDefinition:
    """A sub-agent type: when to use it, its instructions, its tools (None: all but Task),
    its model (None: the parent's), its turn limit (None: the parent's)."""

    description: str
    prompt: str = ""
    tools: Sequence[str] | None = None
    model: BaseChatModel | str | None = None
    max_turns: int | None = None


DEFAULT_AGENTS: dict[str, AgentDefinition] = {
    GENERAL: AgentDefinition("Searches, reads and changes files for a multi-step job "
                             "and reports back.")}


@dataclass
class Parent:
    """What sub-agents take from the parent agent (set once it is built)."""

    model: BaseChatModel
    tools: Sequence[BaseTool]
    system_prompt: str
    budget: ContextBudget
    results: ResultStore
    gate: PermissionGate
    hooks: Any
    max_turns: int
    output_limit: int
    close_session: Callable[[str], None]


def _refuse_ask(name: str, _args: dict, context: Any) -> PermissionResultDeny:
    return PermissionResultDeny(
        message=f"{context.reason}; a sub-agent cannot ask the user. Report back that this "
                "call needs the user's approval instead of trying it again")


class SubagentRunner:
    """Builds each sub-agent type's graph once and runs jobs on it."""

    def __init__(self, agents: Mapping[str, AgentDefinition] | None = None) -> None:
        self.agents = {**DEFAULT_AGENTS, **(agents or {})}
        self.parent: Parent | None = None
        self._graphs: dict[str, CompiledStateGraph] = {}
        self._nodes: list[ToolNode] = []

    def describe(self) -> str:
        return "; ".join(f"{name}: {d.description}" for name, d in self.agents.items())

    def _graph(self, kind: str) -> tuple[CompiledStateGraph, int]:
        if self.parent is None:
            raise RuntimeError("sub-agents are not bound to an agent yet")
        definition = self.agents[kind]
        p = self.parent
        if kind not in self._graphs:
            wanted = set(definition.tools) if definition.tools is not None else None
            tools = [t for t in p.tools if t.name != TASK_TOOL
                     and (wanted is None or t.name in wanted)]
            model = p.model
            if isinstance(definition.model, BaseChatModel):
                model = definition.model
            elif definition.model is not None:
                from claude_like.models import make_chat_model

                model = make_chat_model(definition.model)
            prompt = "\n\n".join(x for x in (p.system_prompt, SUBAGENT_PROMPT,
                                              definition.prompt) if x)
            gate = PermissionGate(mode=p.gate.mode, rules=p.gate.rules,
                                  can_use_tool=p.gate.can_use_tool or _refuse_ask,
                                  hooks=p.hooks, read_only=p.gate.read_only,
                                  scratch=p.gate.scratch, reader=p.gate.reader,
                                  display=p.gate.display)
            context = ContextManager(model, tools, prompt, p.budget)
            node = ToolNode(tools, output_limit=p.output_limit, results=p.results,
                            result_tokens=context.result_tokens, hooks=p.hooks)
            self._nodes.append(node)
            self._graphs[kind] = build_graph(
                model, tools, prompt, max_turns=definition.max_turns or p.max_turns,
                output_limit=p.output_limit, context=context, tool_node=node, gate=gate,
                hooks=p.hooks, name=f"subagent:{kind}")
        return self._graphs[kind], definition.max_turns or p.max_turns

    def check(self, kind: str) -> None:
        if kind not in self.agents:
            raise KeyError(f"no sub-agent type {kind!r}; use one of: {', '.join(self.agents)}")

    def _start(self, kind: str, prompt: str) -> tuple[CompiledStateGraph, dict, dict]:
        graph, turns = self._graph(kind)
        thread = f"subagent-{uuid.uuid4().hex[:12]}"
        cfg = {"configurable": {"thread_id": thread}, "recursion_limit": 5 * turns + 10}
        state = {"messages": [HumanMessage(content=prompt)], "turns": 0, "stop_reason": ""}
        return graph, cfg, state

    def run(self, kind: str, prompt: str, emit: Callable[[dict], None], tag: dict
            ) -> dict[str, Any]:
        """Run a job to its end (in a context of its own, so the sub-agent's graph is not
        taken for a subgraph of the parent's run); its events go to ``emit`` tagged."""
        graph, cfg, state = self._start(kind, prompt)
        emit = _in_this_context(emit)

        def go() -> dict[str, Any]:
            final: dict[str, Any] = {}
            for mode, chunk in graph.stream(state, cfg, stream_mode=[*STREAM_MODES, "values"]):
                final = self._forward(mode, chunk, emit, tag, final)
            return final

        try:
            return outcome(contextvars.Context().run(go))
        finally:
            self._close_thread(cfg)

    async def arun(self, kind: str, prompt: str, emit: Callable[[dict], None], tag: dict
                   ) -> dict[str, Any]:
        graph, cfg, state = self._start(kind, prompt)
        emit = _in_this_context(emit)

        async def go() -> dict[str, Any]:
            final: dict[str, Any] = {}
            async for mode, chunk in graph.astream(state, cfg,
                                                   stream_mode=[*STREAM_MODES, "values"]):
                final = self._forward(mode, chunk, emit, tag, final)
            return final

        task = asyncio.get_running_loop().create_task(go(), context=contextvars.Context())
        try:
            return outcome(await task)  # a cancelled parent cancels this task too
        finally:
            if not task.done():
                task.cancel()
            self._close_thread(cfg)

    @staticmethod
    def _forward(mode: str, chunk: Any, emit: Callable[[dict], None], tag: dict,
                 final: dict[str, Any]) -> dict[str, Any]:
        if mode == "values":
            return chunk
        if mode == "messages":
            message, meta = chunk
            if meta.get("langgraph_node") == "planner" and isinstance(message, AIMessage) \
                    and message.text:
                emit({"type": "text", "text": message.text, "subagent": tag})
        elif mode == "custom" and isinstance(chunk, dict):
            emit({**chunk, "subagent": tag})
        return final

    def _close_thread(self, cfg: dict) -> None:
        if self.parent is not None:
            self.parent.close_session(cfg["configurable"]["thread_id"])

    def close(self) -> None:
        for node in self._nodes:
            node.close()
        self._nodes.clear()
        self._graphs.clear()


def _in_this_context(emit: Callable[[dict], None]) -> Callable[[dict], None]:
    """``emit`` made callable from the sub-agent's own context: the parent's stream
    writer works only inside the parent run's context, so each call goes back into (a
    copy of) it."""
    parent = contextvars.copy_context()
    return lambda event: parent.copy().run(emit, event)


def outcome(values: dict[str, Any]) -> dict[str, Any]:
    """A finished sub-agent's answer, stop reason and token usage."""
    usage: dict[str, int] = {}
    messages = values.get("messages", [])
    for msg in messages:
        if isinstance(msg, AIMessage) and msg.usage_metadata:
            usage = add_usage(usage, dict(msg.usage_metadata))  # type: ignore[arg-type]
    last = next((m for m in reversed(messages) if isinstance(m, AIMessage)), None)
    return {"text": last.text if last is not None else "", "usage": usage,
            "stop_reason": values.get("stop_reason") or "done", "error": values.get("error", ""),
            "turns": values.get("turns", 0)}
