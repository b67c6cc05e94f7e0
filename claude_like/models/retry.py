"""Retries with exponential backoff for transient server errors (for clients without them).

langchain-openai and langchain-anthropic retry inside their SDKs (``max_retries``); the
Ollama client does not, so ``ollama.py`` uses these helpers. A stream is retried only
while nothing has been yielded, so a caller never sees a reply twice.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TypeVar

import httpx

T = TypeVar("T")

TRANSIENT_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})


def is_transient(exc: BaseException) -> bool:
    """Connection refused/reset, timeouts, 429 and 5xx answers."""
    if isinstance(exc, httpx.TransportError | ConnectionError | TimeoutError):
        return True
    status = getattr(exc, "status_code", None)
    if status is None:
        status = getattr(getattr(exc, "response", None), "status_code", None)
    return isinstance(status, int) and status in TRANSIENT_STATUS


def backoff(attempt: int, base: float = 0.5, cap: float = 8.0) -> float:
    """Delay before retry ``attempt`` (1-based): exponential with jitter."""
    return min(cap, base * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)


def retry_call(fn: Callable[[], T], *, max_retries: int, base: float = 0.5) -> T:
    """``fn()``, retried up to ``max_retries`` times on transient errors."""
    attempt = 0
    while True:
        try:
            return fn()
        except Exception as e:
            attempt += 1
            if attempt > max_retries or not is_transient(e):
                raise
            time.sleep(backoff(attempt, base))


async def aretry_call(fn: Callable[[], Awaitable[T]], *, max_retries: int,
                      base: float = 0.5) -> T:
    """Async ``retry_call``."""
    attempt = 0
    while True:
        try:
            return await fn()
        except Exception as e:
            attempt += 1
            if attempt > max_retries or not is_transient(e):
                raise
            await asyncio.sleep(backoff(attempt, base))


def retry_stream(fn: Callable[[], Iterator[T]], *, max_retries: int,
                 base: float = 0.5) -> Iterator[T]:
    """Items of ``fn()``, restarted on a transient error raised before the first item."""
    attempt = 0
    while True:
        started = False
        try:
            for item in fn():
                started = True
                yield item
            return
        except Exception as e:
            attempt += 1
            if started or attempt > max_retries or not is_transient(e):
                raise
            time.sleep(backoff(attempt, base))


async def aretry_stream(fn: Callable[[], AsyncIterator[T]], *, max_retries: int,
                        base: float = 0.5) -> AsyncIterator[T]:
    """Async ``retry_stream``."""
    attempt = 0
    while True:
        started = False
        try:
            async for item in fn():
                started = True
                yield item
            return
        except Exception as e:
            attempt += 1
            if started or attempt > max_retries or not is_transient(e):
                raise
            await asyncio.sleep(backoff(attempt, base))
