"""What WebFetch may reach: an allow-list of domains, public addresses only (unless some
private ones are allowed), and limits on size, time and redirects.

The sandbox keeps no network, so WebFetch fetches on the host, where a URL could reach
the host's own services, the local network or a cloud metadata endpoint. Every address a
host name resolves to is checked, and the request then goes to the checked address (see
:mod:`claude_like.tools.web_client`), so a second DNS answer cannot swap in another one.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class FetchPolicy:
    """``FetchPolicy(allowed_domains=("docs.python.org",))``: WebFetch is off without one."""

    allowed_domains: tuple[str, ...] = ()
    """Host names the tool may fetch; ``python.org`` covers its subdomains, ``*`` any
    public host. Redirects are checked against it too."""
    private_allowed: tuple[str, ...] = ()
    """Non-public addresses that may be reached anyway: addresses or networks
    (``127.0.0.1``, ``10.0.0.0/8``), ``*`` for all. Empty: public addresses only."""
    max_bytes: int = 2_000_000
    """A response body larger than this (after decompression) is refused."""
    timeout: float = 20.0
    """Seconds for the whole fetch, redirects included."""
    max_redirects: int = 5
    user_agent: str = "claude-like-webfetch/0.1"
    ca_bundle: str | None = None
    """A PEM file of CA certificates to trust instead of the default ones (``certifi``),
    e.g. a company's TLS-inspecting proxy's CA."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "allowed_domains",
                           tuple(d.strip().lower().rstrip(".") for d in self.allowed_domains))
        for entry in self.private_allowed:
            if entry != "*":
                ipaddress.ip_network(entry, strict=False)  # ValueError for a typo, now

    def domain_allowed(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return any(d == "*" or host == d or host.endswith("." + d)
                   for d in self.allowed_domains)

    def address_refusal(self, address: IPAddress) -> str | None:
        """Why ``address`` may not be reached (``"a loopback address"``), or None."""
        kind = non_public_kind(address)
        if kind is None or self._private_ok(address):
            return None
        return f"{kind} address"

    def _private_ok(self, address: IPAddress) -> bool:
        return any(entry == "*" or address in ipaddress.ip_network(entry, strict=False)
                   for entry in self.private_allowed)


def non_public_kind(address: IPAddress) -> str | None:
    """``"a loopback"``, ``"a private"``, ... or None for a public (global) address. IPv6
    forms that carry an IPv4 address (mapped, 6to4, Teredo) are judged by that address."""
    if isinstance(address, ipaddress.IPv6Address):
        teredo = address.teredo
        for inner in (address.ipv4_mapped, address.sixtofour, teredo[1] if teredo else None):
            if inner is not None:
                kind = non_public_kind(inner)
                if kind is not None:
                    return kind
    if address.is_loopback:
        return "a loopback"
    if address.is_link_local:
        return "a link-local (cloud metadata)"
    if address.is_multicast:
        return "a multicast"
    if address.is_unspecified:
        return "an unspecified"
    if address.is_private:
        return "a private"
    if not address.is_global:
        return "a reserved"
    return None
