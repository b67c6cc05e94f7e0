"""Where the Claude Code CLI is, what to install when it is not, and what its errors mean.

Shared by the ``claude-code:`` backend and by whatever runs the real CLI (tests, CI, the
gateway's users). No import of ``claude_agent_sdk`` here: locating its bundled binary must
not cost the SDK's import, and must work to say what to install when it is absent.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

from claude_like.models.base import ModelUnavailableError

#: Environment variable naming the ``claude`` binary to use (wins over the others).
CLI_ENV = "CLAUDE_LIKE_CLAUDE_CLI"
INSTALL_HINT = (
    'pip install "claude-like[claude-code]" (claude-agent-sdk bundles the Claude Code CLI), '
    "or npm install -g @anthropic-ai/claude-code, or set CLAUDE_LIKE_CLAUDE_CLI to the binary"
)
LOGIN_HINT = "run `claude login` or set ANTHROPIC_API_KEY"

#: What the CLI says when it has no credentials or the server refused them (2.1.x).
AUTH_MARKERS = ("not logged in", "invalid api key", "please run /login",
                "authentication_error", "authentication_failed")


class ClaudeCodeError(RuntimeError):
    """Claude Code ended its run with an error (API error, turn limit, CLI failure)."""

    def __init__(self, message: str, *, subtype: str | None = None,
                 session_id: str | None = None, status: int | None = None) -> None:
        self.subtype = subtype
        self.session_id = session_id
        self.status = status
        super().__init__(message)


class ClaudeCodeAuthError(ModelUnavailableError):
    """Claude Code has no usable credentials: not logged in, no key, or a refused key."""

    def __init__(self, cli_said: str) -> None:
        self.cli_said = cli_said
        super().__init__(f"Claude Code could not authenticate: {cli_said.strip()}",
                         hint=LOGIN_HINT)


def bundled_cli() -> Path | None:
    """The binary that ``claude-agent-sdk`` bundles, when that package is installed."""
    spec = importlib.util.find_spec("claude_agent_sdk")
    if spec is None or not spec.submodule_search_locations:
        return None
    name = "claude.exe" if os.name == "nt" else "claude"
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "_bundled" / name
        if path.is_file():
            return path
    return None


def find_claude_cli() -> str | None:
    """The Claude Code CLI to run: ``$CLAUDE_LIKE_CLAUDE_CLI``, else the SDK's bundled
    binary, else ``claude`` on PATH; None when there is none (an override that names no
    executable counts as none, so the error says so instead of running something else)."""
    override = os.environ.get(CLI_ENV, "").strip()
    if override:
        return shutil.which(override) or (override if Path(override).is_file() else None)
    bundled = bundled_cli()
    if bundled is not None:
        return str(bundled)
    return shutil.which("claude")


def require_claude_cli(cli_path: str | os.PathLike[str] | None = None) -> str:
    """``cli_path`` if it exists, else :func:`find_claude_cli`; raises naming what to install."""
    if cli_path is not None:
        found = shutil.which(str(cli_path)) or (str(cli_path) if Path(cli_path).is_file()
                                                 else None)
        if found is None:
            raise ModelUnavailableError(f"Claude Code CLI not found at {cli_path}",
                                        hint=INSTALL_HINT)
        return found
    found = find_claude_cli()
    if found is None:
        override = os.environ.get(CLI_ENV, "").strip()
        where = f"${CLI_ENV}={override!r} is not an executable" if override else (
            "no claude-agent-sdk bundle and no `claude` on PATH")
        raise ModelUnavailableError(f"Claude Code CLI not found ({where})", hint=INSTALL_HINT)
    return found


def is_auth_failure(text: str | None, *, status: int | None = None,
                    error: str | None = None) -> bool:
    """Whether the CLI's error (its text, HTTP status or error kind) is about credentials."""
    if error == "authentication_failed" or status in (401, 403):
        return True
    low = (text or "").lower()
    return any(marker in low for marker in AUTH_MARKERS)


def offline_env(base_url: str, *, api_key: str = "claude-like", home: str | None = None,
                bare_sandbox: bool = True) -> dict[str, str]:
    """Environment that points the CLI at an Anthropic-compatible server (our gateway)
    and keeps it from any other traffic: no telemetry, no update checks, one retry.
    ``home`` isolates its settings and sessions; ``bare_sandbox`` sets ``IS_SANDBOX=1``,
    which the CLI needs to bypass permissions as root."""
    env = {
        "ANTHROPIC_BASE_URL": base_url.rstrip("/"),
        "ANTHROPIC_API_KEY": api_key,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_MAX_RETRIES": "1",
    }
    if home is not None:
        env["HOME"] = home
    if bare_sandbox:
        env["IS_SANDBOX"] = "1"
    return env
