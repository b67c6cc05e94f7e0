"""An event loop on a thread of its own, for MCP sessions that outlive any one call.

An MCP session (its stdio process or HTTP connection, and the tasks reading from it) is
bound to the event loop that opened it. The agent calls tools from sync code (``run``)
and from other loops (``arun``), so the sessions live on one loop owned by this object,
and every call is handed to it. (``claude_like.async_bridge.run_blocking`` makes a fresh
loop per call, which would end the session with the call.)
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class BackgroundLoop:
    """Runs coroutines on a private loop thread, from sync code or from another loop."""

    def __init__(self, name: str = "cl-mcp") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    @property
    def running(self) -> bool:
        return self._thread.is_alive() and not self.loop.is_closed()

    @property
    def in_loop_thread(self) -> bool:
        """Whether the caller runs on the loop's own thread (where it must not wait)."""
        return threading.current_thread() is self._thread

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """``coro``'s result, waiting in this thread (which must not be the loop's)."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except BaseException:
            future.cancel()
            raise

    async def arun(self, coro: Coroutine[Any, Any, T]) -> T:
        """``coro``'s result, awaited from another loop; cancelling the caller cancels it."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    def stop(self) -> None:
        """Stop the loop and its thread (call after the sessions are closed). Idempotent."""
        if self.loop.is_closed():
            return
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            if not self.in_loop_thread:
                self._thread.join()
        if not self._thread.is_alive():
            self.loop.close()
