"""Readiness probes: small HTTP GET/POSTs that turn "connection refused" into advice."""

from __future__ import annotations

import time
from typing import Any

import httpx

from claude_like.models.base import ModelUnavailableError

PROBE_TIMEOUT = 5.0


def get_json(url: str, *, hint: str, what: str, timeout: float = PROBE_TIMEOUT) -> Any:
    """GET ``url`` as JSON, or raise ModelUnavailableError naming ``what`` and the fix."""
    return _request("GET", url, hint=hint, what=what, timeout=timeout)


def post_json(
    url: str, body: Any, *, hint: str, what: str, timeout: float = PROBE_TIMEOUT
) -> Any:
    """POST JSON to ``url`` and return the JSON answer, or raise ModelUnavailableError."""
    return _request("POST", url, body=body, hint=hint, what=what, timeout=timeout)


def _request(
    method: str, url: str, *, hint: str, what: str, timeout: float, body: Any = None
) -> Any:
    try:
        r = httpx.request(method, url, json=body, timeout=timeout)
    except httpx.HTTPError as e:
        raise ModelUnavailableError(f"{what} does not answer at {url} ({e})", hint=hint) from e
    if r.status_code >= 400:
        raise ModelUnavailableError(
            f"{what} answered {r.status_code} at {url}: {r.text[:200]}", hint=hint
        )
    try:
        return r.json()
    except ValueError as e:
        raise ModelUnavailableError(f"{what} sent no JSON at {url}", hint=hint) from e


def wait_healthy(
    url: str, *, timeout: float, hint: str, what: str, poll: float = 0.25
) -> None:
    """Poll a health URL until it answers 200 (llama-server says 503 while loading)."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            r = httpx.get(url, timeout=2.0)
            if r.status_code == 200:
                return
            last = f"{r.status_code} {r.text[:120]}"
        except httpx.HTTPError as e:
            last = str(e) or type(e).__name__
        time.sleep(poll)
    raise ModelUnavailableError(f"{what} not healthy at {url} after {timeout:.0f}s ({last})",
                                hint=hint)
