"""MCP servers' tools for the agent: start the servers, offer their tools, close them.

::

    mcp = McpTools.open(workspace="path/to/project", servers={"mcpServers": {...}})
    agent_tools = [*builtin_tools, *mcp.tools]     # named mcp__<server>__<tool>
    mcp.failures                                   # servers that would not start, and why
    mcp.close()                                    # every server process ends

A server that cannot start does not stop the agent: it is logged as a warning, listed in
:attr:`McpTools.failures`, and the agent goes on without its tools (``strict=True``
raises :class:`McpServerError` instead). Tool calls never raise: a tool's error, a
timeout or a crashed server comes back to the model as an error result, and a crashed
server is started again at the next call of one of its tools.

The sessions live on a loop thread owned by the object (:mod:`claude_like.mcp.loop`), so
the tools work from ``agent.run`` (sync) and from ``agent.arun`` (any other loop).
"""

from __future__ import annotations

import asyncio
import logging
import os
import weakref
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool

from claude_like.budget import DEFAULT_TOOL_OUTPUT_LIMIT
from claude_like.mcp.config import McpServer, load_mcp_servers
from claude_like.mcp.errors import McpCallError, McpServerError
from claude_like.mcp.loop import BackgroundLoop
from claude_like.mcp.remote_tool import McpTool

if TYPE_CHECKING:
    from claude_like.mcp.session import ServerSession

logger = logging.getLogger(__name__)

DEFAULT_STARTUP_TIMEOUT = 30.0
"""Seconds a server may take to start and list its tools (Claude Code's ``MCP_TIMEOUT``
environment variable, in milliseconds, overrides it as it does there)."""

DEFAULT_TOOL_TIMEOUT = 600.0
"""Seconds one tool call may take (``MCP_TOOL_TIMEOUT``, in milliseconds, overrides it)."""


def _env_seconds(name: str, default: float) -> float:
    try:
        return float(os.environ[name]) / 1000
    except (KeyError, ValueError):
        return default


