"""Readiness probe: poll a server's health URL, and turn what goes wrong into advice."""

from __future__ import annotations

import time

import httpx

from claude_like.models.base import ModelUnavailableError


def wait_healthy(
    url: str, *, timeout: float, hint: str, what: str, poll: float = 0.25,
    refused_is_final: bool = False,
) -> None:
    """Poll ``url`` until it answers 200 (llama-server says 503 while it loads).

    ``refused_is_final``: a server that does not answer at all is not coming (a user's
    server that is not running), so say so at once instead of waiting; a server we just
    started is given the whole ``timeout`` to open its port.
    """
    deadline = time.monotonic() + timeout
    last = "no answer"
    while True:
        try:
            r = httpx.get(url, timeout=5.0)
        except httpx.HTTPError as e:
            if refused_is_final:
                raise ModelUnavailableError(
                    f"no {what} answers at {url} ({type(e).__name__})", hint=hint) from e
            last = str(e) or type(e).__name__
        else:
            if r.status_code == 200:
                return
            last = f"{r.status_code}: {r.text[:160]}"
            if r.status_code != 503 and refused_is_final:
                break  # an answer that is not "loading" will not change by waiting
        if time.monotonic() >= deadline:
            break
        time.sleep(poll)
    raise ModelUnavailableError(f"{what} at {url} is not ready ({last})", hint=hint)
