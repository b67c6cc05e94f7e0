"""MCP tools over stdio against the real echo server (the ``mcp`` package's FastMCP):
names and schemas, real results in the sync and async paths, one process per server,
failures as error results, restart after a crash, and no process left after close."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import ToolMessage
from mcp_helpers import ECHO_SERVER, children, stdio_servers

from claude_like.mcp import McpServerError, McpTool, McpTools


@pytest.fixture
def mcp() -> Iterator[McpTools]:
    with McpTools.open(servers=stdio_servers()) as tools:
        yield tools


def call(mcp: McpTools, tool_name: str, /, **args: Any) -> ToolMessage:
    tool = next(t for t in mcp.tools if t.name == tool_name)
    return tool.invoke({"name": tool_name, "args": args, "id": "c1", "type": "tool_call"})


async def acall(mcp: McpTools, tool_name: str, /, **args: Any) -> ToolMessage:
    tool = next(t for t in mcp.tools if t.name == tool_name)
    return await tool.ainvoke({"name": tool_name, "args": args, "id": "c1", "type": "tool_call"})


def test_tools_appear_with_namespaced_names_and_the_servers_schemas(mcp: McpTools):
    names = [t.name for t in mcp.tools]
    assert names == ["mcp__srv__add", "mcp__srv__echo", "mcp__srv__fail", "mcp__srv__crash",
                     "mcp__srv__pid", "mcp__srv__env", "mcp__srv__cwd", "mcp__srv__sleep"]
    add = mcp.tools[0]
    assert isinstance(add, McpTool) and add.remote_name == "add" and add.server == "srv"
    assert add.description == "Add two integers."
    schema = add.tool_call_schema
    assert schema["required"] == ["a", "b"]
    assert {k: v["type"] for k, v in schema["properties"].items()} == {"a": "integer",
                                                                       "b": "integer"}
    assert add.read_only is False  # MCP calls go through permissions as writes
    assert mcp.failures == {}


def test_a_call_returns_the_real_result_in_the_sync_and_the_async_path(mcp: McpTools):
    result = call(mcp, "mcp__srv__add", a=2, b=3)
    assert (result.content, result.status) == ("5", "success")
    assert call(mcp, "mcp__srv__echo", text="hi there").content == "hi there"

    import asyncio
    assert asyncio.run(acall(mcp, "mcp__srv__add", a=40, b=2)).content == "42"


def test_calls_share_one_held_session_and_one_server_process(mcp: McpTools):
    first = call(mcp, "mcp__srv__pid").content
    assert call(mcp, "mcp__srv__pid").content == first
    assert int(first) in children()


def test_a_tool_error_and_bad_arguments_are_error_results(mcp: McpTools):
    failed = call(mcp, "mcp__srv__fail", message="the disk is full")
    assert failed.status == "error"
    assert "the disk is full" in failed.content
    bad = call(mcp, "mcp__srv__add", a="x", b=1)
    assert bad.status == "error" and "valid integer" in bad.content
    assert call(mcp, "mcp__srv__add", a=1, b=1).content == "2"  # the session goes on


def test_a_crash_mid_call_is_an_error_result_and_the_next_call_restarts_the_server(
        mcp: McpTools):
    before = int(call(mcp, "mcp__srv__pid").content)
    crashed = call(mcp, "mcp__srv__crash")
    assert crashed.status == "error"
    assert "MCP server 'srv' closed the connection during the call" in crashed.content
    after = call(mcp, "mcp__srv__pid")
    assert after.status == "success" and int(after.content) != before
    assert before not in children()


def test_a_call_that_takes_too_long_is_an_error_result():
    with McpTools.open(servers=stdio_servers(), tool_timeout=0.5) as mcp:
        slow = call(mcp, "mcp__srv__sleep", seconds=60)
    assert slow.status == "error"
    assert "mcp__srv__sleep" not in slow.content
    assert "sleep on MCP server 'srv' did not finish within 0.5 s" in slow.content


def test_output_is_made_visible_and_cut_to_the_output_limit():
    with McpTools.open(servers=stdio_servers(), output_limit=300) as mcp:
        out = call(mcp, "mcp__srv__echo", text="\x1b]0;title\x07" + "x" * 5000 + "END").content
    assert "\x1b" not in out and "\\x1b]0;title\\x07" in out
    assert out.endswith("END") and "characters (0 lines) omitted" in out
    assert len(out) < 600


def test_env_with_variables_and_the_workspace_reach_the_stdio_server(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CL_TEST_SECRET", "s3cret")
    config = stdio_servers(env={"GREETING": "${CL_TEST_SECRET}-${CL_UNSET:-dflt}"})
    with McpTools.open(workspace=tmp_path, servers=config) as mcp:
        assert call(mcp, "mcp__srv__env", name="GREETING").content == "s3cret-dflt"
        assert call(mcp, "mcp__srv__env", name="CL_TEST_SECRET").content == "s3cret"
        assert call(mcp, "mcp__srv__cwd").content == str(tmp_path.resolve())


def test_a_server_that_cannot_start_is_a_clear_error_with_its_stderr():
    dying = {"dies": {"command": sys.executable,
                      "args": ["-c", "import sys; sys.exit('missing API key FOO')"]}}
    with pytest.raises(McpServerError, match=r"(?s)MCP server 'dies' could not start "
                       r"\(command: .*\): Connection closed.*missing API key FOO"):
        McpTools.open(servers=dying, strict=True)
    with pytest.raises(McpServerError, match=r"MCP server 'nope' could not start \(command: "
                       r"/no/such/server\): FileNotFoundError"):
        McpTools.open(servers={"nope": {"command": "/no/such/server"}}, strict=True)


def test_a_broken_server_is_reported_and_the_others_still_serve(
        caplog: pytest.LogCaptureFixture):
    servers = {**stdio_servers()["mcpServers"], "nope": {"command": "/no/such/server"}}
    with caplog.at_level(logging.WARNING, logger="claude_like.mcp"), \
            McpTools.open(servers=servers) as mcp:
        assert list(mcp.failures) == ["nope"]
        assert all(t.name.startswith("mcp__srv__") for t in mcp.tools)
        assert call(mcp, "mcp__srv__add", a=1, b=2).content == "3"
    assert "MCP server 'nope' could not start" in caplog.text
    assert "going on without its tools" in caplog.text


def test_a_server_slower_than_the_startup_timeout_is_a_clear_error():
    slow = {"slow": {"command": sys.executable, "args": ["-c", "import time; time.sleep(60)"]}}
    before = children()
    with pytest.raises(McpServerError, match=r"could not start .*: no answer within 0\.5 s"):
        McpTools.open(servers=slow, strict=True, startup_timeout=0.5)
    assert children() - before == set()


def test_close_ends_every_server_process_and_later_calls_are_error_results():
    before = children()
    mcp = McpTools.open(servers={
        "one": {"command": sys.executable, "args": [ECHO_SERVER]},
        "two": {"command": sys.executable, "args": [ECHO_SERVER]}})
    started = children() - before
    assert len(started) == 2
    pid = int(call(mcp, "mcp__two__pid").content)
    assert pid in started
    mcp.close()
    assert children() - before == set()
    late = call(mcp, "mcp__one__add", a=1, b=1)
    assert late.status == "error" and "closed" in late.content
    mcp.close()  # idempotent


def test_no_servers_start_nothing_and_do_not_load_the_mcp_client(tmp_path: Path):
    with McpTools.open(workspace=tmp_path) as mcp:
        assert mcp.tools == [] and mcp.failures == {}
    # An agent without servers does not pay for importing the MCP client (~0.6 s).
    code = ("import sys; from claude_like.mcp import McpTools; "
            f"McpTools.open(workspace={str(tmp_path)!r}).close(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('mcp', 'langchain_mcp_adapters')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_an_unclosed_set_that_is_collected_ends_its_servers():
    import gc

    before = children()
    mcp = McpTools.open(servers=stdio_servers())
    assert children() - before
    del mcp
    gc.collect()
    assert children() - before == set()