class McpTools:
    """The tools of some MCP servers, with the servers' lifetime: :meth:`start` (or
    :meth:`open`) connects them all at once, :meth:`close` ends them."""

    def __init__(self, servers: Mapping[str, McpServer] | None = None, *,
                 startup_timeout: float | None = None, tool_timeout: float | None = None,
                 output_limit: int = DEFAULT_TOOL_OUTPUT_LIMIT, strict: bool = False) -> None:
        """``output_limit``: characters of a result kept (the middle is cut, as Bash's);
        ``strict``: a server that cannot start is an error rather than a warning."""
        self.servers = dict(servers or {})
        self.startup_timeout = startup_timeout or _env_seconds("MCP_TIMEOUT",
                                                               DEFAULT_STARTUP_TIMEOUT)
        self.tool_timeout = tool_timeout or _env_seconds("MCP_TOOL_TIMEOUT",
                                                         DEFAULT_TOOL_TIMEOUT)
        self.output_limit = output_limit
        self.strict = strict
        self.tools: list[BaseTool] = []
        """The servers' tools as the agent offers them, named ``mcp__<server>__<tool>``."""
        self.failures: dict[str, str] = {}
        """Servers that could not start, and why."""
        self._sessions: dict[str, ServerSession] = {}
        self._loop: BackgroundLoop | None = None
        self._release: weakref.finalize | None = None

    @classmethod
    def open(cls, *, workspace: str | os.PathLike[str] | None = None,
             servers: Mapping[str, Any] | str | os.PathLike[str] | None = None,
             **options: Any) -> McpTools:
        """Started tools of the servers in ``<workspace>/.mcp.json`` and ``servers`` (see
        :func:`~claude_like.mcp.config.load_mcp_servers`); with none configured, an empty
        set that starts nothing. A malformed config raises ``McpConfigError``."""
        return cls(load_mcp_servers(workspace=workspace, servers=servers), **options).start()

    # -- starting --------------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._release is not None and not self._release.alive

    def start(self) -> McpTools:
        """Connect every server (concurrently) and collect their tools; returns self."""
        if self._loop is not None or not self.servers:
            return self
        # The MCP client is imported only when there are servers (it costs ~0.6 s).
        from claude_like.mcp.session import ServerSession

        self._loop = BackgroundLoop()
        self._sessions = {name: ServerSession(server, startup_timeout=self.startup_timeout)
                          for name, server in self.servers.items()}
        self._release = weakref.finalize(self, _shut_down, self._loop,
                                         list(self._sessions.values()))
        try:
            self._collect(self._loop.run(self._start_all()))
        except BaseException:
            self.close()
            raise
        return self

    async def astart(self) -> McpTools:
        """:meth:`start` without blocking the caller's loop."""
        return await asyncio.to_thread(self.start)

    async def _start_all(self) -> dict[str, BaseException | None]:
        sessions = list(self._sessions.values())
        outcomes = await asyncio.gather(*(s.start() for s in sessions), return_exceptions=True)
        return {s.name: o for s, o in zip(sessions, outcomes, strict=True)}

    def _collect(self, outcomes: Mapping[str, BaseException | None]) -> None:
        for name, outcome in outcomes.items():
            if isinstance(outcome, McpServerError):
                self.failures[name] = str(outcome)
            elif isinstance(outcome, Exception):
                self.failures[name] = f"MCP server {name!r} could not start: {outcome!r}"
            elif outcome is not None:
                raise outcome  # cancelled, interrupted
        if self.failures and self.strict:
            raise McpServerError("\n".join(self.failures.values()))
        for message in self.failures.values():
            logger.warning("%s; going on without its tools", message)
        seen: set[str] = set()
        for name, session in self._sessions.items():
            if name in self.failures:
                continue
            for inner in session.tools.values():
                tool = McpTool.wrap(inner, server=name, caller=self,
                                    output_limit=self.output_limit)
                if tool.name in seen:
                    logger.warning("MCP tool %s is offered twice; the first one is kept",
                                   tool.name)
                    continue
                seen.add(tool.name)
                self.tools.append(tool)

    # -- calls (from McpTool) ----------------------------------------------------------------
    def _session(self, server: str) -> ServerSession:
        if self._loop is None or self.closed:
            raise McpCallError(f"the MCP servers are closed; {server!r} cannot be called.")
        return self._sessions[server]

    def call(self, server: str, tool: str, args: dict[str, Any]) -> ToolMessage:
        session = self._session(server)
        assert self._loop is not None
        return self._loop.run(session.call(tool, args, self.tool_timeout))

    async def acall(self, server: str, tool: str, args: dict[str, Any]) -> ToolMessage:
        session = self._session(server)
        assert self._loop is not None
        return await self._loop.arun(session.call(tool, args, self.tool_timeout))

    # -- closing ---------------------------------------------------------------------------
    def close(self) -> None:
        """Close every session (stdio servers' processes end) and the loop. Idempotent."""
        if self._release is not None:
            self._release()

    async def aclose(self) -> None:
        await asyncio.to_thread(self.close)

    def __enter__(self) -> McpTools:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    async def __aenter__(self) -> McpTools:
        return await self.astart()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()


def _shut_down(loop: BackgroundLoop, sessions: list[ServerSession]) -> None:
    """Stop every session, then the loop (also run when an unclosed McpTools is collected
    or at interpreter exit)."""
    if not loop.running:
        return

    async def stop_all() -> None:
        await asyncio.gather(*(s.stop() for s in sessions), return_exceptions=True)

    if loop.in_loop_thread:  # collected on the loop's thread: it cannot wait for itself
        loop.loop.create_task(stop_all()).add_done_callback(lambda _: loop.stop())
        return
    try:
        loop.run(stop_all())
    finally:
        loop.stop()


def load_mcp_tools_sync(servers: Mapping[str, Any] | str | os.PathLike[str] | None = None, *,
                        workspace: str | os.PathLike[str] | None = None, **options: Any
                        ) -> tuple[list[BaseTool], Callable[[], None]]:
    """``(tools, close)``: the started servers' tools and the function that ends them."""
    mcp = McpTools.open(workspace=workspace, servers=servers, **options)
    return mcp.tools, mcp.close
