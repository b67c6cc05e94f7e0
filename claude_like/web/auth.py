"""Bearer-token auth for the HTTP services, and the bind rule.

A token is accepted from ``x-api-key`` (what Anthropic clients send) or ``Authorization:
Bearer``; it is compared in constant time (``hmac.compare_digest``), so response time
says nothing about how much of a guess was right. Binding to an address other than
loopback without a token is refused: a service that runs code on this machine must not
be open to the network.
"""

from __future__ import annotations

import hmac
import ipaddress
import socket
from collections.abc import Mapping


class BindRefused(ValueError):
    """A non-loopback bind without a token."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) only reaches this machine."""
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


def check_bind(host: str, token: str | None) -> None:
    """Raise :class:`BindRefused` for a non-loopback ``host`` without a token."""
    if not token and not is_loopback(host):
        raise BindRefused(f"refusing to listen on {host} without a token: anyone who can reach "
                          "it could use the service. Pass --token (or bind to 127.0.0.1).")


def presented_token(headers: Mapping[str, str]) -> str | None:
    """The token a request carries (``x-api-key``, else ``Authorization: Bearer``);
    ``headers`` may be Starlette's case-insensitive headers."""
    get = headers.get
    key = get("x-api-key")
    if key:
        return str(key)
    auth = str(get("authorization") or "")
    scheme, _, value = auth.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def token_ok(expected: str | None, presented: str | None) -> bool:
    """True when no token is required, or the presented one matches (constant time)."""
    if not expected:
        return True
    if presented is None:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), presented.encode("utf-8"))
