"""LangChain's standard tool suites, unit and integration, for an MCP tool of the real
echo server over stdio."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.tools import BaseTool
from langchain_tests.integration_tests import ToolsIntegrationTests
from langchain_tests.unit_tests import ToolsUnitTests
from mcp_helpers import stdio_servers

from claude_like.mcp import McpTools

# The suites take the tool from a class property (no fixture there): one server for the
# module, started on first use and closed with the module.
_OPEN: list[McpTools] = []


def _add_tool() -> BaseTool:
    if not _OPEN:
        _OPEN.append(McpTools.open(servers=stdio_servers()))
    return next(t for t in _OPEN[0].tools if t.name == "mcp__srv__add")


@pytest.fixture(scope="module", autouse=True)
def _close() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


class _Setup:
    @property
    def tool_constructor(self) -> BaseTool:
        return _add_tool()

    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return {}

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"a": 2, "b": 3}


class TestMcpToolUnit(_Setup, ToolsUnitTests):
    pass


class TestMcpToolIntegration(_Setup, ToolsIntegrationTests):
    def test_example_call_succeeds(self) -> None:
        result = _add_tool().invoke({"name": "mcp__srv__add", "args": {"a": 2, "b": 3},
                                     "id": "c1", "type": "tool_call"})
        assert (result.status, result.content) == ("success", "5")
