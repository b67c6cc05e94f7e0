"""WebFetch against a real HTTP server started here (on 127.0.0.1, allowed for these tests
through ``private_allowed``): HTML to Markdown, text types, the output budget and the
prompt's paragraphs; every refusal (scheme, domain, private, loopback and metadata
addresses, redirects to them, size, time, redirect loops, HTTP errors) happening before
anything is read; DNS answers pinned; off by default; the standard LangChain suites and a
scripted agent run."""

from __future__ import annotations

import http.server
import itertools
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from langchain_tests.integration_tests import ToolsIntegrationTests
from langchain_tests.unit_tests import ToolsUnitTests

from claude_like import ClaudeLikeAgent
from claude_like.sandbox import LocalSandbox
from claude_like.testing import ScriptedChatModel, say, tool_call
from claude_like.tools import FetchPolicy, ToolContext, WebFetch, make_tools

PAGE = b"""<!doctype html><html><head><title>Widget docs</title>
<style>body { color: red }</style><script>var secret = 1;</script></head>
<body><nav><a href="/">Home</a> | <a href="/x">Menu</a></nav>
<h1>Widgets</h1><p>A widget is <b>small</b>. See <a href="/api">the API</a>.</p>
<pre><code>widget.spin(3)</code></pre><footer>Copyright</footer></body></html>"""
LONG = "".join(f"<p>Paragraph {i} talks about gardens and weather.</p>" for i in range(300))
LONG = LONG.replace("Paragraph 250 talks about gardens",
                    "Paragraph 250 explains the zebra crossing rules")
