"""Retries with exponential backoff for transient server errors (for clients without them).

langchain-openai and langchain-anthropic retry inside their SDKs (``max_retries``); the
Ollama client does not, so ``ollama.py`` uses these helpers, built on tenacity. A stream
is retried only while nothing has been yielded, so a caller never sees a reply twice.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TypeVar

import httpx
from tenacity import (
    AsyncRetrying,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

T = TypeVar("T")

TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})
"""Answers worth asking again. Not 409: a conflict stays a conflict."""


def is_transient(exc: BaseException) -> bool:
    """Connection refused/reset, timeouts, 408, 429 and 5xx answers."""
    if isinstance(exc, httpx.TransportError | ConnectionError | TimeoutError):
        return True
    status = getattr(exc, "status_code", None)
    if status is None:
        status = getattr(getattr(exc, "response", None), "status_code", None)
    return isinstance(status, int) and status in TRANSIENT_STATUS


def _sleep(seconds: float) -> None:
    time.sleep(seconds)  # looked up at call time, so tests can patch ``time.sleep``


def _policy(max_retries: int, base: float,
            retry_on: Callable[[BaseException], bool] = is_transient) -> dict:
    return {
        "stop": stop_after_attempt(max_retries + 1),
        "wait": wait_exponential_jitter(multiplier=base, max=8.0, jitter=base),
        "retry": retry_if_exception(retry_on),
        "reraise": True,
    }


def retry_call(fn: Callable[[], T], *, max_retries: int, base: float = 0.5) -> T:
    """``fn()``, retried up to ``max_retries`` times on transient errors."""
    return Retrying(sleep=_sleep, **_policy(max_retries, base))(fn)


async def aretry_call(fn: Callable[[], Awaitable[T]], *, max_retries: int,
                      base: float = 0.5) -> T:
    """Async ``retry_call``."""
    return await AsyncRetrying(**_policy(max_retries, base))(fn)


def retry_stream(fn: Callable[[], Iterator[T]], *, max_retries: int,
                 base: float = 0.5) -> Iterator[T]:
    """Items of ``fn()``, restarted on a transient error raised before the first item."""
    started = False

    def before_first_item(exc: BaseException) -> bool:
        return not started and is_transient(exc)

    for attempt in Retrying(sleep=_sleep, **_policy(max_retries, base, before_first_item)):
        with attempt:
            for item in fn():
                started = True
                yield item


async def aretry_stream(fn: Callable[[], AsyncIterator[T]], *, max_retries: int,
                        base: float = 0.5) -> AsyncIterator[T]:
    """Async ``retry_stream``."""
    started = False

    def before_first_item(exc: BaseException) -> bool:
        return not started and is_transient(exc)

    async for attempt in AsyncRetrying(**_policy(max_retries, base, before_first_item)):
        with attempt:
            async for item in fn():
                started = True
                yield item
