"""One MCP server's session, kept open for the agent's lifetime, on the MCP loop.

Why a held session: the adapters' ``MultiServerMCPClient.get_tools()`` opens a new session
for every tool call, which for a stdio server means a new process per call (about 1.2 s
each for a small Python server on this machine, against about 5 ms on a held session).
Here each server gets one session, opened in a task that keeps it open until
:meth:`ServerSession.stop` (anyio needs a session to close in the task that opened it).

Stdio servers are started with ``mcp``'s own ``stdio_client`` so that their stderr goes to
a private file, not the user's terminal, and its last lines explain a server that would
not start or crashed. HTTP and SSE servers are opened through the adapters'
``MultiServerMCPClient.session``. Either way the adapters turn the server's tools into
LangChain tools bound to the held session.

A server that closes its connection (a crash, a killed process) is marked down; the next
call of one of its tools starts it again.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import IO, Any

import anyio
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from langchain_mcp_adapters.client import MultiServerMCPClient
from langchain_mcp_adapters.tools import load_mcp_tools
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import McpError
from mcp.types import CONNECTION_CLOSED

from claude_like.mcp.config import HttpServer, McpServer, StdioServer
from claude_like.mcp.errors import McpCallError, McpServerError

STDERR_TAIL = 800
"""Characters of a stdio server's stderr quoted in an error."""

HTTP_PING_INTERVAL = 5.0
"""Seconds between pings of an HTTP server while a call of it runs. ``mcp``'s streamable
HTTP client waits forever for the answer of a server that died mid-call; a ping that cannot
connect ends the session, which fails the waiting call at once."""

STOP_TIMEOUT = 10.0
"""Seconds a session may take to close (``mcp`` gives a stdio server 2 s to exit after
its stdin closes, then terminates its process group)."""

_CLOSED = (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream)


def describe(exc: BaseException) -> str:
    """The innermost causes of ``exc`` (anyio wraps them in exception groups), one line."""
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(dict.fromkeys(describe(e) for e in exc.exceptions))
    if isinstance(exc, McpError):
        return str(exc)
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _connection_lost(exc: BaseException) -> bool:
    if isinstance(exc, BaseExceptionGroup):
        return any(_connection_lost(e) for e in exc.exceptions)
    if isinstance(exc, McpError):
        return exc.error.code == CONNECTION_CLOSED
    return isinstance(exc, _CLOSED)