RELEASE = threading.Event()
"""Set at the end of the module, so the slow handler's thread ends with the server."""


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # a body without Content-Length ends with the connection

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, body: bytes, kind: str = "text/html; charset=utf-8", status: int = 200,
              length: bool = True, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        if length:
            self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        route = url.path
        if route == "/page":
            self._send(PAGE)
        elif route == "/long":
            self._send(f"<html><body>{LONG}</body></html>".encode())
        elif route == "/plain":
            self._send("plain text, café\n".encode(), "text/plain; charset=utf-8")
        elif route == "/json":
            self._send(b'{"a": 1}', "application/json")
        elif route == "/image":
            self._send(b"\x89PNG\r\n\x1a\n" + bytes(100), "image/png")
        elif route == "/host":
            self._send(self.headers.get("Host", "").encode(), "text/plain")
        elif route == "/big":
            self._send(b"x" * 5000, "text/plain")
        elif route == "/big-stream":
            self._send(b"y" * 5000, "text/plain", length=False)
        elif route == "/slow":  # answers after 2 s: too late for a 0.5 s limit
            RELEASE.wait(2)
            self._send(b"late", "text/plain")
        elif route == "/drip":  # a byte every 0.1 s for 10 s: no read ever waits long
            self._send(b"", "text/plain", length=False)
            for _ in range(100):
                if RELEASE.wait(0.1):
                    break
                self.wfile.write(b".")
                self.wfile.flush()
        elif route == "/redirect":
            self._send(b"", status=302, headers={"Location": query["to"]})
        elif route == "/loop":
            self._send(b"", status=302, headers={"Location": "/loop"})
        else:
            self._send(b"no such page", "text/plain", status=404)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    RELEASE.set()
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, str]]:
    """An https server on 127.0.0.1 whose certificate names only ``pin.test``, signed by
    a CA made here; yields its port and the CA file."""
    folder = tmp_path_factory.mktemp("tls")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
            "ca.pem", "-days", "2", "-subj", "/CN=claude-like test CA")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr",
            "-subj", "/CN=pin.test")
    (folder / "ext.cnf").write_text("subjectAltName=DNS:pin.test\n")
    openssl("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "srv.pem", "-days", "2", "-extfile", "ext.cnf")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "srv.pem", folder / "srv.key")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd.server_address[1], str(folder / "ca.pem")
    httpd.shutdown()
    httpd.server_close()


def fake_dns(monkeypatch: pytest.MonkeyPatch, answers: dict[str, Iterator[str]],
             port: int) -> None:
    """``getaddrinfo`` answering the names in ``answers`` (the next address each time)."""
    real = socket.getaddrinfo

    def lookup(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host in answers:
            address = next(answers[host], "10.255.255.1")  # then: a private address
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", lookup)


LOCAL = FetchPolicy(allowed_domains=("127.0.0.1",), private_allowed=("127.0.0.1",))


def fetch(url: str, policy: FetchPolicy = LOCAL, prompt: str = "",
          output_limit: int | None = None) -> ToolMessage:
    ctx = None if output_limit is None else ToolContext(LocalSandbox("."),
                                                        output_limit=output_limit)
    tool = WebFetch(policy=policy, ctx=ctx)
    args = {"url": url, "prompt": prompt} if prompt else {"url": url}
    msg = tool.invoke({"type": "tool_call", "id": "w1", "name": "WebFetch", "args": args})
    assert isinstance(msg, ToolMessage)
    return msg


def refused(url: str, policy: FetchPolicy = LOCAL) -> str:
    msg = fetch(url, policy)
    assert msg.status == "error", msg.content
    return str(msg.content)


# -- what comes back ---------------------------------------------------------------------
def test_html_becomes_markdown_without_scripts_styles_or_navigation(server: str) -> None:
    msg = fetch(f"{server}/page")
    assert msg.status == "success", msg.content
    assert msg.content == (
        f"# Widget docs\nURL: {server}/page\n\n# Widgets\n\nA widget is **small**. See "
        "[the API](/api).\n\n```\nwidget.spin(3)\n```")


def test_text_types_come_as_they_are_binary_is_refused(server: str) -> None:
    assert fetch(f"{server}/plain").content == f"URL: {server}/plain\n\nplain text, café"
    assert fetch(f"{server}/json").content.endswith('{"a": 1}')
    assert "is image/png, not text or HTML" in refused(f"{server}/image")


def test_long_page_is_cut_to_the_output_limit(server: str) -> None:
    msg = fetch(f"{server}/long", output_limit=3000)
    text = str(msg.content)
    assert msg.status == "success" and len(text) < 3000
    assert "Paragraph 0 talks" in text and "zebra" not in text
    assert "[Page cut at" in text and "Call WebFetch again with a prompt" in text


def test_prompt_keeps_the_paragraphs_that_match_it(server: str) -> None:
    msg = fetch(f"{server}/long", prompt="What are the zebra crossing rules?",
                output_limit=3000)
    text = str(msg.content)
    assert msg.status == "success" and len(text) < 3000
    assert "Paragraph 250 explains the zebra crossing rules" in text
    assert "paragraphs that best match the prompt.]" in text


def test_redirects_are_followed_within_the_policy(server: str) -> None:
    msg = fetch(f"{server}/redirect?to=/plain")
    assert msg.status == "success" and msg.content.startswith(f"URL: {server}/plain\n")


def test_host_name_is_kept_while_connecting_to_the_checked_address(server: str) -> None:
    port = server.rsplit(":", 1)[1]
    policy = FetchPolicy(allowed_domains=("localhost",), private_allowed=("127.0.0.1", "::1"))
    msg = fetch(f"http://localhost:{port}/host", policy)
    assert msg.status == "success", msg.content
    assert msg.content.endswith(f"localhost:{port}")


def test_dns_answer_is_pinned_between_check_and_connect(server: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A rebinding DNS answers the check with an allowed address and the connection with
    another; the request must go to the address that was checked."""
    port = int(server.rsplit(":", 1)[1])
    fake_dns(monkeypatch, {"rebind.test": iter(["127.0.0.1"])}, port)
    policy = FetchPolicy(allowed_domains=("rebind.test",), private_allowed=("127.0.0.1",),
                         timeout=5)
    msg = fetch(f"http://rebind.test:{port}/host", policy)
    assert msg.status == "success", msg.content
    assert msg.content.endswith(f"rebind.test:{port}")


def test_https_to_the_checked_address_still_verifies_the_host_name(
        tls_server: tuple[int, str], monkeypatch: pytest.MonkeyPatch) -> None:
    port, ca = tls_server
    fake_dns(monkeypatch, {"pin.test": itertools.repeat("127.0.0.1"),
                           "other.test": itertools.repeat("127.0.0.1")}, port)
    policy = FetchPolicy(allowed_domains=("pin.test", "other.test"),
                         private_allowed=("127.0.0.1",), ca_bundle=ca)
    msg = fetch(f"https://pin.test:{port}/host", policy)
    assert msg.status == "success", msg.content
    assert msg.content.endswith(f"pin.test:{port}")
    wrong = refused(f"https://other.test:{port}/host", policy)  # the certificate names pin.test
    assert "CERTIFICATE_VERIFY_FAILED" in wrong and "other.test" in wrong
    untrusted = refused(f"https://pin.test:{port}/host", FetchPolicy(
        allowed_domains=("pin.test",), private_allowed=("127.0.0.1",)))
    assert "CERTIFICATE_VERIFY_FAILED" in untrusted  # the test CA is not trusted by default


# -- refusals ----------------------------------------------------------------------------
@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://a/"])
def test_only_http_and_https(url: str) -> None:
    assert "Only http and https URLs can be fetched" in refused(url)


def test_domain_not_on_the_allow_list_is_refused_before_any_lookup() -> None:
    text = refused("https://example.com/", FetchPolicy(allowed_domains=("python.org",)))
    assert text == "example.com is not an allowed domain for WebFetch (allowed: python.org)."
    policy = FetchPolicy(allowed_domains=("python.org",))
    assert policy.domain_allowed("docs.python.org") and policy.domain_allowed("PYTHON.org.")
    assert not policy.domain_allowed("notpython.org")
    assert not policy.domain_allowed("python.org.evil.com")


@pytest.mark.parametrize("host, kind", [
    ("10.1.2.3", "a private"), ("192.168.0.10", "a private"), ("127.0.0.1", "a loopback"),
    ("169.254.169.254", "a link-local (cloud metadata)"), ("[::1]", "a loopback"),
    ("[::ffff:127.0.0.1]", "a loopback"), ("0.0.0.0", "an unspecified"),
    ("100.100.100.200", "a reserved"), ("[fd00:ec2::254]", "a private"),
])
def test_non_public_addresses_are_refused(host: str, kind: str) -> None:
    bare = host.strip("[]")
    text = refused(f"http://{host}/latest/meta-data/", FetchPolicy(allowed_domains=(bare,)))
    assert f"{bare} is {kind} address. WebFetch may not reach" in text


def test_a_name_resolving_to_loopback_is_refused(server: str) -> None:
    port = server.rsplit(":", 1)[1]
    text = refused(f"http://localhost:{port}/plain", FetchPolicy(allowed_domains=("localhost",)))
    assert "localhost resolves to" in text and "a loopback address" in text


def test_redirect_to_a_private_address_is_refused(server: str) -> None:
    policy = FetchPolicy(allowed_domains=("127.0.0.1", "169.254.169.254"),
                         private_allowed=("127.0.0.1",))
    text = refused(f"{server}/redirect?to=http://169.254.169.254/latest/meta-data/", policy)
    assert "169.254.169.254 is a link-local (cloud metadata) address" in text


def test_redirect_to_another_domain_is_refused(server: str) -> None:
    text = refused(f"{server}/redirect?to=https://evil.example/steal")
    assert text == "evil.example is not an allowed domain for WebFetch (allowed: 127.0.0.1)."


def test_redirect_loop_stops(server: str) -> None:
    assert "redirects more than 5 times" in refused(f"{server}/loop")


@pytest.mark.parametrize("route", ["big", "big-stream"])
def test_too_big_is_refused(server: str, route: str) -> None:
    policy = FetchPolicy(allowed_domains=("127.0.0.1",), private_allowed=("127.0.0.1",),
                         max_bytes=1000)
    text = refused(f"{server}/{route}", policy)
    assert text == f"{server}/{route} is larger than 1,000 bytes (WebFetch's size limit); " \
        "it was not read."


def test_too_slow_is_stopped(server: str) -> None:
    policy = FetchPolicy(allowed_domains=("127.0.0.1",), private_allowed=("127.0.0.1",),
                         timeout=0.5)
    assert refused(f"{server}/slow", policy) == f"{server}/slow did not answer within 0.5 s."


def test_slow_drip_is_stopped_at_the_deadline(server: str) -> None:
    policy = FetchPolicy(allowed_domains=("127.0.0.1",), private_allowed=("127.0.0.1",),
                         timeout=0.5)
    assert refused(f"{server}/drip", policy) == \
        f"{server}/drip took longer than 0.5 s to send; stopped."


def test_http_error_is_a_tool_error(server: str) -> None:
    assert refused(f"{server}/missing") == f"{server}/missing answered HTTP 404 Not Found."


# -- off by default ------------------------------------------------------------------------
def test_off_by_default(tmp_path: Any) -> None:
    ctx = ToolContext(LocalSandbox(tmp_path))
    assert "WebFetch" not in {t.name for t in make_tools(ctx)}
    with pytest.raises(ValueError, match="WebFetch is off by default"):
        make_tools(ctx, extra=("WebFetch",))
    text = refused("https://example.com/", FetchPolicy())
    assert text.startswith("WebFetch is not enabled here")
    assert WebFetch().invoke({"type": "tool_call", "id": "1", "name": "WebFetch",
                              "args": {"url": "https://x.org"}}).status == "error"
    on = ToolContext(LocalSandbox(tmp_path), web=FetchPolicy(allowed_domains=("python.org",)))
    web = {t.name: t for t in make_tools(on, extra=("WebFetch",))}["WebFetch"]
    assert web.description.endswith("Allowed domains: python.org.")
    with pytest.raises(ValueError):
        FetchPolicy(private_allowed=("not-a-network",))


# -- the agent -----------------------------------------------------------------------------
def test_scripted_agent_fetches_a_page(server: str, tmp_path: Any) -> None:
    model = ScriptedChatModel(script=[
        say("", tool_call("WebFetch", {"url": f"{server}/page", "prompt": "widgets"})),
        say("A widget is small."),
    ])
    with ClaudeLikeAgent(model, workspace=tmp_path, extra_tools=[WebFetch(policy=LOCAL)],
                         permission_mode="bypassPermissions", persist=False) as agent:
        result = agent.run("What is a widget?")
    assert result.stop_reason == "done" and result.text == "A widget is small."
    (fetched,) = [m for m in result.messages if isinstance(m, ToolMessage)]
    assert fetched.status == "success" and "A widget is **small**." in fetched.content


# -- LangChain's standard suites -------------------------------------------------------------
_SUITE_SERVER: dict[str, str] = {}


class _Setup:
    @pytest.fixture(autouse=True)
    def _server(self, server: str) -> None:
        _SUITE_SERVER["url"] = server

    @property
    def tool_constructor(self) -> type[BaseTool]:
        return WebFetch

    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return {"policy": LOCAL}

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"url": f"{_SUITE_SERVER.get('url', 'http://127.0.0.1:9')}/page",
                "prompt": "widgets"}


class TestWebFetchUnit(_Setup, ToolsUnitTests):
    pass


class TestWebFetchIntegration(_Setup, ToolsIntegrationTests):
    def test_example_call_succeeds(self, tool: BaseTool) -> None:
        msg = tool.invoke({"type": "tool_call", "id": "1", "name": tool.name,
                           "args": self.tool_invoke_params_example})
        assert msg.status == "success" and "# Widgets" in msg.content
