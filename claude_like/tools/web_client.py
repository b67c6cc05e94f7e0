"""One guarded HTTP GET for WebFetch, on the host, with httpx.

Each hop (the URL, then every redirect) is checked before any connection: http or https,
a host on the allow-list, and every address the host resolves to allowed by the policy.
The request then goes to the checked address itself (the ``Host`` header and, for https,
the TLS server name and certificate check keep the host name), so DNS cannot answer with
another address between the check and the connection. The body is read as a stream and
given up past ``max_bytes``; the whole fetch has one deadline. Proxies from the
environment are not used (they would connect elsewhere).
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx

from claude_like.tools.web_policy import FetchPolicy, IPAddress

_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class FetchError(Exception):
    """The fetch was refused or failed; the message says why, for the model."""


@dataclass(frozen=True)
class Fetched:
    url: str
    """The final URL, after redirects."""
    status: int
    content_type: str
    charset: str | None
    data: bytes


def fetch(url: str, policy: FetchPolicy) -> Fetched:
    """GET ``url`` within ``policy``; :class:`FetchError` for anything refused or failed."""
    deadline = time.monotonic() + policy.timeout
    current = url.strip()
    verify = ssl.create_default_context(cafile=policy.ca_bundle) if policy.ca_bundle else True
    with httpx.Client(follow_redirects=False, trust_env=False, verify=verify) as client:
        for _ in range(policy.max_redirects + 1):
            target, address = check_url(current, policy)
            response = _get(client, target, address, policy, deadline)
            if isinstance(response, str):  # a redirect: check the next hop the same way
                current = urljoin(current, response)
                continue
            return response
    raise FetchError(f"{url} redirects more than {policy.max_redirects} times; not followed.")


def check_url(url: str, policy: FetchPolicy) -> tuple[httpx.URL, IPAddress]:
    """The parsed URL and the checked address to connect to, or FetchError."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise FetchError(f"{url!r} is not a valid URL ({exc}).") from exc
    if parsed.scheme not in ("http", "https"):
        shown = parsed.scheme or "no scheme"
        raise FetchError(f"Only http and https URLs can be fetched ({url} has {shown}).")
    host = parsed.host
    if not host:
        raise FetchError(f"{url} names no host.")
    if not policy.domain_allowed(host):
        allowed = ", ".join(policy.allowed_domains) or "none"
        raise FetchError(f"{host} is not an allowed domain for WebFetch (allowed: {allowed}).")
    addresses = _resolve(host, parsed.port or (443 if parsed.scheme == "https" else 80))
    for address in addresses:
        refusal = policy.address_refusal(address)
        if refusal is not None:
            literal = len(addresses) == 1 and _is_literal(host)
            where = f"{host} is" if literal else f"{host} resolves to {address},"
            raise FetchError(f"{url} was refused: {where} {refusal}. WebFetch may not reach "
                             "the host's own services, the local network or cloud metadata.")
    return parsed, addresses[0]


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"Cannot resolve {host}: {exc}.") from exc
    # Scope ids ("fe80::1%eth0") are dropped: the address itself is what is judged.
    found = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not found:
        raise FetchError(f"Cannot resolve {host}: no address.")
    return list(dict.fromkeys(found))


def _get(client: httpx.Client, url: httpx.URL, address: IPAddress, policy: FetchPolicy,
         deadline: float) -> Fetched | str:
    """The response, or the redirect's Location."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise FetchError(f"The fetch took longer than {policy.timeout:g} s and was stopped.")
    pinned = url.copy_with(host=str(address))
    host_header = url.netloc.decode("ascii")
    extensions = {"sni_hostname": url.host} if url.scheme == "https" else {}
    headers = {"Host": host_header, "User-Agent": policy.user_agent,
               "Accept": "text/html, text/markdown, text/plain, */*;q=0.5"}
    try:
        with client.stream("GET", pinned, headers=headers, extensions=extensions,
                           timeout=httpx.Timeout(remaining)) as response:
            if response.status_code in _REDIRECTS and "location" in response.headers:
                return response.headers["location"]
            if response.status_code >= 400:
                raise FetchError(f"{url} answered HTTP {response.status_code} "
                                 f"{response.reason_phrase}.")
            data = _read_body(response, url, policy, deadline)
            return Fetched(str(url), response.status_code,
                           response.headers.get("content-type", "").split(";")[0].strip(),
                           response.charset_encoding, data)
    except httpx.TimeoutException as exc:
        raise FetchError(f"{url} did not answer within {policy.timeout:g} s.") from exc
    except httpx.HTTPError as exc:
        raise FetchError(f"Cannot fetch {url}: {type(exc).__name__}: {exc}.") from exc


def _read_body(response: httpx.Response, url: httpx.URL, policy: FetchPolicy,
               deadline: float) -> bytes:
    too_big = FetchError(f"{url} is larger than {policy.max_bytes:,} bytes (WebFetch's size "
                         "limit); it was not read.")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > policy.max_bytes:
        raise too_big
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > policy.max_bytes:
            raise too_big
        if time.monotonic() > deadline:
            raise FetchError(f"{url} took longer than {policy.timeout:g} s to send; stopped.")
        chunks.append(chunk)
    return b"".join(chunks)