class ServerSession:
    """The held session of one server; all methods run on the MCP loop."""

    def __init__(self, server: McpServer, *, startup_timeout: float) -> None:
        self.server = server
        self.startup_timeout = startup_timeout
        self.tools: dict[str, BaseTool] = {}
        """The adapters' tools bound to the live session, by the server's tool names."""
        self.down: str | None = None
        """Why the session is not usable (``None`` while it is)."""
        self._session: ClientSession | None = None
        self._serving = False
        """Whether the held task waits for stop (else it is still starting)."""
        self._task: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None
        self._stderr: IO[bytes] | None = None
        self._restart_lock = asyncio.Lock()

    @property
    def name(self) -> str:
        return self.server.name

    # -- opening and closing -----------------------------------------------------------------
    @asynccontextmanager
    async def _connect(self) -> AsyncIterator[ClientSession]:
        server = self.server
        if isinstance(server, StdioServer):
            self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop())
            params = StdioServerParameters(command=server.command, args=list(server.args),
                                           env={**os.environ, **server.env}, cwd=server.cwd)
            async with stdio_client(params, errlog=self._stderr) as (read, write), \
                    ClientSession(read, write) as session:  # type: ignore[arg-type]
                yield session
            return
        assert isinstance(server, HttpServer)
        connection: dict[str, Any] = {
            "transport": "sse" if server.transport == "sse" else "streamable_http",
            "url": server.url, "headers": dict(server.headers) or None}
        client = MultiServerMCPClient({server.name: connection})  # type: ignore[dict-item]
        async with client.session(server.name, auto_initialize=False) as session:
            yield session

    async def _hold(self, ready: asyncio.Future[list[BaseTool]], stop: asyncio.Event) -> None:
        """Open the session, hand over its tools, keep it open until ``stop``."""
        try:
            async with self._connect() as session:
                self._session = session
                await session.initialize()
                tools = await load_mcp_tools(session, server_name=self.name)
                if not ready.done():
                    ready.set_result(tools)
                self._serving = True
                await stop.wait()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc)
            elif self.down is None:
                self.down = f"the connection failed ({describe(exc)})"

    async def start(self) -> None:
        """Connect and load the tools; :class:`McpServerError` when that fails or takes
        longer than ``startup_timeout`` (nothing is left running then)."""
        ready: asyncio.Future[list[BaseTool]] = asyncio.get_running_loop().create_future()
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(self._hold(ready, self._stop),
                                         name=f"mcp-server-{self.name}")
        try:
            tools = await asyncio.wait_for(asyncio.shield(ready), self.startup_timeout)
        except BaseException as exc:
            ready.cancel()
            note = self.stderr_note()
            await self.stop()
            if isinstance(exc, asyncio.CancelledError):
                raise
            why = (f"no answer within {self.startup_timeout:g} s"
                   if isinstance(exc, TimeoutError) else describe(exc))
            raise McpServerError(f"MCP server {self.name!r} could not start {self._what()}: "
                                 f"{why}{note}") from None
        self.tools = {t.name: t for t in tools}
        self.down = None

    def _what(self) -> str:
        server = self.server
        if isinstance(server, StdioServer):
            return f"(command: {' '.join([server.command, *server.args])})"
        return f"(url: {server.url})"

    async def stop(self) -> None:
        """Close the session (a stdio server's process ends with it). Idempotent."""
        task, self._task = self._task, None
        if self._stop is not None:
            self._stop.set()
        if task is not None and not task.done():
            # A session still starting does not look at the stop event: cancel it.
            done, _ = await asyncio.wait({task}, timeout=STOP_TIMEOUT if self._serving else 0)
            if not done:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        self._serving = False
        self._session = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    async def _restart(self) -> None:
        async with self._restart_lock:
            if self.down is None and self._task is not None:
                return  # another call restarted it meanwhile
            await self.stop()
            await self.start()

    def stderr_note(self) -> str:
        """``; its stderr ended with: ...`` for a stdio server that wrote any."""
        if self._stderr is None or self._stderr.closed:
            return ""
        fd = self._stderr.fileno()
        size = os.fstat(fd).st_size
        tail = os.pread(fd, STDERR_TAIL * 4, max(0, size - STDERR_TAIL * 4))
        text = tail.decode("utf-8", "replace").strip()[-STDERR_TAIL:]
        return f"; its stderr ended with:\n{text}\n" if text else ""

    # -- calls ---------------------------------------------------------------------------------
    async def call(self, tool: str, args: dict[str, Any], timeout: float) -> ToolMessage:
        """The adapters' result of one call (``status="error"`` for the tool's own
        errors); :class:`McpCallError` when the call could not be made or finish."""
        if self.down is not None or self._task is None:
            try:
                await self._restart()
            except McpServerError as exc:
                raise McpCallError(f"{exc} (It had stopped: {self.down}.)") from None
        inner = self.tools.get(tool)
        if inner is None:
            offered = ", ".join(sorted(self.tools)) or "none"
            raise McpCallError(f"MCP server {self.name!r} no longer offers a tool {tool!r} "
                               f"(it offers: {offered}).")
        held = self._task
        assert held is not None
        work = asyncio.ensure_future(
            inner.ainvoke({"name": tool, "args": args, "id": "mcp", "type": "tool_call"}))
        watch = (asyncio.create_task(self._watch(self._session))
                 if isinstance(self.server, HttpServer) and self._session is not None else None)
        try:
            # The held session ending (its transport failed) ends the wait too: ``mcp`` does
            # not always fail the calls in flight then.
            done, _ = await asyncio.wait({work, held}, timeout=timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (work, watch):
                if task is not None and not task.done():
                    task.cancel()
        if work not in done and held not in done:
            raise McpCallError(f"{tool} on MCP server {self.name!r} did not finish within "
                               f"{timeout:g} s; it was abandoned.")
        error = work.exception() if work in done and not work.cancelled() else None
        if work in done and error is None and not work.cancelled():
            return work.result()
        if error is not None and not _connection_lost(error):
            raise McpCallError(f"{tool} on MCP server {self.name!r} failed: {describe(error)}")
        self.down = self.down or "it closed the connection"
        raise McpCallError(
            f"MCP server {self.name!r} closed the connection during the call (it may have "
            f"crashed){self.stderr_note()}. The server will be started again at the next call "
            "of one of its tools.")

    @staticmethod
    async def _watch(session: ClientSession) -> None:
        """Ping while a call runs; a ping the transport cannot send ends the session. A
        busy server that does not answer a ping in time is left alone."""
        while True:
            await asyncio.sleep(HTTP_PING_INTERVAL)
            try:
                await asyncio.wait_for(session.send_ping(), HTTP_PING_INTERVAL)
            except TimeoutError:
                continue
            except Exception:
                return  # the session is failing; the call in progress learns it
