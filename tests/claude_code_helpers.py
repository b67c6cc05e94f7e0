"""What the Claude Code tests share: the real CLI (never skipped in CI), our gateway on a
real uvicorn server, and the CLI run offline against it.

The CLI comes from ``find_claude_cli()`` (``$CLAUDE_LIKE_CLAUDE_CLI``, the binary bundled in
``claude-agent-sdk`` from the test extra, or ``claude`` on PATH). Every run gets a fresh
``HOME`` so that no user's login, settings or sessions take part.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from langchain_core.language_models import BaseChatModel

from claude_like.gateway.app import create_app
from claude_like.models.claude_cli import CLI_ENV, find_claude_cli, offline_env

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
#: Window the scripted backends claim: Claude Code's default request is ~12,000 tokens.
SCRIPTED_WINDOW = 200_000
CLI_TIMEOUT = 180


def need(ok: object, reason: str) -> None:
    """Skip on a developer's machine, FAIL in CI: these tests must run there."""
    if ok:
        return
    hint = (f"install the test extra (pip install -e '.[test]': claude-agent-sdk bundles "
            f"the CLI) or set ${CLI_ENV}")
    if IN_CI:
        pytest.fail(f"{reason}; {hint}", pytrace=False)
    pytest.skip(f"{reason}; {hint}")


def claude_cli() -> str:
    """The Claude Code binary, checked to run on this machine."""
    found = find_claude_cli()
    need(found, "the Claude Code CLI was not found")
    assert found is not None
    return found


@contextmanager
def gateway(model: BaseChatModel, **app_options: Any) -> Iterator[str]:
    """``create_app(model, **app_options)`` on a real server; yields its URL."""
    with serve(create_app(model, **app_options)) as url:
        yield url


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """An ASGI app served by uvicorn in a thread on a free port; yields its URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, name="test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def cli_env(base_url: str, home: Path, *, api_key: str = "test-key") -> dict[str, str]:
    """The process environment for one offline CLI run against ``base_url``."""
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ANTHROPIC_", "CLAUDE_CODE_", "CLAUDECODE"))}
    env.update(offline_env(base_url, api_key=api_key, home=str(home)))
    return env


def run_claude(args: list[str], *, cwd: Path, base_url: str, home: Path,
               api_key: str = "test-key") -> subprocess.CompletedProcess[str]:
    """``claude -p ...`` in ``cwd`` against ``base_url``, permissions bypassed."""
    return subprocess.run(
        [claude_cli(), *args, "--permission-mode", "bypassPermissions"], cwd=cwd,
        env=cli_env(base_url, home, api_key=api_key), capture_output=True, text=True,
        timeout=CLI_TIMEOUT, check=False)


def stream_json(stdout: str) -> list[dict[str, Any]]:
    """The records of ``--output-format stream-json`` (one JSON object a line)."""
    return [json.loads(line) for line in stdout.splitlines() if line.strip().startswith("{")]


def tool_uses(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``tool_use`` blocks of the assistant messages of a stream-json run."""
    return [block for r in records if r.get("type") == "assistant"
            for block in r["message"]["content"] if block.get("type") == "tool_use"]
