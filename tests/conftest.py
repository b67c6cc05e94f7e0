"""Shared fixtures: a temp workspace, a sandbox on it, and the tools bound to it.

Tests written against ``sandbox`` use only the Sandbox API, so they run unchanged on
every sandbox implementation the fixture is parametrized over.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool

from claude_like.sandbox import LocalSandbox, Sandbox
from claude_like.tools import ToolContext, make_tools


@pytest.fixture(autouse=True)
def _private_user_folders(tmp_path_factory: pytest.TempPathFactory,
                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Sessions and user settings of the test run live in temp folders, never in the
    home folder of the machine running the tests."""
    home = tmp_path_factory.mktemp("user")
    monkeypatch.setenv("CLAUDE_LIKE_DATA_DIR", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """The host folder the sandbox works on."""
    ws = tmp_path / "workspace"
    ws.mkdir()
    return ws


@pytest.fixture(params=["local", pytest.param("docker", marks=pytest.mark.docker)])
def sandbox(request: pytest.FixtureRequest, workspace: Path) -> Iterator[Sandbox]:
    """Each sandbox-level test runs on the local sandbox and in the Docker sandbox."""
    if request.param == "docker":
        from docker_helpers import docker_sandbox_for

        sb: Sandbox = docker_sandbox_for(workspace)
    else:
        sb = LocalSandbox(workspace)
    try:
        yield sb
    finally:
        sb.close()


@pytest.fixture
def ctx(sandbox: Sandbox) -> ToolContext:
    return ToolContext(sandbox)


@pytest.fixture
def tools(ctx: ToolContext) -> dict[str, BaseTool]:
    return {t.name: t for t in make_tools(ctx)}


@pytest.fixture
def call(tools: dict[str, BaseTool]) -> Callable[..., ToolMessage]:
    """``call("Read", file_path="a.txt")`` -> the ToolMessage the agent would get."""

    def _call(name: str, **args: Any) -> ToolMessage:
        msg = tools[name].invoke({"type": "tool_call", "id": "call-1", "name": name, "args": args})
        assert isinstance(msg, ToolMessage)
        return msg

    return _call


@pytest.fixture
def ok(call: Callable[..., ToolMessage]) -> Callable[..., str]:
    """Run a tool that must succeed; its text."""

    def _ok(name: str, **args: Any) -> str:
        msg = call(name, **args)
        assert msg.status == "success", msg.content
        return str(msg.content)

    return _ok


@pytest.fixture
def err(call: Callable[..., ToolMessage]) -> Callable[..., str]:
    """Run a tool that must fail (as a result, not an exception); its error text."""

    def _err(name: str, **args: Any) -> str:
        msg = call(name, **args)
        assert msg.status == "error", msg.content
        return str(msg.content)

    return _err
