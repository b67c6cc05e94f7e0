"""ClaudeLikeAgent: the facade users import, over the compiled LangGraph graph."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, StructuredTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command
from pydantic import BaseModel, Field

from claude_like.agent_events import STREAM_MODES, to_event, to_result
from claude_like.budget import DEFAULT_TOOL_OUTPUT_LIMIT
from claude_like.context.budget import ContextBudget, model_name
from claude_like.context.manager import ContextManager
from claude_like.context.offload import ResultStore
from claude_like.events import AgentEvent, AgentResult, Compacted, Final
from claude_like.graph import DEFAULT_MAX_TURNS, build_graph
from claude_like.hooks import HookMatcher, Hooks
from claude_like.mcp import McpTools
from claude_like.models import resolve_model
from claude_like.models.tool_call_repair import answer_unanswered
from claude_like.permissions.approval import ApprovalRequest, answers_for, parse_answer
from claude_like.permissions.decisions import CanUseTool
from claude_like.permissions.modes import PermissionMode, check_mode
from claude_like.permissions.setup import permission_setup
from claude_like.prompt import build_system_prompt
from claude_like.sandbox import Sandbox, make_sandbox
from claude_like.sessions import SessionInfo, SessionStore
from claude_like.sessions.choose import choose_session, open_storage
from claude_like.subagents import AgentDefinition, Parent, SubagentRunner
from claude_like.tool_node import ToolNode
from claude_like.tools.web_policy import FetchPolicy
from claude_like.toolset import build_toolset

RunInput = str | BaseMessage | Command
"""A new task, or ``Command(resume=...)`` to answer pending approvals."""


class AgentTask(BaseModel):
    """Input of the agent used as a tool."""

    task: str = Field(description="What the coding agent should do, in plain words.")


class ClaudeLikeAgent:
    """A coding agent: a chat model, Claude-Code-style tools, a sandbox, a LangGraph graph.

    A conversation (a session) continues across ``run`` calls on the same ``thread_id``;
    its state lives in a LangGraph checkpointer: the SQLite session store under the user's
    data folder by default (``persist=False``: in memory), or any checkpointer given.

    Permissions follow the Claude Agent SDK's options (``permission_mode``,
    ``allowed_tools``, ``disallowed_tools``, ``can_use_tool``, ``hooks``) plus the settings
    files. A call that asks, with no callback to answer it, pauses the run
    (``stop_reason="interrupted"``, ``result.pending``); :meth:`resume` answers it.
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
        permission_mode: PermissionMode | None = None,
        allowed_tools: Sequence[str] = (),
        disallowed_tools: Sequence[str] = (),
        ask_tools: Sequence[str] = (),
        can_use_tool: CanUseTool | None = None,
        hooks: Mapping[str, Sequence[HookMatcher]] | Hooks | None = None,
        settings: bool = True,
        persist: bool = True,
        session_store: SessionStore | str | os.PathLike[str] | None = None,
        resume: str | None = None,
        continue_conversation: bool = False,
        fork_session: bool = False,
        optional_tools: Sequence[str] = (),
        agents: Mapping[str, AgentDefinition] | bool | None = None,
        web_fetch: FetchPolicy | None = None,
        mcp_servers: Mapping[str, Any] | str | os.PathLike[str] | None = None,
        project_mcp: bool = False,
    ) -> None:
        """``settings=False`` reads no settings file; ``resume`` (a session id),
        ``continue_conversation`` (this workspace's latest session) and ``fork_session``
        (continue in a copy) pick the conversation, as the SDK's options of those names.
        ``optional_tools`` adds tools off by default (``TodoWrite``, ``Task``,
        ``NotebookEdit``, ``Outline``); ``agents`` (``True``, or sub-agent types by name)
        adds ``Task`` with those sub-agents; ``web_fetch`` turns WebFetch on with that
        policy; ``mcp_servers`` (Claude Code's ``mcpServers`` shape, or a JSON file) adds
        their tools as ``mcp__<server>__<tool>``; ``project_mcp`` also starts the servers
        of the workspace's ``.mcp.json`` (commands on the host: opt in)."""
        self.results: ResultStore | None = None
        self.tool_node: ToolNode | None = None
        self.subagents: SubagentRunner | None = None
        self.mcp: McpTools | None = None
        self.warnings: list[str] = []
        """Set-up problems worth telling the user (MCP servers that did not start)."""
        self.store: SessionStore | None = None
        self._owns_store = False
        self._owns_sandbox = not isinstance(sandbox, Sandbox)
        self.workspace = str(Path(workspace).resolve())
        self.sandbox = make_sandbox(sandbox, workspace)
        try:
            self.model = resolve_model(model)
            self.model_name = model if isinstance(model, str) else (
                model_name(self.model) or type(self.model).__name__)
            self.budget = ContextBudget.for_model(
                self.model, context_window=context_window, warn_at=warn_at,
                compact_at=compact_at)
            limit = output_limit or min(self.budget.result_chars, DEFAULT_TOOL_OUTPUT_LIMIT)
            if mcp_servers is not None or project_mcp:
                self.mcp = McpTools.open(workspace=self.workspace if project_mcp else None,
                                         servers=mcp_servers)
                self.warnings += [f"MCP server {name} did not start: {why}"
                                  for name, why in self.mcp.failures.items()]
            mcp_tools = self.mcp.tools if self.mcp is not None else []
            toolset = build_toolset(self.sandbox, limit, tools=tools,
                                    extra_tools=[*extra_tools, *mcp_tools],
                                    optional=optional_tools, agents=agents, web=web_fetch)
            self.tools: list[BaseTool] = toolset.tools
            self.subagents = toolset.runner
            self.gate, self.hooks = permission_setup(
                self.sandbox, self.workspace, self.tools, mode=permission_mode,
                allowed_tools=allowed_tools, ask_tools=ask_tools,
                disallowed_tools=disallowed_tools, can_use_tool=can_use_tool, hooks=hooks,
                settings=settings)
            self.warnings += self.hooks.warnings
            if self.gate.mode == "plan" and tools is None:
                toolset.add_plan_tool()
                self.gate.plan_tool = True
            self.system_prompt = build_system_prompt(
                self.sandbox, replace=system_prompt, append=append_system_prompt
            )
            self.context = ContextManager(self.model, self.tools, self.system_prompt,
                                          self.budget, compaction=compaction)
            self.results = ResultStore(self.sandbox, keep=keep_results)
            self.max_turns = max_turns
            storage = open_storage(checkpointer, persist=persist, store=session_store)
            self.checkpointer, self.store, self._owns_store = (
                storage.checkpointer, storage.store, storage.owned)
            self.thread_id = choose_session(
                self.store, self.workspace, thread_id=thread_id, resume=resume,
                latest=continue_conversation, fork=fork_session)
            self._mode_changes: dict[str, PermissionMode] = {}
            self.tool_node = ToolNode(self.tools, output_limit=limit, results=self.results,
                                      result_tokens=self.context.result_tokens,
                                      hooks=self.hooks)
            self.graph: CompiledStateGraph = build_graph(
                self.model, self.tools, self.system_prompt, max_turns=max_turns,
                output_limit=limit, checkpointer=self.checkpointer, context=self.context,
                tool_node=self.tool_node, gate=self.gate, hooks=self.hooks)
            if self.subagents is not None:
                self.subagents.parent = Parent(
                    self.model, self.tools, self.system_prompt, self.budget, self.results,
                    self.gate, self.hooks, max_turns, limit, self.sandbox.close_session)
        except BaseException:
            self.close()
            raise

    # -- sessions --------------------------------------------------------------------------
    def fork(self, session_id: str | None = None) -> str:
        """Copy a session (default: the agent's) to a new id and make it the agent's
        default thread; the original stays as it was."""
        if self.store is None:
            raise ValueError("forking needs the session store (persist=True)")
        info = self.store.fork(session_id or self.thread_id)
        self.thread_id = info.id
        return info.id

    def sessions(self, *, all_workspaces: bool = False, limit: int = 50) -> list[SessionInfo]:
        """Saved sessions, newest first: this workspace's, or every one."""
        if self.store is None:
            return []
        return self.store.list(workspace=None if all_workspaces else self.workspace, limit=limit)

    # -- permission mode -------------------------------------------------------------------
    @property
    def permission_mode(self) -> PermissionMode:
        """The mode of the agent's default thread (an approved plan changes it)."""
        return self.mode_of(self.thread_id)

    def mode_of(self, thread_id: str) -> PermissionMode:
        if thread_id in self._mode_changes:
            return self._mode_changes[thread_id]
        values = self.graph.get_state(self._config(thread_id, None)).values
        return check_mode(values.get("permission_mode") or self.gate.mode)

    def set_permission_mode(self, mode: PermissionMode, *, thread_id: str | None = None) -> None:
        """Switch a thread's mode (default: the agent's thread) from its next step on."""
        self._mode_changes[thread_id or self.thread_id] = check_mode(mode)

    # -- plumbing --------------------------------------------------------------------------
    def _config(self, thread_id: str | None, config: RunnableConfig | None) -> RunnableConfig:
        cfg: RunnableConfig = dict(config or {})  # type: ignore[assignment]
        configurable = dict(cfg.get("configurable", {}))
        configurable.setdefault("thread_id", thread_id or self.thread_id)
        cfg["configurable"] = configurable
        # A turn is at most planner, permissions, approval, tools and stop_hooks: 5 steps.
        cfg.setdefault("recursion_limit", 5 * self.max_turns + 10)
        return cfg

    def _input(self, task: RunInput, cfg: RunnableConfig) -> dict[str, Any] | Command:
        thread = cfg["configurable"]["thread_id"]
        mode = self._mode_changes.pop(thread, None)
        if isinstance(task, Command):
            return task if mode is None else Command(
                resume=task.resume, update={**dict(task.update or {}), "permission_mode": mode})
        message = task if isinstance(task, BaseMessage) else HumanMessage(content=task)
        if self.store is not None:
            self.store.record(thread, workspace=self.workspace, model=self.model_name,
                              title=message.text)
        start: dict[str, Any] = {"messages": [message], "turns": 0, "stop_reason": "",
                                 "error": "", "stop_hook_active": False}
        return start if mode is None else {**start, "permission_mode": mode}

    def _mark(self, cfg: RunnableConfig) -> tuple[int, int]:
        values = self.graph.get_state(cfg).values
        return len(values.get("messages", [])), len(values.get("turn_stats", []))

    async def _amark(self, cfg: RunnableConfig) -> tuple[int, int]:
        values = (await self.graph.aget_state(cfg)).values
        return len(values.get("messages", [])), len(values.get("turn_stats", []))

    def _finish(self, cfg: RunnableConfig, mark: tuple[int, int]) -> AgentResult:
        snapshot = self.graph.get_state(cfg)
        if self.store is not None:
            self.store.record(cfg["configurable"]["thread_id"], workspace=self.workspace,
                              model=self.model_name)
        return to_result(snapshot.values, mark, cfg, snapshot.interrupts)

    async def _afinish(self, cfg: RunnableConfig, mark: tuple[int, int]) -> AgentResult:
        snapshot = await self.graph.aget_state(cfg)
        if self.store is not None:
            self.store.record(cfg["configurable"]["thread_id"], workspace=self.workspace,
                              model=self.model_name)
        return to_result(snapshot.values, mark, cfg, snapshot.interrupts)

    # -- public API --------------------------------------------------------------------------
    def run(self, task: RunInput, *, thread_id: str | None = None,
            config: RunnableConfig | None = None) -> AgentResult:
        """Work on ``task`` until a final answer, the turn limit, a model error, or calls
        that wait for approval (``stop_reason="interrupted"``)."""
        cfg = self._config(thread_id, config)
        mark = self._mark(cfg)
        self.graph.invoke(self._input(task, cfg), cfg)
        return self._finish(cfg, mark)

    async def arun(self, task: RunInput, *, thread_id: str | None = None,
                   config: RunnableConfig | None = None) -> AgentResult:
        cfg = self._config(thread_id, config)
        mark = await self._amark(cfg)
        await self.graph.ainvoke(self._input(task, cfg), cfg)
        return await self._afinish(cfg, mark)

    def stream(self, task: RunInput, *, thread_id: str | None = None,
               config: RunnableConfig | None = None) -> Iterator[AgentEvent]:
        """Model text, tool starts and finishes, approval requests as they happen, then
        ``Final``."""
        cfg = self._config(thread_id, config)
        mark = self._mark(cfg)
        for mode, chunk in self.graph.stream(self._input(task, cfg), cfg,
                                             stream_mode=STREAM_MODES):
            event = to_event(mode, chunk)
            if event is not None:
                yield event
        yield Final(self._finish(cfg, mark))

    async def astream(self, task: RunInput, *, thread_id: str | None = None,
                      config: RunnableConfig | None = None) -> AsyncIterator[AgentEvent]:
        cfg = self._config(thread_id, config)
        mark = await self._amark(cfg)
        async for mode, chunk in self.graph.astream(self._input(task, cfg), cfg,
                                                    stream_mode=STREAM_MODES):
            event = to_event(mode, chunk)
            if event is not None:
                yield event
        yield Final(await self._afinish(cfg, mark))

    def pending(self, *, thread_id: str | None = None) -> list[ApprovalRequest]:
        """The calls of the thread waiting for the user's answer."""
        from claude_like.agent_events import pending_requests

        return pending_requests(self.graph.get_state(self._config(thread_id, None)).interrupts)

    def answer(self, answers: Any, *, thread_id: str | None = None) -> Command:
        """``Command(resume=answers)`` after checking ``answers`` against the pending
        requests (an answer that cannot be understood is an error here, not a refusal)."""
        requests = self.pending(thread_id=thread_id)
        if not requests:
            raise ValueError("nothing is waiting for approval on this thread")
        by_id = answers_for(answers, requests)
        for request in requests:
            parse_answer(by_id[request["tool_call_id"]], request)
        return Command(resume=answers)

    def resume(self, answers: Any, *, thread_id: str | None = None,
               config: RunnableConfig | None = None) -> AgentResult:
        """Answer the pending approvals and go on: ``"allow"``, ``"deny"``, ``"always"``,
        a dict with ``behavior`` (and ``message``, ``updated_input``, ``mode``), or a dict
        of those by tool-call id."""
        return self.run(self.answer(answers, thread_id=thread_id), thread_id=thread_id,
                        config=config)

    async def aresume(self, answers: Any, *, thread_id: str | None = None,
                      config: RunnableConfig | None = None) -> AgentResult:
        return await self.arun(self.answer(answers, thread_id=thread_id), thread_id=thread_id,
                               config=config)

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
        event = to_event("custom", events[-1])
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
        """Stop the tool node's threads, close the session store if this agent opened it,
        remove the saved tool results (unless ``keep_results``), then close the sandbox if
        this agent created it. Idempotent."""
        if self.subagents is not None:
            self.subagents.close()
        if self.mcp is not None:
            self.mcp.close()
        if self.tool_node is not None:
            self.tool_node.close()
        if self.store is not None and self._owns_store:
            self.store.close()
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
