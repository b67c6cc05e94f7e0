"""MCP servers from configuration: a ``.mcp.json`` in Claude Code's format and a Python dict.

The format (Claude Code's project file)::

    {"mcpServers": {
        "files": {"command": "npx", "args": ["-y", "some-server"], "env": {"KEY": "${KEY}"}},
        "search": {"type": "http", "url": "https://host/mcp",
                   "headers": {"Authorization": "Bearer ${TOKEN:-none}"}}}}

``type`` is ``stdio`` (the default), ``http`` (streamable HTTP; ``streamable-http`` is
accepted too) or ``sse``. As in Claude Code, ``${VAR}`` and ``${VAR:-default}`` are
expanded in ``command``, ``args``, ``env``, ``url`` and ``headers``; a variable that is not
set and has no default is an error (Claude Code fails to parse such a config too). Any
mistake raises :class:`McpConfigError` naming the file (or argument) and the server.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

MCP_CONFIG_FILE = ".mcp.json"
"""The project file Claude Code reads MCP servers from, at the workspace's top."""

PYTHON_SOURCE = "the mcp_servers argument"
"""How errors name servers given as a Python dict."""

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
"""``${VAR}`` or ``${VAR:-default}``; other ``$`` forms stay as they are."""

_HTTP_TYPES = {"http": "http", "streamable-http": "http", "streamable_http": "http",
               "sse": "sse"}


class McpConfigError(ValueError):
    """An MCP configuration that cannot be used; the message names where and why."""


@dataclass(frozen=True)
class StdioServer:
    """A server the agent starts as a local process and talks to over stdin/stdout."""

    name: str
    command: str
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    """Added to the agent's own environment (Claude Code passes its environment on too)."""
    cwd: str | None = None
    """The folder the process starts in: the workspace (host path) when known."""


@dataclass(frozen=True)
class HttpServer:
    """A server the agent connects to: streamable HTTP (``http``) or the older ``sse``."""

    name: str
    url: str
    transport: Literal["http", "sse"] = "http"
    headers: Mapping[str, str] = field(default_factory=dict)


McpServer = StdioServer | HttpServer


class _Stdio(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Literal["stdio"] = "stdio"
    command: str = Field(min_length=1)
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)


class _Remote(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: str
    url: str = Field(min_length=1)
    headers: dict[str, str] = Field(default_factory=dict)


def expand(text: str, environ: Mapping[str, str], where: str) -> str:
    """``text`` with ``${VAR}`` and ``${VAR:-default}`` replaced from ``environ``."""

    def value(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        if name in environ:
            return environ[name]
        if default is not None:
            return default
        raise McpConfigError(f"{where}: environment variable {name} is not set and "
                             f"${{{name}}} has no default (write ${{{name}:-default}})")

    return _VAR.sub(value, text)


def _fields(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'entry'}: {e['msg']}"
                     for e in exc.errors())


def parse_server(name: str, entry: Any, *, source: str, environ: Mapping[str, str],
                 cwd: str | None = None) -> McpServer:
    """One ``mcpServers`` entry as a server, its variables expanded."""
    where = f"{source}: MCP server {name!r}"
    if not isinstance(entry, Mapping):
        raise McpConfigError(f"{where}: expected an object, got {type(entry).__name__}")
    kind = entry.get("type", "stdio")
    try:
        if kind == "stdio":
            if "command" not in entry and "url" in entry:
                raise McpConfigError(f"{where}: has a url but no type; add \"type\": \"http\" "
                                     "(or \"sse\")")
            stdio = _Stdio.model_validate(entry)
            return StdioServer(
                name, expand(stdio.command, environ, where),
                tuple(expand(a, environ, where) for a in stdio.args),
                {k: expand(v, environ, where) for k, v in stdio.env.items()}, cwd)
        if kind in _HTTP_TYPES:
            remote = _Remote.model_validate(entry)
            headers = {k: expand(v, environ, where) for k, v in remote.headers.items()}
            return HttpServer(name, expand(remote.url, environ, where),
                              _HTTP_TYPES[kind], headers)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise McpConfigError(f"{where}: {_fields(exc)}") from None
    raise McpConfigError(f"{where}: type {kind!r} is not supported (use stdio, http or sse)")


def parse_servers(data: Any, *, source: str, environ: Mapping[str, str] | None = None,
                  cwd: str | None = None, bare: bool = False) -> dict[str, McpServer]:
    """The servers of a config: ``{"mcpServers": {...}}`` (with ``bare``, the inner mapping
    alone is accepted too)."""
    if not isinstance(data, Mapping):
        raise McpConfigError(f"{source}: expected a JSON object with \"mcpServers\", got "
                             f"{type(data).__name__}")
    servers = data if bare and "mcpServers" not in data else data.get("mcpServers", {})
    if not isinstance(servers, Mapping):
        raise McpConfigError(f"{source}: \"mcpServers\" must be an object of servers by name")
    env = os.environ if environ is None else environ
    return {str(name): parse_server(str(name), entry, source=source, environ=env, cwd=cwd)
            for name, entry in servers.items()}


def read_config_file(path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None,
                     cwd: str | None = None) -> dict[str, McpServer]:
    """The servers of one JSON file in Claude Code's format."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise McpConfigError(f"{path}: cannot read the MCP config: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise McpConfigError(f"{path}: not valid JSON (line {exc.lineno}, column "
                             f"{exc.colno}: {exc.msg})") from None
    return parse_servers(data, source=str(path), environ=environ, cwd=cwd)


def load_mcp_servers(*, workspace: str | os.PathLike[str] | None = None,
                     servers: Mapping[str, Any] | str | os.PathLike[str] | None = None,
                     environ: Mapping[str, str] | None = None) -> dict[str, McpServer]:
    """The servers of ``<workspace>/.mcp.json`` (when there is one) and of ``servers`` (a
    dict in the same format, or the path of such a file), which win on equal names.

    Stdio servers start in the workspace (a host path: MCP servers run on the host, not in
    the sandbox)."""
    cwd = str(Path(workspace).resolve()) if workspace is not None else None
    found: dict[str, McpServer] = {}
    if cwd is not None and (Path(cwd) / MCP_CONFIG_FILE).is_file():
        found.update(read_config_file(Path(cwd) / MCP_CONFIG_FILE, environ=environ, cwd=cwd))
    if isinstance(servers, str | os.PathLike):
        found.update(read_config_file(servers, environ=environ, cwd=cwd))
    elif servers is not None:
        found.update(parse_servers(servers, source=PYTHON_SOURCE, environ=environ, cwd=cwd,
                                   bare=True))
    return found
