"""Running a coroutine to its end from synchronous code: the one bridge for the places
that call user code which may be ``async`` from the graph's sync path (hooks, the
permission callback)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


def run_blocking(make: Callable[[], Awaitable[T]]) -> T:
    """``await make()`` on a fresh event loop: in this thread when it runs no loop, else
    on a worker thread (a loop cannot be re-entered), whose exception is re-raised here."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_awaited(make))
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(_awaited(make))
        except BaseException as exc:
            box["error"] = exc

    worker = threading.Thread(target=target, name="cl-sync-bridge")
    worker.start()
    worker.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


async def _awaited(make: Callable[[], Awaitable[T]]) -> T:
    return await make()
