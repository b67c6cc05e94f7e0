"""MCP servers from configuration: Claude Code's ``.mcp.json`` format, ``${VAR}`` and
``${VAR:-default}`` expansion, the Python argument, and clear errors for bad configs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from claude_like.mcp import HttpServer, McpConfigError, StdioServer, load_mcp_servers
from claude_like.mcp.config import parse_servers

ENV = {"TOKEN": "t0k", "HOME_DIR": "/home/me"}


def parse(servers: dict, environ: dict | None = None) -> dict:
    return parse_servers({"mcpServers": servers}, source="test", environ=ENV if environ is None
                         else environ)


def test_stdio_and_remote_servers_in_claude_codes_format():
    found = parse({
        "files": {"command": "npx", "args": ["-y", "srv"], "env": {"K": "v"}},
        "typed": {"type": "stdio", "command": "uvx", "unknown_key": 1},
        "web": {"type": "http", "url": "https://h/mcp", "headers": {"X": "1"}},
        "alias": {"type": "streamable-http", "url": "https://h/mcp"},
        "old": {"type": "sse", "url": "https://h/sse"},
    })
    assert found["files"] == StdioServer("files", "npx", ("-y", "srv"), {"K": "v"})
    assert found["typed"] == StdioServer("typed", "uvx")
    assert found["web"] == HttpServer("web", "https://h/mcp", "http", {"X": "1"})
    assert found["alias"].transport == "http"
    assert found["old"].transport == "sse"


def test_variables_expand_in_command_args_env_url_and_headers():
    found = parse({
        "s": {"command": "${HOME_DIR}/bin/srv", "args": ["--token=${TOKEN}", "${MODE:-fast}"],
              "env": {"KEY": "${TOKEN}", "EMPTY": "${NOPE:-}", "LITERAL": "$TOKEN"}},
        "h": {"type": "http", "url": "https://${HOST:-example.org}/mcp",
              "headers": {"Authorization": "Bearer ${TOKEN}"}},
    })
    assert found["s"].command == "/home/me/bin/srv"
    assert found["s"].args == ("--token=t0k", "fast")
    assert found["s"].env == {"KEY": "t0k", "EMPTY": "", "LITERAL": "$TOKEN"}
    assert found["h"].url == "https://example.org/mcp"
    assert found["h"].headers == {"Authorization": "Bearer t0k"}


def test_a_set_variable_wins_over_its_default():
    assert parse({"s": {"command": "${CMD:-default}"}}, {"CMD": "set"})["s"].command == "set"


def test_an_unset_variable_without_default_is_an_error_naming_it():
    with pytest.raises(McpConfigError, match=r"test: MCP server 's'.*MISSING is not set"):
        parse({"s": {"command": "srv", "env": {"K": "${MISSING}"}}})


@pytest.mark.parametrize(("entry", "message"), [
    ({"args": ["x"]}, "command: Field required"),
    ({"command": "srv", "args": "not a list"}, "args: Input should be a valid list"),
    ({"url": "https://h/mcp"}, "has a url but no type"),
    ({"type": "ws", "url": "ws://h"}, "type 'ws' is not supported"),
    ({"type": "http"}, "url: Field required"),
    ("npx srv", "expected an object"),
])
def test_a_bad_server_entry_is_an_error_naming_the_server(entry, message):
    with pytest.raises(McpConfigError, match=f"MCP server 'bad'.*{message}"):
        parse({"bad": entry})


def test_the_workspace_file_is_read_and_stdio_servers_start_in_the_workspace(tmp_path: Path):
    (tmp_path / ".mcp.json").write_text(json.dumps(
        {"mcpServers": {"a": {"command": "srv-a"}, "b": {"command": "srv-b"}}}))
    found = load_mcp_servers(workspace=tmp_path, servers={"b": {"command": "mine"}},
                             environ={})
    assert found["a"] == StdioServer("a", "srv-a", cwd=str(tmp_path.resolve()))
    assert found["b"].command == "mine"  # the argument wins on equal names


def test_the_argument_may_be_wrapped_or_bare_or_a_path(tmp_path: Path):
    wrapped = load_mcp_servers(servers={"mcpServers": {"a": {"command": "x"}}})
    bare = load_mcp_servers(servers={"a": {"command": "x"}})
    path = tmp_path / "servers.json"
    path.write_text(json.dumps({"mcpServers": {"a": {"command": "x"}}}))
    assert wrapped == bare == load_mcp_servers(servers=path) == load_mcp_servers(
        servers=str(path))


def test_no_file_and_no_argument_is_no_server(tmp_path: Path):
    assert load_mcp_servers(workspace=tmp_path) == {}
    (tmp_path / ".mcp.json").write_text("{}")
    assert load_mcp_servers(workspace=tmp_path) == {}


def test_a_malformed_file_is_an_error_naming_it(tmp_path: Path):
    config = tmp_path / ".mcp.json"
    config.write_text('{"mcpServers": {"a": {"command": "x",}}}')
    with pytest.raises(McpConfigError, match=r"\.mcp\.json: not valid JSON \(line 1"):
        load_mcp_servers(workspace=tmp_path)
    config.write_text('["not", "an", "object"]')
    with pytest.raises(McpConfigError, match=r"\.mcp\.json: expected a JSON object"):
        load_mcp_servers(workspace=tmp_path)
    config.write_text('{"mcpServers": ["a"]}')
    with pytest.raises(McpConfigError, match=r"\.mcp\.json: \"mcpServers\" must be an object"):
        load_mcp_servers(workspace=tmp_path)
    with pytest.raises(McpConfigError, match=r"missing\.json: cannot read"):
        load_mcp_servers(servers=tmp_path / "missing.json")
